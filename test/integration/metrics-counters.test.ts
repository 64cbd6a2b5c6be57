import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

import { streamKeys } from '../../src/streams/keys.js';
import { DeploymentMetrics } from '../../src/telemetry/deployment-metrics.js';
import { DurableCounters } from '../../src/telemetry/durable-counters.js';
import {
  counterField,
  DURABLE,
  FRESHNESS_BUCKETS,
  histogramFields,
  parseField,
} from '../../src/telemetry/durable-families.js';
import { TEST_REDIS_URL } from '../support/global-setup.js';
import { parseExposition, sampleValue } from '../support/prometheus-text.js';
import { removeStreams } from '../support/shared-redis.js';
import { uniqueName } from '../support/unique.js';

const redis = new Redis(TEST_REDIS_URL);
const streams: string[] = [];
afterAll(async () => {
  await removeStreams(redis, streams);
  await redis.quit();
});

/** A stream that exists as far as the counters can tell: its definition hash is there. */
async function existingStream(prefix: string): Promise<string> {
  const stream = uniqueName(prefix);
  streams.push(stream);
  await redis.hset(streamKeys(stream).stream, 'status', 'ACTIVE');
  return stream;
}

function keysOf(stream: string) {
  const keys = streamKeys(stream);
  return {
    stream: keys.stream,
    metrics: keys.metrics,
    stats: keys.stats,
    dead: keys.dead,
    partitions: keys.partitions,
    open: keys.open,
  };
}

describe('durable counter fields', () => {
  it('read back as the family, label values and histogram part they were written as', () => {
    const field = counterField(DURABLE.deliveryFailedRecords, [
      'HttpEndpoint',
      'delivery',
      'a|b%c',
      'true',
    ]);
    expect(parseField(field)).toEqual({
      family: DURABLE.deliveryFailedRecords,
      values: ['HttpEndpoint', 'delivery', 'a|b%c', 'true'],
    });
    expect(counterField(DURABLE.incomingRecords)).toBe('sluice_incoming_records_total');
    const fields = histogramFields(DURABLE.deliveryFreshness, ['S3'], 3);
    expect(parseField(fields.bucket)).toMatchObject({ values: ['S3'], part: 5 });
    expect(parseField(fields.sumMs)).toMatchObject({ values: ['S3'], part: 'sum' });
    const late = histogramFields(DURABLE.deliveryFreshness, ['S3'], FRESHNESS_BUCKETS.at(-1)! + 1);
    expect(parseField(late.bucket)?.part).toBe(Infinity);
    // On a bound is in that bucket (le: less than or equal).
    expect(parseField(histogramFields(DURABLE.deliveryFreshness, ['S3'], 1).bucket)?.part).toBe(1);
    expect(parseField('sluice_no_such_metric|x')).toBeUndefined();
    expect(parseField('sluice_delivery_records_total')).toBeUndefined();
  });
});

