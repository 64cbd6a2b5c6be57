import { describe, expect, it } from 'vitest';
import { parseInput } from '../../src/config/validation.js';
import type {
  DeliveryOutcome,
  PipelineRecord,
  PlanContext,
} from '../../src/destinations/destination-kind.js';
import {
  classifyHttpResponse,
  MAX_QUOTED_BODY_CHARS,
} from '../../src/destinations/http/classify.js';
import {
  HttpEndpointDestinationConfigurationSchema,
  HttpEndpointDestinationUpdateSchema,
  mergeHttpEndpoint,
  normalizeHttpEndpoint,
  replaceWithHttpEndpoint,
} from '../../src/destinations/http/config.js';
import { httpEndpointKind } from '../../src/destinations/http/index.js';
import {
  HttpDeliveryPlanSchema,
  planHttpDelivery,
  requestIdOf,
  type HttpDeliveryPlan,
} from '../../src/destinations/http/plan.js';
import {
  buildHttpRequest,
  encodeHttpBody,
  type HttpEndpointRequest,
} from '../../src/destinations/http/request.js';
import {
  MAX_RESPONSE_BYTES,
  ResponseCutOffError,
  ResponseTimeoutError,
  type HttpEndpointResponse,
} from '../../src/destinations/http/sender.js';
import { DELIVERY_ERROR_CODES } from '../../src/errors/delivery-error-codes.js';
import { destinationMemberReaders, s3WithDefaults } from '../support/destination-members.js';
import { firehoseErrorOf } from '../support/firehose-error.js';

const CREATE = 'HttpEndpointDestinationConfiguration';
const UPDATE = 'HttpEndpointDestinationUpdate';
const ROLE = 'arn:aws:iam::123456789012:role/firehose';
const BUCKET = 'arn:aws:s3:::http-backup';
const KEY = 'sk-9f8e7d6c5b4a-secret-key';
const STREAM_ARN = 'arn:aws:firehose:eu-west-1:123456789012:deliverystream/clicks';

/** Create and update members validated as the API does (model constraints), then stored. */
const { create, update } = destinationMemberReaders({
  createMember: CREATE,
  createSchema: HttpEndpointDestinationConfigurationSchema,
  normalize: normalizeHttpEndpoint,
  updateMember: UPDATE,
  updateSchema: HttpEndpointDestinationUpdateSchema,
  merge: mergeHttpEndpoint,
});

/** A complete create member with `overrides` on top. */
function minimal(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    EndpointConfiguration: { Url: 'https://collector.example.com/firehose', Name: 'collector' },
    S3Configuration: { RoleARN: ROLE, BucketARN: BUCKET },
    ...overrides,
  };
}

const context: PlanContext = {
  streamName: 'clicks',
  streamArn: STREAM_ARN,
  versionId: 3,
  batchId: '0f9d6f4e-3c1b-4f59-9d0e-8a2b7c6d5e4f',
  firstArrivalMs: 1_700_000_000_000,
};

