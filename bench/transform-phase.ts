import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

import { pino } from 'pino';

import { recordIds } from '../src/buffer/record-id.js';
import { invocationsOf, type SourceRecord } from '../src/processors/processing-pipeline.js';
import {
  TransformHost,
  type TransformInput,
  type TransformRecordOutcome,
} from '../src/processors/transforms/transform-host.js';
import { resolveLocalTransform } from '../src/processors/transforms/transform-ref.js';
import { nowMs } from './clock.js';
import type { BenchContext } from './context.js';
import { ProcessSampler } from './process-sampler.js';
import { say } from './progress.js';
import { payloadsOf, RECORDS_PER_REQUEST } from './records.js';
import { alternateRounds, overheadOf, type Round, type SideRate } from './rounds.js';
import { MIB } from './stats.js';
import {
  loadJsonRecordForm,
  ReferenceThreads,
  referenceRecord,
  type JsonRecordForm,
} from './transform-reference.js';

/**
 * The transform phase: the bench's JSON enrichment (`bench/transforms/enrich.ts`) over the
 * bench's clickstream records through Sluice's real transform host — its worker pool, the
 * packing of records to and from the threads, the record form's decoding and encoding — beside
 * the same record function called directly in a loop on as many threads, in the same run.
 */

/** The bench's transforms directory (compiled beside this file). */
export const BENCH_TRANSFORMS_DIR = fileURLToPath(new URL('./transforms/', import.meta.url));
/** The bench's transform: `sluice:transform:enrich`. */
export const BENCH_TRANSFORM = 'enrich';
/** Payload of one invocation: the Lambda processor's default BufferSizeInMBs. */
export const TRANSFORM_INVOCATION_BYTES = MIB;
/**
 * Invocations kept in flight per worker thread: two, so a worker finishing one finds the next
 * already queued instead of waiting for the main thread to dispatch it.
 */
export const TRANSFORM_IN_FLIGHT_PER_WORKER = 2;
/** Measured rounds per side, and their length. */
export const TRANSFORM_ROUNDS = 4;
export const TRANSFORM_ROUND_S = 3;
/** The stream name the invocations carry (nothing is created). */
const STREAM = 'bench-transform';
const STREAM_ARN = `arn:aws:firehose:us-east-1:000000000000:deliverystream/${STREAM}`;
/** The host's per-invocation limits: Sluice's defaults. */
const TIMEOUT_MS = 60_000;
const MEMORY_LIMIT_MB = 512;

/** What the transform phase measured. */
export interface TransformResult {
  /** Worker threads of the host, and reference threads: `os.availableParallelism()`. */
  threads: number;
  invocationRecords: number;
  invocationKiB: number;
  inFlight: number;
  sluice: SideRate;
  reference: SideRate;
  /** `1 - sluice / reference` in records/s. */
  overhead: number;
  /** Records the host did not return `Ok` (none expected), with the first reason. */
  notOk: number;
  firstNotOk: string | undefined;
  /** Whether the host's output for the first invocation equals the reference's, byte for byte. */
  sameOutput: boolean;
  /** Mean input and output record size, bytes. */
  inputRecordBytes: number;
  outputRecordBytes: number;
}

/** The bench's records as one transform's invocations of about 1 MiB each. */
function invocations(ctx: BenchContext): TransformInput[][] {
  const arrivalMs = Date.now();
  const payloads = payloadsOf(ctx.bodiesFor(STREAM));
  const records: SourceRecord[] = [];
  for (let first = 0; first < payloads.length; first += RECORDS_PER_REQUEST) {
    const request = payloads.slice(first, first + RECORDS_PER_REQUEST);
    const ids = recordIds(randomUUID(), 0, request.length);
    request.forEach((data, i) => records.push({ id: ids[i] as string, arrivalMs, data }));
  }
  // The pipeline hands its records to the host as they are: so does the bench.
  return invocationsOf(records, TRANSFORM_INVOCATION_BYTES);
}

/** The first outcome that is not Ok, described. */
function notOkText(outcome: TransformRecordOutcome): string {
  return outcome.result === 'ProcessingFailed'
    ? `${outcome.code}: ${outcome.message}`
    : outcome.result;
}

/** Whether the host's outcomes for `records` are what the record function makes of them. */
function sameAsReference(
  form: JsonRecordForm,
  records: readonly TransformInput[],
  outcomes: readonly TransformRecordOutcome[],
): boolean {
  return records.every((record, i) => {
    const outcome = outcomes[i];
    if (outcome?.result !== 'Ok') return false;
    const expected = referenceRecord(form, record.data.toString('utf8'), {
      recordId: record.id,
      approximateArrivalTimestamp: record.arrivalMs,
      deliveryStreamName: STREAM,
    });
    return expected.equals(outcome.data);
  });
}

