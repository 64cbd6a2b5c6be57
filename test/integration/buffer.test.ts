import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeChunk, encodeChunkFromBuffers } from '../../src/formats/chunk-frame.js';
import { RecordBuffer } from '../../src/buffer/record-buffer.js';
import { enqueueStranded } from '../../src/delivery/stranded-batches.js';
import { BatchStore } from '../../src/delivery/batch-store.js';
import { DeliveryQueues } from '../../src/delivery/delivery-queues.js';
import { batchKeys, streamKeys } from '../../src/streams/keys.js';
import { TEST_REDIS_URL } from '../support/global-setup.js';
import { startRedisServer } from '../support/redis-server.js';
import { removeStreams } from '../support/shared-redis.js';
import { uniqueName } from '../support/unique.js';

let redis: Redis;
let queueConnection: Redis;
const created: string[] = [];

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL);
  queueConnection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  await removeStreams(redis, created);
  await redis.quit();
  await queueConnection.quit();
});

/** Declares a stream the way the registry stores it (only what the scripts read). */
async function declareStream(sizeBytes: number, intervalMs: number, status = 'ACTIVE') {
  const name = uniqueName('buf');
  created.push(name);
  await redis.hset(streamKeys(name).stream, { status, sizeBytes, intervalMs, definition: '{}' });
  return name;
}

function chunkOf(...payloads: string[]) {
  const buffers = payloads.map((p) => Buffer.from(p));
  return {
    chunk: encodeChunkFromBuffers(1000, buffers),
    bytes: buffers.reduce((n, b) => n + b.length, 0),
    count: buffers.length,
  };
}

function recordingBuffer(capBytes = 1 << 30) {
  const sealed: string[] = [];
  const buffer = new RecordBuffer(redis, capBytes, (_stream, id) => {
    sealed.push(id);
    return Promise.resolve();
  });
  return { buffer, sealed };
}

async function append(buffer: RecordBuffer, stream: string, now: number, ...payloads: string[]) {
  const c = chunkOf(...payloads);
  return buffer.append(stream, c.chunk, c.bytes, c.count, now);
}