describe('HTTP endpoint configuration', () => {
  it('fills Firehose’s defaults', () => {
    expect(create(minimal())).toEqual({
      EndpointConfiguration: { Url: 'https://collector.example.com/firehose', Name: 'collector' },
      BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 300 },
      CloudWatchLoggingOptions: { Enabled: false },
      RequestConfiguration: { ContentEncoding: 'NONE', CommonAttributes: [] },
      RetryOptions: { DurationInSeconds: 300 },
      S3BackupMode: 'FailedDataOnly',
      S3Configuration: s3WithDefaults(ROLE, BUCKET),
    });
  });

  it('keeps the access key in the stored configuration, and an empty key is no key', () => {
    const keyed = create(
      minimal({ EndpointConfiguration: { Url: 'https://a.example.com', AccessKey: KEY } }),
    );
    expect(keyed.EndpointConfiguration.AccessKey).toBe(KEY);
    const empty = create(
      minimal({ EndpointConfiguration: { Url: 'https://a.example.com', AccessKey: '' } }),
    );
    expect(empty.EndpointConfiguration).toEqual({ Url: 'https://a.example.com' });
  });

  it('accepts buffering sizes 1 to 64 MiB and refuses 0 and 65 as the model does', () => {
    for (const size of [1, 64]) {
      const stored = create(minimal({ BufferingHints: { SizeInMBs: size, IntervalInSeconds: 0 } }));
      expect(stored.BufferingHints).toEqual({ SizeInMBs: size, IntervalInSeconds: 0 });
    }
    const tooBig = firehoseErrorOf(() =>
      create(minimal({ BufferingHints: { SizeInMBs: 65, IntervalInSeconds: 60 } })),
    );
    expect(tooBig.type).toBe('ValidationException');
    expect(tooBig.message).toBe(
      "1 validation error detected: Value '65' at 'httpEndpointDestinationConfiguration.bufferingHints.sizeInMBs' failed to satisfy constraint: Member must have value less than or equal to 64",
    );
    const zero = firehoseErrorOf(() =>
      create(minimal({ BufferingHints: { SizeInMBs: 0, IntervalInSeconds: 60 } })),
    );
    expect(zero.message).toContain('Member must have value greater than or equal to 1');
  });

  it('wants both buffering hints or neither', () => {
    const error = firehoseErrorOf(() => create(minimal({ BufferingHints: { SizeInMBs: 8 } })));
    expect(error.type).toBe('InvalidArgumentException');
    expect(error.message).toContain('SizeInMBs and IntervalInSeconds must be specified together');
  });

  it('accepts https:// and (for local endpoints) http:// URLs', () => {
    for (const url of ['https://collector.example.com:8443/in?token=x', 'http://127.0.0.1:9000/']) {
      expect(
        create(minimal({ EndpointConfiguration: { Url: url } })).EndpointConfiguration.Url,
      ).toBe(url);
    }
  });

  it('refuses other schemes with the ValidationException quoting the model’s pattern', () => {
    for (const url of [
      'ftp://files.example.com/x',
      'HTTPS://upper.example.com',
      'collector.example.com',
    ]) {
      const error = firehoseErrorOf(() => create(minimal({ EndpointConfiguration: { Url: url } })));
      expect(error.type).toBe('ValidationException');
      expect(error.message).toBe(
        `1 validation error detected: Value '${url}' at 'httpEndpointDestinationConfiguration.endpointConfiguration.url' failed to satisfy constraint: Member must satisfy regular expression pattern: https://.*`,
      );
    }
  });

  it('refuses a URL longer than 1000 characters, and a missing one', () => {
    const long = `https://example.com/${'a'.repeat(981)}`;
    expect(long.length).toBe(1001);
    const error = firehoseErrorOf(() => create(minimal({ EndpointConfiguration: { Url: long } })));
    expect(error.message).toContain('Member must have length less than or equal to 1000');
    const missing = firehoseErrorOf(() =>
      create(minimal({ EndpointConfiguration: { Name: 'x' } })),
    );
    expect(missing.message).toBe(
      "1 validation error detected: Value null at 'httpEndpointDestinationConfiguration.endpointConfiguration.url' failed to satisfy constraint: Member must not be null",
    );
  });

  it('refuses URLs Node cannot parse and URLs carrying user credentials', () => {
    const invalid = firehoseErrorOf(() =>
      create(minimal({ EndpointConfiguration: { Url: 'https://exa mple.com/' } })),
    );
    expect(invalid.type).toBe('InvalidArgumentException');
    expect(invalid.message).toBe(
      `${CREATE}.EndpointConfiguration.Url https://exa mple.com/ is not a valid URL; give one such as https://example.com/firehose.`,
    );
    const credentials = firehoseErrorOf(() =>
      create(minimal({ EndpointConfiguration: { Url: 'https://user:hunter2@example.com/' } })),
    );
    expect(credentials.type).toBe('InvalidArgumentException');
    expect(credentials.message).toContain('must not contain user credentials');
    expect(credentials.message).not.toContain('hunter2');
  });

  it('checks Name and the attribute constraints of the model', () => {
    const blankName = firehoseErrorOf(() =>
      create(minimal({ EndpointConfiguration: { Url: 'https://a.example.com', Name: '   ' } })),
    );
    expect(blankName.message).toContain(
      "at 'httpEndpointDestinationConfiguration.endpointConfiguration.name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?!\\s*$).+",
    );
    const attributes = Array.from({ length: 51 }, (_, i) => ({
      AttributeName: `a${i}`,
      AttributeValue: 'v',
    }));
    const tooMany = firehoseErrorOf(() =>
      create(minimal({ RequestConfiguration: { CommonAttributes: attributes } })),
    );
    expect(tooMany.type).toBe('ValidationException');
    expect(tooMany.message).toContain(
      "at 'httpEndpointDestinationConfiguration.requestConfiguration.commonAttributes' failed to satisfy constraint: Member must have length less than or equal to 50",
    );
    const fifty = create(
      minimal({ RequestConfiguration: { CommonAttributes: attributes.slice(0, 50) } }),
    );
    expect(fifty.RequestConfiguration.CommonAttributes).toHaveLength(50);
    const badEncoding = firehoseErrorOf(() =>
      create(minimal({ RequestConfiguration: { ContentEncoding: 'ZSTD' } })),
    );
    expect(badEncoding.message).toContain('Member must satisfy enum value set: [NONE, GZIP]');
  });

  it('refuses duplicate attribute names', () => {
    const error = firehoseErrorOf(() =>
      create(
        minimal({
          RequestConfiguration: {
            CommonAttributes: [
              { AttributeName: 'env', AttributeValue: 'prod' },
              { AttributeName: 'env', AttributeValue: 'dev' },
            ],
          },
        }),
      ),
    );
    expect(error.type).toBe('InvalidArgumentException');
    expect(error.message).toBe(
      `${CREATE}.RequestConfiguration.CommonAttributes names the attribute "env" more than once; each AttributeName must be unique (they are sent as one JSON object).`,
    );
  });

  it('refuses an access key no HTTP header can carry, without quoting it', () => {
    const key = 'abc\u0001def';
    const error = firehoseErrorOf(() =>
      create(minimal({ EndpointConfiguration: { Url: 'https://a.example.com', AccessKey: key } })),
    );
    expect(error.type).toBe('InvalidArgumentException');
    expect(error.message).toContain('cannot be sent in an HTTP header');
    expect(error.message).not.toContain('abc');
  });

  it('refuses an enabled Secrets Manager configuration and keeps a disabled one', () => {
    const secrets = {
      SecretARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:http-key',
      RoleARN: ROLE,
    };
    const enabled = firehoseErrorOf(() =>
      create(minimal({ SecretsManagerConfiguration: { ...secrets, Enabled: true } })),
    );
    expect(enabled.type).toBe('InvalidArgumentException');
    expect(enabled.message).toBe(
      `${CREATE}.SecretsManagerConfiguration: AWS Secrets Manager is not available to Sluice; set Enabled to false and give the key as EndpointConfiguration.AccessKey instead.`,
    );
    const disabled = create(
      minimal({ SecretsManagerConfiguration: { ...secrets, Enabled: false } }),
    );
    expect(disabled.SecretsManagerConfiguration).toEqual({ ...secrets, Enabled: false });
  });

  it('checks its processors, and refuses those that need dynamic partitioning', () => {
    const lambda = firehoseErrorOf(() =>
      create(
        minimal({
          ProcessingConfiguration: {
            Enabled: true,
            Processors: [
              {
                Type: 'Lambda',
                Parameters: [
                  {
                    ParameterName: 'LambdaArn',
                    ParameterValue: 'arn:aws:lambda:us-east-1:123456789012:function:f',
                  },
                ],
              },
            ],
          },
        }),
      ),
    );
    expect(lambda.type).toBe('InvalidArgumentException');
    expect(lambda.message).toContain(`${CREATE}.ProcessingConfiguration.Processors[0]: LambdaArn`);
    const metadata = firehoseErrorOf(() =>
      create(
        minimal({
          ProcessingConfiguration: {
            Enabled: true,
            Processors: [
              {
                Type: 'MetadataExtraction',
                Parameters: [
                  { ParameterName: 'MetadataExtractionQuery', ParameterValue: '{a: .a}' },
                  { ParameterName: 'JsonParsingEngine', ParameterValue: 'JQ-1.6' },
                ],
              },
            ],
          },
        }),
      ),
    );
    expect(metadata.message).toContain('works only with dynamic partitioning');
  });

  it('keeps an enabled transform as configured, for Describe', () => {
    const processing = {
      Enabled: true,
      Processors: [
        {
          Type: 'Lambda' as const,
          Parameters: [
            { ParameterName: 'LambdaArn' as const, ParameterValue: 'sluice:transform:enrich' },
          ],
        },
      ],
    };
    expect(
      create(minimal({ ProcessingConfiguration: processing })).ProcessingConfiguration,
    ).toEqual(processing);
  });

  it('checks the embedded S3 configuration with its own path in messages', () => {
    const error = firehoseErrorOf(() =>
      create(minimal({ S3Configuration: { RoleARN: ROLE, BucketARN: 'arn:aws:s3:::UPPER' } })),
    );
    expect(error.type).toBe('InvalidArgumentException');
    expect(error.message).toContain(`${CREATE}.S3Configuration.BucketARN`);
    const missing = firehoseErrorOf(() => create(minimal({ S3Configuration: undefined })));
    expect(missing.message).toBe(
      "1 validation error detected: Value null at 'httpEndpointDestinationConfiguration.s3Configuration' failed to satisfy constraint: Member must not be null",
    );
  });

  it('describes every member but the access key, which appears nowhere', () => {
    const stored = create(
      minimal({
        EndpointConfiguration: { Url: 'https://a.example.com/in', Name: 'in', AccessKey: KEY },
        RequestConfiguration: {
          ContentEncoding: 'GZIP',
          CommonAttributes: [{ AttributeName: 'env', AttributeValue: 'prod' }],
        },
        RoleARN: ROLE,
        RetryOptions: { DurationInSeconds: 60 },
        S3BackupMode: 'AllData',
        SecretsManagerConfiguration: { Enabled: false },
      }),
    );
    const description = httpEndpointKind.describe(stored);
    expect(JSON.stringify(description)).not.toContain(KEY);
    expect(description).toEqual({
      HttpEndpointDestinationDescription: {
        EndpointConfiguration: { Url: 'https://a.example.com/in', Name: 'in' },
        BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 300 },
        CloudWatchLoggingOptions: { Enabled: false },
        RequestConfiguration: {
          ContentEncoding: 'GZIP',
          CommonAttributes: [{ AttributeName: 'env', AttributeValue: 'prod' }],
        },
        RoleARN: ROLE,
        RetryOptions: { DurationInSeconds: 60 },
        S3BackupMode: 'AllData',
        S3DestinationDescription: s3WithDefaults(ROLE, BUCKET),
        SecretsManagerConfiguration: { Enabled: false },
      },
    });
  });

  it('stores what its stored schema reads back unchanged', () => {
    const stored = create(
      minimal({ EndpointConfiguration: { Url: 'https://a.example.com', AccessKey: KEY } }),
    );
    expect(httpEndpointKind.storedSchema.parse(JSON.parse(JSON.stringify(stored)))).toEqual(stored);
  });
});

