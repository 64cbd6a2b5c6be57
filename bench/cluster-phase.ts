import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import { Cluster, Redis } from 'ioredis';

import type { Child } from '../devtools/children.js';
import { startRedisCluster } from '../devtools/redis-cluster.js';
import { startRedisServer, type RedisServer } from '../devtools/redis-server.js';
import { keySlot } from '../src/redis/key-slot.js';
import { streamKeys } from '../src/streams/keys.js';
import { nowMs } from './clock.js';
import { phaseSignal, type BenchContext } from './context.js';
import { BENCH_BUCKET, createBenchStream } from './control-plane.js';
import { FirehoseHttp } from './firehose-http.js';
import type { Infrastructure } from './infrastructure.js';
import { runClosedLoop, type LoadProgress, type LoadResult } from './load.js';
import { OTHER_PROCESSES, ProcessSampler } from './process-sampler.js';
import { say, startProgress } from './progress.js';
import { prepareBodies, type PreparedBody } from './records.js';
import { startSluice, type SluiceProcess } from './sluice-process.js';
import { readStreamStats, type StreamStatsSample } from './stream-stats.js';
import { MIB } from './stats.js';
import { throughputFigures, type ThroughputFigures } from './throughput.js';

/** Streams the load is spread over, evenly over the cluster's masters. */
export const CLUSTER_STREAMS = 12;
/** Masters of the cluster (each with one replica). */
export const CLUSTER_MASTERS = 3;
/** Redis Cluster's hash slots. */
const SLOTS = 16_384;
/** How often the streams' counters are read while waiting for delivery. */
const POLL_MS = 200;
/** How long a replica may take to be in sync with its primary. */
const SYNC_TIMEOUT_MS = 30_000;
/** Candidate names tried before giving up spreading the streams (a few dozen suffice). */
const MAX_NAME_CANDIDATES = 10_000;

/** The four setups, in the order they run. */
export const CLUSTER_SETUPS = [
  {
    key: 'single',
    title: 'single Redis',
    cluster: false,
    replica: false,
    minReplicas: 0,
  },
  {
    key: 'replica',
    title: 'primary + replica, MIN_REPLICAS=1',
    cluster: false,
    replica: true,
    minReplicas: 1,
  },
  {
    key: 'cluster',
    title: 'cluster 3+3',
    cluster: true,
    replica: true,
    minReplicas: 0,
  },
  {
    key: 'cluster-wait',
    title: 'cluster 3+3, MIN_REPLICAS=1',
    cluster: true,
    replica: true,
    minReplicas: 1,
  },
] as const;

/** One of {@link CLUSTER_SETUPS}. */
export type ClusterSetupSpec = (typeof CLUSTER_SETUPS)[number];
/** The name of a setup. */
export type ClusterSetupKey = ClusterSetupSpec['key'];

/** Delivery to S3 of the measured load's records, from its first request. */
export interface ClusterDelivery {
  /** Seconds from the first measured request until every accepted record was done; undefined: never. */
  settledAfterS: number | undefined;
  /** Records of the measured load delivered (so far, when never settled). */
  deliveredRecords: number;
  deadRecords: number;
  /** Accepted records neither delivered nor dead-lettered when the wait ended (0 once settled). */
  undeliveredRecords: number;
  /** Delivered records per second from the first measured request until settled (or the timeout). */
  recordsPerS: number;
  /** Delivered payload per second over the same window. */
  mibS: number;
  /** Payload still to deliver when the load ended, MiB: how far delivery fell behind ingest. */
  backlogAtLoadEndMib: number;
  /** Batches delivered over the whole setup (warm-up included), by the streams' counters. */
  batches: number;
  /** Objects in the bucket under the setup's streams (warm-up included); undefined: listing failed. */
  s3Objects: number | undefined;
  /** Their stored (GZIP) bytes. */
  s3Bytes: number | undefined;
}