describe('RecordBuffer', () => {
  it('refuses a stream that does not exist, storing nothing', async () => {
    const { buffer } = recordingBuffer();
    const name = uniqueName('none');
    created.push(name);
    expect(await append(buffer, name, 1, 'x')).toEqual({ kind: 'not-found' });
    expect(await redis.exists(streamKeys(name).open, streamKeys(name).stats)).toBe(0);
  });

  it('refuses, storing nothing, a record that is not gzip for a stream that takes only gzip', async () => {
    const { buffer } = recordingBuffer();
    const stream = await declareStream(100, 60_000);
    await redis.hset(streamKeys(stream).stream, 'gzipOnly', '1');
    const gzip = Buffer.from([0x1f, 0x8b, 0x08, 0x00]);
    const put = (...records: Buffer[]) => {
      const bytes = records.reduce((n, r) => n + r.length, 0);
      return buffer.append(
        stream,
        encodeChunkFromBuffers(1000, records),
        bytes,
        records.length,
        1000,
      );
    };
    expect(await put(gzip, Buffer.from('plain'), gzip)).toEqual({ kind: 'not-gzip', record: 2 });
    expect(await put(gzip, Buffer.from([0x1f]))).toEqual({ kind: 'not-gzip', record: 2 });
    expect(await put(Buffer.alloc(0))).toEqual({ kind: 'not-gzip', record: 1 });
    expect(await redis.exists(streamKeys(stream).open, streamKeys(stream).stats)).toBe(0);
    expect(await put(gzip, gzip)).toMatchObject({ kind: 'stored' });
  });

  it('appends whole requests as chunks and seals when the size is crossed', async () => {
    const { buffer, sealed } = recordingBuffer();
    const stream = await declareStream(100, 60_000);
    const first = await append(buffer, stream, 1000, 'a'.repeat(30), 'b'.repeat(30));
    expect(first).toMatchObject({ kind: 'stored', chunkIndex: 0, sealedBatchId: undefined });
    const second = await append(buffer, stream, 2000, 'c'.repeat(50));
    if (first.kind !== 'stored' || second.kind !== 'stored') throw new Error('not stored');
    expect(second.batchId).toBe(first.batchId);
    expect(second.chunkIndex).toBe(1);
    expect(second.sealedBatchId).toBe(first.batchId);
    expect(sealed).toEqual([first.batchId]);

    const store = new BatchStore(redis);
    const meta = await store.getMeta(stream, first.batchId);
    expect(meta).toMatchObject({
      records: 3,
      bytes: 110,
      chunks: 2,
      firstArrivalMs: 1000,
      sealedAtMs: 2000,
    });
    const chunks = [];
    for await (const records of store.readChunks(meta!))
      chunks.push(records.map((r) => r.data.toString()));
    expect(chunks).toEqual([['a'.repeat(30), 'b'.repeat(30)], ['c'.repeat(50)]]);
    expect(await redis.exists(streamKeys(stream).open)).toBe(0);
    expect(await redis.zscore(streamKeys(stream).sealed, first.batchId)).toBe('2000');
    expect(await redis.hget(streamKeys(stream).stats, 'backlogBytes')).toBe('110');

    const third = await append(buffer, stream, 3000, 'd');
    if (third.kind !== 'stored') throw new Error('not stored');
    expect(third.batchId).not.toBe(first.batchId);
    expect(third.chunkIndex).toBe(0);
  });

  it('seals every request when IntervalInSeconds is 0', async () => {
    const { buffer, sealed } = recordingBuffer();
    const stream = await declareStream(5 * 1024 * 1024, 0);
    await append(buffer, stream, 1, 'x');
    await append(buffer, stream, 2, 'y');
    expect(sealed).toHaveLength(2);
    expect(new Set(sealed).size).toBe(2);
  });

  it('seals by age only once the oldest record is interval old, and at once for a deleting stream', async () => {
    const { buffer, sealed } = recordingBuffer();
    const stream = await declareStream(1 << 20, 5000);
    await append(buffer, stream, 10_000, 'x');
    await append(buffer, stream, 14_000, 'y');
    expect(await buffer.sealIfDue(stream, 14_999)).toBeUndefined();
    const id = await buffer.sealIfDue(stream, 15_000);
    expect(id).toBeDefined();
    expect(sealed).toEqual([id]);
    expect(await buffer.sealIfDue(stream, 99_000)).toBeUndefined();

    await append(buffer, stream, 20_000, 'z');
    await redis.hset(streamKeys(stream).stream, 'status', 'DELETING');
    expect(await append(buffer, stream, 20_001, 'refused')).toEqual({
      kind: 'not-active',
      status: 'DELETING',
    });
    expect(await buffer.sealIfDue(stream, 20_002)).toBeDefined();
  });

  it('answers backpressure past the backlog cap and stores nothing', async () => {
    const { buffer } = recordingBuffer(100);
    const stream = await declareStream(1 << 20, 60_000);
    // An empty stream takes one request even above the cap, so a large request is never stuck.
    const big = await append(buffer, stream, 1, 'x'.repeat(150));
    expect(big.kind).toBe('stored');
    expect(await append(buffer, stream, 2, 'y')).toEqual({ kind: 'backpressure' });
    if (big.kind !== 'stored') throw new Error('not stored');
    expect(await redis.llen(batchKeys(stream, big.batchId).chunks)).toBe(1);
    expect(await redis.hget(streamKeys(stream).stats, 'backlogRecords')).toBe('1');
  });
});