describe('HTTP endpoint updates', () => {
  const current = create(
    minimal({
      EndpointConfiguration: { Url: 'https://a.example.com/in', Name: 'in', AccessKey: KEY },
      BufferingHints: { SizeInMBs: 10, IntervalInSeconds: 60 },
      RequestConfiguration: {
        ContentEncoding: 'GZIP',
        CommonAttributes: [{ AttributeName: 'env', AttributeValue: 'prod' }],
      },
      RetryOptions: { DurationInSeconds: 120 },
      S3Configuration: {
        RoleARN: ROLE,
        BucketARN: BUCKET,
        Prefix: 'failed/',
        CompressionFormat: 'GZIP',
      },
    }),
  );

  it('keeps every member the update does not name', () => {
    const merged = update(current, { RetryOptions: { DurationInSeconds: 0 } });
    expect(merged).toEqual({ ...current, RetryOptions: { DurationInSeconds: 0 } });
  });

  it('replaces EndpointConfiguration whole: a new endpoint without AccessKey has no key', () => {
    const merged = update(current, { EndpointConfiguration: { Url: 'https://b.example.com' } });
    expect(merged.EndpointConfiguration).toEqual({ Url: 'https://b.example.com' });
    expect(merged.RequestConfiguration).toEqual(current.RequestConfiguration);
  });

  it('merges S3Update member by member into the S3 configuration', () => {
    const merged = update(current, { S3Update: { Prefix: 'other/' } });
    expect(merged.S3Configuration).toEqual({ ...current.S3Configuration, Prefix: 'other/' });
    expect(merged.EndpointConfiguration).toEqual(current.EndpointConfiguration);
  });

  it('goes from FailedDataOnly to AllData, never back', () => {
    const all = update(current, { S3BackupMode: 'AllData' });
    expect(all.S3BackupMode).toBe('AllData');
    expect(update(all, { S3BackupMode: 'AllData' }).S3BackupMode).toBe('AllData');
    const back = firehoseErrorOf(() => update(all, { S3BackupMode: 'FailedDataOnly' }));
    expect(back.type).toBe('InvalidArgumentException');
    expect(back.message).toContain(
      `${UPDATE}.S3BackupMode cannot change from AllData to FailedDataOnly`,
    );
  });

  it('applies the create rules to the merged result', () => {
    const duplicate = firehoseErrorOf(() =>
      update(current, {
        RequestConfiguration: {
          CommonAttributes: [
            { AttributeName: 'a', AttributeValue: '1' },
            { AttributeName: 'a', AttributeValue: '2' },
          ],
        },
      }),
    );
    expect(duplicate.message).toContain(`${UPDATE}.RequestConfiguration.CommonAttributes`);
    const secrets = firehoseErrorOf(() =>
      update(current, { SecretsManagerConfiguration: { Enabled: true } }),
    );
    expect(secrets.message).toContain(`${UPDATE}.SecretsManagerConfiguration`);
  });

  it('merges through the kind, keeping the shape', () => {
    const result = httpEndpointKind.merge(
      { shape: 'HttpEndpoint', config: current },
      parseInput(HttpEndpointDestinationUpdateSchema, {
        BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
      }),
    );
    expect(result).toEqual({
      shape: 'HttpEndpoint',
      config: { ...current, BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 } },
    });
  });

  it('replaces another type only with a complete configuration', () => {
    const replace = (members: Record<string, unknown>) =>
      replaceWithHttpEndpoint(parseInput(HttpEndpointDestinationUpdateSchema, members), UPDATE);
    const noEndpoint = firehoseErrorOf(() =>
      replace({ S3Update: { RoleARN: ROLE, BucketARN: BUCKET } }),
    );
    expect(noEndpoint.type).toBe('InvalidArgumentException');
    expect(noEndpoint.message).toBe(
      `${UPDATE} changes the destination type to an HTTP endpoint, so it must be a complete configuration, but it lacks EndpointConfiguration (with its Url).`,
    );
    const nothing = firehoseErrorOf(() => replace({}));
    expect(nothing.message).toContain(
      'lacks EndpointConfiguration (with its Url) and S3Update (with RoleARN and BucketARN).',
    );
    const noBucket = firehoseErrorOf(() =>
      replace({
        EndpointConfiguration: { Url: 'https://a.example.com' },
        S3Update: { RoleARN: ROLE },
      }),
    );
    expect(noBucket.message).toBe(
      `${UPDATE} changes the destination type to an HTTP endpoint, so it must be a complete configuration, but its S3Update lacks BucketARN.`,
    );
    const complete = replace({
      EndpointConfiguration: { Url: 'https://a.example.com' },
      S3Update: { RoleARN: ROLE, BucketARN: BUCKET },
    });
    expect(complete).toEqual(
      create(minimal({ EndpointConfiguration: { Url: 'https://a.example.com' } })),
    );
  });
});

