import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpRequest } from '@smithy/core/protocols';
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { SigV4Verifier } from '../../src/api/auth/sigv4-verifier.js';
import { decodeChunk, encodeChunkFromBuffers } from '../../src/formats/chunk-frame.js';
import { RecordBuffer } from '../../src/buffer/record-buffer.js';
import { loadSettings } from '../../src/config/env.js';
import { BatchStore } from '../../src/delivery/batch-store.js';
import type { S3Location } from '../../src/destinations/destination-kind.js';
import { LocalObjectStore } from '../../src/destinations/local/local-object-store.js';
import { listDeadBatches } from '../../src/error-output/dead-batches.js';
import { ErrorOutputWriter } from '../../src/error-output/error-output-writer.js';
import type { ErrorOutputType, FailedRecordInput } from '../../src/error-output/error-records.js';
import { ReplayError } from '../../src/error-output/replay-errors.js';
import { Replayer } from '../../src/error-output/replay.js';
import { batchKeys, streamKeys } from '../../src/streams/keys.js';
import { StreamRegistry } from '../../src/streams/registry.js';
import { TEST_REDIS_URL } from '../support/global-setup.js';
import { removeStreams } from '../support/shared-redis.js';
import { uniqueName } from '../support/unique.js';

/**
 * Replay end to end at the Redis level: error output written by the writer and batches
 * dead-lettered by the batch store are selected, appended to another stream through the real
 * buffer scripts (read back byte for byte from the target's open batch), and never sent twice.
 * Then the admin routes over fastify's inject.
 */

const NOW = Date.UTC(2026, 6, 13, 15, 0, 0);
const LOCATION: S3Location = {
  bucket: 'replay-bucket',
  prefix: '',
  compression: 'UNCOMPRESSED',
  timeZone: 'UTC',
};

let redis: Redis;
let dir: string;
let store: LocalObjectStore;
let writer: ErrorOutputWriter;
const streams: string[] = [];
let sealed: string[] = [];
let batchCounter = 0;

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
  await removeStreams(redis, streams);
  await redis.quit();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-replay-'));
  store = new LocalObjectStore(join(dir, 's3'));
  writer = new ErrorOutputWriter(store, redis);
  sealed = [];
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A stream as the registry stores it (only what the scripts read); nothing seals by itself. */
async function declareStream(status = 'ACTIVE', intervalMs = 3_600_000): Promise<string> {
  const name = uniqueName('replay');
  streams.push(name);
  await redis.hset(streamKeys(name).stream, {
    status,
    sizeBytes: 1 << 30,
    intervalMs,
    definition: '{}',
  });
  return name;
}

/** A name no stream has (tracked, so anything a bug creates under it is removed). */
function missingStream(): string {
  const name = uniqueName('replay-none');
  streams.push(name);
  return name;
}

function buffer(capBytes = 1 << 30): RecordBuffer {
  return new RecordBuffer(redis, capBytes, (_stream, id) => {
    sealed.push(id);
    return Promise.resolve();
  });
}

function replayer(recordBuffer = buffer()): Replayer {
  return new Replayer({ redis, buffer: recordBuffer, store, now: () => NOW });
}

function payloads(count: number, tag: string): Buffer[] {
  return Array.from({ length: count }, (_, i) =>
    i % 3 === 0 ? Buffer.from([i & 0xff, 0, 10, 255]) : Buffer.from(`${tag}-${i}\n`),
  );
}

/** Writes `data` as one error-output object of `stream` and returns its item id. */
async function errorOutput(
  stream: string,
  data: Buffer[],
  options: { type?: ErrorOutputType; nowMs?: number; location?: Partial<S3Location> } = {},
): Promise<{ id: string; key: string }> {
  batchCounter += 1;
  const records: FailedRecordInput[] = data.map((payload, i) => ({
    record: { id: `r${i}`, position: i, arrivalMs: NOW - 60_000, data: payload },
    code: 'HttpEndpoint.RequestTimeout',
    message: 'no answer',
    attemptsMade: 2,
    attemptEndingMs: NOW - 1,
  }));
  const written = await writer.write({
    stream,
    streamVersion: 1,
    batchId: `batch-${batchCounter}`,
    firstArrivalMs: NOW - 60_000,
    seq: 0,
    type: options.type ?? 'http-endpoint-failed',
    location: { ...LOCATION, ...options.location },
    records,
    nowMs: options.nowMs ?? NOW,
  });
  return { id: `error:${written.bucket}/${written.key}`, key: written.key };
}

