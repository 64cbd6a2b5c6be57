import { setTimeout as sleep } from 'node:timers/promises';

import { nowMs } from './clock.js';
import type { BenchContext } from './context.js';
import type { MeasuredLoad } from './delivery-load.js';
import { SAMPLE_PERIOD_MS, type DeliveryRun } from './delivery-run.js';
import { say } from './progress.js';
import { MIB } from './stats.js';
import type { StreamStatsSample } from './stream-stats.js';

/**
 * The end of a delivery phase's measurement: a bounded wait (`--drain-timeout`) after the load
 * until the stream's counters show every acknowledged record delivered or dead-lettered (to the
 * error output), with progress lines; then the samplers stopped and the run checked.
 */

/** How often the wait reports progress. */
const PROGRESS_MS = 5_000;

/** The stream's counters over the phase. */
export interface DeliveryWait {
  samples: StreamStatsSample[];
  /** The first reading after the load with every acknowledged record done; undefined: never. */
  settledAt: StreamStatsSample | undefined;
  /** The last reading. */
  last: StreamStatsSample | undefined;
}

/**
 * Waits until every record of `measured` is done, or `--drain-timeout` has passed; every 5 s,
 * says `label`'s drain progress with `progress()`'s text (the target's own counts) and the
 * backlog. `doneAs` says what a record becomes at the target ("delivered", "indexed").
 *
 * @throws when a process of the run died, or the bench was interrupted.
 */
export async function waitForDelivery(
  ctx: BenchContext,
  run: DeliveryRun,
  measured: MeasuredLoad,
  text: { label: string; doneAs: string; progress: () => Promise<string> },
): Promise<DeliveryWait> {
  const { load, loadEndMs } = measured;
  const { drainTimeoutS } = ctx.options;
  say(
    `${text.label}: waiting up to ${drainTimeoutS} s for ${load.acceptedRecords} records to be ${text.doneAs} or written to the error output`,
  );
  const deadline = loadEndMs + drainTimeoutS * 1000;
  const settled = (s: StreamStatsSample | undefined): boolean =>
    s !== undefined &&
    s.atMs > loadEndMs &&
    s.backlogRecords === 0 &&
    s.deliveredRecords + s.deadRecords >= load.acceptedRecords;
  let nextProgressMs = loadEndMs + PROGRESS_MS;
  while (!settled(run.sampler.latest()) && nowMs() < deadline && !run.phase.signal.aborted) {
    await sleep(SAMPLE_PERIOD_MS);
    if (nowMs() >= nextProgressMs) {
      nextProgressMs += PROGRESS_MS;
      const counts = await text.progress();
      const s = run.sampler.latest();
      say(
        `${text.label} drain ${((nowMs() - loadEndMs) / 1000).toFixed(0)} s: ${counts}; backlog ${((s?.backlogBytes ?? 0) / MIB).toFixed(0)} MiB`,
      );
    }
  }
  const samples = await run.sampler.stop();
  run.procs.stop();
  const crashed = run.phase.crashed();
  if (crashed) throw new Error(`during the phase: ${crashed.describeExit()}`);
  ctx.signal.throwIfAborted();
  return {
    samples,
    settledAt: samples.find((s) => settled(s)),
    last: samples[samples.length - 1],
  };
}