/** CPU of the setup: shares of one core during the measured load, and seconds until delivered. */
export interface ClusterCpu {
  sluice: number | undefined;
  /** Every redis-server of the setup together. */
  redis: number | undefined;
  s3rver: number | undefined;
  /** The load generator. */
  bench: number | undefined;
  other: number | undefined;
  /**
   * Sluice's CPU seconds from the first measured request until every record was delivered: the
   * same work in every setup (the measured records taken in and delivered), unlike the load's
   * window, within which a setup that ingests slower has delivered a larger share.
   */
  sluiceSeconds: number | undefined;
  /** Every redis-server's CPU seconds over the same window. */
  redisSeconds: number | undefined;
}

/** What one setup measured. */
export interface ClusterSetupResult {
  key: ClusterSetupKey;
  title: string;
  /** Redis processes and their persistence, for the report. */
  redis: string;
  minReplicas: number;
  /** The measured streams per master, by master port (one entry for a single Redis). */
  streamsPerMaster: Record<string, number>;
  ingest: ThroughputFigures;
  delivery: ClusterDelivery;
  cpu: ClusterCpu;
  /** Warning and error lines of the service (the first few). */
  problems: string[];
}

/** One setup's outcome: a failing cluster still leaves the single-Redis figures. */
export type ClusterSetupOutcome =
  | { key: ClusterSetupKey; title: string; status: 'ok'; value: ClusterSetupResult }
  | { key: ClusterSetupKey; title: string; status: 'failed'; error: string };

/** What the cluster phase measured. */
export interface ClusterResult {
  /** Cores of the machine, which every process of the phase shares. */
  cores: number;
  streams: number;
  concurrency: number;
  durationS: number;
  warmupS: number;
  setups: ClusterSetupOutcome[];
}

/** The slot ranges (inclusive) each shard serves. */
export type ShardSlots = readonly (readonly (readonly [number, number])[])[];

/** How `redis-cli --cluster create` splits the slots over `masters` masters. */
export function evenShards(masters: number): ShardSlots {
  const per = SLOTS / masters;
  return Array.from({ length: masters }, (_, i) => {
    const first = Math.round(i * per);
    const last = Math.round((i + 1) * per) - 1;
    return [[first, last] as const];
  });
}

/** The shard whose ranges hold `slot`; -1 when none does. */
export function shardOf(slot: number, shards: ShardSlots): number {
  return shards.findIndex((ranges) => ranges.some(([a, b]) => slot >= a && slot <= b));
}

/** The slot of a stream: every key of it carries the hash tag `{<stream>}`. */
export function streamSlot(stream: string): number {
  return keySlot(streamKeys(stream).stats);
}

/**
 * `perShard` stream names `<prefix>-NNN` for each shard: candidates in order, each kept when its
 * shard is not full yet, so the load lands evenly on the masters whatever the slot map.
 *
 * @throws when the names cannot be spread (a shard without slots).
 */
export function spreadStreamNames(prefix: string, shards: ShardSlots, perShard: number): string[] {
  const counts = shards.map(() => 0);
  const names: string[] = [];
  for (let i = 0; i < MAX_NAME_CANDIDATES && names.length < perShard * shards.length; i += 1) {
    const name = `${prefix}-${String(i).padStart(3, '0')}`;
    const shard = shardOf(streamSlot(name), shards);
    if (shard === -1 || (counts[shard] ?? 0) >= perShard) continue;
    counts[shard] = (counts[shard] ?? 0) + 1;
    names.push(name);
  }
  if (names.length < perShard * shards.length) {
    throw new Error(`could not spread ${perShard} streams on each of ${shards.length} shards`);
  }
  return names;
}

/**
 * The bodies for `streams`, `perStream` each, interleaved so consecutive requests go to
 * different streams (and so to different masters).
 */
