import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { S3Location } from '../../src/destinations/destination-kind.js';
import { LocalObjectStore } from '../../src/destinations/local/local-object-store.js';
import { ObjectNotFoundError, type ObjectStore } from '../../src/destinations/object-store.js';
import { EvaluatedPrefixTooLongError } from '../../src/destinations/s3/object-key.js';
import { S3ObjectStore } from '../../src/destinations/s3/s3-object-store.js';
import {
  ErrorOutputWriter,
  type ErrorOutputWriteRequest,
} from '../../src/error-output/error-output-writer.js';
import { parseErrorRecords, type FailedRecordInput } from '../../src/error-output/error-records.js';
import { streamKeys } from '../../src/streams/keys.js';
import { TEST_REDIS_URL } from '../support/global-setup.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import { removeStreams } from '../support/shared-redis.js';
import { uniqueName } from '../support/unique.js';

/**
 * The error-output writer against real stores (a local directory and s3rver) and the shared
 * Redis: Firehose's key layout, keys that a retry rewrites instead of adding, the error index,
 * and the stores' get and list.
 */

const ARRIVAL = Date.UTC(2026, 6, 13, 14, 5, 6, 789);
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';

let redis: Redis;
const streams: string[] = [];

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
  await removeStreams(redis, streams);
  await redis.quit();
});

function stream(): string {
  const name = uniqueName('errout');
  streams.push(name);
  return name;
}

function records(...payloads: (string | Buffer)[]): FailedRecordInput[] {
  return payloads.map((payload, i) => ({
    record: { id: `rec-${i}`, position: i, arrivalMs: ARRIVAL + i, data: Buffer.from(payload) },
    code: 'HttpEndpoint.DestinationException',
    message: `attempt ${i} refused`,
    attemptsMade: 3,
    attemptEndingMs: ARRIVAL + 60_000,
  }));
}

function request(
  name: string,
  location: Partial<S3Location> = {},
  overrides: Partial<ErrorOutputWriteRequest> = {},
): ErrorOutputWriteRequest {
  return {
    stream: name,
    streamVersion: 2,
    batchId: 'b3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    firstArrivalMs: ARRIVAL,
    seq: 0,
    type: 'http-endpoint-failed',
    location: {
      bucket: 'errors-bucket',
      prefix: '',
      compression: 'UNCOMPRESSED',
      timeZone: 'UTC',
      ...location,
    },
    records: records('first\n', Buffer.from([0, 255, 10, 13])),
    nowMs: 1_000,
    ...overrides,
  };
}

async function indexOf(name: string): Promise<string[]> {
  return redis.zrange(streamKeys(name).errors, 0, '-1');
}