describe('DurableCounters', () => {
  it('adds up in memory and writes exact totals with one flush', async () => {
    const stream = await existingStream('counters');
    const counters = new DurableCounters({
      redis,
      keysOf,
      flushIntervalMs: 60_000,
      onFlushError: (error) => {
        throw error;
      },
    });
    for (let i = 0; i < 1000; i += 1) counters.add(stream, 'a', 3);
    counters.add(stream, 'b', 7);
    counters.add(stream, 'c', 0);
    expect(await redis.exists(streamKeys(stream).metrics)).toBe(0);
    await counters.flush();
    expect(await redis.hgetall(streamKeys(stream).metrics)).toEqual({ a: '3000', b: '7' });
    counters.add(stream, 'a', 1);
    await counters.stop();
    expect(await redis.hget(streamKeys(stream).metrics, 'a')).toBe('3001');
  });

  it('lists the streams each flush wrote to, with the flush time, in the counted set', async () => {
    const moved = await existingStream('counted');
    const quiet = await existingStream('not-counted');
    const countedKey = `${moved}:counted-test`;
    const counters = new DurableCounters({
      redis,
      keysOf,
      countedKey,
      flushIntervalMs: 60_000,
      onFlushError: (error) => {
        throw error;
      },
    });
    const before = Date.now();
    counters.add(moved, 'a', 1);
    await counters.flush();
    expect(await redis.zrange(countedKey, '0', '-1')).toEqual([moved]);
    expect(Number(await redis.zscore(countedKey, moved))).toBeGreaterThanOrEqual(before);
    expect(await redis.zscore(countedKey, quiet)).toBeNull();
    await redis.del(countedKey);
  });

  it('keeps what a failed flush could not write and writes it with the next, nothing lost or doubled', async () => {
    const stream = await existingStream('counters-outage');
    // Redis as seen during an outage: the whole pipeline fails, or single commands in it do.
    let outage: 'pipeline' | 'command' | undefined = 'pipeline';
    const failing = {
      eval() {
        return this;
      },
      exec: () =>
        outage === 'pipeline'
          ? Promise.reject(new Error('Connection is closed.'))
          : Promise.resolve([[new Error('LOADING Redis is loading the dataset in memory'), null]]),
    };
    const flaky = { pipeline: () => (outage ? failing : redis.pipeline()) } as unknown as Redis;
    const errors: unknown[] = [];
    let flushed = 0;
    const counters = new DurableCounters({
      redis: flaky,
      keysOf,
      flushIntervalMs: 60_000,
      onFlushError: (error) => errors.push(error),
      onFlushed: () => (flushed += 1),
    });
    counters.add(stream, 'records', 5);
    await counters.flush();
    outage = 'command';
    counters.add(stream, 'records', 2);
    await counters.flush();
    expect(errors.map((e) => (e as Error).message)).toEqual([
      'Connection is closed.',
      'LOADING Redis is loading the dataset in memory',
    ]);
    expect(flushed).toBe(0);
    expect(await redis.exists(streamKeys(stream).metrics)).toBe(0);
    outage = undefined;
    counters.add(stream, 'records', 1);
    await counters.flush();
    expect(flushed).toBe(1);
    expect(await redis.hget(streamKeys(stream).metrics, 'records')).toBe('8');
    await counters.stop();
    expect(await redis.hget(streamKeys(stream).metrics, 'records')).toBe('8');
  });

  it('drops the counts of a stream that no longer exists instead of bringing its keys back', async () => {
    const stream = uniqueName('counters-gone');
    streams.push(stream);
    const counters = new DurableCounters({
      redis,
      keysOf,
      flushIntervalMs: 60_000,
      onFlushError: (error) => {
        throw error;
      },
    });
    counters.add(stream, 'records', 5);
    await counters.stop();
    expect(await redis.exists(streamKeys(stream).metrics)).toBe(0);
  });
});

