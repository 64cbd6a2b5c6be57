import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyStreamsFile } from '../../src/streams/streams-file.js';
import { injectFirehose, useTestApi } from '../support/test-api.js';

/**
 * `BucketARN` must name a bucket S3 could have: the model pattern (ValidationException) lets
 * through `..`, `.`, `UPPER` and the like, so S3's bucket naming rules are checked afterwards
 * (InvalidArgumentException) at CreateDeliveryStream, UpdateDestination and in a streams file.
 */

const ROLE = 'arn:aws:iam::000000000000:role/firehose';
const DESTINATION_ID = 'destinationId-000000000001';

const { api, streamName } = useTestApi({ prefix: 'bucket', removeStreams: 'afterEach' });

/** One Firehose call through the app, unsigned (as the other API tests make them). */
async function call(operation: string, body: unknown) {
  const answer = await injectFirehose(api.app, operation, JSON.stringify(body));
  return { status: answer.status, body: answer.body };
}

function create(name: string, bucketArn: string, extra: Record<string, unknown> = {}) {
  return call('CreateDeliveryStream', {
    DeliveryStreamName: name,
    ExtendedS3DestinationConfiguration: { RoleARN: ROLE, BucketARN: bucketArn, ...extra },
  });
}

async function exists(name: string): Promise<boolean> {
  return (await api.registry.get(name)) !== undefined;
}

const BROKEN_RULES: [bucket: string, rule: string][] = [
  ['..', 'bucket names must be between 3 and 63 characters long, but it has 2'],
  ['.', 'bucket names must be between 3 and 63 characters long, but it has 1'],
  ['a', 'bucket names must be between 3 and 63 characters long, but it has 1'],
  ['x'.repeat(64), 'bucket names must be between 3 and 63 characters long, but it has 64'],
  [
    'UPPER',
    'bucket names can consist only of lowercase letters, numbers, periods (.) and hyphens (-), but it contains "U"',
  ],
  [
    'my_bucket',
    'bucket names can consist only of lowercase letters, numbers, periods (.) and hyphens (-), but it contains "_"',
  ],
  ['...', 'bucket names must begin and end with a letter or number'],
  ['-bucket', 'bucket names must begin and end with a letter or number'],
  ['bucket.', 'bucket names must begin and end with a letter or number'],
  ['my..bucket', 'bucket names must not contain two adjacent periods'],
  ['1.2.3.4', 'bucket names must not be formatted as an IP address (for example, 192.168.5.4)'],
  ['xn--abc', 'bucket names must not start with the reserved prefix xn--'],
  ['sthree-logs', 'bucket names must not start with the reserved prefix sthree-'],
  ['amzn-s3-demo-logs', 'bucket names must not start with the reserved prefix amzn-s3-demo-'],
  ['logs-s3alias', 'bucket names must not end with the reserved suffix -s3alias'],
  ['logs--ol-s3', 'bucket names must not end with the reserved suffix --ol-s3'],
  ['logs.mrap', 'bucket names must not end with the reserved suffix .mrap'],
  ['logs--use1-az4--x-s3', 'bucket names must not end with the reserved suffix --x-s3'],
  ['logs--table-s3', 'bucket names must not end with the reserved suffix --table-s3'],
];

