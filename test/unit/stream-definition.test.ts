import { describe, expect, it } from 'vitest';
import { parseInput } from '../../src/config/validation.js';
import { loadSettings } from '../../src/config/env.js';
import {
  CreateDeliveryStreamInputSchema,
  DESTINATION_ID,
  UpdateDestinationInputSchema,
  bufferingOf,
  definitionFromCreateInput,
  mergeDestinationUpdate,
  normalizeTags,
  sameDestination,
  selectDestinationUpdate,
  type StreamDefinition,
} from '../../src/streams/stream-definition.js';
import { FirehoseError } from '../../src/errors/catalogue.js';
import { describeStream } from '../../src/streams/describe.js';
import { extendedS3Kind } from '../../src/destinations/s3/index.js';

/** A stored destination's configuration, for reading members in assertions. */
const configOf = (def: { destination: { config: unknown } }) =>
  def.destination.config as Record<string, unknown>;

const settings = loadSettings({ SLUICE_REGION: 'eu-west-1', SLUICE_ACCOUNT_ID: '123456789012' });
const ROLE = 'arn:aws:iam::123456789012:role/firehose';
const BUCKET = 'arn:aws:s3:::my-bucket';
const NOW = 1_700_000_000_123;

function create(input: Record<string, unknown>): StreamDefinition {
  return definitionFromCreateInput(
    parseInput(CreateDeliveryStreamInputSchema, { DeliveryStreamName: 'orders', ...input }),
    settings,
    NOW,
  );
}

function extended(config: Record<string, unknown> = {}): StreamDefinition {
  return create({
    ExtendedS3DestinationConfiguration: { RoleARN: ROLE, BucketARN: BUCKET, ...config },
  });
}

function rejection(fn: () => unknown): { type: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof FirehoseError) return { type: error.type, message: error.message };
    throw error;
  }
  throw new Error('expected a FirehoseError');
}

function update(def: StreamDefinition, members: Record<string, unknown>) {
  const request = parseInput(UpdateDestinationInputSchema, {
    DeliveryStreamName: def.name,
    CurrentDeliveryStreamVersionId: String(def.versionId),
    DestinationId: DESTINATION_ID,
    ...members,
  });
  return mergeDestinationUpdate(def.destination, selectDestinationUpdate(request));
}