/** Appends `requests` to `stream` as one batch, seals it and dead-letters it. */
async function deadBatch(stream: string, requests: Buffer[][], atMs = NOW): Promise<string> {
  const recordBuffer = buffer();
  for (const request of requests) {
    const bytes = request.reduce((n, r) => n + r.length, 0);
    const result = await recordBuffer.append(
      stream,
      encodeChunkFromBuffers(NOW - 120_000, request),
      bytes,
      request.length,
      NOW - 120_000,
    );
    expect(result.kind).toBe('stored');
  }
  const batchId = await recordBuffer.sealIfDue(stream, NOW - 100_000, true);
  if (batchId === undefined) throw new Error('nothing sealed');
  expect(await new BatchStore(redis).deadLetter(stream, batchId, 'retention ended', atMs)).toBe(
    true,
  );
  return batchId;
}

/** The payloads in the stream's open batch, in order. */
async function openRecords(stream: string): Promise<Buffer[]> {
  const id = await redis.hget(streamKeys(stream).open, 'id');
  if (id === null) return [];
  const chunks = await redis.lrangeBuffer(batchKeys(stream, id).chunks, 0, -1);
  return chunks.flatMap((chunk) => decodeChunk(chunk).map((r) => Buffer.from(r.data)));
}

async function openChunkSizes(stream: string): Promise<number[]> {
  const id = await redis.hget(streamKeys(stream).open, 'id');
  if (id === null) return [];
  const chunks = await redis.lrangeBuffer(batchKeys(stream, id).chunks, 0, -1);
  return chunks.map((chunk) => decodeChunk(chunk).length);
}

