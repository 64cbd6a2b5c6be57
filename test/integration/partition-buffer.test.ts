import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeChunk, encodeChunkFromBuffers } from '../../src/formats/chunk-frame.js';
import {
  PartitionBuffer,
  partitionId,
  type ProcessedSlice,
} from '../../src/buffer/partition-buffer.js';
import { RecordBuffer } from '../../src/buffer/record-buffer.js';
import { BatchStore } from '../../src/delivery/batch-store.js';
import { batchKeys, streamKeys } from '../../src/streams/keys.js';
import { TEST_REDIS_URL } from '../support/global-setup.js';
import { removeStreams } from '../support/shared-redis.js';
import { uniqueName } from '../support/unique.js';

/**
 * The second buffering stage against real Redis: processed slices committed into partition
 * buffers atomically with the processed batch's progress, sealing by size, interval and
 * force, the active-partition limit, and the backlog accounting.
 */

let redis: Redis;
const created: string[] = [];

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
  await removeStreams(redis, created);
  await redis.quit();
});

/** A stream with a sealed raw batch of `chunks` one-record chunks, as the buffer makes it. */
async function streamWithBatch(chunks: string[]): Promise<{ stream: string; batchId: string }> {
  const stream = uniqueName('parts');
  created.push(stream);
  await redis.hset(streamKeys(stream).stream, {
    status: 'ACTIVE',
    sizeBytes: 1 << 30,
    intervalMs: 60_000,
    definition: '{}',
  });
  const buffer = new RecordBuffer(redis, 1 << 30, () => Promise.resolve());
  for (const data of chunks) {
    const chunk = encodeChunkFromBuffers(1000, [Buffer.from(data)]);
    await buffer.append(stream, chunk, data.length, 1, 1000);
  }
  const batchId = await buffer.sealIfDue(stream, 2000, true);
  if (batchId === undefined) throw new Error('nothing sealed');
  return { stream, batchId };
}

function recording() {
  const sealed: string[] = [];
  const partitions = new PartitionBuffer(redis, (_stream, id) => {
    sealed.push(id);
    return Promise.resolve();
  });
  return { partitions, sealed };
}

/** The keys JSON of partition `value` (a `partitionKeyFromQuery:k` value). */
function keys(value: string): string {
  return JSON.stringify({ query: { k: value }, lambda: {} });
}

function slice(
  stream: string,
  batchId: string,
  before: number,
  after: number,
  parts: Record<string, string[]>,
  options: Partial<ProcessedSlice> = {},
): ProcessedSlice {
  return {
    stream,
    batchId,
    chunksBefore: before,
    chunksAfter: after,
    errorWrites: 0,
    nowMs: 10_000,
    activePartitionLimit: 500,
    sizeBytes: 1 << 20,
    intervalMs: 5_000,
    partitions: Object.entries(parts).map(([value, records]) => ({
      keysJson: keys(value),
      frames: [
        encodeChunkFromBuffers(
          1000 + records.length,
          records.map((r) => Buffer.from(r)),
        ),
      ],
      bytes: records.reduce((n, r) => n + r.length, 0),
      records: records.length,
    })),
    ...options,
  };
}

async function stats(stream: string) {
  return redis.hgetall(streamKeys(stream).stats);
}

