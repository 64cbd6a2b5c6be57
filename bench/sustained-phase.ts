import type { BenchContext } from './context.js';
import { BENCH_BUCKET } from './control-plane.js';
import type { Infrastructure } from './infrastructure.js';
import { say } from './progress.js';
import type { BucketUsage } from '../devtools/s3-server.js';
import { startDeliveryRun } from './delivery-run.js';
import { runPacedDelivery, type PacedDeliveryFigures } from './paced-delivery.js';

/** What the sustained phase measured. */
export interface SustainedResult extends PacedDeliveryFigures {
  stream: string;
  /** Objects and stored (gzip) bytes the stream wrote to S3. */
  s3: BucketUsage | undefined;
  rssMaxMib: Record<string, number | undefined>;
  /** Average CPU per process over the phase, as a share of one core. */
  cpuShare: Record<string, number | undefined>;
  problems: string[];
}

/**
 * Phase 3: Sluice (role `all`) under a paced load at the target rate, counters sampled every
 * 200 ms, then a bounded wait until everything accepted is delivered (see
 * {@link runPacedDelivery} for the steady window and how the rates are fitted).
 */
export async function runSustainedPhase(
  ctx: BenchContext,
  infra: Infrastructure,
  stream: string,
): Promise<SustainedResult> {
  const { options } = ctx;
  const run = await startDeliveryRun(ctx, infra, stream, { inFlight: options.maxInFlight });
  const { service, phase, client, sampler, procs } = run;
  try {
    const { figures, cpuShare } = await runPacedDelivery(ctx, {
      label: 'sustained',
      client,
      stream,
      sampler,
      procs,
      signal: phase.signal,
      rateMibS: options.rateMibS,
      durationS: options.sustainS,
    });
    const crashed = phase.crashed();
    if (crashed) throw new Error(`during the phase: ${crashed.describeExit()}`);
    ctx.signal.throwIfAborted();

    let s3: BucketUsage | undefined;
    try {
      s3 = await infra.s3.usage(BENCH_BUCKET, `/${stream}-`);
    } catch (error) {
      say(`sustained: could not list the bucket: ${String(error)}`);
    }
    return {
      stream,
      ...figures,
      s3,
      rssMaxMib: procs.maxRssMib(),
      cpuShare,
      problems: service.problems.map((line) => `${service.child.name}: ${line}`),
    };
  } finally {
    await run.close();
  }
}
