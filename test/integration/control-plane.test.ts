import {
  ConcurrentModificationException,
  CreateDeliveryStreamCommand,
  type CreateDeliveryStreamCommandInput,
  DeleteDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  FirehoseServiceException,
  InvalidArgumentException,
  LimitExceededException,
  ListDeliveryStreamsCommand,
  ListTagsForDeliveryStreamCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  StartDeliveryStreamEncryptionCommand,
  StopDeliveryStreamEncryptionCommand,
  TagDeliveryStreamCommand,
  UntagDeliveryStreamCommand,
  UpdateDestinationCommand,
} from '@aws-sdk/client-firehose';
import { describe, expect, it } from 'vitest';
import { streamKeys } from '../../src/streams/keys.js';
import { startRedisServer } from '../support/redis-server.js';
import { startTestApi, useTestApi } from '../support/test-api.js';
import { uniqueName } from '../support/unique.js';

const ROLE = 'arn:aws:iam::000000000000:role/firehose';
const BUCKET = 'arn:aws:s3:::bucket';
const ACCOUNT = '000000000000';
const DESTINATION_ID = 'destinationId-000000000001';

const { api, streamName, track } = useTestApi({ prefix: 'cp', removeStreams: 'afterEach' });

async function createStream(
  name: string,
  extra: Partial<CreateDeliveryStreamCommandInput> = {},
): Promise<string | undefined> {
  track(name);
  const out = await api.firehose.send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: name,
      ExtendedS3DestinationConfiguration: { RoleARN: ROLE, BucketARN: BUCKET },
      ...extra,
    }),
  );
  return out.DeliveryStreamARN;
}

async function describeStream(name: string) {
  const out = await api.firehose.send(
    new DescribeDeliveryStreamCommand({ DeliveryStreamName: name }),
  );
  if (!out.DeliveryStreamDescription) throw new Error('no description');
  return out.DeliveryStreamDescription;
}

/** The rejection of `promise`, checked to be a 400 of class `type` with `message`. */
async function rejected<E extends FirehoseServiceException>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
  message?: string,
): Promise<E> {
  const error: unknown = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(type);
  const e = error as E;
  expect(e.$metadata.httpStatusCode).toBe(400);
  if (message !== undefined) expect(e.message).toBe(message);
  return e;
}

/** The rejection of `promise` as an unmodeled error (ValidationException, SerializationException). */
async function rejectedAs(promise: Promise<unknown>, name: string, message?: string) {
  const e = await rejected(promise, FirehoseServiceException, message);
  expect(e.name).toBe(name);
  return e;
}