describe('HTTP endpoint kind', () => {
  it('registers under Firehose’s member names', () => {
    expect(httpEndpointKind).toMatchObject({
      shape: 'HttpEndpoint',
      family: 'http',
      createMember: 'HttpEndpointDestinationConfiguration',
      updateMember: 'HttpEndpointDestinationUpdate',
      planDestination: 'http',
      failureOutputType: 'http-endpoint-failed',
    });
  });

  it('buffers by its hints and retries for RetryOptions from the first failure', () => {
    const stored = create(
      minimal({
        BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 0 },
        RetryOptions: { DurationInSeconds: 7200 },
      }),
    );
    expect(httpEndpointKind.buffering(stored)).toEqual({
      sizeBytes: 64 * 1_048_576,
      intervalMs: 0,
    });
    expect(httpEndpointKind.retryWindow(stored)).toEqual({ seconds: 7200, from: 'first-failure' });
  });
});

describe('HTTP delivery plan', () => {
  const stored = create(
    minimal({
      EndpointConfiguration: { Url: 'https://a.example.com/in?token=t', AccessKey: KEY },
      RequestConfiguration: {
        ContentEncoding: 'GZIP',
        CommonAttributes: [
          { AttributeName: 'env', AttributeValue: 'prod' },
          { AttributeName: '__proto__', AttributeValue: 'kept' },
        ],
      },
      S3Configuration: {
        RoleARN: ROLE,
        BucketARN: BUCKET,
        Prefix: 'p/',
        ErrorOutputPrefix: 'e/!{firehose:error-output-type}/',
        CompressionFormat: 'GZIP',
      },
    }),
  );

  it('fixes the URL, a request id, encoding, attributes and where failed records go', () => {
    const plan = planHttpDelivery(stored, context);
    expect(plan).toEqual({
      destination: 'http',
      streamVersion: 3,
      url: 'https://a.example.com/in?token=t',
      requestId: requestIdOf(STREAM_ARN, context.batchId),
      contentEncoding: 'GZIP',
      commonAttributes: [
        ['env', 'prod'],
        ['__proto__', 'kept'],
      ],
      sourceArn: STREAM_ARN,
      errorOutput: {
        bucket: 'http-backup',
        prefix: 'p/',
        errorOutputPrefix: 'e/!{firehose:error-output-type}/',
        compression: 'GZIP',
        timeZone: 'UTC',
      },
    });
    expect(JSON.stringify(plan)).not.toContain(KEY);
  });

  it('gives a batch the same request id every time, and other batches other ids', () => {
    const first = planHttpDelivery(stored, context).requestId;
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(planHttpDelivery(stored, context).requestId).toBe(first);
    expect(planHttpDelivery(stored, { ...context, batchId: 'another' }).requestId).not.toBe(first);
    expect(
      planHttpDelivery(stored, { ...context, streamArn: `${STREAM_ARN}2` }).requestId,
    ).not.toBe(first);
  });

  it('reads back through its schema unchanged, a __proto__ attribute included', () => {
    const plan = planHttpDelivery(stored, context);
    expect(HttpDeliveryPlanSchema.parse(JSON.parse(JSON.stringify(plan)))).toEqual(plan);
  });

  it('names a backup only with S3BackupMode AllData', () => {
    expect(planHttpDelivery(stored, context).backup).toBeUndefined();
    const all = planHttpDelivery({ ...stored, S3BackupMode: 'AllData' }, context);
    expect(all.backup).toEqual(all.errorOutput);
  });

  it('backs up in any compression, and writes failed records gzipped or plain', () => {
    for (const format of ['ZIP', 'Snappy', 'HADOOP_SNAPPY', 'ZSTD', 'UNCOMPRESSED'] as const) {
      const plan = planHttpDelivery(
        {
          ...stored,
          S3BackupMode: 'AllData',
          S3Configuration: { ...stored.S3Configuration, CompressionFormat: format },
        },
        context,
      );
      expect(plan.backup?.compression).toBe(format);
      // Plain NDJSON, so people and `sluice replay` read it without each format's codec.
      expect(plan.errorOutput.compression).toBe('UNCOMPRESSED');
    }
    expect(planHttpDelivery(stored, context).errorOutput.compression).toBe('GZIP');
  });

  it('compresses with GZIP only when ContentEncoding is GZIP', () => {
    const plan = planHttpDelivery(stored, context);
    expect(httpEndpointKind.compression(plan)).toBe('GZIP');
    const none: HttpDeliveryPlan = { ...plan, contentEncoding: 'NONE' };
    expect(httpEndpointKind.compression(none)).toBe('UNCOMPRESSED');
  });
});

