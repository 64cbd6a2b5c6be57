import type { BenchContext } from './context.js';
import type { DeliveryRun } from './delivery-run.js';
import { runClosedLoop, type LoadProgress, type LoadResult } from './load.js';
import { say, startProgress } from './progress.js';
import type { PreparedBody } from './records.js';
import { nowMs } from './clock.js';

/**
 * The measured load of a delivery phase: the run's samplers started, then closed-loop
 * PutRecordBatch requests at `--concurrency` into its stream, with progress lines.
 */

/** The load, and when it ended as the phase sees it (its drain is timed from there). */
export interface MeasuredLoad {
  load: LoadResult;
  loadEndMs: number;
}

/**
 * Starts `run`'s stream and process samplers and sends `bodies` round-robin through its client
 * for `seconds`, `--concurrency` in flight; `label` names the phase in the progress lines.
 */
export async function runMeasuredLoad(
  ctx: BenchContext,
  run: DeliveryRun,
  label: string,
  bodies: readonly PreparedBody[],
  seconds: number,
): Promise<MeasuredLoad> {
  const { options } = ctx;
  run.sampler.start();
  run.procs.start();
  say(`${label}: ${options.concurrency} in flight into Sluice for ${seconds} s`);
  const progress: LoadProgress = { requests: 0, acceptedBytes: 0, failedRecords: 0 };
  const stopProgress = startProgress(label, progress, run.sampler);
  let load: LoadResult;
  try {
    load = await runClosedLoop({
      client: run.client,
      bodies,
      concurrency: options.concurrency,
      durationMs: seconds * 1000,
      timeoutMs: options.requestTimeoutS * 1000,
      signal: run.phase.signal,
      progress,
    });
  } finally {
    stopProgress();
  }
  return { load, loadEndMs: nowMs() };
}
