import { gunzipSync } from 'node:zlib';
import {
  CreateDeliveryStreamCommand,
  FirehoseClient,
  PutRecordBatchCommand,
  PutRecordCommand,
  type ExtendedS3DestinationConfiguration,
} from '@aws-sdk/client-firehose';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamKeys } from '../../src/streams/keys.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import { startSluice, type SluiceProcess } from '../support/sluice-process.js';
import { uniqueName } from '../support/unique.js';

const BUCKET = 'deliveries';
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

let redisServer: RedisServer;
let s3: S3Server;
let sluice: SluiceProcess;
let firehose: FirehoseClient;
let redis: Redis;

beforeAll(async () => {
  [redisServer, s3] = await Promise.all([startRedisServer(), startS3Server()]);
  await s3.createBucket(BUCKET);
  sluice = await startSluice({
    env: {
      ...s3.sluiceEnv,
      SLUICE_REDIS_URL: redisServer.url,
      SLUICE_SEAL_TICK_MS: '50',
      SLUICE_RETRY_BASE_MS: '100',
      SLUICE_RETRY_MAX_MS: '500',
    },
  });
  firehose = new FirehoseClient({
    endpoint: sluice.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
  redis = new Redis(redisServer.url);
});

afterAll(async () => {
  firehose?.destroy();
  await redis?.quit();
  await sluice?.stop();
  await Promise.all([redisServer?.stop(), s3?.stop()]);
});

async function createStream(config: Partial<ExtendedS3DestinationConfiguration>, bucket = BUCKET) {
  const name = uniqueName('e2e');
  await firehose.send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: name,
      ExtendedS3DestinationConfiguration: {
        RoleARN: 'arn:aws:iam::000000000000:role/firehose',
        BucketARN: `arn:aws:s3:::${bucket}`,
        ...config,
      },
    }),
  );
  return name;
}

/** Polls until `check` returns a value, or fails with the service's recent logs. */
async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}\n${sluice.logs().slice(-4000)}`);
}

async function streamKeysInBucket(stream: string, count: number, bucket = BUCKET) {
  return eventually(`${count} object(s) of ${stream}`, async () => {
    const keys = (await s3.listKeys(bucket)).filter((k) => k.includes(`${stream}-`));
    return keys.length >= count ? keys : undefined;
  });
}

function records(count: number, size: number, tag: string): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const head = `{"tag":"${tag}","n":${i},"pad":"`;
    return Buffer.from(`${head}${'x'.repeat(Math.max(0, size - head.length - 3))}"}\n`);
  });
}