/** Records with the given payloads. */
function records(...payloads: Buffer[]): PipelineRecord[] {
  return payloads.map((data, i) => ({
    id: `r${i}`,
    position: i,
    arrivalMs: 1_700_000_000_000 + i,
    data,
  }));
}

describe('HTTP request body', () => {
  const plan = planHttpDelivery(create(minimal()), context);

  it('is the protocol’s JSON, compact, and decodes back byte for byte', () => {
    const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const payloads = [
      Buffer.alloc(0),
      Buffer.from('a'),
      Buffer.from('ab'),
      Buffer.from('abc'),
      Buffer.from('{"page":"/home"}\n'),
      allBytes,
      Buffer.from('ü€😀', 'utf8'),
      Buffer.alloc(100_001, 0xff),
    ];
    const body = encodeHttpBody(plan, records(...payloads), 1_700_000_123_456);
    const expected = JSON.stringify({
      requestId: plan.requestId,
      timestamp: 1_700_000_123_456,
      records: payloads.map((p) => ({ data: p.toString('base64') })),
    });
    expect(body.toString('utf8')).toBe(expected);
    const parsed = JSON.parse(body.toString('utf8')) as {
      requestId: string;
      timestamp: number;
      records: { data: string }[];
    };
    expect(parsed.requestId).toBe(plan.requestId);
    expect(parsed.timestamp).toBe(1_700_000_123_456);
    const decoded = parsed.records.map((r) => Buffer.from(r.data, 'base64'));
    expect(decoded).toHaveLength(payloads.length);
    decoded.forEach((data, i) =>
      expect(data.equals(payloads[i] as Buffer), `record ${i}`).toBe(true),
    );
  });

  it('is exact for an empty record list', () => {
    expect(encodeHttpBody(plan, [], 42).toString('utf8')).toBe(
      `{"requestId":"${plan.requestId}","timestamp":42,"records":[]}`,
    );
  });

  it('is exact for views into a larger buffer (records as the batch reader gives them)', () => {
    const chunk = Buffer.from('xxHELLOyyWORLDzz');
    const body = encodeHttpBody(plan, records(chunk.subarray(2, 7), chunk.subarray(9, 14)), 1);
    expect(JSON.parse(body.toString('utf8'))).toEqual({
      requestId: plan.requestId,
      timestamp: 1,
      records: [
        { data: Buffer.from('HELLO').toString('base64') },
        { data: Buffer.from('WORLD').toString('base64') },
      ],
    });
  });
});

