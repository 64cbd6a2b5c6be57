import { setTimeout as sleep } from 'node:timers/promises';

import type { BucketUsage } from '../devtools/s3-server.js';
import { nowMs } from './clock.js';
import type { BenchContext } from './context.js';
import { BENCH_BUCKET, createBenchStream, type ProcessingConfiguration } from './control-plane.js';
import type { Infrastructure } from './infrastructure.js';
import { runClosedLoop, type LoadProgress } from './load.js';
import { say, startProgress } from './progress.js';
import { SAMPLE_PERIOD_MS, startDeliveryRun } from './delivery-run.js';
import { MIB } from './stats.js';
import type { StreamStatsSample } from './stream-stats.js';
import { BENCH_TRANSFORM, BENCH_TRANSFORMS_DIR } from './transform-phase.js';

/**
 * The transform-e2e phase: the same records, sent the same way, through two S3 streams of a
 * real Sluice process (role `all`) in turn — one plain, one with the bench's enrich transform —
 * each timed from the first request until the stream's counters show every record delivered.
 * The ratio of the two rates is what the transform costs end to end: ingest, the first
 * buffering stage, the transform's invocations, the partition buffers and delivery together.
 */

/** Payload sent to each stream. */
export const E2E_VOLUME_MIB = 256;
/** Counters are read this often; it bounds the resolution of the times. */
/** Longest the load itself may take; it ends sooner, once the volume is sent. */
const LOAD_LIMIT_MS = 120_000;

/**
 * The transform stream's processing: the bench transform with Firehose's default Lambda
 * buffering (BufferSizeInMBs 1; the interval, left unset, is the destination's), as a stream
 * created without tuning gets.
 */
export const E2E_PROCESSING: ProcessingConfiguration = {
  Enabled: true,
  Processors: [
    {
      Type: 'Lambda',
      Parameters: [
        { ParameterName: 'LambdaArn', ParameterValue: `sluice:transform:${BENCH_TRANSFORM}` },
      ],
    },
  ],
};

/** One stream's run. */
export interface E2eSide {
  stream: string;
  transform: boolean;
  requests: number;
  acceptedRecords: number;
  /** Accepted payload, MiB. */
  acceptedMib: number;
  failedRecords: number;
  errors: Record<string, number>;
  /** From the first request to the last acknowledgement. */
  ingestS: number;
  ingestMibS: number;
  deliveredRecords: number;
  /** Payload delivered, MiB: the transformed records on the transform stream. */
  deliveredMib: number;
  deadRecords: number;
  /** From the first request until every accepted record was delivered; undefined if never. */
  settledAfterS: number | undefined;
  /** Time the rate is taken over: {@link settledAfterS}, or until the drain timeout. */
  elapsedS: number;
  /** Delivered records per second of {@link elapsedS}. */
  recordsPerS: number;
  /** Accepted payload of the delivered records per second of {@link elapsedS}. */
  inputMibS: number;
  /** Delivery alone: from the last acknowledgement until settled; undefined if never. */
  drainRecordsPerS: number | undefined;
  s3: BucketUsage | undefined;
  rssMaxMib: Record<string, number | undefined>;
  /** Average CPU per process from the first request until settled (or the timeout). */
  cpuShare: Record<string, number | undefined>;
  /** CPU time of the Sluice process (its transform threads included) over {@link elapsedS}. */
  sluiceCpuS: number | undefined;
  problems: string[];
}

/** What the transform-e2e phase measured. */
export interface TransformE2eResult {
  volumeMib: number;
  requests: number;
  concurrency: number;
  sizeMb: number;
  intervalS: number;
  plain: E2eSide;
  transformed: E2eSide;
  /** `transformed.recordsPerS / plain.recordsPerS`. */
  ratio: number;
  /**
   * Sluice CPU time per delivered record without the transform over that with it: the ratio
   * the rates would have if Sluice were held back by CPU alone. Less sensitive than
   * {@link ratio} to other work on the machine, which changes between the two runs.
   */
  cpuRatio: number | undefined;
}

/** Sluice CPU seconds per delivered record of a side. */
function cpuPerRecord(side: E2eSide): number | undefined {
  return side.sluiceCpuS === undefined || side.deliveredRecords === 0
    ? undefined
    : side.sluiceCpuS / side.deliveredRecords;
}

/** Requests that carry {@link E2E_VOLUME_MIB} of the stream's prepared bodies. */
function requestsFor(ctx: BenchContext, stream: string): number {
  const bodies = ctx.bodiesFor(stream);
  const mean = bodies.reduce((sum, b) => sum + b.payloadBytes, 0) / Math.max(1, bodies.length);
  return Math.max(1, Math.ceil((E2E_VOLUME_MIB * MIB) / mean));
}