describe('definitionFromCreateInput', () => {
  it('builds an ACTIVE version-1 DirectPut stream with Firehose defaults filled in', () => {
    const def = extended();
    expect(def).toEqual({
      name: 'orders',
      arn: 'arn:aws:firehose:eu-west-1:123456789012:deliverystream/orders',
      status: 'ACTIVE',
      type: 'DirectPut',
      versionId: 1,
      createTimestamp: NOW,
      lastUpdateTimestamp: NOW,
      destination: {
        shape: 'ExtendedS3',
        config: {
          RoleARN: ROLE,
          BucketARN: BUCKET,
          Prefix: '',
          BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 300 },
          CompressionFormat: 'UNCOMPRESSED',
          EncryptionConfiguration: { NoEncryptionConfig: 'NoEncryption' },
          CloudWatchLoggingOptions: { Enabled: false },
          S3BackupMode: 'Disabled',
        },
      },
      tags: [],
    });
  });

  it('keeps the plain S3 shape apart', () => {
    const def = create({
      S3DestinationConfiguration: { RoleARN: ROLE, BucketARN: BUCKET, CompressionFormat: 'GZIP' },
    });
    expect(def.destination.shape).toBe('S3');
    expect(def.destination.config).not.toHaveProperty('S3BackupMode');
    expect(configOf(def).CompressionFormat).toBe('GZIP');
  });

  it('keeps given values, the source hint, and sorts tags', () => {
    const def = create({
      DeliveryStreamType: 'DirectPut',
      DirectPutSourceConfiguration: { ThroughputHintInMBs: 20 },
      Tags: [{ Key: 'team', Value: 'data' }, { Key: 'env' }],
      ExtendedS3DestinationConfiguration: {
        RoleARN: ROLE,
        BucketARN: BUCKET,
        Prefix: 'logs/!{timestamp:yyyy/MM/dd}/',
        ErrorOutputPrefix: 'errors/!{firehose:error-output-type}/',
        BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 0 },
        CompressionFormat: 'GZIP',
        CloudWatchLoggingOptions: { Enabled: true, LogGroupName: '/aws/kinesisfirehose/orders' },
        FileExtension: '.json.gz',
        CustomTimeZone: 'Asia/Tokyo',
        ProcessingConfiguration: { Enabled: false },
        DynamicPartitioningConfiguration: { Enabled: false },
        DataFormatConversionConfiguration: {
          Enabled: false,
          SchemaConfiguration: { TableName: 't' },
        },
      },
    });
    expect(def.source).toEqual({ ThroughputHintInMBs: 20 });
    expect(def.tags).toEqual([{ Key: 'env' }, { Key: 'team', Value: 'data' }]);
    expect(def.destination.config).toMatchObject({
      Prefix: 'logs/!{timestamp:yyyy/MM/dd}/',
      ErrorOutputPrefix: 'errors/!{firehose:error-output-type}/',
      BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 0 },
      CloudWatchLoggingOptions: { Enabled: true, LogGroupName: '/aws/kinesisfirehose/orders' },
      FileExtension: '.json.gz',
      CustomTimeZone: 'Asia/Tokyo',
      ProcessingConfiguration: { Enabled: false, Processors: [] },
      DynamicPartitioningConfiguration: { Enabled: false },
      DataFormatConversionConfiguration: {
        Enabled: false,
        SchemaConfiguration: { TableName: 't' },
      },
    });
  });

  it('treats empty ErrorOutputPrefix, FileExtension and CustomTimeZone as absent', () => {
    const config = extended({ ErrorOutputPrefix: '', FileExtension: '', CustomTimeZone: '' })
      .destination.config;
    expect(config).not.toHaveProperty('ErrorOutputPrefix');
    expect(config).not.toHaveProperty('FileExtension');
    expect(config).not.toHaveProperty('CustomTimeZone');
  });

  it.each([
    [
      { DeliveryStreamType: 'KinesisStreamAsSource' },
      'DeliveryStreamType KinesisStreamAsSource is not supported by Sluice yet; only DirectPut streams are.',
    ],
    [
      { MSKSourceConfiguration: {} },
      'MSKSourceConfiguration is not supported by Sluice yet; only DirectPut streams are.',
    ],
    [
      { DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' } },
      'DeliveryStreamEncryptionConfigurationInput: server-side encryption is not supported by Sluice yet.',
    ],
    [
      { SplunkDestinationConfiguration: { HECEndpoint: 'https://x' } },
      'SplunkDestinationConfiguration is not supported by Sluice yet; use one of ExtendedS3DestinationConfiguration, S3DestinationConfiguration, HttpEndpointDestinationConfiguration, AmazonopensearchserviceDestinationConfiguration, ElasticsearchDestinationConfiguration, RedshiftDestinationConfiguration.',
    ],
  ])('rejects what Sluice does not implement: %j', (input, message) => {
    expect(rejection(() => create(input))).toEqual({ type: 'InvalidArgumentException', message });
  });

  it('requires exactly one destination', () => {
    expect(rejection(() => create({})).message).toBe(
      'Exactly one destination configuration is required, but the request has none. Sluice supports ExtendedS3DestinationConfiguration, S3DestinationConfiguration, HttpEndpointDestinationConfiguration, AmazonopensearchserviceDestinationConfiguration, ElasticsearchDestinationConfiguration, RedshiftDestinationConfiguration.',
    );
    expect(
      rejection(() =>
        create({
          ExtendedS3DestinationConfiguration: { RoleARN: ROLE, BucketARN: BUCKET },
          S3DestinationConfiguration: { RoleARN: ROLE, BucketARN: BUCKET },
        }),
      ).message,
    ).toBe(
      'Exactly one destination configuration is supported for a Firehose, but the request has 2: ExtendedS3DestinationConfiguration, S3DestinationConfiguration.',
    );
  });

  it.each([
    [
      { EncryptionConfiguration: { KMSEncryptionConfig: { AWSKMSKeyARN: 'arn:aws:kms:x' } } },
      'ExtendedS3DestinationConfiguration.EncryptionConfiguration.KMSEncryptionConfig: KMS encryption of delivered objects is not supported by Sluice yet; use NoEncryptionConfig NoEncryption.',
    ],
    [
      { S3BackupMode: 'Enabled' },
      'ExtendedS3DestinationConfiguration.S3BackupMode Enabled needs S3BackupConfiguration: the bucket and prefix the records are backed up to as they arrived.',
    ],
    [
      {
        ProcessingConfiguration: {
          Processors: [
            {
              Type: 'AppendDelimiterToRecord',
              Parameters: [{ ParameterName: 'Delimiter', ParameterValue: 'Cg==' }],
            },
          ],
        },
      },
      'ExtendedS3DestinationConfiguration.ProcessingConfiguration.Processors[0]: the AppendDelimiterToRecord processor does not take the parameter Delimiter; it takes no parameters.',
    ],
    [
      { DataFormatConversionConfiguration: {} },
      'ExtendedS3DestinationConfiguration.DataFormatConversionConfiguration.SchemaConfiguration needs DatabaseName and TableName: the table of the local table catalog (SLUICE_CATALOG_DIR/<database>/<table>.json) the records are converted with.',
    ],
    [
      { DynamicPartitioningConfiguration: { Enabled: true } },
      'ExtendedS3DestinationConfiguration.ErrorOutputPrefix is required with dynamic partitioning: records whose partition keys cannot be evaluated are written there.',
    ],
    [
      {
        DynamicPartitioningConfiguration: { Enabled: true },
        ErrorOutputPrefix: 'errors/',
        Prefix: 'static/',
      },
      'ExtendedS3DestinationConfiguration.Prefix must use at least one partition key with dynamic partitioning, e.g. !{partitionKeyFromQuery:customer_id}/ or !{partitionKeyFromLambda:customer_id}/.',
    ],
    [
      { BufferingHints: { SizeInMBs: 10 } },
      'ExtendedS3DestinationConfiguration.BufferingHints: SizeInMBs and IntervalInSeconds must be specified together, or neither.',
    ],
    [
      { CustomTimeZone: 'Mars/Olympus' },
      'ExtendedS3DestinationConfiguration.CustomTimeZone Mars/Olympus is not a valid time zone; use an IANA zone name such as UTC or America/New_York.',
    ],
  ])('rejects destination settings Sluice cannot honour: %j', (config, message) => {
    expect(rejection(() => extended(config))).toEqual({
      type: 'InvalidArgumentException',
      message,
    });
  });

  it('checks prefixes with the S3 key rules', () => {
    const problem = rejection(() => extended({ Prefix: '!{timestamp:yyyy}/' }));
    expect(problem.type).toBe('InvalidArgumentException');
    expect(problem.message).toContain('ErrorOutputPrefix');
  });

  it('checks the backup configuration too, naming it', () => {
    expect(
      rejection(() =>
        extended({
          S3BackupConfiguration: {
            RoleARN: ROLE,
            BucketARN: BUCKET,
            EncryptionConfiguration: { KMSEncryptionConfig: { AWSKMSKeyARN: 'arn:aws:kms:x' } },
          },
        }),
      ).message,
    ).toBe(
      'ExtendedS3DestinationConfiguration.S3BackupConfiguration.EncryptionConfiguration.KMSEncryptionConfig: KMS encryption of delivered objects is not supported by Sluice yet; use NoEncryptionConfig NoEncryption.',
    );
  });

  it('validates model constraints before any of this', () => {
    const problem = rejection(() =>
      extended({ BufferingHints: { SizeInMBs: 129, IntervalInSeconds: 901 }, RoleARN: 'role' }),
    );
    expect(problem.type).toBe('ValidationException');
    expect(problem.message).toBe(
      "3 validation errors detected: Value 'role' at 'extendedS3DestinationConfiguration.roleARN' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:.*:iam::\\d{12}:role/[a-zA-Z_0-9+=,.@\\-_/]+; Value '129' at 'extendedS3DestinationConfiguration.bufferingHints.sizeInMBs' failed to satisfy constraint: Member must have value less than or equal to 128; Value '901' at 'extendedS3DestinationConfiguration.bufferingHints.intervalInSeconds' failed to satisfy constraint: Member must have value less than or equal to 900",
    );
  });

  it('enforces the BucketARN and FileExtension patterns', () => {
    expect(rejection(() => extended({ BucketARN: 'my-bucket' })).message).toContain(
      "Value 'my-bucket' at 'extendedS3DestinationConfiguration.bucketARN' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:.*:s3:::[\\w\\.\\-]{1,255}",
    );
    expect(rejection(() => extended({ FileExtension: 'gz' })).message).toContain(
      "at 'extendedS3DestinationConfiguration.fileExtension' failed to satisfy constraint: Member must satisfy regular expression pattern: ^$|\\.[0-9a-z!\\-_.*'()]+",
    );
    expect(rejection(() => extended({ CompressionFormat: 'SNAPPY' })).message).toContain(
      'Member must satisfy enum value set: [UNCOMPRESSED, GZIP, ZIP, Snappy, HADOOP_SNAPPY, ZSTD]',
    );
  });

  it('rejects repeated tag keys', () => {
    expect(rejection(() => normalizeTags([{ Key: 'a' }, { Key: 'a', Value: 'x' }])).message).toBe(
      'Tag key a appears more than once in the request.',
    );
  });
});

