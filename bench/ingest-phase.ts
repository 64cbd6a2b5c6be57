import { phaseSignal, warmedClosedLoad, type BenchContext } from './context.js';
import { createBenchStream } from './control-plane.js';
import { FirehoseHttp } from './firehose-http.js';
import type { Infrastructure } from './infrastructure.js';
import { runClosedLoop, type LoadProgress } from './load.js';
import { say, startProgress } from './progress.js';
import { ProcessSampler } from './process-sampler.js';
import { startSluice, type SluiceProcess } from './sluice-process.js';
import { MIB } from './stats.js';
import { readStreamStats, StreamStatsSampler } from './stream-stats.js';
import { throughputFigures, type ThroughputFigures } from './throughput.js';

/** How the service runs: one process doing everything, or an API and a worker process. */
export type Layout = 'all' | 'split';

/** What an ingest phase measured. */
export interface IngestResult {
  layout: Layout;
  stream: string;
  throughput: ThroughputFigures;
  /** Payload Sluice delivered to S3 while the measured load ran, per second. */
  deliveredMibS: number;
  /** Accepted but not yet delivered when the load ended. */
  backlogAtEndMib: number;
  /** Records dead-lettered (retention over) during the phase. */
  deadRecords: number;
  /** Highest RSS per process (`sluice (all)`, `redis-server`, …), MiB, warm-up included. */
  rssMaxMib: Record<string, number | undefined>;
  /** Average CPU per process over the phase, as a share of one core. */
  cpuShare: Record<string, number | undefined>;
  /** Warning and error log lines of the service. */
  problems: string[];
}

/** Starts the Sluice processes of `layout`; the first one serves the API at `url`. */
async function startLayout(
  layout: Layout,
  infra: Infrastructure,
  maxBacklogMb: number,
): Promise<{ services: SluiceProcess[]; url: string }> {
  const common = { redisUrl: infra.redis.server.url, s3Env: infra.s3.sluiceEnv, maxBacklogMb };
  const api = await startSluice({ ...common, role: layout === 'all' ? 'all' : 'api' });
  try {
    if (api.url === undefined) throw new Error(`${api.child.name} does not serve the API`);
    if (layout === 'all') return { services: [api], url: api.url };
    return { services: [api, await startSluice({ ...common, role: 'worker' })], url: api.url };
  } catch (error) {
    await api.stop();
    throw error;
  }
}

/**
 * Phases 2 and 4: a fresh Redis state, Sluice started in `layout`, a new GZIP stream, then the
 * closed-loop load (warm-up first) while the processes' RSS is sampled. The worker delivers
 * while the load runs, as in production; the figure is what producers get acknowledged.
 */
export async function runIngestPhase(
  ctx: BenchContext,
  infra: Infrastructure,
  layout: Layout,
  stream: string,
): Promise<IngestResult> {
  const { options } = ctx;
  await infra.reset();
  const { services, url } = await startLayout(layout, infra, options.maxBacklogMb);
  const phase = phaseSignal(ctx.signal, [
    ...services.map((s) => s.child),
    infra.redis.server.child,
  ]);
  const client = new FirehoseHttp(url, ctx.identity, options.concurrency);
  // Closing the pool fails requests in flight at once, so an interrupt does not wait them out.
  phase.signal.addEventListener('abort', () => client.close(), { once: true });
  const procs = new ProcessSampler(
    new Map([...services.map((s) => [s.child.name, s.child.pid] as const), ...infra.processes()]),
  );
  const sampler = new StreamStatsSampler(infra.client, stream, 1_000);
  try {
    await createBenchStream(client, stream, {
      sizeMb: options.sizeMb,
      intervalSeconds: options.intervalS,
    });
    procs.start();
    sampler.start();
    const load = await warmedClosedLoad(ctx, `ingest (${layout})`, client, stream, phase.signal);
    say(`ingest (${layout}): ${options.concurrency} in flight for ${options.durationS} s`);
    const before = await readStreamStats(infra.client, stream);
    const progress: LoadProgress = { requests: 0, acceptedBytes: 0, failedRecords: 0 };
    const stopProgress = startProgress(`ingest (${layout})`, progress, sampler);
    const result = await runClosedLoop({ ...load, durationMs: options.durationS * 1000, progress });
    stopProgress();
    const after = await readStreamStats(infra.client, stream);
    const crashed = phase.crashed();
    if (crashed) throw new Error(`during the load: ${crashed.describeExit()}`);
    ctx.signal.throwIfAborted();

    procs.stop();
    const throughput = throughputFigures(result);
    return {
      layout,
      stream,
      throughput,
      deliveredMibS: (after.deliveredBytes - before.deliveredBytes) / MIB / throughput.durationS,
      backlogAtEndMib: after.backlogBytes / MIB,
      deadRecords: after.deadRecords,
      rssMaxMib: procs.maxRssMib(),
      cpuShare: procs.cpuShares(result.startMs, result.endMs),
      problems: services.flatMap((s) => s.problems.map((line) => `${s.child.name}: ${line}`)),
    };
  } finally {
    sampler.cancel();
    procs.stop();
    phase.dispose();
    client.close();
    await Promise.all(services.map((s) => s.stop()));
  }
}
