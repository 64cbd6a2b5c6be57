import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

import { startRedisServer, type RedisServer } from '../devtools/redis-server.js';
import { phaseSignal, warmedClosedLoad, type BenchContext } from './context.js';
import { createBenchStream } from './control-plane.js';
import { FirehoseHttp } from './firehose-http.js';
import type { Infrastructure } from './infrastructure.js';
import { runClosedLoop, type LoadResult } from './load.js';
import { say } from './progress.js';
import { startSluice } from './sluice-process.js';
import { throughputFigures, type ThroughputFigures } from './throughput.js';

/** One side of the replicas phase: the same load with one `SLUICE_REDIS_MIN_REPLICAS`. */
export interface ReplicasSide {
  minReplicas: number;
  throughput: ThroughputFigures;
}

/** What the replicas phase measured: acknowledged ingest without and with waiting for a replica. */
export interface ReplicasResult {
  /** The primary's persistence and the replica's, for the report. */
  replica: string;
  without: ReplicasSide;
  with: ReplicasSide;
}

/** How long the replica may take to be in sync with the primary. */
const SYNC_TIMEOUT_MS = 30_000;

/**
 * Phase 12: acknowledged ingest (role all) with a Redis replica attached to the bench's Redis,
 * with `SLUICE_REDIS_MIN_REPLICAS=0` (acknowledged on the primary) and `=1` (each put waits for
 * the replica's WAIT), twice each in the order 0, 1, 1, 0: the same bodies, concurrency and
 * duration, in the same run. The
 * replica runs on this machine, so the figure is the cost of the wait itself on loopback; across
 * zones the network's round trip adds to each put's latency.
 */
export async function runReplicasPhase(
  ctx: BenchContext,
  infra: Infrastructure,
  stream: string,
): Promise<ReplicasResult> {
  const replica = await startRedisServer({ appendOnly: false, dirPrefix: 'sluice-bench-replica-' });
  const onReplica = new Redis(replica.url, { maxRetriesPerRequest: 2, lazyConnect: true });
  onReplica.on('error', () => undefined);
  try {
    await onReplica.connect();
    // Redis waits 5 s for more replicas before a full sync by default; one is all there is.
    await infra.client.config('SET', 'repl-diskless-sync-delay', '0');
    await onReplica.call('REPLICAOF', '127.0.0.1', String(infra.redis.server.port));
    await inSync(infra.client, ctx.signal);
    // A-B-B-A: the machine's drift during the phase weighs on both sides alike.
    const runs: LoadResult[][] = [[], []];
    for (const [round, minReplicas] of [0, 1, 1, 0].entries()) {
      runs[minReplicas]!.push(
        await measure(ctx, infra, replica, `${stream}-${round}`, minReplicas),
      );
    }
    return {
      replica: `one redis-server replica on loopback (no persistence), of the ${infra.redis.persistence} primary; two runs a side, A-B-B-A`,
      without: { minReplicas: 0, throughput: throughputFigures(joined(runs[0]!)) },
      with: { minReplicas: 1, throughput: throughputFigures(joined(runs[1]!)) },
    };
  } finally {
    onReplica.disconnect();
    await replica.stop();
    await infra.client.call('REPLICAOF', 'NO', 'ONE').catch(() => undefined);
  }
}

/** Runs one after the other, as one run as long as both (only their figures add up). */
function joined(results: readonly LoadResult[]): LoadResult {
  const errors = new Map<string, number>();
  for (const r of results) {
    for (const [reason, n] of r.errors) errors.set(reason, (errors.get(reason) ?? 0) + n);
  }
  const sum = (pick: (r: LoadResult) => number) => results.reduce((n, r) => n + pick(r), 0);
  return {
    startMs: 0,
    endMs: sum((r) => r.endMs - r.startMs),
    requests: sum((r) => r.requests),
    acceptedRecords: sum((r) => r.acceptedRecords),
    acceptedBytes: sum((r) => r.acceptedBytes),
    failedRecords: sum((r) => r.failedRecords),
    errors,
    latenciesMs: results.flatMap((r) => r.latenciesMs),
    events: [],
    lateStarts: 0,
  };
}

/** Waits until the primary reports one replica online. */
async function inSync(primary: Redis, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + SYNC_TIMEOUT_MS;
  while (Date.now() < deadline) {
    signal.throwIfAborted();
    if (/slave0:.*state=online/.test(await primary.info('replication'))) return;
    await sleep(100);
  }
  throw new Error(`the replica was not in sync within ${SYNC_TIMEOUT_MS / 1000} s`);
}

async function measure(
  ctx: BenchContext,
  infra: Infrastructure,
  replica: RedisServer,
  stream: string,
  minReplicas: number,
): Promise<LoadResult> {
  const { options } = ctx;
  const label = `replicas (SLUICE_REDIS_MIN_REPLICAS=${minReplicas})`;
  await infra.reset();
  await inSync(infra.client, ctx.signal);
  const service = await startSluice({
    role: 'all',
    redisUrl: infra.redis.server.url,
    s3Env: infra.s3.sluiceEnv,
    maxBacklogMb: options.maxBacklogMb,
    env: { SLUICE_REDIS_MIN_REPLICAS: String(minReplicas) },
  });
  const phase = phaseSignal(ctx.signal, [service.child, infra.redis.server.child, replica.child]);
  const client = new FirehoseHttp(service.url!, ctx.identity, options.concurrency);
  phase.signal.addEventListener('abort', () => client.close(), { once: true });
  try {
    await createBenchStream(client, stream, {
      sizeMb: options.sizeMb,
      intervalSeconds: options.intervalS,
    });
    const load = await warmedClosedLoad(ctx, label, client, stream, phase.signal);
    say(`${label}: ${options.concurrency} in flight for ${options.durationS} s`);
    const result = await runClosedLoop({ ...load, durationMs: options.durationS * 1000 });
    const crashed = phase.crashed();
    if (crashed) throw new Error(`during the load: ${crashed.describeExit()}`);
    ctx.signal.throwIfAborted();
    return result;
  } finally {
    phase.dispose();
    client.close();
    await service.stop();
  }
}