describe('RecordBuffer in several processes', () => {
  it('an append whose remembered batch another process sealed goes to the open one, once', async () => {
    const stream = await declareStream(1 << 30, 900_000);
    const a = recordingBuffer();
    const b = recordingBuffer();
    const first = await append(a.buffer, stream, 1000, 'a1');
    // Process b seals a's batch and opens the next one; a still remembers the first.
    expect(await b.buffer.sealIfDue(stream, 2000, true)).toBe(
      first.kind === 'stored' && first.batchId,
    );
    const second = await append(b.buffer, stream, 2000, 'b1');
    const third = await append(a.buffer, stream, 3000, 'a2');
    expect(second.kind === 'stored' && third.kind === 'stored').toBe(true);
    if (second.kind !== 'stored' || third.kind !== 'stored' || first.kind !== 'stored') return;
    expect(second.batchId).not.toBe(first.batchId);
    expect(third.batchId).toBe(second.batchId);
    expect(third.chunkIndex).toBe(1);
    // The sealed batch kept its one chunk: nothing was appended to it after the seal.
    expect(await redis.llen(batchKeys(stream, first.batchId).chunks)).toBe(1);
    expect(await redis.hget(batchKeys(stream, first.batchId).meta, 'records')).toBe('1');
  });

  it('an append whose remembered batch was sealed with none open since opens a new one', async () => {
    const stream = await declareStream(1 << 30, 900_000);
    const a = recordingBuffer();
    const b = recordingBuffer();
    const first = await append(a.buffer, stream, 1000, 'a1');
    await b.buffer.sealIfDue(stream, 2000, true);
    const second = await append(a.buffer, stream, 3000, 'a2');
    if (first.kind !== 'stored' || second.kind !== 'stored') throw new Error('not stored');
    expect(second.batchId).not.toBe(first.batchId);
    expect(second.chunkIndex).toBe(0);
    expect(await redis.hget(streamKeys(stream).open, 'id')).toBe(second.batchId);
  });

  it('interleaved appends of two processes sealing by size store every record exactly once', async () => {
    // Each batch seals once it holds 40 payload bytes: about every 4 appends.
    const stream = await declareStream(40, 900_000);
    const processes = [recordingBuffer(), recordingBuffer()];
    const sent: string[] = [];
    await Promise.all(
      processes.map(async ({ buffer }, p) => {
        for (let i = 0; i < 60; i += 1) {
          const payload = `p${p}-record-${String(i).padStart(2, '0')}`;
          sent.push(payload);
          const result = await append(buffer, stream, 1000 + i, payload);
          expect(result.kind).toBe('stored');
        }
      }),
    );
    await processes[0]?.buffer.sealIfDue(stream, 10_000, true);
    const sealed = processes.flatMap(({ sealed }) => sealed);
    expect(new Set(sealed).size).toBe(sealed.length);
    const stored: string[] = [];
    for (const batchId of sealed) {
      for (const chunk of await redis.lrangeBuffer(batchKeys(stream, batchId).chunks, 0, -1)) {
        stored.push(...decodeChunk(chunk).map((record) => record.data.toString()));
      }
    }
    expect(stored.sort()).toEqual(sent.sort());
  });
});

describe('BatchStore', () => {
  it('completes a batch once: data gone, backlog released, counters kept', async () => {
    const { buffer } = recordingBuffer();
    const store = new BatchStore(redis);
    const stream = await declareStream(1, 60_000);
    const result = await append(buffer, stream, 5, 'hello', 'world');
    if (result.kind !== 'stored' || !result.sealedBatchId) throw new Error('not sealed');
    expect(await store.complete(stream, result.batchId)).toBe(true);
    expect(await store.complete(stream, result.batchId)).toBe(false);
    expect(await redis.exists(...Object.values(batchKeys(stream, result.batchId)))).toBe(0);
    const stats = await redis.hgetall(streamKeys(stream).stats);
    expect(stats).toMatchObject({
      backlogBytes: '0',
      backlogRecords: '0',
      deliveredRecords: '2',
      deliveredBatches: '1',
    });
    expect(await redis.zcard(streamKeys(stream).sealed)).toBe(0);
  });

  it('dead-letters a batch keeping its data and reason, once', async () => {
    const { buffer } = recordingBuffer();
    const store = new BatchStore(redis);
    const stream = await declareStream(1, 60_000);
    const result = await append(buffer, stream, 5, 'keep me');
    if (result.kind !== 'stored') throw new Error('not stored');
    expect(await store.deadLetter(stream, result.batchId, 'bucket gone', 99)).toBe(true);
    expect(await store.deadLetter(stream, result.batchId, 'again', 100)).toBe(false);
    const meta = await store.getMeta(stream, result.batchId);
    expect(meta?.deadAtMs).toBe(99);
    expect(await redis.hget(batchKeys(stream, result.batchId).meta, 'deadReason')).toBe(
      'bucket gone',
    );
    const raw = await redis.lrangeBuffer(batchKeys(stream, result.batchId).chunks, 0, -1);
    expect(decodeChunk(raw[0]!).map((r) => r.data.toString())).toEqual(['keep me']);
    expect(await redis.zscore(streamKeys(stream).dead, result.batchId)).toBe('99');
    expect(await redis.hget(streamKeys(stream).stats, 'backlogRecords')).toBe('0');
  });

  it('fixes the delivery plan on the first claim, and claims nothing for a gone batch', async () => {
    const { buffer } = recordingBuffer();
    const store = new BatchStore(redis);
    const stream = await declareStream(1, 60_000);
    const result = await append(buffer, stream, 5, 'x');
    if (result.kind !== 'stored') throw new Error('not stored');
    const meta = (await store.getMeta(stream, result.batchId))!;
    expect(await store.claimPlan(meta, 'first plan')).toBe('first plan');
    expect(await store.claimPlan(meta, 'second plan')).toBe('first plan');
    expect((await store.getMeta(stream, result.batchId))?.plan).toBe('first plan');
    await store.complete(stream, result.batchId);
    expect(await store.claimPlan(meta, 'late plan')).toBeUndefined();
    expect(await redis.exists(batchKeys(stream, result.batchId).meta)).toBe(0);
  });
});

