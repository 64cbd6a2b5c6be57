import { setTimeout as sleep } from 'node:timers/promises';

import { nowMs } from './clock.js';
import type { BenchContext } from './context.js';
import { createBenchStream } from './control-plane.js';
import { SAMPLE_PERIOD_MS } from './delivery-run.js';
import type { FirehoseHttp } from './firehose-http.js';
import { computeFreshness, type Freshness } from './freshness.js';
import { runPaced, type LoadProgress } from './load.js';
import type { ProcessSampler } from './process-sampler.js';
import { say, startProgress } from './progress.js';
import { MIB, slope } from './stats.js';
import type { StreamStatsSample, StreamStatsSampler } from './stream-stats.js';
import { throughputFigures, type ThroughputFigures } from './throughput.js';

/**
 * A paced load into a stream whose delivery runs, then the wait until everything accepted is
 * delivered, and what it shows: the delivered rate and the backlog's trend over the steady
 * window, freshness, the drain. Phase 3 (sustained) and the paced runs of phase 13 (processes)
 * both measure with it.
 */

/** A steady window shorter than this gives no delivered rate: a few batches say nothing. */
const MIN_STEADY_MS = 5_000;
/** A backlog slope above this share of the offered rate counts as growing. */
export const GROWING_SHARE = 0.1;
/**
 * Resolution of the delivered-rate estimate, as a share of the rate: batch completions are seen
 * to within one 200 ms reading, and over the default 23 s steady window the one or two at its
 * edges move the fitted rate by up to about 3 %. A target on the delivered rate allows this, so
 * that a service that exactly keeps up with the offered rate does not pass or miss by chance.
 */
export const DELIVERED_TOLERANCE = 0.03;

/** The backlog over the load. */
export interface BacklogFigures {
  startMib: number;
  endMib: number;
  maxMib: number;
  /** Least-squares slope over the steady window, MiB/s. */
  slopeMibS: number;
  growing: boolean;
}

/** What a paced delivery run measured. */
export interface PacedDeliveryFigures {
  targetMibS: number;
  /** Accepted payload per second of load duration. */
  sentMibS: number;
  /** Requests that started over 100 ms behind schedule. */
  lateStarts: number;
  throughput: ThroughputFigures;
  /** Seconds excluded at the start of the steady window: IntervalInSeconds + 2. */
  allowanceS: number;
  /** Delivered payload rate over the steady window; `undefined` if the window is too short. */
  deliveredMibS: number | undefined;
  backlog: BacklogFigures;
  freshness: Freshness;
  /** Counter readings that failed or timed out (each widens the freshness resolution). */
  counterReadFailures: number;
  /** From the last acknowledgement until every accepted record was delivered. */
  drainedAfterS: number | undefined;
  acceptedRecords: number;
  deliveredRecords: number;
  /** Payload delivered in the whole run, MiB. */
  deliveredMib: number;
  deadRecords: number;
}

/** What one paced delivery run needs. */
export interface PacedDeliveryRun {
  /** Names the run in progress lines. */
  label: string;
  client: FirehoseHttp;
  /** Created here, a GZIP S3 stream with the bench's buffering hints. */
  stream: string;
  /** The stream's counters, read every {@link SAMPLE_PERIOD_MS}; started and stopped here. */
  sampler: StreamStatsSampler;
  /** The processes to sample; started and stopped here. */
  procs: ProcessSampler;
  /** Ends the load and the wait (interrupt, a crashed process). */
  signal: AbortSignal;
  rateMibS: number;
  durationS: number;
}

/** The value of a monotone counter series at `atMs` (the last reading not after it). */
function valueAt(
  samples: readonly StreamStatsSample[],
  atMs: number,
  pick: (s: StreamStatsSample) => number,
): number {
  let value = 0;
  for (const s of samples) {
    if (s.atMs > atMs) break;
    value = pick(s);
  }
  return value;
}

/**
 * Delivered rate and backlog trend over the steady window.
 *
 * `deliveredBytes` rises in steps, one per delivered batch, and the backlog is a sawtooth that
 * drops at each step. A straight-line fit through every reading would depend on where the window
 * edges fall between steps (up to a batch's worth over the window). Fitting only the readings
 * that first show each step — the staircase's corners, where the backlog is at its floor — gives
 * the rate batches actually arrive at and the trend of what stays behind. With fewer than three
 * steps in the window (delivery stalled), every reading is used instead.
 */