async function runSide(
  ctx: BenchContext,
  infra: Infrastructure,
  stream: string,
  requests: number,
  processing: ProcessingConfiguration | undefined,
): Promise<E2eSide> {
  const { options } = ctx;
  const label = `transform-e2e (${processing === undefined ? 'plain' : 'transform'})`;
  const run = await startDeliveryRun(ctx, infra, stream, {
    inFlight: options.concurrency,
    transformsDir: BENCH_TRANSFORMS_DIR,
  });
  const { service, phase, client, sampler, procs } = run;
  try {
    await createBenchStream(
      client,
      stream,
      { sizeMb: options.sizeMb, intervalSeconds: options.intervalS },
      processing,
    );
    sampler.start();
    procs.start();
    say(`${label}: ${requests} requests, ${options.concurrency} in flight`);
    const progress: LoadProgress = { requests: 0, acceptedBytes: 0, failedRecords: 0 };
    const stopProgress = startProgress(label, progress, sampler);
    const load = await runClosedLoop({
      client,
      bodies: ctx.bodiesFor(stream),
      concurrency: options.concurrency,
      maxRequests: requests,
      durationMs: LOAD_LIMIT_MS,
      timeoutMs: options.requestTimeoutS * 1000,
      signal: phase.signal,
      progress,
    });
    say(`${label}: waiting up to ${options.drainTimeoutS} s for delivery`);
    const deadline = nowMs() + options.drainTimeoutS * 1000;
    const settled = (s: StreamStatsSample | undefined): boolean =>
      s !== undefined &&
      s.atMs > load.endMs &&
      (s.deliveredRecords + s.deadRecords >= load.acceptedRecords || s.backlogRecords === 0);
    while (!settled(sampler.latest()) && nowMs() < deadline && !phase.signal.aborted) {
      await sleep(SAMPLE_PERIOD_MS);
    }
    stopProgress();
    const samples = await sampler.stop();
    procs.stop();
    const crashed = phase.crashed();
    if (crashed) throw new Error(`during the phase: ${crashed.describeExit()}`);
    ctx.signal.throwIfAborted();

    const done = samples.find(settled);
    const last = samples[samples.length - 1];
    const atLoadEnd = [...samples].reverse().find((s) => s.atMs <= load.endMs);
    const endMs = done?.atMs ?? last?.atMs ?? nowMs();
    const elapsedS = Math.max(1e-3, (endMs - load.startMs) / 1000);
    const delivered = (done ?? last)?.deliveredRecords ?? 0;
    const ingestS = Math.max(1e-3, (load.endMs - load.startMs) / 1000);
    const acceptedMib = load.acceptedBytes / MIB;
    const drainS = done === undefined ? 0 : (done.atMs - load.endMs) / 1000;
    const cpuShare = procs.cpuShares(load.startMs, endMs);
    const sluiceShare = cpuShare[service.child.name];
    let s3: BucketUsage | undefined;
    try {
      s3 = await infra.s3.usage(BENCH_BUCKET, `/${stream}-`);
    } catch (error) {
      say(`${label}: could not list the bucket: ${String(error)}`);
    }
    return {
      stream,
      transform: processing !== undefined,
      requests: load.requests,
      acceptedRecords: load.acceptedRecords,
      acceptedMib,
      failedRecords: load.failedRecords,
      errors: Object.fromEntries(load.errors),
      ingestS,
      ingestMibS: acceptedMib / ingestS,
      deliveredRecords: delivered,
      deliveredMib: ((done ?? last)?.deliveredBytes ?? 0) / MIB,
      deadRecords: (done ?? last)?.deadRecords ?? 0,
      settledAfterS: done === undefined ? undefined : (done.atMs - load.startMs) / 1000,
      elapsedS,
      recordsPerS: delivered / elapsedS,
      inputMibS:
        load.acceptedRecords === 0
          ? 0
          : (acceptedMib * (delivered / load.acceptedRecords)) / elapsedS,
      drainRecordsPerS:
        done === undefined || drainS <= 0
          ? undefined
          : (done.deliveredRecords - (atLoadEnd?.deliveredRecords ?? 0)) / drainS,
      s3,
      rssMaxMib: procs.maxRssMib(),
      cpuShare,
      sluiceCpuS: sluiceShare === undefined ? undefined : sluiceShare * elapsedS,
      problems: service.problems.map((line) => `${service.child.name}: ${line}`),
    };
  } finally {
    await run.close();
  }
}

/**
 * Phase 8: the plain stream first, then the transform stream, each on a fresh Redis and a
 * fresh Sluice process, each sent the same {@link E2E_VOLUME_MIB} MiB of records closed-loop
 * (`--concurrency` in flight), each timed until delivered.
 */
export async function runTransformE2ePhase(
  ctx: BenchContext,
  infra: Infrastructure,
  streams: { plain: string; transformed: string },
): Promise<TransformE2eResult> {
  const requests = requestsFor(ctx, streams.plain);
  const plain = await runSide(ctx, infra, streams.plain, requests, undefined);
  const transformed = await runSide(ctx, infra, streams.transformed, requests, E2E_PROCESSING);
  const plainCpu = cpuPerRecord(plain);
  const transformedCpu = cpuPerRecord(transformed);
  return {
    volumeMib: E2E_VOLUME_MIB,
    requests,
    concurrency: ctx.options.concurrency,
    sizeMb: ctx.options.sizeMb,
    intervalS: ctx.options.intervalS,
    plain,
    transformed,
    ratio: plain.recordsPerS === 0 ? Number.NaN : transformed.recordsPerS / plain.recordsPerS,
    cpuRatio:
      plainCpu === undefined || transformedCpu === undefined || transformedCpu === 0
        ? undefined
        : plainCpu / transformedCpu,
  };
}