describe('HTTP request', () => {
  const stored = create(
    minimal({
      EndpointConfiguration: { Url: 'https://a.example.com:8443/in/put?token=t0p', AccessKey: KEY },
      RequestConfiguration: {
        ContentEncoding: 'GZIP',
        CommonAttributes: [
          { AttributeName: 'env', AttributeValue: 'prod' },
          { AttributeName: 'team', AttributeValue: 'données 😀\u007f' },
        ],
      },
    }),
  );
  const plan = planHttpDelivery(stored, context);
  const body = Buffer.from('compressed bytes');

  it('carries exactly Firehose’s headers', () => {
    const request = buildHttpRequest(plan, body, stored);
    expect(request.headers).toEqual({
      'Content-Type': 'application/json',
      'Content-Length': String(body.length),
      'Content-Encoding': 'gzip',
      'User-Agent': 'Amazon Kinesis Data Firehose Agent/1.0',
      'X-Amz-Firehose-Protocol-Version': '1.0',
      'X-Amz-Firehose-Request-Id': plan.requestId,
      'X-Amz-Firehose-Source-Arn': STREAM_ARN,
      'X-Amz-Firehose-Access-Key': KEY,
      'X-Amz-Firehose-Common-Attributes':
        '{"commonAttributes":{"env":"prod","team":"donn\\u00e9es \\ud83d\\ude00\\u007f"}}',
    });
    expect(JSON.parse(request.headers['X-Amz-Firehose-Common-Attributes'] ?? '')).toEqual({
      commonAttributes: { env: 'prod', team: 'données 😀\u007f' },
    });
    expect(request.url).toBe('https://a.example.com:8443/in/put?token=t0p');
    expect(request.body).toBe(body);
    expect(request.requestId).toBe(plan.requestId);
  });

  it('leaves out Content-Encoding without GZIP, the key without one, and sends empty attributes', () => {
    const plain = create(minimal());
    const request = buildHttpRequest(planHttpDelivery(plain, context), body, plain);
    expect(Object.keys(request.headers).sort()).toEqual([
      'Content-Length',
      'Content-Type',
      'User-Agent',
      'X-Amz-Firehose-Common-Attributes',
      'X-Amz-Firehose-Protocol-Version',
      'X-Amz-Firehose-Request-Id',
      'X-Amz-Firehose-Source-Arn',
    ]);
    expect(request.headers['X-Amz-Firehose-Common-Attributes']).toBe('{"commonAttributes":{}}');
  });

  it('takes the key from the configuration now, so a rotated key applies on the next attempt', () => {
    const rotated = update(stored, {
      EndpointConfiguration: { Url: 'https://elsewhere.example.com', AccessKey: 'new-key' },
    });
    const request = buildHttpRequest(plan, body, rotated);
    expect(request.headers['X-Amz-Firehose-Access-Key']).toBe('new-key');
    // The URL and the request id are the plan's: the batch keeps its identity.
    expect(request.url).toBe(plan.url);
    expect(request.headers['X-Amz-Firehose-Request-Id']).toBe(plan.requestId);
    expect(buildHttpRequest(plan, body, undefined).headers).not.toHaveProperty(
      'X-Amz-Firehose-Access-Key',
    );
  });

  it('names the target without the query or the key', () => {
    const request = buildHttpRequest(plan, body, stored);
    expect(request.target).toBe('POST https://a.example.com:8443/in/put?…');
    expect(request.target).not.toContain('t0p');
    const noQuery = buildHttpRequest({ ...plan, url: 'http://127.0.0.1:9000/' }, body, stored);
    expect(noQuery.target).toBe('POST http://127.0.0.1:9000/');
  });
});