describe('destination updates', () => {
  it('merge: members not named are kept, named ones replaced', () => {
    const def = extended({ Prefix: 'p/', CompressionFormat: 'GZIP', CustomTimeZone: 'UTC' });
    const next = update(def, {
      ExtendedS3DestinationUpdate: { BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 60 } },
    });
    expect(next).toEqual({
      shape: 'ExtendedS3',
      config: {
        ...configOf(def),
        BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 60 },
      },
    });
  });

  it('S3DestinationUpdate keeps an ExtendedS3 destination extended', () => {
    const def = extended({ FileExtension: '.log' });
    const next = update(def, { S3DestinationUpdate: { Prefix: 'new/' } });
    expect(next.shape).toBe('ExtendedS3');
    expect(next.config).toMatchObject({ Prefix: 'new/', FileExtension: '.log' });
  });

  it('ExtendedS3DestinationUpdate turns a plain S3 destination into an ExtendedS3 one', () => {
    const def = create({ S3DestinationConfiguration: { RoleARN: ROLE, BucketARN: BUCKET } });
    const next = update(def, { ExtendedS3DestinationUpdate: { CustomTimeZone: 'Europe/Paris' } });
    expect(next.shape).toBe('ExtendedS3');
    expect(next.config).toMatchObject({
      RoleARN: ROLE,
      BucketARN: BUCKET,
      CustomTimeZone: 'Europe/Paris',
      S3BackupMode: 'Disabled',
    });
  });

  it('merges S3BackupUpdate into the backup configuration, which needs its ARNs first', () => {
    const def = extended();
    expect(
      rejection(() =>
        update(def, { ExtendedS3DestinationUpdate: { S3BackupUpdate: { Prefix: 'b/' } } }),
      ).message,
    ).toBe(
      'ExtendedS3DestinationUpdate.S3BackupUpdate must include RoleARN and BucketARN when there is no S3 configuration to update yet.',
    );
    const next = update(def, {
      ExtendedS3DestinationUpdate: { S3BackupUpdate: { RoleARN: ROLE, BucketARN: BUCKET } },
    });
    expect(next.config).toMatchObject({
      S3BackupConfiguration: { RoleARN: ROLE, BucketARN: BUCKET, Prefix: '' },
    });
  });

  it('checks the merged destination like a new one', () => {
    const def = extended();
    expect(
      rejection(() =>
        update(def, {
          ExtendedS3DestinationUpdate: {
            EncryptionConfiguration: { KMSEncryptionConfig: { AWSKMSKeyARN: 'arn:aws:kms:x' } },
          },
        }),
      ),
    ).toEqual({
      type: 'InvalidArgumentException',
      message:
        'ExtendedS3DestinationUpdate.EncryptionConfiguration.KMSEncryptionConfig: KMS encryption of delivered objects is not supported by Sluice yet; use NoEncryptionConfig NoEncryption.',
    });
  });

  it('needs exactly one supported update', () => {
    const def = extended();
    expect(rejection(() => update(def, {})).message).toBe(
      'Exactly one destination update is required, but the request has none. Sluice supports ExtendedS3DestinationUpdate, S3DestinationUpdate, HttpEndpointDestinationUpdate, AmazonopensearchserviceDestinationUpdate, ElasticsearchDestinationUpdate, RedshiftDestinationUpdate.',
    );
    expect(rejection(() => update(def, { SplunkDestinationUpdate: {} })).message).toBe(
      'SplunkDestinationUpdate is not supported by Sluice yet; use one of ExtendedS3DestinationUpdate, S3DestinationUpdate, HttpEndpointDestinationUpdate, AmazonopensearchserviceDestinationUpdate, ElasticsearchDestinationUpdate, RedshiftDestinationUpdate.',
    );
    expect(
      rejection(() => update(def, { S3DestinationUpdate: {}, ExtendedS3DestinationUpdate: {} }))
        .message,
    ).toBe(
      'Exactly one destination update is supported for a Firehose, but the request has 2: ExtendedS3DestinationUpdate, S3DestinationUpdate.',
    );
  });
});