describe('PartitionBuffer', () => {
  it('commits slices into partition buffers and removes the batch with its last slice', async () => {
    const { stream, batchId } = await streamWithBatch(['aaaa', 'bbbb', 'cccc']);
    expect(await stats(stream)).toMatchObject({ backlogBytes: '12', backlogRecords: '3' });
    const { partitions, sealed } = recording();
    expect(await partitions.commit(slice(stream, batchId, 0, 2, { A: ['AA'], B: ['BB'] }))).toEqual(
      {
        kind: 'committed',
        sealed: [],
      },
    );
    const batches = new BatchStore(redis);
    expect(await batches.getMeta(stream, batchId)).toMatchObject({ processedChunks: 2 });
    // The raw batch still counts until its last slice; the processed records count too.
    expect(await stats(stream)).toMatchObject({ backlogBytes: '16', backlogRecords: '5' });
    expect(await partitions.commit(slice(stream, batchId, 2, 3, { A: ['A2'] }))).toEqual({
      kind: 'committed',
      sealed: [],
    });
    expect(await batches.getMeta(stream, batchId)).toBeUndefined();
    expect(await redis.exists(batchKeys(stream, batchId).chunks)).toBe(0);
    expect(await redis.zscore(streamKeys(stream).sealed, batchId)).toBeNull();
    expect(await stats(stream)).toMatchObject({
      backlogBytes: '6',
      backlogRecords: '3',
      processedBatches: '1',
    });
    expect(sealed).toEqual([]);
    expect(await redis.zcard(streamKeys(stream).partitions)).toBe(2);
    // Due 5 s after opening: forced now, both partitions become batches holding their records.
    const ids = await partitions.sealDue(stream, 20_000, true);
    expect(ids).toHaveLength(2);
    expect(sealed.sort()).toEqual([...ids].sort());
    const metas = await Promise.all(ids.map((id) => batches.getMeta(stream, id)));
    const a = metas.find((m) => m?.partition?.query.k === 'A');
    expect(a).toMatchObject({ records: 2, bytes: 4, chunks: 2, firstArrivalMs: 1001 });
    expect(metas.find((m) => m?.partition?.query.k === 'B')).toMatchObject({ records: 1 });
    const chunks = await redis.lrangeBuffer(batchKeys(stream, a?.id ?? '').chunks, 0, -1);
    expect(chunks.flatMap((c) => decodeChunk(c).map((r) => r.data.toString()))).toEqual([
      'AA',
      'A2',
    ]);
  });

  it('a slice committed twice (a crashed attempt repeated) is stale the second time, writing nothing', async () => {
    const { stream, batchId } = await streamWithBatch(['x', 'y']);
    const { partitions } = recording();
    const first = slice(stream, batchId, 0, 1, { P: ['X'] });
    expect((await partitions.commit(first)).kind).toBe('committed');
    const before = await stats(stream);
    expect(await partitions.commit(first)).toEqual({ kind: 'stale' });
    expect(await stats(stream)).toEqual(before);
    const open = await redis.hgetall(
      `${streamKeys(stream).partitionPrefix}${partitionId(keys('P'))}`,
    );
    expect(open).toMatchObject({ records: '1', bytes: '1', partition: keys('P') });
  });

  it('seals a partition buffer when it reaches the size, and at once with interval 0', async () => {
    const { stream, batchId } = await streamWithBatch(['1', '2', '3']);
    const { partitions, sealed } = recording();
    const bySize = await partitions.commit(
      slice(stream, batchId, 0, 1, { big: ['0123456789'] }, { sizeBytes: 10 }),
    );
    expect(bySize).toMatchObject({ kind: 'committed', sealed: [expect.any(String)] });
    const zero = await partitions.commit(
      slice(stream, batchId, 1, 2, { small: ['s'] }, { intervalMs: 0 }),
    );
    expect(zero).toMatchObject({ kind: 'committed', sealed: [expect.any(String)] });
    expect(sealed).toHaveLength(2);
    expect(await redis.zcard(streamKeys(stream).partitions)).toBe(0);
    const meta = await new BatchStore(redis).getMeta(stream, sealed[1] as string);
    expect(meta).toMatchObject({ records: 1, partition: { query: { k: 'small' }, lambda: {} } });
  });

  it('seals only the partition buffers that are due, by their interval since opening', async () => {
    const { stream, batchId } = await streamWithBatch(['1', '2']);
    const { partitions } = recording();
    await partitions.commit(slice(stream, batchId, 0, 1, { early: ['e'] }, { nowMs: 10_000 }));
    await partitions.commit(slice(stream, batchId, 1, 2, { late: ['l'] }, { nowMs: 12_000 }));
    expect(await partitions.sealDue(stream, 14_999)).toEqual([]);
    expect(await partitions.sealDue(stream, 15_000)).toHaveLength(1);
    expect(await partitions.sealDue(stream, 16_999)).toEqual([]);
    expect(await partitions.sealDue(stream, 17_000)).toHaveLength(1);
  });

  it('drains every partition buffer once the stream is no longer ACTIVE', async () => {
    const { stream, batchId } = await streamWithBatch(['1']);
    const { partitions } = recording();
    await partitions.commit(slice(stream, batchId, 0, 1, { a: ['a'], b: ['b'] }));
    await redis.hset(streamKeys(stream).stream, 'status', 'DELETING');
    expect(await partitions.sealDue(stream, 10_001)).toHaveLength(2);
  });

  it('refuses a slice that would open more partitions than the limit allows, writing nothing', async () => {
    const { stream, batchId } = await streamWithBatch(['1', '2']);
    const { partitions } = recording();
    const limit = { activePartitionLimit: 2 };
    expect((await partitions.commit(slice(stream, batchId, 0, 1, { a: ['a'] }, limit))).kind).toBe(
      'committed',
    );
    const before = await stats(stream);
    expect(
      await partitions.commit(
        slice(stream, batchId, 1, 2, { a: ['a'], b: ['b'], c: ['c'] }, limit),
      ),
    ).toEqual({
      kind: 'over-limit',
      free: 1,
    });
    expect(await stats(stream)).toEqual(before);
    expect(await partitions.openPartitions(stream, [keys('a'), keys('b')])).toEqual({
      open: new Set([keys('a')]),
      count: 1,
    });
    expect(
      (await partitions.commit(slice(stream, batchId, 1, 2, { a: ['a'], b: ['b'] }, limit))).kind,
    ).toBe('committed');
  });

  it('appends each of the several frames of a partition slice as its own chunk, dated by the oldest', async () => {
    const { stream, batchId } = await streamWithBatch(['1234']);
    const { partitions } = recording();
    const result = await partitions.commit({
      ...slice(stream, batchId, 0, 1, {}),
      partitions: [
        {
          keysJson: keys('multi'),
          frames: [
            encodeChunkFromBuffers(3_000, [Buffer.from('first'), Buffer.from('second')]),
            encodeChunkFromBuffers(2_000, [Buffer.from('third')]),
          ],
          bytes: 16,
          records: 3,
        },
      ],
    });
    expect(result.kind).toBe('committed');
    const ids = await partitions.sealDue(stream, 20_000, true);
    expect(ids).toHaveLength(1);
    const batches = new BatchStore(redis);
    const meta = await batches.getMeta(stream, ids[0] ?? '');
    expect(meta).toMatchObject({ records: 3, bytes: 16, chunks: 2, firstArrivalMs: 2_000 });
    const read = meta === undefined ? [] : await batches.readRecords(meta);
    expect(read.map((r) => [r.data.toString(), r.position, r.arrivalMs])).toEqual([
      ['first', 0, 3_000],
      ['second', 1, 3_000],
      ['third', 2, 2_000],
    ]);
  });

  it('refuses framed-chunk arguments that do not add up, writing nothing', async () => {
    const { stream, batchId } = await streamWithBatch(['1']);
    const { partitions } = recording();
    const frame = encodeChunkFromBuffers(1_000, [Buffer.from('a')]);
    const part = { keysJson: keys('a'), frames: [frame], bytes: 1, records: 1 };
    // A frame too short for a chunk header.
    await expect(
      partitions.commit({
        ...slice(stream, batchId, 0, 1, {}),
        partitions: [{ ...part, frames: [Buffer.from('short')] }],
      }),
    ).rejects.toThrow(/partition 0: framed chunk 0 is shorter than a chunk header/);
    expect(await redis.zcard(streamKeys(stream).partitions)).toBe(0);
    expect(await new BatchStore(redis).getMeta(stream, batchId)).toMatchObject({
      processedChunks: 0,
    });
  });

  it('a commit whose partition buffer another process sealed after it read it commits into a new one', async () => {
    const { stream, batchId } = await streamWithBatch(['1', '2']);
    const other = recording();
    const { partitions, sealed } = recording();
    expect(await partitions.commit(slice(stream, batchId, 0, 1, { a: ['a1'] }))).toMatchObject({
      kind: 'committed',
    });
    const pid = partitionId(keys('a'));
    const firstBuffer = await redis.hget(`${streamKeys(stream).partitionPrefix}${pid}`, 'id');
    // Another process seals the partition buffer right after this one read its id, once.
    let raced = false;
    const racing = new Proxy(redis, {
      get(target, property) {
        if (property === 'hget') {
          return async (...args: Parameters<Redis['hget']>) => {
            const value = await target.hget(...args);
            if (!raced) {
              raced = true;
              await other.partitions.sealDue(stream, 2_000, true);
            }
            return value;
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    const racingPartitions = new PartitionBuffer(racing, (_stream, id) => {
      sealed.push(id);
      return Promise.resolve();
    });
    expect(
      await racingPartitions.commit(slice(stream, batchId, 1, 2, { a: ['a2'] })),
    ).toMatchObject({ kind: 'committed' });
    expect(raced).toBe(true);
    expect(other.sealed).toEqual([firstBuffer]);
    const records = async (id: string) =>
      (await redis.lrangeBuffer(batchKeys(stream, id).chunks, 0, -1)).flatMap((chunk) =>
        decodeChunk(chunk).map((r) => r.data.toString()),
      );
    // The sealed batch holds only what was committed before the seal; the second slice went
    // into a buffer opened after it.
    expect(await records(firstBuffer as string)).toEqual(['a1']);
    const secondBuffer = await redis.hget(`${streamKeys(stream).partitionPrefix}${pid}`, 'id');
    expect(secondBuffer).not.toBe(firstBuffer);
    expect(await records(secondBuffer as string)).toEqual(['a2']);
  });

  it('refuses invalid arguments with an error reply, writing nothing', async () => {
    const { stream, batchId } = await streamWithBatch(['1']);
    const { partitions } = recording();
    const bad = slice(stream, batchId, 0, 2, { a: ['a'] });
    await expect(partitions.commit(bad)).rejects.toThrow(
      /ERR sluice COMMIT_PROCESSED: ARGV\[3\] \(chunks after\) must be from 0 to 1, got 2/,
    );
    expect(await redis.zcard(streamKeys(stream).partitions)).toBe(0);
  });
});