/** A raw AWS JSON 1.1 call, for what the SDK would never send or to see the wire format. */
async function raw(target: string, body: unknown) {
  const response = await fetch(api.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `Firehose_20150804.${target}`,
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

describe('CreateDeliveryStream and DescribeDeliveryStream', () => {
  it('creates an ACTIVE stream described with Firehose defaults', async () => {
    const name = streamName();
    const before = Date.now();
    const arn = await createStream(name);
    expect(arn).toBe(`arn:aws:firehose:us-east-1:${ACCOUNT}:deliverystream/${name}`);

    const d = await describeStream(name);
    expect(d.DeliveryStreamName).toBe(name);
    expect(d.DeliveryStreamARN).toBe(arn);
    expect(d.DeliveryStreamStatus).toBe('ACTIVE');
    expect(d.DeliveryStreamType).toBe('DirectPut');
    expect(d.VersionId).toBe('1');
    expect(d.DeliveryStreamEncryptionConfiguration).toEqual({ Status: 'DISABLED' });
    expect(d.HasMoreDestinations).toBe(false);
    expect(d.CreateTimestamp?.getTime()).toBeGreaterThanOrEqual(before - 1);
    expect(d.CreateTimestamp?.getTime()).toBeLessThanOrEqual(Date.now() + 1);
    expect(d.Source).toBeUndefined();

    const common = {
      RoleARN: ROLE,
      BucketARN: BUCKET,
      Prefix: '',
      BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 300 },
      CompressionFormat: 'UNCOMPRESSED',
      EncryptionConfiguration: { NoEncryptionConfig: 'NoEncryption' },
      CloudWatchLoggingOptions: { Enabled: false },
    };
    expect(d.Destinations).toEqual([
      {
        DestinationId: DESTINATION_ID,
        ExtendedS3DestinationDescription: { ...common, S3BackupMode: 'Disabled' },
        S3DestinationDescription: common,
      },
    ]);
  });

  it('serializes the description as Firehose does on the wire', async () => {
    const name = streamName();
    await createStream(name);
    const { status, text } = await raw('DescribeDeliveryStream', { DeliveryStreamName: name });
    expect(status).toBe(200);
    const body = JSON.parse(text) as { DeliveryStreamDescription: Record<string, unknown> };
    const d = body.DeliveryStreamDescription;
    expect(typeof d.VersionId).toBe('string');
    expect(typeof d.CreateTimestamp).toBe('number');
    // Epoch seconds, not milliseconds.
    expect(Math.abs((d.CreateTimestamp as number) - Date.now() / 1000)).toBeLessThan(60);
    expect(text).not.toMatch(/\n|": /);
  });

  it('describes a plain S3 stream only as S3, and the DirectPut source hint', async () => {
    const name = streamName();
    await api.firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: name,
        DeliveryStreamType: 'DirectPut',
        DirectPutSourceConfiguration: { ThroughputHintInMBs: 10 },
        S3DestinationConfiguration: { RoleARN: ROLE, BucketARN: BUCKET, CompressionFormat: 'GZIP' },
      }),
    );
    const d = await describeStream(name);
    expect(d.Source).toEqual({ DirectPutSourceDescription: { ThroughputHintInMBs: 10 } });
    expect(d.Destinations?.[0]?.ExtendedS3DestinationDescription).toBeUndefined();
    expect(d.Destinations?.[0]?.S3DestinationDescription?.CompressionFormat).toBe('GZIP');
  });

  it('pages destinations', async () => {
    const name = streamName();
    await createStream(name);
    const out = await api.firehose.send(
      new DescribeDeliveryStreamCommand({
        DeliveryStreamName: name,
        Limit: 1,
        ExclusiveStartDestinationId: DESTINATION_ID,
      }),
    );
    expect(out.DeliveryStreamDescription?.Destinations).toEqual([]);
    expect(out.DeliveryStreamDescription?.HasMoreDestinations).toBe(false);
  });

  it('refuses a name that exists', async () => {
    const name = streamName();
    await createStream(name);
    await rejected(
      createStream(name),
      ResourceInUseException,
      `Firehose ${name} under accountId ${ACCOUNT} already exists`,
    );
  });

  it('answers ResourceNotFoundException for an unknown stream', async () => {
    const name = uniqueName('nope');
    await rejected(
      describeStream(name),
      ResourceNotFoundException,
      `Firehose ${name} under account ${ACCOUNT} not found.`,
    );
  });

  it('rejects what Sluice does not implement, naming it, and stores nothing', async () => {
    const name = streamName();
    await rejected(
      createStream(name, {
        ExtendedS3DestinationConfiguration: {
          RoleARN: ROLE,
          BucketARN: BUCKET,
          EncryptionConfiguration: {
            KMSEncryptionConfig: { AWSKMSKeyARN: 'arn:aws:kms:us-east-1:000000000000:key/k' },
          },
        },
      }),
      InvalidArgumentException,
      'ExtendedS3DestinationConfiguration.EncryptionConfiguration.KMSEncryptionConfig: KMS encryption of delivered objects is not supported by Sluice yet; use NoEncryptionConfig NoEncryption.',
    );
    await rejected(
      createStream(name, { DeliveryStreamType: 'KinesisStreamAsSource' }),
      InvalidArgumentException,
      'DeliveryStreamType KinesisStreamAsSource is not supported by Sluice yet; only DirectPut streams are.',
    );
    await rejected(
      createStream(name, {
        ExtendedS3DestinationConfiguration: undefined,
        SplunkDestinationConfiguration: {
          HECEndpoint: 'https://example.com',
          HECEndpointType: 'Raw',
          S3Configuration: { RoleARN: ROLE, BucketARN: BUCKET },
        },
      }),
      InvalidArgumentException,
      'SplunkDestinationConfiguration is not supported by Sluice yet; use one of ExtendedS3DestinationConfiguration, S3DestinationConfiguration, HttpEndpointDestinationConfiguration, AmazonopensearchserviceDestinationConfiguration, ElasticsearchDestinationConfiguration, RedshiftDestinationConfiguration.',
    );
    await rejected(describeStream(name), ResourceNotFoundException);
  });

  it('answers constraint violations with ValidationException in AWS phrasing', async () => {
    await rejectedAs(
      api.firehose.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: 'has space',
          ExtendedS3DestinationConfiguration: {
            RoleARN: ROLE,
            BucketARN: BUCKET,
            BufferingHints: { SizeInMBs: 0, IntervalInSeconds: 60 },
          },
        }),
      ),
      'ValidationException',
      "2 validation errors detected: Value 'has space' at 'deliveryStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value '0' at 'extendedS3DestinationConfiguration.bufferingHints.sizeInMBs' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
  });

  it('answers a member of the wrong JSON type with SerializationException', async () => {
    const { status, text } = await raw('CreateDeliveryStream', {
      DeliveryStreamName: streamName(),
      ExtendedS3DestinationConfiguration: { RoleARN: ROLE, BucketARN: BUCKET, BufferingHints: [] },
    });
    expect(status).toBe(400);
    expect(JSON.parse(text)).toEqual({
      __type: 'SerializationException',
      message:
        "Member 'extendedS3DestinationConfiguration.bufferingHints' must be a structure, but the request has a list ([])",
    });
  });

  it('refuses streams past SLUICE_MAX_STREAMS', async () => {
    const server = await startRedisServer({ appendOnly: false });
    const limited = await startTestApi({ SLUICE_REDIS_URL: server.url, SLUICE_MAX_STREAMS: '1' });
    try {
      const send = (name: string) =>
        limited.firehose.send(
          new CreateDeliveryStreamCommand({
            DeliveryStreamName: name,
            S3DestinationConfiguration: { RoleARN: ROLE, BucketARN: BUCKET },
          }),
        );
      await send('first');
      await rejected(
        send('second'),
        LimitExceededException,
        'You have already consumed your firehose quota of 1 hoses. Firehose names: [first] (the quota is SLUICE_MAX_STREAMS).',
      );
    } finally {
      await limited.close();
      await server.stop();
    }
  });
});

