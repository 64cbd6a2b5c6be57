import {
  DeleteDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  PutRecordCommand,
  ResourceNotFoundException,
  type ExtendedS3DestinationConfiguration,
  type FirehoseClient,
} from '@aws-sdk/client-firehose';
import type { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMPRESSION, COMPRESSION_FORMATS } from '../../src/formats/compression.js';
import { streamKeys } from '../../src/streams/keys.js';
import { decodeBytesIndependently } from '../support/independent-decoders.js';
import { keysLeftBehind } from '../support/shared-redis.js';
import {
  cleanupAfterAll,
  cleanupAfterEach,
  createS3Stream,
  eventually,
  firehoseFor,
  putRecordBatch,
  startServers,
  startService,
  tempDir,
  UUID,
  type Servers,
} from '../support/e2e.js';
import { startRecordingProxy, type RecordingProxy } from '../support/recording-proxy.js';
import type { SluiceProcess } from '../support/sluice-process.js';

const BUCKET = 'deliveries';
/** Fast sealing and retries; the retention test shortens the retries further. */
const SETTINGS = {
  SLUICE_SEAL_TICK_MS: '50',
  SLUICE_RETRY_BASE_MS: '100',
  SLUICE_RETRY_MAX_MS: '500',
  // Not zlib's default, so that the GZIP objects show the setting reached the compress stage.
  SLUICE_GZIP_LEVEL: '9',
};
/** The SDK's own default: this suite never kills the service, so retrying is harmless. */
const MAX_ATTEMPTS = 3;

/** The servers and the service all tests of this file share. */
const suite = cleanupAfterAll();
/** What a single test starts for itself. */
const cleanups = cleanupAfterEach();

let servers: Servers;
let s3: Servers['s3'];
let redis: Redis;
let sluice: SluiceProcess;
let firehose: FirehoseClient;
/** Between Sluice and s3rver, so tests can see which S3 calls delivery made. */
let proxy: RecordingProxy;

beforeAll(async () => {
  servers = await startServers(suite);
  ({ s3, redis } = servers);
  await s3.createBucket(BUCKET);
  proxy = await startRecordingProxy(s3.endpoint);
  suite.add(() => proxy.close());
  sluice = await startService(suite, {
    ...servers.sluiceEnv,
    ...SETTINGS,
    SLUICE_S3_ENDPOINT: proxy.endpoint,
  });
  firehose = firehoseFor(suite, sluice, { maxAttempts: MAX_ATTEMPTS });
});

/** The S3 operations delivery made on `key`, in order, named from method and query. */
function s3CallsFor(key: string): string[] {
  return proxy.requests.flatMap(({ method, url: raw }) => {
    const url = new URL(raw, proxy.endpoint);
    if (decodeURIComponent(url.pathname) !== `/${BUCKET}/${key}`) return [];
    const query = url.searchParams;
    if (method === 'POST' && query.has('uploads')) return ['CreateMultipartUpload'];
    if (method === 'POST' && query.has('uploadId')) return ['CompleteMultipartUpload'];
    if (method === 'PUT' && query.has('partNumber')) return ['UploadPart'];
    if (method === 'PUT') return ['PutObject'];
    return [`${method} ${url.search}`];
  });
}

function createStream(config: Partial<ExtendedS3DestinationConfiguration>, bucket = BUCKET) {
  return createS3Stream(firehose, 'e2e', bucket, config);
}

async function streamKeysInBucket(stream: string, count: number, bucket = BUCKET) {
  return eventually(
    `${count} object(s) of ${stream}`,
    async () => {
      const keys = (await s3.listKeys(bucket)).filter((k) => k.includes(`${stream}-`));
      return keys.length >= count ? keys : undefined;
    },
    { sluice },
  );
}

function records(count: number, size: number, tag: string): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const head = `{"tag":"${tag}","n":${i},"pad":"`;
    return Buffer.from(`${head}${'x'.repeat(Math.max(0, size - head.length - 3))}"}\n`);
  });
}

/**
 * Sends `requests` PutRecordBatch requests one after another, the i-th with
 * `records(count, size, tag + i)`, and returns every record sent, in order.
 */
