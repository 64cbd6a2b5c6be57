import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSample } from '../../src/console/history-sample.js';
import {
  HEARTBEAT_MS,
  HISTORY_LOCK_KEY,
  historyKey,
  MAX_SAMPLES,
  SAMPLE_INTERVAL_MS,
  StreamHistory,
} from '../../src/console/stream-history.js';
import { counterField, DURABLE } from '../../src/telemetry/durable-families.js';
import { COUNTED_STREAMS_KEY, streamKeys } from '../../src/streams/keys.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { uniqueName } from '../support/unique.js';

/**
 * The console's chart history against a real (private) Redis: one sampler a deployment per
 * interval, samples only when counts change (and a heartbeat), lists capped and expiring, and
 * the read-back with a point read now.
 */

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await startRedisServer({ appendOnly: false });
  redis = new Redis(server.url, { maxRetriesPerRequest: 2 });
});
afterAll(async () => {
  await redis.quit();
  await server.stop();
});

/** A stream whose counters the test sets, sampled by `history`s on a clock the test moves. */
async function streamWithCounts(records: number): Promise<string> {
  const stream = uniqueName('history');
  await setCounts(stream, records);
  return stream;
}

/**
 * Sets the stream's counts as a metrics flush at `countedAt` would (which lists the stream as
 * counted then); without `countedAt` the stream is not listed, as when only gauges moved.
 */
async function setCounts(stream: string, records: number, countedAt?: number): Promise<void> {
  const keys = streamKeys(stream);
  await redis.hset(keys.stream, 'status', 'ACTIVE');
  await redis.hset(keys.metrics, counterField(DURABLE.incomingRecords), records);
  await redis.hset(keys.stats, 'backlogRecords', records);
  if (countedAt !== undefined) await redis.zadd(COUNTED_STREAMS_KEY, countedAt, stream);
}

function historyOf(streams: string[], clock: { now: number }, intervalMs = SAMPLE_INTERVAL_MS) {
  return new StreamHistory({
    redis,
    streamNames: () => Promise.resolve(streams),
    onSampleError: (error) => {
      throw error;
    },
    intervalMs,
    now: () => clock.now,
  });
}

async function stored(stream: string) {
  return (await redis.lrange(historyKey(stream), 0, -1)).map(decodeSample);
}

describe('the chart history', () => {
  it('is sampled by one process an interval, whichever asks first', async () => {
    const stream = await streamWithCounts(5);
    const clock = { now: 1_800_000_000_000 };
    const processes = [
      historyOf([stream], clock),
      historyOf([stream], clock),
      historyOf([stream], clock),
    ];
    await redis.del(HISTORY_LOCK_KEY);
    const sampled = await Promise.all(processes.map((p) => p.sampleIfLeader()));
    expect(sampled.filter(Boolean)).toHaveLength(1);
    expect(await stored(stream)).toHaveLength(1);
    // The lock lapses before the next interval: one of them samples again.
    await redis.del(HISTORY_LOCK_KEY);
    clock.now += SAMPLE_INTERVAL_MS;
    await setCounts(stream, 9, clock.now);
    expect(
      (await Promise.all(processes.map((p) => p.sampleIfLeader()))).filter(Boolean),
    ).toHaveLength(1);
    expect((await stored(stream)).map((s) => s?.incomingRecords)).toEqual([5, 9]);
    expect(await redis.pttl(HISTORY_LOCK_KEY)).toBeLessThanOrEqual(SAMPLE_INTERVAL_MS);
  });

  it('adds a sample only when the counts changed, or as a heartbeat, and never twice an interval', async () => {
    const stream = await streamWithCounts(1);
    const clock = { now: 1_800_000_000_000 };
    const history = historyOf([stream], clock);
    await history.sampleAll();
    clock.now += SAMPLE_INTERVAL_MS / 4;
    await setCounts(stream, 2, clock.now);
    await history.sampleAll();
    expect(await stored(stream)).toHaveLength(1);
    clock.now += SAMPLE_INTERVAL_MS;
    await history.sampleAll();
    expect(await stored(stream)).toHaveLength(2);
    // Unchanged: nothing until the heartbeat.
    for (let i = 0; i < 5; i++) {
      clock.now += SAMPLE_INTERVAL_MS;
      await history.sampleAll();
    }
    expect(await stored(stream)).toHaveLength(2);
    clock.now += HEARTBEAT_MS;
    await history.sampleAll();
    expect((await stored(stream)).map((s) => s?.incomingRecords)).toEqual([1, 2, 2]);
  });

  it('reads the streams whose counts moved each interval, and every stream once per heartbeat', async () => {
    const counted = await streamWithCounts(1);
    const quiet = await streamWithCounts(1);
    const clock = { now: 1_800_000_000_000 };
    const history = historyOf([counted, quiet], clock);
    // The first round reads every stream.
    await history.sampleAll();
    expect(await stored(counted)).toHaveLength(1);
    expect(await stored(quiet)).toHaveLength(1);
    clock.now += SAMPLE_INTERVAL_MS;
    await setCounts(counted, 2, clock.now);
    // Its counts moved too, but no flush listed it: it waits for the heartbeat's round.
    await setCounts(quiet, 2);
    await history.sampleAll();
    expect((await stored(counted)).map((s) => s?.incomingRecords)).toEqual([1, 2]);
    expect((await stored(quiet)).map((s) => s?.incomingRecords)).toEqual([1]);
    clock.now += HEARTBEAT_MS;
    await history.sampleAll();
    expect((await stored(quiet)).map((s) => s?.incomingRecords)).toEqual([1, 2]);
    // A counted stream deleted since gets no history back.
    const deleted = uniqueName('history-deleted');
    await redis.zadd(COUNTED_STREAMS_KEY, clock.now, deleted);
    clock.now += SAMPLE_INTERVAL_MS;
    await history.sampleAll();
    expect(await redis.exists(historyKey(deleted))).toBe(0);
  });

  it('keeps at most an hour of samples, and expires with its stream', async () => {
    const stream = await streamWithCounts(0);
    const clock = { now: 1_800_000_000_000 };
    const history = historyOf([stream], clock);
    for (let i = 0; i < MAX_SAMPLES + 20; i++) {
      await setCounts(stream, i, clock.now);
      await history.sampleAll();
      clock.now += SAMPLE_INTERVAL_MS;
    }
    const samples = await stored(stream);
    expect(samples).toHaveLength(MAX_SAMPLES);
    expect(samples.at(-1)?.incomingRecords).toBe(MAX_SAMPLES + 19);
    const ttl = await redis.pttl(historyKey(stream));
    expect(ttl).toBeGreaterThan(60 * 60 * 1000);
    expect(ttl).toBeLessThanOrEqual(60 * 60 * 1000 + HEARTBEAT_MS);
  });

  it('reads back the last hour and a point read now', async () => {
    const stream = await streamWithCounts(0);
    const clock = { now: 1_800_000_000_000 };
    const history = historyOf([stream], clock);
    await history.sampleAll();
    clock.now += 2 * 60 * 60 * 1000;
    await setCounts(stream, 10, clock.now);
    await history.sampleAll();
    clock.now += SAMPLE_INTERVAL_MS;
    await setCounts(stream, 30, clock.now);
    const { samples } = await history.read(stream);
    // The sample from two hours ago is the one before the window: kept as the first base.
    expect(samples.map((s) => [s.at - 1_800_000_000_000, s.incomingRecords])).toEqual([
      [0, 0],
      [7_200_000, 10],
      [7_210_000, 30],
    ]);
  });
});
