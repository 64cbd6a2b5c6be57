import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateDeliveryStreamCommand, type FirehoseClient } from '@aws-sdk/client-firehose';
import { keySlot } from '../../src/redis/key-slot.js';
import { QueueKeys } from 'bullmq';
import {
  ACTIVE_STREAMS_KEY,
  DELIVERY_QUEUE_NAME,
  SEAL_SCHEDULE_KEY,
  streamKeys,
  streamPrefix,
} from '../../src/streams/keys.js';
import { uniqueName } from '../support/unique.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import type { SluiceProcess } from '../support/sluice-process.js';
import {
  cleanupAfterAll,
  DRAIN_AFTER_TAKEOVER_MS,
  deliveredRecords,
  eventually,
  expectExactlyOnce,
  FAST,
  firehoseFor,
  ONE_BOUNDED_ATTEMPT,
  putRecordBatch,
  s3Destination,
  requestRecords,
  startService,
} from '../support/e2e.js';

/**
 * Sluice on a real Redis Cluster (3 masters, one replica each, on loopback), with
 * `SLUICE_REDIS_MODE=cluster`: streams spread over the masters and are delivered exactly once,
 * also while a master is added and slots move to it under load, and — with
 * `SLUICE_REDIS_MIN_REPLICAS=1` — when a master is killed under load, or when the slots of the
 * streams move to another master under load, no acknowledged record is lost. The tests share one cluster and run in order (a master is killed and comes back as a
 * replica, then one is added).
 */

const cleanups = cleanupAfterAll();
let cluster: RedisCluster;
let s3: S3Server;
let redis: Cluster;

beforeAll(async () => {
  [cluster, s3] = await Promise.all([startRedisCluster(), startS3Server()]);
  cleanups.add(
    () => cluster.stop(),
    () => s3.stop(),
  );
  redis = new Cluster(
    cluster.seeds.map((url) => ({ host: '127.0.0.1', port: Number(new URL(url).port) })),
    { redisOptions: { maxRetriesPerRequest: 3 } },
  );
  cleanups.add(() => redis.disconnect());
}, 120_000);

afterAll(async () => {
  await cleanups.run();
});

function clusterEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...FAST,
    ...s3.sluiceEnv,
    SLUICE_REDIS_MODE: 'cluster',
    SLUICE_REDIS_URL: cluster.url,
    ...extra,
  };
}

/** Waits until every stream's backlog is delivered (nothing open, nothing sealed, none dead). */
async function drained(streams: readonly string[], sluice: SluiceProcess, timeoutMs = 90_000) {
  const state = async () =>
    Promise.all(
      streams.map(async (stream) => {
        const keys = streamKeys(stream);
        const queue = new QueueKeys(streamPrefix(stream)).getKeys(DELIVERY_QUEUE_NAME);
        const [backlog, open, sealed, dead, waiting, active, delayed, listed, scheduled] =
          await Promise.all([
            redis.hget(keys.stats, 'backlogRecords'),
            redis.exists(keys.open),
            redis.zcard(keys.sealed),
            redis.zcard(keys.dead),
            redis.llen(queue.wait as string),
            redis.llen(queue.active as string),
            redis.zcard(queue.delayed as string),
            redis.zscore(ACTIVE_STREAMS_KEY, stream),
            redis.zscore(SEAL_SCHEDULE_KEY, stream),
          ]);
        // The queue and the schedule sets too, to tell a stuck worker from a lost entry.
        return { stream, backlog, open, sealed, dead, waiting, active, delayed, listed, scheduled };
      }),
    );
  await eventually(
    'every stream drained',
    async () => {
      const states = await state();
      const dead = states.filter((s) => s.dead > 0);
      if (dead.length > 0) throw new Error(`dead-lettered: ${JSON.stringify(dead)}`);
      return states.every((s) => s.backlog === '0' && s.open === 0 && s.sealed === 0);
    },
    { timeoutMs, sluice, state: async () => JSON.stringify(await state()) },
  );
}

/**
 * Waits until `streams` are drained, then checks that every record of `acked` reached `bucket`
 * exactly once and nothing else did (records of `unacked` may be there at most once).
 */
async function expectDeliveredOnce(
  streams: readonly string[],
  sluice: SluiceProcess,
  bucket: string,
  acked: ReadonlyMap<string, string>,
  unacked?: ReadonlyMap<string, string>,
  timeoutMs?: number,
): Promise<void> {
  await drained(streams, sluice, timeoutMs);
  const { byId } = await deliveredRecords(s3, bucket, /./);
  expectExactlyOnce(acked, byId, unacked);
}

/**
 * Puts request after request into each stream until `stop()` resolves (at most `maxRequests`
 * each), one attempt per request: an answered request is acknowledged, a failed one unknown.
 */