describe('S3 delivery', () => {
  it('seals by age and writes records byte for byte under the default key layout', async () => {
    const stream = await createStream({ BufferingHints: { SizeInMBs: 128, IntervalInSeconds: 1 } });
    const batch = records(500, 200, 'age');
    const before = new Date();
    const put = await firehose.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: stream,
        Records: batch.map((Data) => ({ Data })),
      }),
    );
    expect(put.FailedPutCount).toBe(0);
    const single = Buffer.from([0, 1, 2, 255]);
    await firehose.send(
      new PutRecordCommand({ DeliveryStreamName: stream, Record: { Data: single } }),
    );

    const [key] = await streamKeysInBucket(stream, 1);
    const p = (n: number) => String(n).padStart(2, '0');
    const y = before.getUTCFullYear();
    // The date path and the name's timestamp are the oldest record's arrival, in UTC.
    expect(key).toMatch(
      new RegExp(
        `^${y}/${p(before.getUTCMonth() + 1)}/\\d{2}/\\d{2}/${stream}-1-${y}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-${UUID}$`,
      ),
    );
    const object = await s3.getObject(BUCKET, key!);
    expect(object.contentEncoding).toBeUndefined();
    expect(object.body.equals(Buffer.concat([...batch, single]))).toBe(true);
    expect(await redis.hgetall(streamKeys(stream).stats)).toMatchObject({
      backlogRecords: '0',
      backlogBytes: '0',
      deliveredRecords: '501',
    });
  });

  it('seals by size long before the interval', async () => {
    const stream = await createStream({ BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 900 } });
    const sent: Buffer[] = [];
    for (let i = 0; i < 3; i++) {
      const batch = records(400, 1000, `size${i}`);
      sent.push(...batch);
      await firehose.send(
        new PutRecordBatchCommand({
          DeliveryStreamName: stream,
          Records: batch.map((Data) => ({ Data })),
        }),
      );
    }
    // 1.2 MB crosses 1 MiB on the third request: one object with all three, nothing left open.
    const [key] = await streamKeysInBucket(stream, 1);
    expect((await s3.getObject(BUCKET, key!)).body.equals(Buffer.concat(sent))).toBe(true);
    expect(await redis.exists(streamKeys(stream).open)).toBe(0);
  });

  it('compresses with GZIP: .gz extension, Content-Encoding gzip, decodes to the records', async () => {
    const stream = await createStream({
      CompressionFormat: 'GZIP',
      BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 1 },
    });
    const batch = records(300, 500, 'gzip');
    await firehose.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: stream,
        Records: batch.map((Data) => ({ Data })),
      }),
    );
    const [key] = await streamKeysInBucket(stream, 1);
    expect(key).toMatch(/\.gz$/);
    const object = await s3.getObject(BUCKET, key!);
    expect(object.contentEncoding).toBe('gzip');
    expect(gunzipSync(object.body).equals(Buffer.concat(batch))).toBe(true);
  });

  it('evaluates prefix expressions', async () => {
    const stream = await createStream({
      Prefix: 'events/year=!{timestamp:yyyy}/id=!{firehose:random-string}/',
      ErrorOutputPrefix: 'errors/!{firehose:error-output-type}/',
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
    });
    await firehose.send(
      new PutRecordCommand({ DeliveryStreamName: stream, Record: { Data: Buffer.from('p') } }),
    );
    const [key] = await streamKeysInBucket(stream, 1);
    expect(key).toMatch(
      new RegExp(`^events/year=\\d{4}/id=[a-zA-Z0-9]{11}/${stream}-1-\\d{4}(-\\d{2}){5}-${UUID}$`),
    );
  });

  it('uploads large objects in parts, byte-exact', async () => {
    const stream = await createStream({
      BufferingHints: { SizeInMBs: 11, IntervalInSeconds: 900 },
    });
    const sent: Buffer[] = [];
    for (let i = 0; i < 3; i++) {
      // ~3.9 MiB per request; the third crosses 11 MiB and seals an object of three 8 MiB-parts' worth.
      const batch = records(4, 1_000_000, `big${i}`);
      sent.push(...batch);
      await firehose.send(
        new PutRecordBatchCommand({
          DeliveryStreamName: stream,
          Records: batch.map((Data) => ({ Data })),
        }),
      );
    }
    const [key] = await streamKeysInBucket(stream, 1);
    const object = await s3.getObject(BUCKET, key!);
    expect(object.body.length).toBe(12_000_000);
    expect(object.body.equals(Buffer.concat(sent))).toBe(true);
  });

  it('retries durably while the bucket is missing, then delivers once', async () => {
    const bucket = `late-${Date.now()}`;
    const stream = await createStream(
      { BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 } },
      bucket,
    );
    const batch = records(50, 100, 'late');
    await firehose.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: stream,
        Records: batch.map((Data) => ({ Data })),
      }),
    );
    await sluice.waitForLog(
      new RegExp(`"stream":"${stream}".*delivery failed; will retry`),
      20_000,
    );
    const queueKey = `sluice:{${stream}}:deliver:delayed`;
    await eventually('a delayed retry in Redis', async () =>
      (await redis.zcard(queueKey)) > 0 ? true : undefined,
    );
    expect(await redis.hget(streamKeys(stream).stats, 'backlogRecords')).toBe('50');

    // Meanwhile another stream is not held back by the failing one.
    const healthy = await createStream({ BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 } });
    await firehose.send(
      new PutRecordCommand({ DeliveryStreamName: healthy, Record: { Data: Buffer.from('ok') } }),
    );
    await streamKeysInBucket(healthy, 1);
    expect(await redis.hget(streamKeys(stream).stats, 'backlogRecords')).toBe('50');

    await s3.createBucket(bucket);
    const keys = await streamKeysInBucket(stream, 1, bucket);
    expect(keys).toHaveLength(1);
    expect((await s3.getObject(bucket, keys[0]!)).body.equals(Buffer.concat(batch))).toBe(true);
    await eventually('the backlog to clear', async () =>
      (await redis.hget(streamKeys(stream).stats, 'backlogRecords')) === '0' ? true : undefined,
    );
  });
});

describe('retention window', () => {
  it('dead-letters a batch that cannot be delivered in time, keeping it with its reason', async () => {
    const shortLived = await startSluice({
      env: {
        ...s3.sluiceEnv,
        SLUICE_REDIS_URL: redisServer.url,
        SLUICE_SEAL_TICK_MS: '50',
        SLUICE_RETRY_BASE_MS: '100',
        SLUICE_RETRY_MAX_MS: '300',
        SLUICE_RETENTION_SECONDS: '2',
        SLUICE_ROLE: 'all',
      },
    });
    const client = new FirehoseClient({
      endpoint: shortLived.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
    try {
      const stream = uniqueName('dead');
      await client.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: stream,
          ExtendedS3DestinationConfiguration: {
            RoleARN: 'arn:aws:iam::000000000000:role/firehose',
            BucketARN: 'arn:aws:s3:::no-such-bucket-ever',
            BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
          },
        }),
      );
      await client.send(
        new PutRecordCommand({ DeliveryStreamName: stream, Record: { Data: Buffer.from('kept') } }),
      );
      const [batchId] = await eventually('a dead-lettered batch', async () => {
        const dead = await redis.zrange(streamKeys(stream).dead, 0, '-1');
        return dead.length > 0 ? dead : undefined;
      });
      const meta = await redis.hgetall(`${streamKeys(stream).batchPrefix}${batchId}`);
      expect(meta.deadReason).toMatch(
        /retention window of 2 s ended after \d+ attempts; last error: .*NoSuchBucket/,
      );
      expect(await redis.llen(`${streamKeys(stream).batchPrefix}${batchId}:chunks`)).toBe(1);
      expect(await redis.hgetall(streamKeys(stream).stats)).toMatchObject({
        backlogRecords: '0',
        deadBatches: '1',
        deadRecords: '1',
      });
    } finally {
      client.destroy();
      await shortLived.stop();
    }
  });
});
