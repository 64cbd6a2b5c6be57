import { setTimeout as sleep } from 'node:timers/promises';

import { nowMs } from './clock.js';
import type { BenchContext } from './context.js';
import { BENCH_BUCKET, createBenchStream } from './control-plane.js';
import { computeFreshness, type Freshness } from './freshness.js';
import type { Infrastructure } from './infrastructure.js';
import { runPaced, type LoadProgress } from './load.js';
import { say, startProgress } from './progress.js';
import type { BucketUsage } from '../devtools/s3-server.js';
import { SAMPLE_PERIOD_MS, startDeliveryRun } from './delivery-run.js';
import { MIB, slope } from './stats.js';
import type { StreamStatsSample } from './stream-stats.js';
import { throughputFigures, type ThroughputFigures } from './throughput.js';

/** Counters are read this often, which bounds the resolution of the freshness figures. */
/** A steady window shorter than this gives no delivered rate: a few batches say nothing. */
const MIN_STEADY_MS = 5_000;
/** A backlog slope above this share of the offered rate counts as growing. */
const GROWING_SHARE = 0.1;

/** The backlog over the load. */
export interface BacklogFigures {
  startMib: number;
  endMib: number;
  maxMib: number;
  /** Least-squares slope over the steady window, MiB/s. */
  slopeMibS: number;
  growing: boolean;
}

/** What the sustained phase measured. */
export interface SustainedResult {
  stream: string;
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
  /** Payload delivered in the whole phase, MiB. */
  deliveredMib: number;
  deadRecords: number;
  /** Objects and stored (gzip) bytes the stream wrote to S3. */
  s3: BucketUsage | undefined;
  rssMaxMib: Record<string, number | undefined>;
  /** Average CPU per process over the phase, as a share of one core. */
  cpuShare: Record<string, number | undefined>;
  problems: string[];
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
 * Phase 3: Sluice (role `all`) under a paced load at the target rate, counters sampled every
 * 200 ms, then a bounded wait until everything accepted is delivered.
 *
 * The steady window is [start + IntervalInSeconds + 2 s, end of sending]: before it the first
 * batches are still filling and delivering, so neither delivery rate nor backlog trend means
 * anything yet. Delivered MiB/s and the backlog slope come from {@link steadyTrend}.
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
    await createBenchStream(client, stream, {
      sizeMb: options.sizeMb,
      intervalSeconds: options.intervalS,
    });
    sampler.start();
    procs.start();
    say(`sustained: ${options.rateMibS} MiB/s for ${options.sustainS} s`);
    const progress: LoadProgress = { requests: 0, acceptedBytes: 0, failedRecords: 0 };
    const stopProgress = startProgress('sustained', progress, sampler);
    const durationMs = options.sustainS * 1000;
    const result = await runPaced({
      client,
      bodies: ctx.bodiesFor(stream),
      durationMs,
      bytesPerSecond: options.rateMibS * MIB,
      maxInFlight: options.maxInFlight,
      timeoutMs: options.requestTimeoutS * 1000,
      signal: phase.signal,
      progress,
    });
    stopProgress();

    say(
      `sustained: waiting up to ${options.drainTimeoutS} s for delivery of ${result.acceptedRecords} records`,
    );
    const drainDeadline = nowMs() + options.drainTimeoutS * 1000;
    const settled = (s: StreamStatsSample | undefined): boolean =>
      s !== undefined && s.deliveredRecords + s.deadRecords >= result.acceptedRecords;
    while (!settled(sampler.latest()) && nowMs() < drainDeadline && !phase.signal.aborted) {
      await sleep(SAMPLE_PERIOD_MS);
    }
    const samples = await sampler.stop();
    procs.stop();
    const crashed = phase.crashed();
    if (crashed) throw new Error(`during the phase: ${crashed.describeExit()}`);
    ctx.signal.throwIfAborted();

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
    let s3: BucketUsage | undefined;
    try {
      s3 = await infra.s3.usage(BENCH_BUCKET, `/${stream}-`);
    } catch (error) {
      say(`sustained: could not list the bucket: ${String(error)}`);
    }

    return {
      stream,
      targetMibS: options.rateMibS,
      sentMibS: result.acceptedBytes / MIB / options.sustainS,
      lateStarts: result.lateStarts,
      throughput: throughputFigures(result),
      allowanceS,
      deliveredMibS: steadyLongEnough ? trend.deliveredMibS : undefined,
      backlog: {
        startMib: valueAt(samples, startMs, (s) => s.backlogBytes) / MIB,
        endMib: valueAt(samples, sendEndMs, (s) => s.backlogBytes) / MIB,
        maxMib: Math.max(0, ...during.map((s) => s.backlogBytes)) / MIB,
        slopeMibS: backlogSlope,
        growing: steadyLongEnough && backlogSlope > GROWING_SHARE * options.rateMibS,
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
      s3,
      rssMaxMib: procs.maxRssMib(),
      cpuShare: procs.cpuShares(startMs, sendEndMs),
      problems: service.problems.map((line) => `${service.child.name}: ${line}`),
    };
  } finally {
    await run.close();
  }
}