async function putUntil(
  client: FirehoseClient,
  streams: readonly string[],
  run: string,
  stop: Promise<unknown>,
  maxRequests = 400,
) {
  let stopped = false;
  const end = () => (stopped = true);
  stop.then(end, end);
  const acked = new Map<string, string>();
  const unacked = new Map<string, string>();
  let failures = 0;
  await Promise.all(
    streams.map(async (stream, s) => {
      for (let request = 0; request < maxRequests && !stopped; request += 1) {
        const records = requestRecords(`${run}-${s}`, request);
        try {
          const reply = await putRecordBatch(
            client,
            stream,
            records.map((r) => r.text),
          );
          records.forEach((record, i) => {
            const failed = reply.RequestResponses?.[i]?.ErrorCode !== undefined;
            (failed ? unacked : acked).set(record.id, record.text);
          });
        } catch {
          failures += 1;
          for (const record of records) unacked.set(record.id, record.text);
        }
      }
    }),
  );
  return { acked, unacked, failures };
}

/** The masters (by port) serving the slots of `keysOrStreams` (a stream stands for its keys). */
async function mastersOf(keysOrStreams: readonly string[]): Promise<Set<number>> {
  const masters = (await cluster.nodes()).filter((node) => node.role === 'master' && !node.failed);
  return new Set(
    keysOrStreams.map((name) => {
      const slot = keySlot(name.startsWith('sluice:') ? name : streamKeys(name).stream);
      const owner = masters.find((m) => m.slots.some(([from, to]) => slot >= from && slot <= to));
      if (owner === undefined) throw new Error(`no master serves slot ${slot}`);
      return owner.port;
    }),
  );
}

/** Creates streams named `names` (S3, 1 s and 1 MiB buffering) delivering to `bucket`. */
async function createStreams(
  client: FirehoseClient,
  bucket: string,
  names: readonly string[],
): Promise<string[]> {
  for (const name of names) {
    await client.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: name,
        ExtendedS3DestinationConfiguration: s3Destination(bucket, {
          BufferingHints: { IntervalInSeconds: 1, SizeInMBs: 1 },
        }),
      }),
    );
  }
  return [...names];
}

/** `count` fresh stream names starting with `prefix`. */
const namesOf = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, () => uniqueName(prefix));

/** Never resolves: {@link putUntil} then sends its `maxRequests` each. */
const NEVER = new Promise(() => undefined);