describe('CreateDeliveryStream', () => {
  it.each(BROKEN_RULES)(
    'refuses bucket %j with InvalidArgumentException naming the rule, creating nothing',
    async (bucket, rule) => {
      const name = streamName();
      const result = await create(name, `arn:aws:s3:::${bucket}`);
      expect(result).toEqual({
        status: 400,
        body: {
          __type: 'InvalidArgumentException',
          message: `ExtendedS3DestinationConfiguration.BucketARN arn:aws:s3:::${bucket} does not name a valid S3 bucket: ${rule}.`,
        },
      });
      expect(await exists(name)).toBe(false);
    },
  );

  it('reports a BucketARN outside the model pattern as ValidationException', async () => {
    const name = streamName();
    const result = await create(name, 'arn:aws:s3:::logs/../redis');
    expect(result.status).toBe(400);
    expect(result.body.__type).toBe('ValidationException');
    expect(result.body.message).toContain(
      'Member must satisfy regular expression pattern: arn:.*:s3:::[\\w\\.\\-]{1,255}',
    );
    expect(await exists(name)).toBe(false);
  });

  it.each(['my-logs', 'abc', 'logs.example.com', '1.2.3', '0123456789', 'x'.repeat(63)])(
    'accepts bucket %j',
    async (bucket) => {
      const name = streamName();
      const result = await create(name, `arn:aws:s3:::${bucket}`);
      expect(result.status).toBe(200);
      expect(
        ((await api.registry.get(name))?.destination.config as { BucketARN?: string }).BucketARN,
      ).toBe(`arn:aws:s3:::${bucket}`);
    },
  );

  it('checks the plain S3 destination and the backup configuration too', async () => {
    const plain = streamName();
    const plainResult = await call('CreateDeliveryStream', {
      DeliveryStreamName: plain,
      S3DestinationConfiguration: { RoleARN: ROLE, BucketARN: 'arn:aws:s3:::..' },
    });
    expect(plainResult.status).toBe(400);
    expect(plainResult.body.__type).toBe('InvalidArgumentException');
    expect(plainResult.body.message).toMatch(
      /^S3DestinationConfiguration\.BucketARN arn:aws:s3:::\.\. does not name a valid S3 bucket: /,
    );
    const backup = streamName();
    const backupResult = await create(backup, 'arn:aws:s3:::good-bucket', {
      S3BackupConfiguration: { RoleARN: ROLE, BucketARN: 'arn:aws:s3:::.' },
    });
    expect(backupResult.status).toBe(400);
    expect(backupResult.body.__type).toBe('InvalidArgumentException');
    expect(backupResult.body.message).toMatch(
      /^ExtendedS3DestinationConfiguration\.S3BackupConfiguration\.BucketARN arn:aws:s3:::\. does not name a valid S3 bucket: /,
    );
    expect(await exists(plain)).toBe(false);
    expect(await exists(backup)).toBe(false);
  });
});

describe('UpdateDestination', () => {
  /**
   * Creates a stream that delivers to the bucket `before`, then updates its version 1: `member`
   * set to the bucket `bucket` with the prefix `redis/`.
   */
  async function updateBucket(member: string, bucket: string) {
    const name = streamName();
    expect((await create(name, 'arn:aws:s3:::before')).status).toBe(200);
    const result = await call('UpdateDestination', {
      DeliveryStreamName: name,
      CurrentDeliveryStreamVersionId: '1',
      DestinationId: DESTINATION_ID,
      [member]: { BucketARN: `arn:aws:s3:::${bucket}`, Prefix: 'redis/' },
    });
    return { name, result };
  }

  it.each([
    ['ExtendedS3DestinationUpdate', '..'],
    ['S3DestinationUpdate', '.'],
    ['ExtendedS3DestinationUpdate', 'UPPER'],
    ['S3DestinationUpdate', '1.2.3.4'],
  ])('%s refuses bucket %j and changes nothing', async (member, bucket) => {
    const { name, result } = await updateBucket(member, bucket);
    expect(result.status).toBe(400);
    expect(result.body.__type).toBe('InvalidArgumentException');
    expect(result.body.message).toMatch(
      new RegExp(`^${member}\\.BucketARN arn:aws:s3:::.* does not name a valid S3 bucket: `),
    );
    const definition = await api.registry.get(name);
    expect(definition?.versionId).toBe(1);
    expect(definition?.destination.config).toMatchObject({
      BucketARN: 'arn:aws:s3:::before',
      Prefix: '',
    });
  });

  it('accepts a valid bucket', async () => {
    const { name, result } = await updateBucket('ExtendedS3DestinationUpdate', 'after');
    expect(result.status).toBe(200);
    expect((await api.registry.get(name))?.destination.config).toMatchObject({
      BucketARN: 'arn:aws:s3:::after',
      Prefix: 'redis/',
    });
  });
});

describe('the streams file', () => {
  it('is refused whole for an invalid bucket, creating nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-bucket-names-'));
    try {
      const good = streamName();
      const bad = streamName();
      const path = join(dir, 'streams.json');
      const entry = (name: string, bucket: string) => ({
        DeliveryStreamName: name,
        ExtendedS3DestinationConfiguration: { RoleARN: ROLE, BucketARN: `arn:aws:s3:::${bucket}` },
      });
      await writeFile(
        path,
        JSON.stringify({ DeliveryStreams: [entry(good, 'fine-bucket'), entry(bad, '..')] }),
      );
      const log = { info: () => undefined, warn: () => undefined };
      await expect(applyStreamsFile(path, api.registry, api.settings, log)).rejects.toThrow(
        /BucketARN arn:aws:s3:::\.\. does not name a valid S3 bucket: bucket names must be between 3 and 63 characters long/,
      );
      expect(await exists(good)).toBe(false);
      expect(await exists(bad)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