describe('ListDeliveryStreams', () => {
  it('pages alphabetically, 10 by default', async () => {
    const prefix = uniqueName('cp-list');
    const mine = Array.from({ length: 11 }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`);
    for (const name of [...mine].reverse()) await createStream(name);

    const first = await api.firehose.send(
      new ListDeliveryStreamsCommand({ ExclusiveStartDeliveryStreamName: prefix }),
    );
    expect(first.DeliveryStreamNames).toEqual(mine.slice(0, 10));
    expect(first.HasMoreDeliveryStreams).toBe(true);

    const next = await api.firehose.send(
      new ListDeliveryStreamsCommand({ ExclusiveStartDeliveryStreamName: mine[9], Limit: 1 }),
    );
    expect(next.DeliveryStreamNames).toEqual([mine[10]]);

    const some = await api.firehose.send(
      new ListDeliveryStreamsCommand({ ExclusiveStartDeliveryStreamName: prefix, Limit: 2 }),
    );
    expect(some).toMatchObject({
      DeliveryStreamNames: mine.slice(0, 2),
      HasMoreDeliveryStreams: true,
    });
  });

  it('filters by DeliveryStreamType', async () => {
    await createStream(streamName());
    const out = await api.firehose.send(
      new ListDeliveryStreamsCommand({ DeliveryStreamType: 'KinesisStreamAsSource' }),
    );
    expect(out).toMatchObject({ DeliveryStreamNames: [], HasMoreDeliveryStreams: false });
  });

  it('validates Limit', async () => {
    await rejectedAs(
      api.firehose.send(new ListDeliveryStreamsCommand({ Limit: 0 })),
      'ValidationException',
      "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    await rejectedAs(
      api.firehose.send(new ListDeliveryStreamsCommand({ Limit: 10_001 })),
      'ValidationException',
      "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000",
    );
  });
});

describe('UpdateDestination', () => {
  it('merges: members not named are kept; the version goes up', async () => {
    const name = streamName();
    await createStream(name, {
      ExtendedS3DestinationConfiguration: {
        RoleARN: ROLE,
        BucketARN: BUCKET,
        Prefix: 'logs/',
        CompressionFormat: 'GZIP',
        CustomTimeZone: 'Europe/Berlin',
      },
    });
    const created = await describeStream(name);
    await api.firehose.send(
      new UpdateDestinationCommand({
        DeliveryStreamName: name,
        CurrentDeliveryStreamVersionId: '1',
        DestinationId: DESTINATION_ID,
        ExtendedS3DestinationUpdate: { BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 } },
      }),
    );
    const d = await describeStream(name);
    expect(d.VersionId).toBe('2');
    expect(d.LastUpdateTimestamp?.getTime()).toBeGreaterThanOrEqual(
      created.CreateTimestamp?.getTime() ?? 0,
    );
    expect(d.Destinations?.[0]?.ExtendedS3DestinationDescription).toMatchObject({
      Prefix: 'logs/',
      CompressionFormat: 'GZIP',
      CustomTimeZone: 'Europe/Berlin',
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
    });
    // The buffer reads the new hints from the stream hash.
    expect(await api.redis.hmget(streamKeys(name).stream, 'sizeBytes', 'intervalMs')).toEqual([
      '1048576',
      '0',
    ]);
  });

  it('switches a plain S3 destination to ExtendedS3', async () => {
    const name = streamName();
    await createStream(name, {
      ExtendedS3DestinationConfiguration: undefined,
      S3DestinationConfiguration: { RoleARN: ROLE, BucketARN: BUCKET, Prefix: 'kept/' },
    });
    await api.firehose.send(
      new UpdateDestinationCommand({
        DeliveryStreamName: name,
        CurrentDeliveryStreamVersionId: '1',
        DestinationId: DESTINATION_ID,
        ExtendedS3DestinationUpdate: { FileExtension: '.ndjson' },
      }),
    );
    const d = await describeStream(name);
    expect(d.Destinations?.[0]?.ExtendedS3DestinationDescription).toMatchObject({
      Prefix: 'kept/',
      FileExtension: '.ndjson',
    });
  });

  it('refuses a stale version, an unknown destination and unsupported updates', async () => {
    const name = streamName();
    await createStream(name);
    const update = (over: Record<string, unknown>) =>
      api.firehose.send(
        new UpdateDestinationCommand({
          DeliveryStreamName: name,
          CurrentDeliveryStreamVersionId: '1',
          DestinationId: DESTINATION_ID,
          S3DestinationUpdate: { Prefix: 'x/' },
          ...over,
        }),
      );
    await update({});
    await rejected(
      update({}),
      ConcurrentModificationException,
      `Cannot update firehose: ${name} since the current version id: 2 and specified version id: 1 do not match`,
    );
    await rejected(
      update({ CurrentDeliveryStreamVersionId: '2', DestinationId: 'destinationId-000000000009' }),
      InvalidArgumentException,
      'Destination Id destinationId-000000000009 not found',
    );
    await rejected(
      update({
        CurrentDeliveryStreamVersionId: '2',
        S3DestinationUpdate: undefined,
        HttpEndpointDestinationUpdate: { RoleARN: ROLE },
      }),
      InvalidArgumentException,
      "HttpEndpointDestinationUpdate cannot be applied: the stream's destination is ExtendedS3DestinationConfiguration, and Sluice, like Firehose, does not change HttpEndpointDestinationConfiguration destinations to or from another type. Create a new stream instead.",
    );
    await rejected(
      update({
        CurrentDeliveryStreamVersionId: '2',
        S3DestinationUpdate: {
          EncryptionConfiguration: {
            KMSEncryptionConfig: { AWSKMSKeyARN: 'arn:aws:kms:us-east-1:000000000000:key/k' },
          },
        },
      }),
      InvalidArgumentException,
      'S3DestinationUpdate.EncryptionConfiguration.KMSEncryptionConfig: KMS encryption of delivered objects is not supported by Sluice yet; use NoEncryptionConfig NoEncryption.',
    );
    expect((await describeStream(name)).VersionId).toBe('2');
    await rejected(
      api.firehose.send(
        new UpdateDestinationCommand({
          DeliveryStreamName: uniqueName('nope'),
          CurrentDeliveryStreamVersionId: '1',
          DestinationId: DESTINATION_ID,
          S3DestinationUpdate: {},
        }),
      ),
      ResourceNotFoundException,
    );
  });
});

describe('tags', () => {
  it('tags, lists in pages, and untags', async () => {
    const name = streamName();
    await createStream(name, { Tags: [{ Key: 'team', Value: 'data' }] });
    await api.firehose.send(
      new TagDeliveryStreamCommand({
        DeliveryStreamName: name,
        Tags: [
          { Key: 'env', Value: 'prod' },
          { Key: 'team', Value: 'platform' },
          { Key: 'cost-center' },
        ],
      }),
    );
    const all = await api.firehose.send(
      new ListTagsForDeliveryStreamCommand({ DeliveryStreamName: name }),
    );
    expect(all.Tags).toEqual([
      { Key: 'cost-center' },
      { Key: 'env', Value: 'prod' },
      { Key: 'team', Value: 'platform' },
    ]);
    expect(all.HasMoreTags).toBe(false);

    const page = await api.firehose.send(
      new ListTagsForDeliveryStreamCommand({
        DeliveryStreamName: name,
        ExclusiveStartTagKey: 'cost-center',
        Limit: 1,
      }),
    );
    expect(page).toMatchObject({ Tags: [{ Key: 'env', Value: 'prod' }], HasMoreTags: true });

    await api.firehose.send(
      new UntagDeliveryStreamCommand({ DeliveryStreamName: name, TagKeys: ['env', 'unknown'] }),
    );
    const left = await api.firehose.send(
      new ListTagsForDeliveryStreamCommand({ DeliveryStreamName: name }),
    );
    expect(left.Tags?.map((t) => t.Key)).toEqual(['cost-center', 'team']);
  });

  it('limits a stream to 50 tags and a request to 50', async () => {
    const name = streamName();
    await createStream(name, {
      Tags: Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })),
    });
    await rejected(
      api.firehose.send(
        new TagDeliveryStreamCommand({ DeliveryStreamName: name, Tags: [{ Key: 'x' }] }),
      ),
      LimitExceededException,
      `A delivery stream can have at most 50 tags; ${name} has 50 and this request would make it 51.`,
    );
    await rejectedAs(
      api.firehose.send(
        new TagDeliveryStreamCommand({
          DeliveryStreamName: name,
          Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `n${i}` })),
        }),
      ),
      'ValidationException',
    );
    await rejectedAs(
      api.firehose.send(
        new TagDeliveryStreamCommand({ DeliveryStreamName: name, Tags: [{ Key: 'aws:owner' }] }),
      ),
      'ValidationException',
      "1 validation error detected: Value 'aws:owner' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?!aws:)[\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@%]*$",
    );
    await rejectedAs(
      api.firehose.send(
        new ListTagsForDeliveryStreamCommand({ DeliveryStreamName: name, Limit: 51 }),
      ),
      'ValidationException',
      "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50",
    );
  });

  it('answers ResourceNotFoundException for tags of an unknown stream', async () => {
    const name = uniqueName('nope');
    await rejected(
      api.firehose.send(new ListTagsForDeliveryStreamCommand({ DeliveryStreamName: name })),
      ResourceNotFoundException,
      `Firehose ${name} under account ${ACCOUNT} not found.`,
    );
    await rejected(
      api.firehose.send(
        new TagDeliveryStreamCommand({ DeliveryStreamName: name, Tags: [{ Key: 'k' }] }),
      ),
      ResourceNotFoundException,
    );
    await rejected(
      api.firehose.send(
        new UntagDeliveryStreamCommand({ DeliveryStreamName: name, TagKeys: ['k'] }),
      ),
      ResourceNotFoundException,
    );
  });
});

describe('DeleteDeliveryStream', () => {
  it('marks the stream DELETING, which Describe and List show until it is removed', async () => {
    const name = streamName();
    await createStream(name);
    await api.firehose.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: name }));
    expect((await describeStream(name)).DeliveryStreamStatus).toBe('DELETING');
    expect(await api.redis.hget(streamKeys(name).stream, 'status')).toBe('DELETING');
    await api.firehose.send(
      new DeleteDeliveryStreamCommand({ DeliveryStreamName: name, AllowForceDelete: true }),
    );
    const listed = await api.firehose.send(
      new ListDeliveryStreamsCommand({
        ExclusiveStartDeliveryStreamName: name.slice(0, -1),
        Limit: 1,
      }),
    );
    expect(listed.DeliveryStreamNames).toEqual([name]);
    await rejected(
      api.firehose.send(
        new UpdateDestinationCommand({
          DeliveryStreamName: name,
          CurrentDeliveryStreamVersionId: '1',
          DestinationId: DESTINATION_ID,
          S3DestinationUpdate: {},
        }),
      ),
      ResourceInUseException,
    );
    await rejected(createStream(name), ResourceInUseException);

    expect(await api.registry.remove(name)).toBe(true);
    await rejected(describeStream(name), ResourceNotFoundException);
  });

  it('answers ResourceNotFoundException for an unknown stream', async () => {
    const name = uniqueName('nope');
    await rejected(
      api.firehose.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: name })),
      ResourceNotFoundException,
      `Firehose ${name} under account ${ACCOUNT} not found.`,
    );
  });
});

describe('Start/StopDeliveryStreamEncryption', () => {
  it('says server-side encryption is not supported yet', async () => {
    const name = streamName();
    await createStream(name);
    await rejected(
      api.firehose.send(
        new StartDeliveryStreamEncryptionCommand({
          DeliveryStreamName: name,
          DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
        }),
      ),
      InvalidArgumentException,
      'StartDeliveryStreamEncryption: server-side encryption is not supported by Sluice yet.',
    );
    await rejected(
      api.firehose.send(new StopDeliveryStreamEncryptionCommand({ DeliveryStreamName: name })),
      InvalidArgumentException,
      'StopDeliveryStreamEncryption: server-side encryption is not supported by Sluice yet.',
    );
  });

  it('answers ResourceNotFoundException for an unknown stream first', async () => {
    const name = uniqueName('nope');
    await rejected(
      api.firehose.send(new StartDeliveryStreamEncryptionCommand({ DeliveryStreamName: name })),
      ResourceNotFoundException,
    );
    await rejected(
      api.firehose.send(new StopDeliveryStreamEncryptionCommand({ DeliveryStreamName: name })),
      ResourceNotFoundException,
    );
  });
});
