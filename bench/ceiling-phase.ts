import { startCeilingServer } from './ceiling.js';
import { phaseSignal, warmedClosedLoad, type BenchContext } from './context.js';
import { FirehoseHttp } from './firehose-http.js';
import { runClosedLoop, type LoadProgress } from './load.js';
import { ProcessSampler } from './process-sampler.js';
import { say, startProgress } from './progress.js';
import { throughputFigures, type ThroughputFigures } from './throughput.js';

/** What the ceiling phase measured. */
export interface CeilingResult {
  throughput: ThroughputFigures;
  /** Average CPU per process while measured, as a share of one core. */
  cpuShare: Record<string, number | undefined>;
}

/**
 * Phase 1: the same closed-loop load, bodies and client against a bare fastify server that only
 * parses the JSON. Its rate is what this machine allows a Node/fastify Firehose endpoint at all,
 * the yardstick the ingest figure is divided by.
 */
export async function runCeilingPhase(ctx: BenchContext, stream: string): Promise<CeilingResult> {
  const { options } = ctx;
  const server = await startCeilingServer();
  const client = new FirehoseHttp(server.url, ctx.identity, options.concurrency);
  const phase = phaseSignal(ctx.signal, [server.child]);
  // Closing the pool fails requests in flight at once, so an interrupt does not wait them out.
  phase.signal.addEventListener('abort', () => client.close(), { once: true });
  const procs = new ProcessSampler(new Map([['ceiling server', server.child.pid]]));
  try {
    const load = await warmedClosedLoad(ctx, 'ceiling', client, stream, phase.signal);
    say(`ceiling: ${options.concurrency} in flight for ${options.durationS} s`);
    const progress: LoadProgress = { requests: 0, acceptedBytes: 0, failedRecords: 0 };
    const stopProgress = startProgress('ceiling', progress, undefined);
    procs.start();
    const result = await runClosedLoop({ ...load, durationMs: options.durationS * 1000, progress });
    stopProgress();
    procs.stop();
    const crashed = phase.crashed();
    if (crashed) throw new Error(`during the load: ${crashed.describeExit()}`);
    ctx.signal.throwIfAborted();
    return {
      throughput: throughputFigures(result),
      cpuShare: procs.cpuShares(result.startMs, result.endMs),
    };
  } finally {
    procs.stop();
    phase.dispose();
    client.close();
    await server.child.stop();
  }
}