export function interleavedBodies(
  streams: readonly string[],
  perStream: number,
  seed: number,
): PreparedBody[] {
  const byStream = streams.map((stream) => prepareBodies(stream, perStream, seed));
  const bodies: PreparedBody[] = [];
  for (let b = 0; b < perStream; b += 1) {
    for (const list of byStream) {
      const body = list[b];
      if (body !== undefined) bodies.push(body);
    }
  }
  return bodies;
}

/** The Redis processes of one setup and a connection for the streams' counters. */
interface Topology {
  /** `SLUICE_REDIS_URL`. */
  url: string;
  mode: 'single' | 'cluster';
  description: string;
  /** Slot ranges of each master (the even split for a single Redis, where they do not matter). */
  shards: ShardSlots;
  /** Port of each master, in the order of {@link shards}. */
  masterPorts: number[];
  /** Name → process of every redis-server. */
  processes: Map<string, Child>;
  client: Redis | Cluster;
  stop(): Promise<void>;
}

/** A connection option set for the bench's own reads: bounded, never a retry storm at stop. */
const READER_OPTIONS = {
  maxRetriesPerRequest: 2,
  commandTimeout: 5_000,
  retryStrategy: (attempt: number) => (attempt > 5 ? null : 200),
};

/** One redis-server (AOF everysec), and with `replica` a second one following it. */
async function startSingle(replica: boolean): Promise<Topology> {
  const flags = { appendOnly: true, appendfsync: 'everysec' as const };
  const primary = await startRedisServer({ ...flags, dirPrefix: 'sluice-bench-cluster-single-' });
  const started: RedisServer[] = [primary];
  const client = new Redis(primary.url, READER_OPTIONS);
  client.on('error', () => undefined);
  const stop = async (): Promise<void> => {
    client.disconnect();
    await Promise.all(started.map((s) => s.stop()));
  };
  try {
    if (replica) {
      const second = await startRedisServer({
        ...flags,
        dirPrefix: 'sluice-bench-cluster-replica-',
      });
      started.push(second);
      // Redis waits 5 s for more replicas before a full sync by default; one is all there is.
      await client.config('SET', 'repl-diskless-sync-delay', '0');
      const follower = new Redis(second.url, READER_OPTIONS);
      follower.on('error', () => undefined);
      try {
        await follower.call('REPLICAOF', '127.0.0.1', String(primary.port));
      } finally {
        follower.disconnect();
      }
      await replicaOnline(client);
    }
    const shown = primary.flags.map((f) => (f === '' ? "''" : f)).join(' ');
    return {
      url: primary.url,
      mode: 'single',
      description: replica
        ? `one redis-server and one replica of it, both ${shown}`
        : `one redis-server ${shown}`,
      shards: evenShards(CLUSTER_MASTERS),
      masterPorts: [primary.port],
      processes: new Map(started.map((s, i) => [i === 0 ? 'primary' : 'replica', s.child])),
      client,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Waits until the primary reports one replica online. */
async function replicaOnline(primary: Redis): Promise<void> {
  const deadline = Date.now() + SYNC_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (/slave0:.*state=online/.test(await primary.info('replication'))) return;
    await sleep(100);
  }
  throw new Error(`the replica was not in sync within ${SYNC_TIMEOUT_MS / 1000} s`);
}

/** A {@link CLUSTER_MASTERS}-master cluster, one replica each, AOF everysec on every node. */
async function startCluster(): Promise<Topology> {
  const cluster = await startRedisCluster({
    masters: CLUSTER_MASTERS,
    replicasPerMaster: 1,
    appendOnly: true,
    appendfsync: 'everysec',
    dirPrefix: 'sluice-bench-cluster-',
  });
  let nodes: Awaited<ReturnType<typeof cluster.nodes>>;
  try {
    nodes = await cluster.nodes();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  const masters = nodes.filter((n) => n.role === 'master' && n.slotCount > 0);
  const client = new Cluster(
    cluster.seeds.map((url) => ({ host: '127.0.0.1', port: Number(new URL(url).port) })),
    { redisOptions: { connectTimeout: 2_000, commandTimeout: 5_000 } },
  );
  client.on('error', () => undefined);
  const shown = cluster.flags.map((f) => (f === '' ? "''" : f)).join(' ');
  return {
    url: cluster.url,
    mode: 'cluster',
    description: `Redis Cluster of ${masters.length} masters and ${nodes.length - masters.length} replicas, every node ${shown}`,
    shards: masters.map((m) => m.slots),
    masterPorts: masters.map((m) => m.port),
    processes: new Map(
      nodes.map((n) => [`${n.role === 'master' ? 'master' : 'replica'} ${n.port}`, n.child]),
    ),
    client,
    async stop() {
      client.disconnect();
      await cluster.stop();
    },
  };
}

/** The streams' counters added up. */
type Totals = StreamStatsSample;

/** Reads every stream's counters (one HMGET each, on its own master) and adds them up. */
async function readTotals(client: Redis | Cluster, streams: readonly string[]): Promise<Totals> {
  const samples = await Promise.all(streams.map((stream) => readStreamStats(client, stream)));
  const sum = (field: Exclude<keyof Totals, 'atMs'>): number =>
    samples.reduce((n, sample) => n + sample[field], 0);
  return {
    atMs: nowMs(),
    backlogBytes: sum('backlogBytes'),
    backlogRecords: sum('backlogRecords'),
    deliveredRecords: sum('deliveredRecords'),
    deliveredBytes: sum('deliveredBytes'),
    deliveredBatches: sum('deliveredBatches'),
    deadRecords: sum('deadRecords'),
  };
}

/**
 * Polls the counters until the backlog is empty and `expected` records are delivered or dead,
 * or `deadline` passes; resolves with the first reading that showed it, or the last one.
 */
async function waitSettled(
  client: Redis | Cluster,
  streams: readonly string[],
  expected: number,
  deadline: number,
  signal: AbortSignal,
): Promise<{ settled: boolean; totals: Totals }> {
  for (;;) {
    signal.throwIfAborted();
    const totals = await readTotals(client, streams);
    if (totals.backlogRecords === 0 && totals.deliveredRecords + totals.deadRecords >= expected) {
      return { settled: true, totals };
    }
    if (nowMs() >= deadline) return { settled: false, totals };
    await sleep(POLL_MS);
  }
}

/** The records of the streams' counters that moved between two readings. */
function delta(later: Totals, earlier: Totals): Totals {
  return {
    atMs: later.atMs,
    backlogBytes: later.backlogBytes,
    backlogRecords: later.backlogRecords,
    deliveredRecords: later.deliveredRecords - earlier.deliveredRecords,
    deliveredBytes: later.deliveredBytes - earlier.deliveredBytes,
    deliveredBatches: later.deliveredBatches - earlier.deliveredBatches,
    deadRecords: later.deadRecords - earlier.deadRecords,
  };
}

/** Sum of the defined values; `undefined` when none is. */
function sumDefined(values: readonly (number | undefined)[]): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length === 0 ? undefined : defined.reduce((a, b) => a + b, 0);
}

/** CPU seconds of a share of one core held for `seconds`; `undefined` when the share is. */
function times(share: number | undefined, seconds: number): number | undefined {
  return share === undefined ? undefined : share * seconds;
}

/** Closed-loop load through `client` for `seconds`, with progress lines. */
async function closedLoad(
  ctx: BenchContext,
  label: string,
  client: FirehoseHttp,
  bodies: readonly PreparedBody[],
  seconds: number,
  signal: AbortSignal,
): Promise<LoadResult> {
  const progress: LoadProgress = { requests: 0, acceptedBytes: 0, failedRecords: 0 };
  const stopProgress = startProgress(label, progress, undefined);
  try {
    return await runClosedLoop({
      client,
      bodies,
      concurrency: ctx.options.concurrency,
      durationMs: seconds * 1000,
      timeoutMs: ctx.options.requestTimeoutS * 1000,
      signal,
      progress,
    });
  } finally {
    stopProgress();
  }
}

/**
 * One setup: its Redis, a fresh Sluice (role all) on it, {@link CLUSTER_STREAMS} streams spread
 * evenly over the masters; a warm-up delivered to the end, then the measured closed loop and
 * the wait until every record it got acknowledged is delivered.
 */
async function runSetup(
  ctx: BenchContext,
  infra: Infrastructure,
  spec: ClusterSetupSpec,
): Promise<ClusterSetupResult> {
  const { options } = ctx;
  const label = `cluster (${spec.title})`;
  say(`${label}: starting Redis`);
  const topology = spec.cluster ? await startCluster() : await startSingle(spec.replica);
  let service: SluiceProcess | undefined;
  try {
    const perShard = CLUSTER_STREAMS / topology.shards.length;
    const streams = spreadStreamNames(`bench-cluster-${spec.key}`, topology.shards, perShard);
    const streamsPerMaster: Record<string, number> = {};
    for (const stream of streams) {
      const port =
        topology.mode === 'single'
          ? topology.masterPorts[0]
          : topology.masterPorts[shardOf(streamSlot(stream), topology.shards)];
      streamsPerMaster[String(port)] = (streamsPerMaster[String(port)] ?? 0) + 1;
    }
    service = await startSluice({
      role: 'all',
      redisUrl: topology.url,
      s3Env: infra.s3.sluiceEnv,
      maxBacklogMb: options.maxBacklogMb,
      env: {
        SLUICE_REDIS_MODE: topology.mode,
        SLUICE_REDIS_MIN_REPLICAS: String(spec.minReplicas),
      },
    });
    const phase = phaseSignal(ctx.signal, [
      service.child,
      infra.s3.child,
      ...topology.processes.values(),
    ]);
    const client = new FirehoseHttp(service.url!, ctx.identity, options.concurrency);
    phase.signal.addEventListener('abort', () => client.close(), { once: true });
    const procs = new ProcessSampler(
      new Map([
        ['sluice', service.child.pid],
        ['s3rver', infra.s3.child.pid],
        ...[...topology.processes].map(([name, child]) => [name, child.pid] as const),
      ]),
    );
    try {
      for (const stream of streams) {
        await createBenchStream(client, stream, {
          sizeMb: options.sizeMb,
          intervalSeconds: options.intervalS,
        });
      }
      const perStream = Math.max(1, Math.ceil(options.bodies / streams.length));
      const bodies = interleavedBodies(streams, perStream, options.seed);
      const drainDeadline = (): number => nowMs() + options.drainTimeoutS * 1000;

      if (options.warmupS > 0) {
        say(`${label}: warming up for ${options.warmupS} s, then waiting for its delivery`);
        const warm = await closedLoad(ctx, label, client, bodies, options.warmupS, phase.signal);
        const warmed = await waitSettled(
          topology.client,
          streams,
          warm.acceptedRecords,
          drainDeadline(),
          phase.signal,
        );
        if (!warmed.settled) {
          throw new Error(
            `the warm-up's ${warm.acceptedRecords} records were not delivered within ${options.drainTimeoutS} s`,
          );
        }
      }
      const before = await readTotals(topology.client, streams);

      say(
        `${label}: ${options.concurrency} in flight over ${streams.length} streams for ${options.durationS} s`,
      );
      procs.start();
      const load = await closedLoad(ctx, label, client, bodies, options.durationS, phase.signal);
      const atLoadEnd = await readTotals(topology.client, streams);
      say(`${label}: waiting up to ${options.drainTimeoutS} s for delivery`);
      const done = await waitSettled(
        topology.client,
        streams,
        before.deliveredRecords + before.deadRecords + load.acceptedRecords,
        drainDeadline(),
        phase.signal,
      );
      procs.stop();
      const crashed = phase.crashed();
      if (crashed) throw new Error(`during the load: ${crashed.describeExit()}`);
      ctx.signal.throwIfAborted();

      const measured = delta(done.totals, before);
      const elapsedS = Math.max(1e-3, (done.totals.atMs - load.startMs) / 1000);
      let s3: { objects: number; bytes: number } | undefined;
      try {
        s3 = { objects: 0, bytes: 0 };
        for (const stream of streams) {
          const usage = await infra.s3.usage(BENCH_BUCKET, `/${stream}-`);
          s3.objects += usage.objects;
          s3.bytes += usage.bytes;
        }
      } catch (error) {
        s3 = undefined;
        say(`${label}: could not list the bucket: ${String(error)}`);
      }
      const cpu = procs.cpuShares(load.startMs, load.endMs);
      const whole = procs.cpuShares(load.startMs, done.totals.atMs);
      const redisNames = [...topology.processes.keys()];
      return {
        key: spec.key,
        title: spec.title,
        redis: topology.description,
        minReplicas: spec.minReplicas,
        streamsPerMaster,
        ingest: throughputFigures(load),
        delivery: {
          settledAfterS: done.settled ? elapsedS : undefined,
          deliveredRecords: measured.deliveredRecords,
          deadRecords: measured.deadRecords,
          undeliveredRecords: Math.max(
            0,
            load.acceptedRecords - measured.deliveredRecords - measured.deadRecords,
          ),
          recordsPerS: measured.deliveredRecords / elapsedS,
          mibS: measured.deliveredBytes / MIB / elapsedS,
          backlogAtLoadEndMib: atLoadEnd.backlogBytes / MIB,
          batches: done.totals.deliveredBatches,
          s3Objects: s3?.objects,
          s3Bytes: s3?.bytes,
        },
        cpu: {
          sluice: cpu.sluice,
          redis: sumDefined(redisNames.map((name) => cpu[name])),
          s3rver: cpu.s3rver,
          bench: cpu.bench,
          other: cpu[OTHER_PROCESSES],
          sluiceSeconds: times(whole.sluice, elapsedS),
          redisSeconds: times(sumDefined(redisNames.map((name) => whole[name])), elapsedS),
        },
        problems: service.problems.slice(0, 5).map((line) => `${service?.child.name}: ${line}`),
      };
    } finally {
      procs.stop();
      phase.dispose();
      client.close();
    }
  } finally {
    await service?.stop();
    await topology.stop();
  }
}

/**
 * Phase 15: the same closed-loop load (`--concurrency` in flight, `--warmup` then `--duration`
 * seconds, the bench's bodies) over {@link CLUSTER_STREAMS} GZIP S3 streams, in four setups one
 * after the other, each with a fresh Redis and a fresh Sluice (role all): one Redis; a primary
 * and a replica with `SLUICE_REDIS_MIN_REPLICAS=1`; a {@link CLUSTER_MASTERS}-master cluster
 * with a replica per master; the same cluster with `SLUICE_REDIS_MIN_REPLICAS=1`. Every
 * redis-server keeps an append-only file fsynced every second. Each setup reports acknowledged
 * ingest and delivery to S3 until every acknowledged record is delivered.
 */
export async function runClusterPhase(
  ctx: BenchContext,
  infra: Infrastructure,
): Promise<ClusterResult> {
  const setups: ClusterSetupOutcome[] = [];
  for (const spec of CLUSTER_SETUPS) {
    try {
      const value = await runSetup(ctx, infra, spec);
      setups.push({ key: spec.key, title: spec.title, status: 'ok', value });
    } catch (error) {
      ctx.signal.throwIfAborted();
      const message = error instanceof Error ? error.message : String(error);
      say(`cluster (${spec.title}) failed: ${message.split('\n')[0] ?? ''}`);
      setups.push({ key: spec.key, title: spec.title, status: 'failed', error: message });
    }
  }
  const { options } = ctx;
  return {
    cores: availableParallelism(),
    streams: CLUSTER_STREAMS,
    concurrency: options.concurrency,
    durationS: options.durationS,
    warmupS: options.warmupS,
    setups,
  };
}