describe('derived views', () => {
  it('sameDestination ignores key order', () => {
    const a = extended().destination;
    const reordered = JSON.parse(JSON.stringify({ config: a.config, shape: a.shape })) as typeof a;
    expect(sameDestination(a, reordered)).toBe(true);
    expect(sameDestination(a, extended({ Prefix: 'x/' }).destination)).toBe(false);
  });

  it('bufferingOf converts to bytes and milliseconds', () => {
    expect(
      bufferingOf(extended({ BufferingHints: { SizeInMBs: 2, IntervalInSeconds: 0 } })),
    ).toEqual({
      sizeBytes: 2 * 1_048_576,
      intervalMs: 0,
    });
  });

  it('an S3 destination plans objects in its bucket with its time zone', async () => {
    const def = extended({
      Prefix: 'p/',
      CompressionFormat: 'GZIP',
      FileExtension: '.gz',
      CustomTimeZone: 'Asia/Tokyo',
      BucketARN: 'arn:aws-cn:s3:::bucket.with-dots',
    });
    const plan = await extendedS3Kind.plan(def.destination.config, {
      streamName: def.name,
      streamArn: def.arn,
      versionId: def.versionId,
      batchId: '0f8fad5b-d9cb-469f-a165-70867728950e',
      firstArrivalMs: Date.UTC(2026, 6, 13, 14, 5, 9),
    });
    expect(plan).toMatchObject({
      bucket: 'bucket.with-dots',
      key: 'p/2026/07/13/23/orders-1-2026-07-13-23-05-09-0f8fad5b-d9cb-469f-a165-70867728950e.gz',
      compression: 'GZIP',
      errorOutput: { timeZone: 'Asia/Tokyo' },
    });
  });
});