describe('Sluice on a Redis Cluster', () => {
  it('spreads streams over the masters and delivers every record once', async () => {
    const sluice = await startService(cleanups, clusterEnv());
    const client = firehoseFor(cleanups, sluice);
    const bucket = 'cluster-spread';
    await s3.createBucket(bucket);
    const streams = await createStreams(client, bucket, namesOf('cluster', 8));
    const { acked, unacked, failures } = await putUntil(client, streams, 'spread', NEVER, 6);
    expect({ failures, unacked: unacked.size, acked: acked.size }).toEqual({
      failures: 0,
      unacked: 0,
      acked: 8 * 6 * 100,
    });
    await expectDeliveredOnce(streams, sluice, bucket, acked);
    // Each stream's keys are on the master that serves its slot, and eight names fall on at
    // least two of the three masters (each serves a third of the slots).
    const holders = new Set<string>();
    for (const stream of streams) {
      const slot = keySlot(streamKeys(stream).stream);
      const found = await Promise.all(
        redis
          .nodes('master')
          .map(async (node) => Number(await node.call('CLUSTER', 'COUNTKEYSINSLOT', slot)) > 0),
      );
      expect(found.filter(Boolean)).toHaveLength(1);
      holders.add(String(found.indexOf(true)));
    }
    expect(holders.size).toBeGreaterThanOrEqual(2);
    expect((await mastersOf(streams)).size).toBe(holders.size);
    await sluice.stop();
  });

  it('after a SIGKILL of Sluice under load and a restart, delivers every acknowledged record once', async () => {
    const first = await startService(cleanups, clusterEnv());
    const client = firehoseFor(cleanups, first, ONE_BOUNDED_ATTEMPT);
    const bucket = 'cluster-crash';
    await s3.createBucket(bucket);
    const streams = await createStreams(client, bucket, namesOf('crash', 4));
    // Killed once batches are being delivered, with buffers open and puts in flight.
    const killing = (async () => {
      await eventually(
        'a delivered batch on every stream',
        async () => {
          const delivered = await Promise.all(
            streams.map(async (s) =>
              Number((await redis.hget(streamKeys(s).stats, 'deliveredBatches')) ?? 0),
            ),
          );
          return delivered.every((n) => n >= 1);
        },
        { sluice: first, timeoutMs: 60_000 },
      );
      await first.kill();
    })();
    const outcome = await putUntil(client, streams, 'crash', killing, 400);
    await killing;
    expect(outcome.acked.size).toBeGreaterThan(0);
    const second = await startService(cleanups, clusterEnv());
    await expectDeliveredOnce(
      streams,
      second,
      bucket,
      outcome.acked,
      outcome.unacked,
      DRAIN_AFTER_TAKEOVER_MS,
    );
    await second.stop();
  }, 180_000);

  it('with SLUICE_REDIS_MIN_REPLICAS=1, loses no acknowledged record when a master is killed under load', async () => {
    const sluice = await startService(cleanups, clusterEnv({ SLUICE_REDIS_MIN_REPLICAS: '1' }));
    const client = firehoseFor(cleanups, sluice, ONE_BOUNDED_ATTEMPT);
    const bucket = 'cluster-failover';
    await s3.createBucket(bucket);
    // The victim is the master that serves the shared schedule sets (the seal schedule, the
    // active streams): the hardest one to lose, as their last writes are not waited for. Six
    // streams, at least two of them on it.
    const [victim] = await mastersOf([SEAL_SCHEDULE_KEY]);
    if (victim === undefined) throw new Error('no master serves the schedule');
    const on: string[] = [];
    const off: string[] = [];
    for (let i = 0; i < 100 && (on.length < 2 || off.length < 4); i += 1) {
      const name = uniqueName('failover');
      const list = (await mastersOf([name])).has(victim) ? on : off;
      list.push(name);
    }
    const streams = await createStreams(client, bucket, [...on.slice(0, 2), ...off.slice(0, 4)]);
    expect(streams).toHaveLength(6);
    const failingOver = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const failover = await cluster.killMaster(victim);
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      return failover;
    })();
    const outcome = await putUntil(client, streams, 'failover', failingOver, 400);
    const failover = await failingOver;
    expect(failover.killed).toBe(victim);
    // The old master comes back as a replica, for the tests after this one.
    await cluster.restartNode(failover.killed);
    expect(outcome.acked.size).toBeGreaterThan(0);
    await expectDeliveredOnce(streams, sluice, bucket, outcome.acked, outcome.unacked, 120_000);
    await sluice.stop();
  }, 180_000);

  it('with SLUICE_REDIS_MIN_REPLICAS=1, loses nothing while the slots of its streams move to another master under load', async () => {
    const sluice = await startService(cleanups, clusterEnv({ SLUICE_REDIS_MIN_REPLICAS: '1' }));
    const client = firehoseFor(cleanups, sluice, ONE_BOUNDED_ATTEMPT);
    const bucket = 'cluster-replicated-reshard';
    await s3.createBucket(bucket);
    // Every master has a replica (the one killed above came back as one), so puts to any of
    // them can be confirmed. redis-cli moves the lowest slots of each source first: streams
    // among the first 1,000 slots of a master other than the target all move.
    const masters = (await cluster.nodes()).filter((n) => n.role === 'master' && !n.failed);
    const target = masters[0];
    if (target === undefined) throw new Error('no master');
    const moving = (name: string): boolean => {
      const slot = keySlot(streamKeys(name).stream);
      return masters.some(
        (m) =>
          m.port !== target.port &&
          m.slots.length > 0 &&
          slot >= (m.slots[0]?.[0] ?? 0) &&
          slot < (m.slots[0]?.[0] ?? 0) + 1_000,
      );
    };
    const names: string[] = [];
    for (let i = 0; i < 2_000 && names.length < 4; i += 1) {
      const name = uniqueName('moving');
      if (moving(name)) names.push(name);
    }
    expect(names).toHaveLength(4);
    const streams = await createStreams(client, bucket, names);
    expect((await mastersOf(streams)).has(target.port)).toBe(false);
    const resharding = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      return cluster.reshard(target.port, 4096);
    })();
    // Enough requests to keep putting until the last slot has moved.
    const outcome = await putUntil(client, streams, 'replicated-reshard', resharding, 1_000);
    expect(await resharding).toBeGreaterThan(4000);
    // Every stream now lives on the target, and every put was acknowledged: those made while
    // or after their slot moved were redirected (MOVED, ASK, TRYAGAIN) and confirmed there.
    expect([...(await mastersOf(streams))]).toEqual([target.port]);
    expect(outcome.failures).toBe(0);
    expect(outcome.unacked.size).toBe(0);
    expect(outcome.acked.size).toBeGreaterThan(0);
    await expectDeliveredOnce(streams, sluice, bucket, outcome.acked, outcome.unacked);
    await sluice.stop();
  }, 180_000);

  it('loses nothing while a master is added and slots move to it under load', async () => {
    const sluice = await startService(cleanups, clusterEnv());
    const client = firehoseFor(cleanups, sluice, ONE_BOUNDED_ATTEMPT);
    const bucket = 'cluster-reshard';
    await s3.createBucket(bucket);
    const streams = await createStreams(client, bucket, namesOf('reshard', 6));
    const resharding = (async () => {
      // Let records flow first, so that buffers and batches are open when their slots move.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const added = await cluster.addMaster();
      return cluster.reshard(added.port, 4096);
    })();
    const outcome = await putUntil(client, streams, 'reshard', resharding, 300);
    const moved = await resharding;
    expect(moved).toBeGreaterThan(4000);
    expect(outcome.acked.size).toBeGreaterThan(0);
    await expectDeliveredOnce(streams, sluice, bucket, outcome.acked, outcome.unacked);
    await sluice.stop();
  }, 180_000);
});