describe('ErrorOutputWriter on the local store', () => {
  let dir: string;
  let store: LocalObjectStore;
  let writer: ErrorOutputWriter;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-errout-'));
    store = new LocalObjectStore(join(dir, 's3'));
    writer = new ErrorOutputWriter(store, redis);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes NDJSON records under the default layout, and indexes the object', async () => {
    const name = stream();
    const written = await writer.write(request(name));
    expect(written.bucket).toBe('errors-bucket');
    expect(written.key).toMatch(
      new RegExp(`^http-endpoint-failed/2026/07/13/14/${name}-2-2026-07-13-14-05-06-${UUID}$`),
    );
    const body = await readFile(join(dir, 's3', 'errors-bucket', written.key));
    const lines = body.toString('utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(Object.keys(JSON.parse(lines[0] as string) as object)).toEqual([
      'attemptsMade',
      'arrivalTimestamp',
      'errorCode',
      'errorMessage',
      'attemptEndingTimestamp',
      'rawData',
      'subsequenceNumber',
      'dataId',
    ]);
    const parsed = parseErrorRecords(body);
    expect(parsed.map((r) => r.rawData)).toEqual([
      Buffer.from('first\n'),
      Buffer.from([0, 255, 10, 13]),
    ]);
    expect(parsed.map((r) => r.arrivalMs)).toEqual([ARRIVAL, ARRIVAL + 1]);

    expect(await redis.zrange(streamKeys(name).errors, 0, '-1', 'WITHSCORES')).toEqual([
      `{"bucket":"errors-bucket","key":${JSON.stringify(written.key)},"type":"http-endpoint-failed","batchId":"b3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d","seq":0,"records":2}`,
      '1000',
    ]);
  });

  it('rewrites the same object for the same (batch, seq, type), and adds one for another seq', async () => {
    const name = stream();
    const first = await writer.write(request(name));
    const retry = await writer.write(request(name, {}, { nowMs: 2_000 }));
    expect(retry).toEqual(first);
    expect(await indexOf(name)).toHaveLength(1);
    expect(await redis.zscore(streamKeys(name).errors, (await indexOf(name))[0] as string)).toBe(
      '2000',
    );
    expect([...(await listAll(store, 'errors-bucket', ''))]).toEqual([first.key]);

    const next = await writer.write(request(name, {}, { seq: 1 }));
    expect(next.key).not.toBe(first.key);
    const other = await writer.write(request(name, {}, { type: 'processing-failed' }));
    expect(other.key).toMatch(/^processing-failed\/2026\/07\/13\/14\//);
    expect(await indexOf(name)).toHaveLength(3);
    expect((await listAll(store, 'errors-bucket', '')).sort()).toEqual(
      [first.key, next.key, other.key].sort(),
    );
  });

  it('evaluates ErrorOutputPrefix with the type, random strings and the zone', async () => {
    const name = stream();
    const location = {
      prefix: 'ignored/',
      errorOutputPrefix:
        'fail/!{firehose:error-output-type}/!{firehose:random-string}/!{timestamp:yyyy/MM/dd/HH}/',
      timeZone: 'America/New_York',
    };
    const written = await writer.write(request(name, location, { type: 'splunk-failed' }));
    expect(written.key).toMatch(
      new RegExp(
        `^fail/splunk-failed/[A-Za-z0-9]{11}/2026/07/13/10/${name}-2-2026-07-13-10-05-06-${UUID}$`,
      ),
    );
    expect((await writer.write(request(name, location, { type: 'splunk-failed' }))).key).toBe(
      written.key,
    );
    const later = await writer.write(request(name, location, { type: 'splunk-failed', seq: 9 }));
    expect(later.key.split('/')[2]).not.toBe(written.key.split('/')[2]);
  });

  it('gzips the object for GZIP and names it .gz', async () => {
    const name = stream();
    const written = await writer.write(request(name, { compression: 'GZIP' }));
    expect(written.key).toMatch(/\.gz$/);
    const stored = await store.get('errors-bucket', written.key);
    expect([stored[0], stored[1]]).toEqual([0x1f, 0x8b]);
    expect(parseErrorRecords(gunzipSync(stored)).map((r) => r.rawData.toString('latin1'))).toEqual([
      'first\n',
      Buffer.from([0, 255, 10, 13]).toString('latin1'),
    ]);
  });

  it("gzips at the level it is given (SLUICE_GZIP_LEVEL), zlib's default without one", async () => {
    const name = stream();
    // gzip's header (RFC 1952 XFL): 4 for deflate's fastest, 2 for its smallest, 0 otherwise.
    for (const [level, xfl] of [
      [1, 4],
      [9, 2],
      [undefined, 0],
    ] as const) {
      const leveled = new ErrorOutputWriter(store, redis, level);
      const written = await leveled.write(request(name, { compression: 'GZIP' }));
      const stored = await store.get('errors-bucket', written.key);
      expect(stored[8], `level ${level}`).toBe(xfl);
      expect(parseErrorRecords(gunzipSync(stored))).toHaveLength(2);
    }
  });

  it('refuses an evaluated prefix over 512 characters, writing and indexing nothing', async () => {
    const name = stream();
    const errorOutputPrefix = `${'p'.repeat(520)}!{firehose:error-output-type}/`;
    await expect(writer.write(request(name, { errorOutputPrefix }))).rejects.toBeInstanceOf(
      EvaluatedPrefixTooLongError,
    );
    expect(await indexOf(name)).toEqual([]);
  });

  it('lets a store failure through and indexes nothing', async () => {
    const name = stream();
    const error: unknown = await writer
      .write(request(name, { bucket: '..' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(store.isPermanent(error)).toBe(true);
    expect(await indexOf(name)).toEqual([]);
  });

  it('refuses a write without records', async () => {
    await expect(writer.write(request(stream(), {}, { records: [] }))).rejects.toThrow(
      /no records/,
    );
  });
});

/** Every key `list` yields. */
async function listAll(store: ObjectStore, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.list(bucket, prefix)) keys.push(key);
  return keys;
}

function put(store: ObjectStore, bucket: string, key: string, body: string | Buffer) {
  return store.put({
    bucket,
    key,
    body: Readable.from([Buffer.from(body)]),
    contentEncoding: undefined,
  });
}

describe('LocalObjectStore get and list', () => {
  let dir: string;
  let root: string;
  let store: LocalObjectStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-local-read-'));
    root = join(dir, 's3');
    store = new LocalObjectStore(root);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads back what put wrote, byte for byte', async () => {
    const body = Buffer.from([0, 1, 2, 255]);
    await put(store, 'bkt', 'a/b/c', body);
    expect((await store.get('bkt', 'a/b/c')).equals(body)).toBe(true);
  });

  it('answers ObjectNotFoundError for a missing object, directory or bucket, creating nothing', async () => {
    await put(store, 'bkt', 'a/b/c', 'x');
    for (const [bucket, key] of [
      ['bkt', 'a/b/missing'],
      ['bkt', 'a/b'],
      ['bkt', 'a/b/c/d'],
      ['nobucket', 'k'],
    ] as const) {
      await expect(store.get(bucket, key)).rejects.toBeInstanceOf(ObjectNotFoundError);
    }
    expect(await listAll(store, 'nobucket', '')).toEqual([]);
    await expect(readFile(join(root, 'nobucket'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('never reads outside the bucket: .. keys, bucket names and links', async () => {
    await writeFile(join(dir, 'secret'), 'secret');
    await put(store, 'bkt', 'k', 'x');
    await mkdir(join(root, 'other'), { recursive: true });
    await writeFile(join(root, 'other', 'k'), 'other bucket');
    await symlink(join(dir, 'secret'), join(root, 'bkt', 'link'));
    await symlink(dir, join(root, 'bkt', 'dirlink'));
    for (const [bucket, key] of [
      ['bkt', '../other/k'],
      ['bkt', '../../secret'],
      ['..', 'secret'],
      ['bkt', 'link'],
      ['bkt', 'dirlink/secret'],
    ] as const) {
      const error: unknown = await store.get(bucket, key).catch((e: unknown) => e);
      expect(error, `${bucket}/${key}`).toBeInstanceOf(Error);
      expect(store.isPermanent(error), `${bucket}/${key}`).toBe(true);
    }
    expect(await listAll(store, 'bkt', '')).toEqual(['k']);
  });

  it('lists the keys under a prefix, leaving out objects being written', async () => {
    for (const key of ['2026/07/13/a', '2026/07/13/b', '2026/07/14/c', '2026-x', 'other/d']) {
      await put(store, 'bkt', key, key);
    }
    await writeFile(
      join(root, 'bkt', '2026', '07', '13', 'a.0f0e0d0c-0b0a-4908-8706-050403020100.partial'),
      'half',
    );
    expect((await listAll(store, 'bkt', '')).sort()).toEqual([
      '2026-x',
      '2026/07/13/a',
      '2026/07/13/b',
      '2026/07/14/c',
      'other/d',
    ]);
    expect((await listAll(store, 'bkt', '2026/07/1')).sort()).toEqual([
      '2026/07/13/a',
      '2026/07/13/b',
      '2026/07/14/c',
    ]);
    expect(await listAll(store, 'bkt', '2026/07/13/')).toEqual(['2026/07/13/a', '2026/07/13/b']);
    expect(await listAll(store, 'bkt', '2026-')).toEqual(['2026-x']);
    expect(await listAll(store, 'bkt', 'nothing')).toEqual([]);
  });
});

describe('on s3rver', () => {
  let s3: S3Server;
  let store: S3ObjectStore;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    s3 = await startS3Server();
    await s3.createBucket('errors-bucket');
    // The store takes its credentials from the environment, as the service's does.
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'])
      saved[name] = process.env[name];
    process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey;
    store = new S3ObjectStore({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true });
  });
  afterAll(async () => {
    await store.close();
    await s3.stop();
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('writes a gzip error object with Content-Encoding gzip, read back raw by get', async () => {
    const name = stream();
    const writer = new ErrorOutputWriter(store, redis);
    const written = await writer.write(request(name, { compression: 'GZIP', prefix: 'pre/' }));
    expect(written.key).toMatch(
      new RegExp(`^pre/http-endpoint-failed/2026/07/13/14/${name}-2-.*\\.gz$`),
    );
    const object = await s3.getObject('errors-bucket', written.key);
    expect(object.contentEncoding).toBe('gzip');
    const raw = await store.get('errors-bucket', written.key);
    expect(raw.equals(object.body)).toBe(true);
    expect(parseErrorRecords(gunzipSync(raw)).map((r) => r.rawData.toString())).toEqual([
      'first\n',
      Buffer.from([0, 255, 10, 13]).toString(),
    ]);
    expect(await writer.write(request(name, { compression: 'GZIP', prefix: 'pre/' }))).toEqual(
      written,
    );
    expect(await listAll(store, 'errors-bucket', `pre/http-endpoint-failed/`)).toEqual([
      written.key,
    ]);
    expect(await indexOf(name)).toHaveLength(1);
  });

  it('answers ObjectNotFoundError for a missing key', async () => {
    await expect(store.get('errors-bucket', 'no/such/key')).rejects.toBeInstanceOf(
      ObjectNotFoundError,
    );
  });

  it('lists across pages (more than 1,000 keys)', async () => {
    const keys = Array.from({ length: 1005 }, (_, i) => `paged/${String(i).padStart(4, '0')}`);
    for (let start = 0; start < keys.length; start += 50) {
      await Promise.all(
        keys.slice(start, start + 50).map((key) => put(store, 'errors-bucket', key, 'x')),
      );
    }
    await put(store, 'errors-bucket', 'pagedX', 'x');
    expect(await listAll(store, 'errors-bucket', 'paged/')).toEqual(keys);
  });
});