describe('describeStream', () => {
  it('mirrors an ExtendedS3 destination as S3, with string version and seconds', () => {
    const description = describeStream(
      extended({ ErrorOutputPrefix: 'e/!{firehose:error-output-type}' }),
    );
    expect(description).toEqual({
      DeliveryStreamName: 'orders',
      DeliveryStreamARN: 'arn:aws:firehose:eu-west-1:123456789012:deliverystream/orders',
      DeliveryStreamStatus: 'ACTIVE',
      DeliveryStreamEncryptionConfiguration: { Status: 'DISABLED' },
      DeliveryStreamType: 'DirectPut',
      VersionId: '1',
      CreateTimestamp: NOW / 1000,
      LastUpdateTimestamp: NOW / 1000,
      Destinations: [
        {
          DestinationId: 'destinationId-000000000001',
          ExtendedS3DestinationDescription: {
            RoleARN: ROLE,
            BucketARN: BUCKET,
            Prefix: '',
            ErrorOutputPrefix: 'e/!{firehose:error-output-type}',
            BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 300 },
            CompressionFormat: 'UNCOMPRESSED',
            EncryptionConfiguration: { NoEncryptionConfig: 'NoEncryption' },
            CloudWatchLoggingOptions: { Enabled: false },
            S3BackupMode: 'Disabled',
          },
          S3DestinationDescription: {
            RoleARN: ROLE,
            BucketARN: BUCKET,
            Prefix: '',
            ErrorOutputPrefix: 'e/!{firehose:error-output-type}',
            BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 300 },
            CompressionFormat: 'UNCOMPRESSED',
            EncryptionConfiguration: { NoEncryptionConfig: 'NoEncryption' },
            CloudWatchLoggingOptions: { Enabled: false },
          },
        },
      ],
      HasMoreDestinations: false,
    });
  });

  it('describes a plain S3 destination only as S3, and the source hint', () => {
    const description = describeStream(
      create({
        DirectPutSourceConfiguration: { ThroughputHintInMBs: 5 },
        S3DestinationConfiguration: { RoleARN: ROLE, BucketARN: BUCKET },
      }),
    );
    expect(description.Source).toEqual({ DirectPutSourceDescription: { ThroughputHintInMBs: 5 } });
    const [destination] = description.Destinations as Record<string, unknown>[];
    expect(Object.keys(destination ?? {})).toEqual(['DestinationId', 'S3DestinationDescription']);
  });

  it('pages destinations after ExclusiveStartDestinationId', () => {
    const def = extended();
    expect(
      describeStream(def, { exclusiveStartDestinationId: DESTINATION_ID }).Destinations,
    ).toEqual([]);
    expect(
      (
        describeStream(def, { exclusiveStartDestinationId: 'destinationId-000000000000' })
          .Destinations as unknown[]
      ).length,
    ).toBe(1);
  });
});