describe('BatchStore on a Redis of its own', () => {
  it("frees a delivered batch's chunk list off Redis's main thread (UNLINK, not DEL)", async () => {
    // A private server: its lazyfreed_objects counts this test's frees only.
    const server = await startRedisServer({ appendOnly: false });
    const own = new Redis(server.url);
    try {
      const name = uniqueName('buf');
      // 80 chunks of 9 KB: each is a list node of its own (list-max-listpack-size is 8 KB), and
      // Redis frees a list in the background only beyond 64 nodes.
      const chunks = 80;
      const payload = 'x'.repeat(9 * 1024);
      await own.hset(streamKeys(name).stream, {
        status: 'ACTIVE',
        sizeBytes: chunks * payload.length,
        intervalMs: 60_000,
        definition: '{}',
      });
      const buffer = new RecordBuffer(own, 1 << 30, () => Promise.resolve());
      let sealed: string | undefined;
      for (let i = 0; i < chunks; i++) {
        const c = chunkOf(payload);
        const result = await buffer.append(name, c.chunk, c.bytes, c.count, 5);
        if (result.kind !== 'stored') throw new Error(`not stored: ${result.kind}`);
        sealed = result.sealedBatchId ?? sealed;
      }
      if (sealed === undefined) throw new Error('not sealed');
      expect(await own.llen(batchKeys(name, sealed).chunks)).toBe(chunks);
      const lazyFreed = async () => {
        const count = /lazyfreed_objects:(\d+)/.exec(await own.info('memory'))?.[1];
        if (count === undefined) throw new Error('INFO memory has no lazyfreed_objects');
        return Number(count);
      };
      const before = await lazyFreed();
      expect(await new BatchStore(own).complete(name, sealed)).toBe(true);
      expect(await own.exists(batchKeys(name, sealed).chunks)).toBe(0);
      // The background free is counted when it ends: wait for it, boundedly.
      for (let i = 0; i < 100 && (await lazyFreed()) === before; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(await lazyFreed()).toBe(before + 1);
    } finally {
      await own.quit();
      await server.stop();
    }
  });
});

describe('enqueueStranded', () => {
  it('enqueues batches sealed but never enqueued, once, and forgets delivered ones', async () => {
    const store = new BatchStore(redis);
    const queues = new DeliveryQueues(queueConnection, store);
    const stream = await declareStream(1, 60_000);
    // A sealer that dies before enqueueing.
    const buffer = new RecordBuffer(redis, 1 << 30, () => Promise.reject(new Error('crash')));
    const stranded = await append(buffer, stream, Date.now() - 60_000, 'x');
    const delivered = await append(buffer, stream, Date.now() - 60_000, 'y');
    if (stranded.kind !== 'stored' || delivered.kind !== 'stored') throw new Error('not stored');
    await store.complete(stream, delivered.batchId);
    // complete() clears the sealed entry; put it back to model a crash between the two.
    await redis.zadd(streamKeys(stream).sealed, 1, delivered.batchId);

    const sweep = () => enqueueStranded(store, queues, stream, Date.now() - 1000);
    expect(await sweep()).toBe(1);
    expect(await sweep()).toBe(0);
    const job = await queues.queue(stream).getJob(stranded.batchId);
    expect(job?.data).toEqual({ stream, batchId: stranded.batchId });
    expect(await queues.queue(stream).getJobCounts('waiting')).toEqual({ waiting: 1 });
    await queues.obliterate(stream);
  });
});
