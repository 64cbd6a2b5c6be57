import { Agent } from 'node:http';

import { nowMs } from './clock.js';
import { phaseSignal, type BenchContext } from './context.js';
import type { DeliveryTarget } from './delivery-run.js';
import { ProcessSampler } from './process-sampler.js';
import { say } from './progress.js';
import { percentile } from './stats.js';

/**
 * The load of a delivery phase's same-run reference: a plain `node:http` client sending to the
 * target process over keep-alive connections, a fixed number of requests in flight, nothing
 * retried; first for `--warmup` seconds unmeasured, then for the measured window, with the
 * target's CPU sampled meanwhile.
 */

/** What every reference counts; each phase adds its own counts. */
export interface ReferenceTotals {
  startMs: number;
  /** When the last answer (or failure) came. */
  endMs: number;
  requests: number;
  /** Requests (or items) that failed otherwise than on purpose, by reason. */
  errors: Map<string, number>;
  /** Latencies of the answered requests, ms. */
  latencies: number[];
}

/** Adds `n` to `reason`'s count. */
export function countError(errors: Map<string, number>, reason: string, n = 1): void {
  errors.set(reason, (errors.get(reason) ?? 0) + n);
}

/** A reference's measured window. */
export interface ReferenceOutcome<Totals extends ReferenceTotals> {
  totals: Totals;
  latencyP50Ms: number | undefined;
  latencyP99Ms: number | undefined;
  /** Average CPU of the target over the window, as a share of one core. */
  cpuShare: Record<string, number | undefined>;
}

/** What a reference sends, and how it counts. */
export interface ReferenceLoadOptions<Totals extends ReferenceTotals> {
  /** Names the reference in progress lines ("http reference"). */
  label: string;
  /** What it sends, for the progress line ("bare POST of 2000-record bodies"). */
  sending: string;
  target: DeliveryTarget;
  /** Requests in flight. */
  concurrency: number;
  /** Seconds of the measured window. */
  seconds: number;
  /** Fresh totals of one window, the phase's own counts at 0. */
  totals: (common: ReferenceTotals) => Totals;
  /**
   * Sends request number `n` (counted over warm-up and window) over `agent` and counts its
   * outcome into `totals`; never rejects.
   */
  send: (n: number, agent: Agent, totals: Totals) => Promise<void>;
}

/**
 * Runs the reference: the warm-up, then the measured window.
 *
 * @throws when the target process dies, or the bench is interrupted.
 */
export async function runReferenceLoad<Totals extends ReferenceTotals>(
  ctx: BenchContext,
  options: ReferenceLoadOptions<Totals>,
): Promise<ReferenceOutcome<Totals>> {
  const { concurrency, target } = options;
  const phase = phaseSignal(ctx.signal, [target.child]);
  const agent = new Agent({
    keepAlive: true,
    maxSockets: concurrency,
    maxFreeSockets: concurrency,
  });
  phase.signal.addEventListener('abort', () => agent.destroy(), { once: true });
  const procs = new ProcessSampler(new Map([[target.name, target.child.pid]]));
  let sent = 0;

  const run = async (durationMs: number): Promise<Totals> => {
    const startMs = nowMs();
    const totals = options.totals({
      startMs,
      endMs: startMs,
      requests: 0,
      errors: new Map<string, number>(),
      latencies: [],
    });
    const endAt = startMs + durationMs;
    const sender = async (): Promise<void> => {
      while (nowMs() < endAt && !phase.signal.aborted) {
        const n = sent;
        sent += 1;
        await options.send(n, agent, totals);
        totals.requests += 1;
        totals.endMs = Math.max(totals.endMs, nowMs());
      }
    };
    await Promise.all(Array.from({ length: concurrency }, sender));
    return totals;
  };

  try {
    const { warmupS } = ctx.options;
    if (warmupS > 0) {
      say(`${options.label}: warming up for ${warmupS} s`);
      await run(warmupS * 1000);
    }
    say(`${options.label}: ${options.sending}, ${concurrency} in flight, for ${options.seconds} s`);
    procs.start();
    const totals = await run(options.seconds * 1000);
    procs.stop();
    const crashed = phase.crashed();
    if (crashed) throw new Error(`during the reference: ${crashed.describeExit()}`);
    ctx.signal.throwIfAborted();
    return {
      totals,
      latencyP50Ms: percentile(totals.latencies, 50),
      latencyP99Ms: percentile(totals.latencies, 99),
      cpuShare: procs.cpuShares(totals.startMs, totals.endMs),
    };
  } finally {
    procs.stop();
    phase.dispose();
    agent.destroy();
  }
}