describe('HTTP outcome classifier', () => {
  const stored = create(
    minimal({ EndpointConfiguration: { Url: 'https://a.example.com/in', AccessKey: KEY } }),
  );
  const plan: HttpDeliveryPlan = planHttpDelivery(stored, context);
  const request: HttpEndpointRequest = buildHttpRequest(plan, Buffer.from('{}'), stored);
  const okBody = Buffer.from(
    JSON.stringify({ requestId: plan.requestId, timestamp: 1_700_000_000_999 }),
  );

  function answer(
    status: number,
    body: Buffer | string,
    headers: Record<string, string> = {},
    tooLarge = false,
  ): DeliveryOutcome {
    const buffer = typeof body === 'string' ? Buffer.from(body) : body;
    const response: HttpEndpointResponse = {
      status,
      headers: {
        'content-type': 'application/json',
        'content-length': String(buffer.length),
        ...headers,
      },
      body: buffer,
      tooLarge,
    };
    return classifyHttpResponse(request, { response });
  }
  const failure = (error: unknown) => classifyHttpResponse(request, { error });
  const errno = (code: string, message = code) => Object.assign(new Error(message), { code });

  it('delivers on a conforming 200 and names the request', () => {
    const outcome = answer(200, okBody);
    expect(outcome).toEqual({
      kind: 'delivered',
      location: `POST https://a.example.com/in (request id ${plan.requestId})`,
    });
    expect(answer(200, okBody, { 'content-type': 'Application/JSON; charset=utf-8' }).kind).toBe(
      'delivered',
    );
    const withError = JSON.stringify({ requestId: plan.requestId, timestamp: 1, errorMessage: '' });
    expect(answer(200, withError).kind).toBe('delivered');
  });

  it('makes 413 permanent with Firehose’s message', () => {
    expect(answer(413, 'Payload Too Large', { 'content-type': 'text/plain' })).toEqual({
      kind: 'permanent',
      code: 'HttpEndpoint.DestinationException',
      reason:
        'The following response was received from the endpoint destination. 413: Payload Too Large',
    });
  });

  it('retries every other status, quoting the body', () => {
    for (const status of [500, 503, 429, 400, 401, 201, 204, 302]) {
      expect(answer(status, `{"errorMessage":"status ${status}"}`)).toEqual({
        kind: 'retry',
        code: 'HttpEndpoint.DestinationException',
        reason: `The following response was received from the endpoint destination. ${status}: {"errorMessage":"status ${status}"}`,
      });
    }
  });

  it('quotes at most 8192 characters of a body', () => {
    const outcome = answer(500, 'x'.repeat(20_000));
    expect(outcome.kind).toBe('retry');
    const reason = (outcome as { reason: string }).reason;
    const prefix = 'The following response was received from the endpoint destination. 500: ';
    expect(reason).toBe(`${prefix}${'x'.repeat(MAX_QUOTED_BODY_CHARS)}… (cut to 8192 characters)`);
  });

  it('retries a response larger than 1 MiB as ResponseTooLarge', () => {
    const outcome = answer(200, Buffer.alloc(MAX_RESPONSE_BYTES + 1, 0x20), {}, true);
    expect(outcome).toEqual({
      kind: 'retry',
      code: 'HttpEndpoint.ResponseTooLarge',
      reason:
        'The endpoint answered HTTP 200 with a response body larger than 1048576 bytes (1 MiB), the most Firehose accepts; the answer was not read further.',
    });
    expect(answer(500, 'x', {}, true)).toMatchObject({ code: 'HttpEndpoint.ResponseTooLarge' });
    // 413 stays permanent whatever its size.
    expect(answer(413, 'x', {}, true)).toMatchObject({ kind: 'permanent' });
  });

  it('retries a non-conforming 200 as InvalidResponseFromDestination, saying what is wrong', () => {
    const { requestId } = plan;
    const cases: [string, () => DeliveryOutcome][] = [
      [
        'it has no Content-Type header; it must be application/json',
        () => {
          const outcome = classifyHttpResponse(request, {
            response: {
              status: 200,
              headers: { 'content-length': '2' },
              body: okBody,
              tooLarge: false,
            },
          });
          return outcome;
        },
      ],
      [
        'its Content-Type is "text/plain"; it must be application/json',
        () => answer(200, okBody, { 'content-type': 'text/plain' }),
      ],
      [
        'it has Content-Encoding "gzip"; the response must not be encoded',
        () => answer(200, okBody, { 'content-encoding': 'gzip' }),
      ],
      [
        'it has no Content-Length header',
        () =>
          classifyHttpResponse(request, {
            response: {
              status: 200,
              headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
              body: okBody,
              tooLarge: false,
            },
          }),
      ],
      ['its body is not JSON (', () => answer(200, 'OK')],
      ['its body is JSON but not an object: [1]', () => answer(200, '[1]')],
      [
        `its body has no requestId; it must be the request's, "${requestId}"`,
        () => answer(200, '{"timestamp":1}'),
      ],
      [
        `its requestId is "other", not the request's "${requestId}"`,
        () => answer(200, JSON.stringify({ requestId: 'other', timestamp: 1 })),
      ],
      [
        'its body has no timestamp; it must be a number (epoch ms)',
        () => answer(200, JSON.stringify({ requestId })),
      ],
      [
        'its timestamp is "1700000000000", not a number (epoch ms)',
        () => answer(200, JSON.stringify({ requestId, timestamp: '1700000000000' })),
      ],
    ];
    for (const [problem, outcome] of cases) {
      const result = outcome();
      expect(result).toMatchObject({
        kind: 'retry',
        code: 'HttpEndpoint.InvalidResponseFromDestination',
      });
      expect((result as { reason: string }).reason).toContain(
        `The endpoint answered 200, but its response does not follow the Firehose HTTP endpoint protocol: ${problem}`,
      );
    }
  });

  it('files each failed exchange under its code', () => {
    const table: [unknown, string][] = [
      [new ResponseTimeoutError(180_000), 'HttpEndpoint.RequestTimeout'],
      [errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'), 'HttpEndpoint.ConnectionFailed'],
      [
        errno('ENOTFOUND', 'getaddrinfo ENOTFOUND nowhere.invalid'),
        'HttpEndpoint.ConnectionFailed',
      ],
      [errno('EHOSTUNREACH'), 'HttpEndpoint.ConnectionFailed'],
      [errno('ECONNRESET', 'socket hang up'), 'HttpEndpoint.ConnectionReset'],
      [errno('EPIPE'), 'HttpEndpoint.ConnectionReset'],
      [new ResponseCutOffError(), 'HttpEndpoint.ConnectionReset'],
      [
        errno('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'),
        'HttpEndpoint.SSLHandshakeFailure',
      ],
      [errno('ERR_TLS_CERT_ALTNAME_INVALID'), 'HttpEndpoint.SSLHandshakeFailure'],
      [errno('ERR_SSL_WRONG_VERSION_NUMBER'), 'HttpEndpoint.SSLHandshakeFailure'],
      [errno('EPROTO'), 'HttpEndpoint.SSLHandshakeFailure'],
      [
        errno(
          'ECONNRESET',
          'Client network socket disconnected before secure TLS connection was established',
        ),
        'HttpEndpoint.SSLHandshakeFailure',
      ],
      [
        errno('HPE_INVALID_CONSTANT', 'Parse Error: Expected HTTP/'),
        'HttpEndpoint.InvalidResponseFromDestination',
      ],
      [
        new AggregateError([errno('ECONNREFUSED'), errno('ECONNREFUSED')], 'connect failed'),
        'HttpEndpoint.ConnectionFailed',
      ],
      [new Error('something unforeseen'), 'HttpEndpoint.ConnectionFailed'],
      ['not even an Error', 'HttpEndpoint.ConnectionFailed'],
    ];
    for (const [error, code] of table) {
      expect(failure(error), String(error)).toMatchObject({ kind: 'retry', code });
    }
  });

  it('says what happened in the reason', () => {
    expect(failure(new ResponseTimeoutError(2500))).toEqual({
      kind: 'retry',
      code: 'HttpEndpoint.RequestTimeout',
      reason:
        'The endpoint did not answer within 2500 ms (the response timeout); the request was abandoned.',
    });
    expect(failure(errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'))).toEqual({
      kind: 'retry',
      code: 'HttpEndpoint.ConnectionFailed',
      reason:
        'No connection to the endpoint could be made: ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:1).',
    });
    expect(failure(errno('ECONNRESET', 'socket hang up'))).toEqual({
      kind: 'retry',
      code: 'HttpEndpoint.ConnectionReset',
      reason:
        'The endpoint closed the connection before a complete answer: ECONNRESET (socket hang up).',
    });
  });

  it('uses only catalogue codes', () => {
    const outcomes = [
      answer(200, okBody),
      answer(413, ''),
      answer(500, ''),
      answer(200, 'x'),
      answer(200, 'x', {}, true),
      failure(new ResponseTimeoutError(1)),
      failure(errno('ECONNREFUSED')),
      failure(errno('ECONNRESET')),
      failure(errno('EPROTO')),
      failure(errno('HPE_INVALID_CONSTANT')),
      failure(new Error('x')),
    ];
    for (const outcome of outcomes) {
      if (outcome.kind === 'retry' || outcome.kind === 'permanent') {
        expect(Object.keys(DELIVERY_ERROR_CODES)).toContain(outcome.code);
      }
    }
  });

  it('never puts the access key in a reason, even when the endpoint echoes it', () => {
    const echoed = answer(401, `{"errorMessage":"bad key ${KEY}"}`);
    expect((echoed as { reason: string }).reason).toBe(
      'The following response was received from the endpoint destination. 401: {"errorMessage":"bad key [access key]"}',
    );
    const invalid = answer(200, `{"requestId":"${KEY}","timestamp":1}`);
    expect(JSON.stringify(invalid)).not.toContain(KEY);
    expect(JSON.stringify(failure(new Error(`odd ${KEY}`)))).not.toContain(KEY);
  });
});