/**
 * Phase 6: the transform host at full load — every worker thread with invocations queued —
 * against the reference on as many threads, in alternating rounds after a warm-up of each.
 */
export async function runTransformPhase(ctx: BenchContext): Promise<TransformResult> {
  const file = resolveLocalTransform(BENCH_TRANSFORMS_DIR, BENCH_TRANSFORM);
  if (file === undefined) {
    throw new Error(
      `the bench transform ${BENCH_TRANSFORM} is not in ${BENCH_TRANSFORMS_DIR}; run \`npm run build\``,
    );
  }
  const threads = availableParallelism();
  const groups = invocations(ctx);
  const all = groups.flat();
  const groupBytes = groups.map((g) => g.reduce((sum, r) => sum + r.data.length, 0));
  const first = groups[0] ?? [];
  const inFlight = threads * TRANSFORM_IN_FLIGHT_PER_WORKER;
  const ref = { kind: 'local', name: BENCH_TRANSFORM } as const;
  const invokeOptions = { numberOfRetries: 0, streamName: STREAM, streamArn: STREAM_ARN };
  const log = pino({ level: 'warn', base: { component: 'bench transform host' } }, process.stderr);
  const host = new TransformHost({
    transformsDir: BENCH_TRANSFORMS_DIR,
    workers: threads,
    timeoutMs: TIMEOUT_MS,
    memoryLimitMb: MEMORY_LIMIT_MB,
    log,
  });
  const sampler = new ProcessSampler(new Map(), 500);
  let reference: ReferenceThreads | undefined;
  try {
    const form = await loadJsonRecordForm(file);
    const firstOutcomes = await host.invoke(ref, first, invokeOptions);
    const sameOutput = sameAsReference(form, first, firstOutcomes);
    const outputBytes = firstOutcomes.reduce(
      (sum, o) => sum + (o.result === 'Ok' ? o.data.length : 0),
      0,
    );
    reference = await ReferenceThreads.start(threads, file, STREAM, all);

    let notOk = 0;
    let firstNotOk: string | undefined;
    let next = 0;
    const sluice = async (durationMs: number): Promise<Round> => {
      const startMs = nowMs();
      const endAt = startMs + durationMs;
      let records = 0;
      let bytes = 0;
      let endMs = startMs;
      const lane = async (): Promise<void> => {
        while (nowMs() < endAt && !ctx.signal.aborted) {
          const index = next % groups.length;
          next += 1;
          const group = groups[index] ?? [];
          const outcomes = await host.invoke(ref, group, invokeOptions);
          endMs = Math.max(endMs, nowMs());
          // Counted cheaply: this runs on the main thread the host's own work needs.
          let failed = 0;
          for (const outcome of outcomes) if (outcome.result !== 'Ok') failed += 1;
          records += outcomes.length - failed;
          bytes += (groupBytes[index] ?? 0) * ((outcomes.length - failed) / outcomes.length);
          if (failed > 0) {
            notOk += failed;
            const failure = outcomes.find((o) => o.result !== 'Ok');
            if (failure !== undefined) firstNotOk ??= notOkText(failure);
          }
        }
      };
      await Promise.all(Array.from({ length: inFlight }, lane));
      return { records, bytes, startMs, endMs };
    };
    const threadsReady = reference;
    say(
      `transform: ${threads} worker threads, ${inFlight} invocations of ${first.length} records in flight`,
    );
    sampler.start();
    const sides = await alternateRounds({
      label: 'transform',
      reference: (ms) => threadsReady.run(ms),
      sluice,
      warmupMs: ctx.options.warmupS * 1000,
      rounds: TRANSFORM_ROUNDS,
      roundMs: TRANSFORM_ROUND_S * 1000,
      sampler,
      signal: ctx.signal,
    });
    sampler.stop();
    if (sides.sluice.records === 0) {
      throw new Error(
        `the transform host returned no Ok record${firstNotOk ? `: ${firstNotOk}` : ''}`,
      );
    }
    const inputBytes = first.reduce((sum, r) => sum + r.data.length, 0);
    return {
      threads,
      invocationRecords: first.length,
      invocationKiB: inputBytes / 1024,
      inFlight,
      sluice: sides.sluice,
      reference: sides.reference,
      overhead: overheadOf(sides),
      notOk,
      firstNotOk,
      sameOutput,
      inputRecordBytes: first.length === 0 ? 0 : inputBytes / first.length,
      outputRecordBytes: first.length === 0 ? 0 : outputBytes / first.length,
    };
  } finally {
    sampler.stop();
    await reference?.close();
    await host.close();
  }
}