function steadyTrend(
  steady: readonly StreamStatsSample[],
  startMs: number,
): { deliveredMibS: number; backlogMibS: number } {
  const corners = steady.filter(
    (s, i) => i > 0 && s.deliveredBytes > (steady[i - 1]?.deliveredBytes ?? Infinity),
  );
  const basis = corners.length >= 3 ? corners : steady;
  const line = (pick: (s: StreamStatsSample) => number) =>
    slope(basis.map((s) => ({ x: (s.atMs - startMs) / 1000, y: pick(s) / MIB })));
  return { deliveredMibS: line((s) => s.deliveredBytes), backlogMibS: line((s) => s.backlogBytes) };
}

/**
 * Creates the stream, sends the paced load at `rateMibS` for `durationS`, then waits (up to `--drain-timeout`) until
 * the counters show every accepted record delivered or dead-lettered, and stops the sampler.
 *
 * The steady window is [start + IntervalInSeconds + 2 s, end of sending]: before it the first
 * batches are still filling and delivering, so neither delivery rate nor backlog trend means
 * anything yet. Delivered MiB/s and the backlog slope come from {@link steadyTrend}.
 *
 * @returns the figures and the average CPU per process while sending (a share of one core).
 */
export async function runPacedDelivery(
  ctx: BenchContext,
  run: PacedDeliveryRun,
): Promise<{ figures: PacedDeliveryFigures; cpuShare: Record<string, number | undefined> }> {
  const { options } = ctx;
  const { label, sampler, procs, signal } = run;
  await createBenchStream(run.client, run.stream, {
    sizeMb: options.sizeMb,
    intervalSeconds: options.intervalS,
  });
  sampler.start();
  procs.start();
  say(`${label}: ${run.rateMibS.toFixed(1)} MiB/s for ${run.durationS} s`);
  const progress: LoadProgress = { requests: 0, acceptedBytes: 0, failedRecords: 0 };
  const stopProgress = startProgress(label, progress, sampler);
  const durationMs = run.durationS * 1000;
  const result = await runPaced({
    client: run.client,
    bodies: ctx.bodiesFor(run.stream),
    durationMs,
    bytesPerSecond: run.rateMibS * MIB,
    maxInFlight: options.maxInFlight,
    timeoutMs: options.requestTimeoutS * 1000,
    signal,
    progress,
  });
  stopProgress();

  say(
    `${label}: waiting up to ${options.drainTimeoutS} s for delivery of ${result.acceptedRecords} records`,
  );
  const drainDeadline = nowMs() + options.drainTimeoutS * 1000;
  const settled = (s: StreamStatsSample | undefined): boolean =>
    s !== undefined && s.deliveredRecords + s.deadRecords >= result.acceptedRecords;
  while (!settled(sampler.latest()) && nowMs() < drainDeadline && !signal.aborted) {
    await sleep(SAMPLE_PERIOD_MS);
  }
  const samples = await sampler.stop();
  procs.stop();

  const startMs = result.startMs;
  const sendEndMs = startMs + durationMs;
  const allowanceS = options.intervalS + 2;
  const steady = samples.filter(
    (s) => s.atMs >= startMs + allowanceS * 1000 && s.atMs <= sendEndMs,
  );
  const steadyLongEnough =
    steady.length >= 5 && sendEndMs - (startMs + allowanceS * 1000) >= MIN_STEADY_MS;
  const trend = steadyTrend(steady, startMs);
  const during = samples.filter((s) => s.atMs >= startMs && s.atMs <= sendEndMs);
  const backlogSlope = steadyLongEnough ? trend.backlogMibS : 0;
  const last = samples[samples.length - 1];
  const deliveredAll = samples.find((s) => s.deliveredRecords >= result.acceptedRecords);
  return {
    cpuShare: procs.cpuShares(startMs, sendEndMs),
    figures: {
      targetMibS: run.rateMibS,
      sentMibS: result.acceptedBytes / MIB / run.durationS,
      lateStarts: result.lateStarts,
      throughput: throughputFigures(result),
      allowanceS,
      deliveredMibS: steadyLongEnough ? trend.deliveredMibS : undefined,
      backlog: {
        startMib: valueAt(samples, startMs, (s) => s.backlogBytes) / MIB,
        endMib: valueAt(samples, sendEndMs, (s) => s.backlogBytes) / MIB,
        maxMib: Math.max(0, ...during.map((s) => s.backlogBytes)) / MIB,
        slopeMibS: backlogSlope,
        growing: steadyLongEnough && backlogSlope > GROWING_SHARE * run.rateMibS,
      },
      freshness: computeFreshness(result.events, samples),
      counterReadFailures: sampler.failures,
      drainedAfterS: deliveredAll
        ? Math.max(0, deliveredAll.atMs - result.endMs) / 1000
        : undefined,
      acceptedRecords: result.acceptedRecords,
      deliveredRecords: last?.deliveredRecords ?? 0,
      deliveredMib: (last?.deliveredBytes ?? 0) / MIB,
      deadRecords: last?.deadRecords ?? 0,
    },
  };
}