describe('DeploymentMetrics', () => {
  it("renders the durable counters and the buffer's own counters and gauges of every stream", async () => {
    const stream = await existingStream('deployment');
    const keys = streamKeys(stream);
    const fresh = histogramFields(DURABLE.deliveryFreshness, ['HttpEndpoint'], 3);
    const old = histogramFields(DURABLE.deliveryFreshness, ['HttpEndpoint'], 700);
    await redis.hset(keys.metrics, {
      [counterField(DURABLE.incomingRecords)]: 12,
      [counterField(DURABLE.deliveryFailedRecords, ['HttpEndpoint', 'delivery', 'X.Y', 'false'])]:
        4,
      [fresh.bucket]: 2,
      [old.bucket]: 1,
      // One sum for the series: 3 s twice and 700 s.
      [fresh.sumMs]: 706_000,
      'from a later version|x': 99,
    });
    await redis.hset(keys.stats, {
      backlogBytes: 100,
      backlogRecords: 3,
      backlogStoredBytes: 2200,
      deadBatches: 2,
      deadRecords: 7,
    });
    await redis.zadd(keys.dead, 1, 'b1');
    await redis.zadd(keys.partitions, 1, 'p1', 2, 'p2', 3, 'p3');
    await redis.hset(keys.open, 'firstArrivalMs', 1_000_000);
    const metrics = new DeploymentMetrics({
      redis,
      streamNames: () => Promise.resolve([stream]),
      keysOf,
      backlogLimitBytes: 512 * 1024 * 1024,
      timeoutMs: 5_000,
      onReadError: (error) => {
        throw error;
      },
      now: () => 1_005_500,
    });
    const e = parseExposition(await metrics.render());
    const labels = { stream };
    expect(sampleValue(e, 'sluice_redis_up')).toBe(1);
    expect(sampleValue(e, 'sluice_streams')).toBe(1);
    expect(sampleValue(e, 'sluice_incoming_records_total', labels)).toBe(12);
    expect(
      sampleValue(e, 'sluice_delivery_failed_records_total', {
        stream,
        destination: 'HttpEndpoint',
        stage: 'delivery',
        code: 'X.Y',
        retrying: 'false',
      }),
    ).toBe(4);
    const bucket = (le: string) =>
      sampleValue(e, 'sluice_delivery_data_freshness_seconds_bucket', { stream, le });
    expect(bucket('2')).toBe(0);
    expect(bucket('5')).toBe(2);
    expect(bucket('600')).toBe(2);
    expect(bucket('900')).toBe(3);
    expect(bucket('+Inf')).toBe(3);
    expect(sampleValue(e, 'sluice_delivery_data_freshness_seconds_count', labels)).toBe(3);
    expect(sampleValue(e, 'sluice_delivery_data_freshness_seconds_sum', labels)).toBe(706);
    expect(sampleValue(e, 'sluice_backlog_bytes', labels)).toBe(100);
    expect(sampleValue(e, 'sluice_backlog_records', labels)).toBe(3);
    expect(sampleValue(e, 'sluice_backlog_stored_bytes', labels)).toBe(2200);
    expect(sampleValue(e, 'sluice_backlog_limit_bytes')).toBe(512 * 1024 * 1024);
    expect(sampleValue(e, 'sluice_dead_lettered_batches_total', labels)).toBe(2);
    expect(sampleValue(e, 'sluice_dead_lettered_records_total', labels)).toBe(7);
    expect(sampleValue(e, 'sluice_batches_completed_total', labels)).toBe(0);
    expect(sampleValue(e, 'sluice_dead_set_batches', labels)).toBe(1);
    expect(sampleValue(e, 'sluice_active_partitions', labels)).toBe(3);
    expect(sampleValue(e, 'sluice_open_buffer_age_seconds', labels)).toBe(5.5);
    expect(e.samples.some((s) => s.labels.stream === stream && s.value === 99)).toBe(false);
    expect(sampleValue(e, 'sluice_redis_used_memory_bytes')).toBeGreaterThan(0);
  });

  it('answers sluice_redis_up 0, and says so, when Redis cannot be read', async () => {
    const offline = new Redis(TEST_REDIS_URL, { lazyConnect: true, enableOfflineQueue: false });
    const errors: unknown[] = [];
    const metrics = new DeploymentMetrics({
      redis: offline,
      streamNames: () => Promise.resolve([]),
      keysOf,
      backlogLimitBytes: 1024,
      timeoutMs: 5_000,
      onReadError: (error) => errors.push(error),
    });
    const e = parseExposition(await metrics.render());
    expect(sampleValue(e, 'sluice_redis_up')).toBe(0);
    expect(sampleValue(e, 'sluice_backlog_limit_bytes')).toBe(1024);
    expect(e.samples.filter((s) => s.labels.stream !== undefined)).toEqual([]);
    expect(errors).toHaveLength(1);
    offline.disconnect();
  });
});