async function putRequests(
  stream: string,
  requests: number,
  { count, size, tag }: { count: number; size: number; tag: string },
): Promise<Buffer[]> {
  const sent: Buffer[] = [];
  for (let i = 0; i < requests; i++) {
    const batch = records(count, size, `${tag}${i}`);
    sent.push(...batch);
    await putRecordBatch(firehose, stream, batch);
  }
  return sent;
}

describe('S3 delivery', () => {
  it('seals by age and writes records byte for byte under the default key layout', async () => {
    // 3 s: the two puts below must land in one buffer even on a loaded machine.
    const stream = await createStream({ BufferingHints: { SizeInMBs: 128, IntervalInSeconds: 3 } });
    const batch = records(500, 200, 'age');
    const before = new Date();
    const put = await putRecordBatch(firehose, stream, batch);
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
    // A small object goes up in one PutObject, not as a multipart upload.
    expect(s3CallsFor(key!)).toEqual(['PutObject']);
    expect(object.body.equals(Buffer.concat([...batch, single]))).toBe(true);
    // The object is visible a moment before the delivery is recorded as complete.
    const stats = await eventually('the backlog released', async () => {
      const now = await redis.hgetall(streamKeys(stream).stats);
      return now.backlogRecords === '0' ? now : undefined;
    });
    expect(stats).toMatchObject({
      backlogRecords: '0',
      backlogBytes: '0',
      deliveredRecords: '501',
    });
  });

  it('seals by size long before the interval', async () => {
    const stream = await createStream({ BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 900 } });
    const sent = await putRequests(stream, 3, { count: 400, size: 1000, tag: 'size' });
    // 1.2 MB crosses 1 MiB on the third request: one object with all three, nothing left open.
    const [key] = await streamKeysInBucket(stream, 1);
    expect((await s3.getObject(BUCKET, key!)).body.equals(Buffer.concat(sent))).toBe(true);
    expect(await redis.exists(streamKeys(stream).open)).toBe(0);
  });

  for (const format of COMPRESSION_FORMATS.filter((f) => f !== 'UNCOMPRESSED')) {
    const { extension, contentEncoding } = COMPRESSION[format];
    it(`compresses with ${format}: ${extension} objects, Content-Encoding ${contentEncoding}, read back by another decoder`, async () => {
      const stream = await createStream({
        // ZSTD is Sluice's: the SDK's type does not list it, but sends any value.
        CompressionFormat: format as ExtendedS3DestinationConfiguration['CompressionFormat'],
        BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 1 },
      });
      // Over 64 KiB, so the block formats write several blocks.
      const batch = records(300, 500, format);
      await putRecordBatch(firehose, stream, batch);
      const [key] = await streamKeysInBucket(stream, 1);
      expect(key).toMatch(new RegExp(`-${UUID}\\${extension}$`));
      const object = await s3.getObject(BUCKET, key!);
      expect(object.contentEncoding).toBe(contentEncoding);
      // gzip's header (RFC 1952 XFL): 2 for deflate's smallest, SLUICE_GZIP_LEVEL 9.
      if (format === 'GZIP') expect(object.body[8]).toBe(2);
      const decoded = await decodeBytesIndependently(
        format,
        object.body,
        await tempDir(suite, 'sluice-e2e-compression-'),
      );
      expect(decoded.equals(Buffer.concat(batch))).toBe(true);
      const described = await firehose.send(
        new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream }),
      );
      expect(
        described.DeliveryStreamDescription?.Destinations?.[0]?.ExtendedS3DestinationDescription
          ?.CompressionFormat,
      ).toBe(format);
    });
  }

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
    // ~3.9 MiB per request; the third crosses 11 MiB and seals a 12 MB object, uploaded in three parts.
    const sent = await putRequests(stream, 3, { count: 4, size: 1_000_000, tag: 'big' });
    const [key] = await streamKeysInBucket(stream, 1);
    const object = await s3.getObject(BUCKET, key!);
    expect(object.body.length).toBe(12_000_000);
    expect(s3CallsFor(key!)).toEqual([
      'CreateMultipartUpload',
      'UploadPart',
      'UploadPart',
      'UploadPart',
      'CompleteMultipartUpload',
    ]);
    expect(object.body.equals(Buffer.concat(sent))).toBe(true);
  });

  it('retries durably while the bucket is missing, then delivers once', async () => {
    const bucket = `late-${Date.now()}`;
    const stream = await createStream(
      { BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 } },
      bucket,
    );
    const batch = records(50, 100, 'late');
    await putRecordBatch(firehose, stream, batch);
    await sluice.waitForLog(
      new RegExp(`"stream":"${stream}".*delivery failed; will retry`),
      20_000,
    );
    const queueKey = `sluice:{${stream}}:deliver:delayed`;
    await eventually('a delayed retry in Redis', async () => (await redis.zcard(queueKey)) > 0, {
      sluice,
    });
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
    await eventually(
      'the backlog to clear',
      async () => (await redis.hget(streamKeys(stream).stats, 'backlogRecords')) === '0',
      { sluice },
    );
  });
});