async function failure(promise: Promise<unknown>): Promise<ReplayError> {
  const error: unknown = await promise.then(
    () => {
      throw new Error('the replay succeeded');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReplayError);
  return error as ReplayError;
}

/** What a failed replay must leave as it was. */
async function snapshot(source: string, target: string) {
  const keys = streamKeys(source);
  return {
    errors: await redis.zrange(keys.errors, 0, '-1'),
    dead: await redis.zrange(keys.dead, 0, '-1'),
    stats: await redis.hgetall(keys.stats),
    replayed: await redis.smembers(keys.replayed),
    targetOpen: await redis.hgetall(streamKeys(target).open),
    targetStats: await redis.hgetall(streamKeys(target).stats),
    targetRecords: await openRecords(target),
  };
}

describe('Replayer with error output', () => {
  it('selects an object, replays it byte-exact into another stream, and skips it the second time', async () => {
    const source = await declareStream();
    const target = await declareStream();
    const data = payloads(7, 'a');
    const { id, key } = await errorOutput(source, data);

    const selection = await replayer().select({ stream: source });
    expect(selection).toEqual({
      items: [
        {
          id,
          source: 'error-output',
          stream: source,
          type: 'http-endpoint-failed',
          batchId: `batch-${batchCounter}`,
          records: 7,
          atMs: NOW,
          replayed: false,
        },
      ],
      truncated: false,
    });
    expect(id).toBe(`error:replay-bucket/${key}`);

    expect(await replayer().replayItem({ stream: source, to: target, id })).toEqual({
      id,
      records: 7,
    });
    expect(await openRecords(target)).toEqual(data);
    expect(await redis.hget(streamKeys(target).open, 'records')).toBe('7');

    const again = await replayer().select({ stream: source });
    expect(again.items.map((item) => item.replayed)).toEqual([true]);
    expect(await replayer().replayItem({ stream: source, to: target, id })).toEqual({
      id,
      records: 0,
      skipped: 'already replayed',
    });
    expect(await openRecords(target)).toEqual(data);
  });

  it('replays into the source stream itself by default, and reads gzip objects', async () => {
    const source = await declareStream();
    const data = payloads(3, 'gz');
    const { id, key } = await errorOutput(source, data, { location: { compression: 'GZIP' } });
    expect(key).toMatch(/\.gz$/);
    expect(await replayer().replayItem({ stream: source, id })).toEqual({ id, records: 3 });
    expect(await openRecords(source)).toEqual(data);
  });

  it('appends in PutRecordBatch-sized chunks (500 records at most)', async () => {
    const source = await declareStream();
    const target = await declareStream();
    const data = payloads(1_100, 'big');
    const { id } = await errorOutput(source, data);
    expect(await replayer().replayItem({ stream: source, to: target, id })).toEqual({
      id,
      records: 1_100,
    });
    expect(await openChunkSizes(target)).toEqual([500, 500, 100]);
    expect(await openRecords(target)).toEqual(data);
  });

  it('resumes a replay stopped by backpressure without appending anything twice', async () => {
    const source = await declareStream();
    const target = await declareStream();
    const data = payloads(600, 'bp');
    const { id } = await errorOutput(source, data);

    // A cap of one byte: the first chunk goes into the empty backlog, the second is refused.
    const stopped = await failure(
      replayer(buffer(1)).replayItem({ stream: source, to: target, id }),
    );
    expect(stopped.reason).toBe('backpressure');
    expect(stopped.message).toMatch(/500 records of .* were appended before this/);
    expect(await openRecords(target)).toEqual(data.slice(0, 500));
    expect((await replayer().select({ stream: source })).items[0]?.replayed).toBe(false);

    // Within the receipt time the first chunk's call id finds its receipt and stores nothing.
    expect(await replayer().replayItem({ stream: source, to: target, id })).toEqual({
      id,
      records: 600,
    });
    expect(await openRecords(target)).toEqual(data);
    expect(await openChunkSizes(target)).toEqual([500, 100]);
  });

  it('refuses a missing or inactive target, changing nothing', async () => {
    const source = await declareStream();
    const deleting = await declareStream('DELETING');
    const missing = missingStream();
    const { id } = await errorOutput(source, payloads(2, 'x'));

    for (const [target, reason] of [
      [missing, 'target-not-found'],
      [deleting, 'target-not-active'],
    ] as const) {
      const before = await snapshot(source, target);
      const error = await failure(replayer().replayItem({ stream: source, to: target, id }));
      expect(error.reason).toBe(reason);
      expect(error.message).toContain(target);
      expect(await snapshot(source, target)).toEqual(before);
    }
    expect(await redis.exists(streamKeys(missing).open, streamKeys(missing).stats)).toBe(0);
  });

  it('answers unknown, vanished and unreadable items clearly, appending nothing', async () => {
    const source = await declareStream();
    const target = await declareStream();
    const other = await declareStream();
    const { id: foreign } = await errorOutput(other, payloads(1, 'o'));

    for (const id of [
      'nonsense',
      'error:replay-bucket/no/such/key',
      foreign,
      'dead:no-such-batch',
    ]) {
      const error = await failure(replayer().replayItem({ stream: source, to: target, id }));
      expect(error.reason, id).toBe('item-not-found');
    }

    const { id: vanished, key } = await errorOutput(source, payloads(1, 'v'));
    await rm(join(dir, 's3', 'replay-bucket', key));
    expect(
      (await failure(replayer().replayItem({ stream: source, to: target, id: vanished }))).reason,
    ).toBe('item-not-found');

    const { id: corrupt, key: corruptKey } = await errorOutput(source, payloads(2, 'c'));
    await writeFile(
      join(dir, 's3', 'replay-bucket', corruptKey),
      '{"arrivalTimestamp":1,"rawData":"aGk="}\n{"arrivalTimestamp":1,"rawData":"not base64!"}\n',
    );
    const unreadable = await failure(
      replayer().replayItem({ stream: source, to: target, id: corrupt }),
    );
    expect(unreadable.reason).toBe('item-unreadable');
    expect(unreadable.message).toMatch(/line 2: rawData/);
    expect(await openRecords(target)).toEqual([]);
  });

  it('selects by type and time range, oldest first, and says when it truncates', async () => {
    const source = await declareStream();
    const a = await errorOutput(source, payloads(1, 'a'), { nowMs: 1_000 });
    const b = await errorOutput(source, payloads(2, 'b'), {
      nowMs: 2_000,
      type: 'processing-failed',
    });
    const c = await errorOutput(source, payloads(3, 'c'), { nowMs: 3_000 });
    const dead = await deadBatch(source, [payloads(2, 'd')], 2_500);
    const ids = async (query: Parameters<Replayer['select']>[0]) =>
      (await replayer().select(query)).items.map((item) => item.id);

    expect(await ids({ stream: source })).toEqual([a.id, b.id, `dead:${dead}`, c.id]);
    expect(await ids({ stream: source, type: 'http-endpoint-failed' })).toEqual([a.id, c.id]);
    expect(await ids({ stream: source, type: 'processing-failed' })).toEqual([b.id]);
    expect(await ids({ stream: source, type: 'dead' })).toEqual([`dead:${dead}`]);
    expect(await ids({ stream: source, sinceMs: 2_000, untilMs: 2_999 })).toEqual([
      b.id,
      `dead:${dead}`,
    ]);
    expect(await replayer().select({ stream: source, limit: 2 })).toMatchObject({
      items: [{ id: a.id }, { id: b.id }],
      truncated: true,
    });
    expect((await replayer().select({ stream: source, limit: 4 })).truncated).toBe(false);
  });
});

describe('Replayer with dead batches', () => {
  it('lists a dead batch, replays it byte-exact, then removes it and its counts', async () => {
    const source = await declareStream();
    const target = await declareStream();
    const requests = [payloads(3, 'one'), payloads(2, 'two')];
    const batchId = await deadBatch(source, requests);
    const bytes = requests.flat().reduce((n, r) => n + r.length, 0);

    expect(await listDeadBatches(redis, source)).toEqual([
      {
        stream: source,
        batchId,
        records: 5,
        bytes,
        firstArrivalMs: NOW - 120_000,
        deadAtMs: NOW,
        reason: 'retention ended',
      },
    ]);
    expect(await redis.hmget(streamKeys(source).stats, 'deadBatches', 'deadRecords')).toEqual([
      '1',
      '5',
    ]);
    const id = `dead:${batchId}`;
    expect((await replayer().select({ stream: source })).items).toEqual([
      {
        id,
        source: 'dead-batch',
        stream: source,
        type: 'dead',
        batchId,
        records: 5,
        atMs: NOW,
        replayed: false,
      },
    ]);

    expect(await replayer().replayItem({ stream: source, to: target, id })).toEqual({
      id,
      records: 5,
    });
    expect(await openRecords(target)).toEqual(requests.flat());
    expect(await openChunkSizes(target)).toEqual([3, 2]);

    expect(await listDeadBatches(redis, source)).toEqual([]);
    expect(
      await redis.exists(batchKeys(source, batchId).meta, batchKeys(source, batchId).chunks),
    ).toBe(0);
    expect(await redis.hmget(streamKeys(source).stats, 'deadBatches', 'deadRecords')).toEqual([
      '0',
      '0',
    ]);
    expect(await redis.smembers(streamKeys(source).replayed)).toEqual([id]);
    expect((await replayer().select({ stream: source })).items).toEqual([]);
    expect(await replayer().replayItem({ stream: source, to: target, id })).toEqual({
      id,
      records: 0,
      skipped: 'already replayed',
    });
    expect(await openRecords(target)).toEqual(requests.flat());
  });

  it('replays a dead batch of a deleted stream, whose counters went with it', async () => {
    const source = await declareStream();
    const target = await declareStream();
    const batchId = await deadBatch(source, [payloads(2, 'orphan')]);
    // What finishing a deletion leaves: the dead batches, not the stream's counters.
    await redis.del(streamKeys(source).stats, streamKeys(source).stream);
    const id = `dead:${batchId}`;
    expect(await replayer().replayItem({ stream: source, to: target, id })).toEqual({
      id,
      records: 2,
    });
    expect(await openRecords(target)).toEqual(payloads(2, 'orphan'));
    expect(await listDeadBatches(redis, source)).toEqual([]);
    expect(await redis.exists(streamKeys(source).stats)).toBe(0);
  });

  it('keeps a dead batch whose counters disagree with it, saying which', async () => {
    const source = await declareStream();
    const target = await declareStream();
    const batchId = await deadBatch(source, [payloads(3, 'odd')]);
    await redis.hset(streamKeys(source).stats, 'deadRecords', '1');
    await expect(
      replayer().replayItem({ stream: source, to: target, id: `dead:${batchId}` }),
    ).rejects.toThrow(/FORGET_DEAD: stats field 'deadRecords' is 1: adding -3/);
    expect((await listDeadBatches(redis, source)).map((b) => b.batchId)).toEqual([batchId]);
    expect(await redis.smembers(streamKeys(source).replayed)).toEqual([]);
  });

  it('refuses a missing target, keeping the dead batch as it was', async () => {
    const source = await declareStream();
    const target = missingStream();
    const batchId = await deadBatch(source, [payloads(2, 'keep')]);
    const before = await snapshot(source, target);
    const error = await failure(
      replayer().replayItem({ stream: source, to: target, id: `dead:${batchId}` }),
    );
    expect(error.reason).toBe('target-not-found');
    expect(await snapshot(source, target)).toEqual(before);
    expect(await redis.llen(batchKeys(source, batchId).chunks)).toBe(1);
  });

  it('does not replay a live (not dead) batch', async () => {
    const source = await declareStream();
    const target = await declareStream();
    const result = await buffer().append(
      source,
      encodeChunkFromBuffers(NOW, [Buffer.from('x')]),
      1,
      1,
      NOW,
    );
    if (result.kind !== 'stored') throw new Error('not stored');
    const error = await failure(
      replayer().replayItem({ stream: source, to: target, id: `dead:${result.batchId}` }),
    );
    expect(error.reason).toBe('item-not-found');
    expect(await redis.llen(batchKeys(source, result.batchId).chunks)).toBe(1);
  });
});

class Sha256 extends Hash {
  constructor(secret?: ConstructorParameters<typeof Hash>[1]) {
    super('sha256', secret);
  }
}

describe('admin routes', () => {
  const KEY = { accessKeyId: 'AKIASLUICEADMIN00001', secretAccessKey: 'admin/secret+key' };
  let app: FastifyInstance;
  let signedApp: FastifyInstance;
  let plainApp: FastifyInstance;
  let smallCapBuffer: RecordBuffer;

  beforeAll(async () => {
    const settings = loadSettings({ SLUICE_REDIS_URL: TEST_REDIS_URL, SLUICE_PORT: '0' });
    const ctx = {
      settings,
      redis,
      registry: new StreamRegistry(redis, settings),
      buffer: buffer(),
      log: pino({ level: 'silent' }),
    };
    // The store is replaced per test (beforeEach); the replayer reads it through this getter.
    const services = {
      get replayer() {
        return replayer(smallCapBuffer);
      },
    };
    app = buildApp({ ...ctx, admin: services });
    signedApp = buildApp({
      ...ctx,
      admin: services,
      auth: new SigV4Verifier({ keys: new Map([[KEY.accessKeyId, KEY.secretAccessKey]]) }),
    });
    plainApp = buildApp(ctx);
    await Promise.all([app.ready(), signedApp.ready(), plainApp.ready()]);
  });
  beforeEach(() => {
    smallCapBuffer = buffer();
  });
  afterAll(async () => {
    await Promise.all([app.close(), signedApp.close(), plainApp.close()]);
  });

  async function get(url: string, target = app) {
    const response = await target.inject({ method: 'GET', url });
    return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
  }

  async function post(payload: unknown, headers: Record<string, string> = {}) {
    const response = await app.inject({
      method: 'POST',
      url: '/admin/v1/replay/item',
      headers: { 'content-type': 'application/json', ...headers },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
    return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
  }

  it('lists dead batches of a stream', async () => {
    const source = await declareStream();
    const batchId = await deadBatch(source, [payloads(2, 'adm')]);
    const answer = await get(`/admin/v1/dead?stream=${source}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      batches: [
        expect.objectContaining({ stream: source, batchId, records: 2, reason: 'retention ended' }),
      ],
    });
  });

  it.each([
    ['/admin/v1/dead', 'stream: is required'],
    ['/admin/v1/dead?stream=bad%20name', 'stream: '],
    [`/admin/v1/dead?stream=${'x'.repeat(65)}`, 'stream: '],
    ['/admin/v1/dead?stream=s&stream=t', 'stream: '],
    ['/admin/v1/dead?stream=s&stram=t', 'unknown parameter stram'],
    ['/admin/v1/dead?stream=s&limit=0', 'limit: '],
    ['/admin/v1/replay/selection', 'stream: is required'],
    ['/admin/v1/replay/selection?stream=s&type=bogus', 'type: '],
    [
      '/admin/v1/replay/selection?stream=s&since=yesterday',
      'since: must be epoch milliseconds or an ISO-8601 time',
    ],
    ['/admin/v1/replay/selection?stream=s&until=2026-13-45T99:00:00Z', 'until: must be epoch'],
    [
      '/admin/v1/replay/selection?stream=s&since=2000&until=1000',
      'until: must not be before since',
    ],
  ])('answers 400 naming the parameter: %s', async (url, message) => {
    const answer = await get(url);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('InvalidParameter');
    expect(answer.body.message).toContain(message);
  });

  it('selects with epoch-ms and ISO-8601 times, and replays an item', async () => {
    const source = await declareStream();
    const target = await declareStream();
    const data = payloads(4, 'http');
    const { id } = await errorOutput(source, data);

    const all = await get(`/admin/v1/replay/selection?stream=${source}&type=http-endpoint-failed`);
    expect(all.status).toBe(200);
    expect(all.body).toEqual({
      items: [expect.objectContaining({ id, records: 4, atMs: NOW, replayed: false })],
      truncated: false,
    });
    const iso = new Date(NOW).toISOString();
    expect(
      (await get(`/admin/v1/replay/selection?stream=${source}&since=${iso}&until=${NOW}`)).body
        .items,
    ).toHaveLength(1);
    expect(
      (await get(`/admin/v1/replay/selection?stream=${source}&since=2026-07-13T15:00:01`)).body
        .items,
    ).toEqual([]);
    expect((await get(`/admin/v1/replay/selection?stream=${source}&type=dead`)).body.items).toEqual(
      [],
    );

    expect(await post({ stream: source, to: target, id })).toEqual({
      status: 200,
      body: { id, records: 4 },
    });
    expect(await openRecords(target)).toEqual(data);
    expect(await post({ stream: source, to: target, id })).toEqual({
      status: 200,
      body: { id, records: 0, skipped: 'already replayed' },
    });
  });

  it('maps replay failures to statuses', async () => {
    const source = await declareStream();
    const deleting = await declareStream('DELETING');
    const target = await declareStream();
    const { id } = await errorOutput(source, payloads(600, 'st'));

    expect(
      await post({ stream: source, to: target, id: 'error:replay-bucket/none' }),
    ).toMatchObject({
      status: 404,
      body: { error: 'ItemNotFound' },
    });
    expect(await post({ stream: source, to: missingStream(), id })).toMatchObject({
      status: 404,
      body: { error: 'StreamNotFound' },
    });
    expect(await post({ stream: source, to: deleting, id })).toMatchObject({
      status: 409,
      body: { error: 'StreamNotActive' },
    });
    smallCapBuffer = buffer(1);
    expect(await post({ stream: source, to: target, id })).toMatchObject({
      status: 503,
      body: { error: 'Backpressure' },
    });
  });

  it.each([
    ['no id', { stream: 'abc' }, 'id: is required'],
    ['a bad target name', { stream: 'abc', to: 'a b', id: 'x' }, 'to: '],
    ['an unknown member', { stream: 'abc', id: 'x', force: true }, 'unknown parameter force'],
    ['not an object', '[1]', 'body must be a JSON object'],
    ['not JSON', '{', 'body is not JSON'],
  ])('answers 400 for a body with %s', async (_what, payload, message) => {
    const answer = await post(payload);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('InvalidParameter');
    expect(answer.body.message).toContain(message);
  });

  it('answers 415 for a body that is not JSON by its type', async () => {
    expect(await post({ stream: 'abc', id: 'x' }, { 'content-type': 'text/plain' })).toMatchObject({
      status: 415,
      body: { error: 'UnsupportedMediaType' },
    });
  });

  it('serves no admin routes without admin services', async () => {
    const answer = await get('/admin/v1/dead?stream=abc', plainApp);
    expect(answer.status).toBe(400);
    expect(answer.body.__type).toBe('UnknownOperationException');
  });

  it('checks SigV4 signatures on admin routes when access keys are configured', async () => {
    const source = await declareStream();
    const unsigned = await get(`/admin/v1/dead?stream=${source}`, signedApp);
    expect(unsigned.status).toBe(400);
    expect(unsigned.body.__type).toBe('MissingAuthenticationTokenException');

    const signer = new SignatureV4({
      credentials: KEY,
      region: 'us-east-1',
      service: 'firehose',
      sha256: Sha256,
      applyChecksum: false,
    });
    const signed = await signer.sign(
      new HttpRequest({
        method: 'GET',
        protocol: 'http:',
        hostname: 'localhost',
        path: '/admin/v1/dead',
        query: { stream: source },
        headers: { host: 'localhost' },
      }),
      { signingDate: new Date() },
    );
    const response = await signedApp.inject({
      method: 'GET',
      url: `/admin/v1/dead?stream=${source}`,
      headers: signed.headers,
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ batches: [] });
  });
});