describe('DeleteDeliveryStream', () => {
  it('delivers what the stream buffered, then removes the stream and its queue', async () => {
    const stream = await createStream({
      BufferingHints: { SizeInMBs: 128, IntervalInSeconds: 900 },
    });
    await firehose.send(
      new PutRecordCommand({
        DeliveryStreamName: stream,
        Record: { Data: Buffer.from('last words') },
      }),
    );
    await firehose.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: stream }));
    const refused = await firehose
      .send(
        new PutRecordCommand({ DeliveryStreamName: stream, Record: { Data: Buffer.from('late') } }),
      )
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ResourceNotFoundException);

    const [key] = await streamKeysInBucket(stream, 1);
    expect((await s3.getObject(BUCKET, key!)).body.toString()).toBe('last words');
    await eventually('the stream to be removed', async () => {
      const gone = await firehose
        .send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream }))
        .then(() => false)
        .catch((error: unknown) => error instanceof ResourceNotFoundException);
      return gone ? true : undefined;
    });
    expect(await keysLeftBehind(redis, stream)).toEqual([]);
  });
});

describe('permanent failures', () => {
  it('dead-letters at once a batch whose object cannot be named, keeping it with the reason', async () => {
    // Valid at create (under 1024 characters) but over 512 once evaluated: no retry can help.
    const stream = await createStream({
      Prefix: `!{timestamp:yyyy}${'x'.repeat(510)}/`,
      ErrorOutputPrefix: 'errors/!{firehose:error-output-type}/',
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
    });
    await firehose.send(
      new PutRecordCommand({ DeliveryStreamName: stream, Record: { Data: Buffer.from('kept') } }),
    );
    const [batchId] = await eventually('a dead-lettered batch', async () => {
      const dead = await redis.zrange(streamKeys(stream).dead, 0, '-1');
      return dead.length > 0 ? dead : undefined;
    });
    const meta = await redis.hgetall(`${streamKeys(stream).batchPrefix}${batchId}`);
    expect(meta.deadReason).toMatch(
      /^S3.InvalidPrefix: permanent failure: cannot name the object: .*512/,
    );
    expect(await redis.llen(`${streamKeys(stream).batchPrefix}${batchId}:chunks`)).toBe(1);
    expect((await s3.listKeys(BUCKET)).filter((k) => k.includes(stream))).toEqual([]);
  });
});

describe('retention window', () => {
  it('dead-letters a batch that cannot be delivered in time, keeping it with its reason', async () => {
    const shortLived = await startService(cleanups, {
      ...servers.sluiceEnv,
      ...SETTINGS,
      SLUICE_RETRY_MAX_MS: '300',
      SLUICE_RETENTION_SECONDS: '2',
      SLUICE_ROLE: 'all',
    });
    const client = firehoseFor(cleanups, shortLived, { maxAttempts: MAX_ATTEMPTS });
    const stream = await createS3Stream(client, 'dead', 'no-such-bucket-ever', {
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
    });
    await client.send(
      new PutRecordCommand({ DeliveryStreamName: stream, Record: { Data: Buffer.from('kept') } }),
    );
    const [batchId] = await eventually(
      'a dead-lettered batch',
      async () => {
        const dead = await redis.zrange(streamKeys(stream).dead, 0, '-1');
        return dead.length > 0 ? dead : undefined;
      },
      { sluice: shortLived },
    );
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
  });
});
