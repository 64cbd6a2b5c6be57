import { randomUUID } from 'node:crypto';
import { setImmediate } from 'node:timers/promises';

import { recordIds } from '../src/buffer/record-id.js';
import { compileProcessing, type ProcessingSpec } from '../src/processors/processing-config.js';
import { partitionRecords } from '../src/delivery/processing-job.js';
import type { ProcessingOf } from '../src/destinations/destination-kind.js';
import {
  runProcessors,
  type ProcessingFailure,
  type SourceRecord,
  type TransformInvoker,
} from '../src/processors/processing-pipeline.js';
import { nowMs } from './clock.js';
import type { BenchContext } from './context.js';
import { ProcessSampler } from './process-sampler.js';
import { payloadsOf, RECORDS_PER_REQUEST } from './records.js';
import { alternateRounds, overheadOf, type Round, type SideRate } from './rounds.js';
import { MIB } from './stats.js';

/**
 * The partition phase: dynamic partitioning's stage on the main thread — the
 * MetadataExtraction processor (jq) through `runProcessors`, then `partitionRecords` of
 * `delivery/processing-job.ts` (the records grouped by their partition keys, each group framed
 * as one chunk), what the processing job does before committing a slice — beside the same compiled query's `evaluate` called directly on
 * each parsed record, in the same run. Both sides run on one thread, as the stage does.
 */

/** The query: a two-key partitioning of the clickstream, by country and day. */
export const PARTITION_QUERY = '{country: .country, day: .event_time[0:10]}';
/** What the stream's S3 prefix (`!{partitionKeyFromQuery:country}/…day`) makes of it. */
const PARTITIONING: ProcessingOf = {
  processors: [],
  partitioning: true,
  partitionKeys: { query: ['country', 'day'], lambda: [] },
};
/** Payload of one slice: what the processing job hands the processors at once (4 MiB). */
export const PARTITION_SLICE_BYTES = 4 * MIB;
/** Measured rounds per side, and their length. */
export const PARTITION_ROUNDS = 4;
export const PARTITION_ROUND_S = 2;
/** The processing job's bound on a decompressed record; unused here (no Decompression). */
const MAX_DECOMPRESSED_BYTES = 128 * MIB;
const STREAM = 'bench-partition';

/** What the partition phase measured. */
export interface PartitionResult {
  query: string;
  sliceRecords: number;
  /** Partitions (distinct key values) per slice, on average. */
  partitionsPerSlice: number;
  sluice: SideRate;
  reference: SideRate;
  /** `1 - sluice / reference` in records/s. */
  overhead: number;
}

const NO_TRANSFORM: TransformInvoker = () =>
  Promise.reject(new Error('the partition phase has no Lambda processor'));

/** A slice of records and its payload bytes. */
interface Slice {
  records: SourceRecord[];
  bytes: number;
}

/** The bench's records in slices of about {@link PARTITION_SLICE_BYTES}. */
function slices(ctx: BenchContext): Slice[] {
  const arrivalMs = Date.now();
  const payloads = payloadsOf(ctx.bodiesFor(STREAM));
  const out: Slice[] = [];
  let slice: Slice = { records: [], bytes: 0 };
  for (let first = 0; first < payloads.length; first += RECORDS_PER_REQUEST) {
    const request = payloads.slice(first, first + RECORDS_PER_REQUEST);
    const ids = recordIds(randomUUID(), 0, request.length);
    request.forEach((data, i) => {
      slice.records.push({ id: ids[i] as string, arrivalMs, data });
      slice.bytes += data.length;
    });
    if (slice.bytes >= PARTITION_SLICE_BYTES) {
      out.push(slice);
      slice = { records: [], bytes: 0 };
    }
  }
  if (slice.records.length > 0) out.push(slice);
  return out;
}

/**
 * One slice through the stage: the processors, then per record the partition (its keys, as
 * JSON, in the prefix's order), the records grouped by it, each group framed.
 *
 * @returns the records partitioned and the partitions.
 * @throws Error when a record fails or lacks a key: the query does not fit the records.
 */
async function partitionSlice(
  slice: readonly SourceRecord[],
  spec: ProcessingSpec,
): Promise<{ records: number; partitions: number }> {
  const result = await runProcessors(slice, {
    spec,
    invoke: NO_TRANSFORM,
    maxDecompressedBytes: MAX_DECOMPRESSED_BYTES,
  });
  const failed = result.failures[0];
  if (failed !== undefined) throw new Error(`${failed.code}: ${failed.message}`);
  const missing: ProcessingFailure[] = [];
  const groups = partitionRecords(result.records, PARTITIONING, missing);
  if (missing[0] !== undefined) throw new Error(`${missing[0].code}: ${missing[0].message}`);
  return { records: result.records.length, partitions: groups.size };
}

/**
 * Phase 7: the partitioning stage over 4 MiB slices of the bench's records, against the bare
 * query evaluation, in alternating rounds on the main thread after a warm-up of each.
 */
export async function runPartitionPhase(ctx: BenchContext): Promise<PartitionResult> {
  const spec = compileProcessing(
    [
      {
        Type: 'MetadataExtraction',
        Parameters: [
          { ParameterName: 'MetadataExtractionQuery', ParameterValue: PARTITION_QUERY },
          { ParameterName: 'JsonParsingEngine', ParameterValue: 'JQ-1.6' },
        ],
      },
    ],
    'bench partition phase',
    { partitioning: true },
  );
  const query = spec.metadata;
  if (query === undefined) throw new Error('the MetadataExtraction processor compiled to nothing');
  const all = slices(ctx);
  let partitions = 0;
  let slicesDone = 0;

  const runner =
    (each: (slice: readonly SourceRecord[]) => Promise<number> | number) =>
    async (durationMs: number): Promise<Round> => {
      const startMs = nowMs();
      let records = 0;
      let bytes = 0;
      let endMs = startMs;
      for (let i = 0; endMs - startMs < durationMs && !ctx.signal.aborted; i += 1) {
        const slice = all[i % all.length];
        if (slice === undefined) throw new Error('the bench has no records to partition');
        records += await each(slice.records);
        bytes += slice.bytes;
        endMs = nowMs();
        // The stage holds the thread for a whole slice; between slices the CPU sampler's timer
        // gets its turn (both sides alike).
        await setImmediate();
      }
      return { records, bytes, startMs, endMs };
    };
  const sluice = runner(async (slice) => {
    const done = await partitionSlice(slice, spec);
    partitions += done.partitions;
    slicesDone += 1;
    return done.records;
  });
  const reference = runner((slice) => {
    for (const record of slice) query.evaluate(JSON.parse(record.data.toString('utf8')));
    return slice.length;
  });

  const sampler = new ProcessSampler(new Map(), 500);
  sampler.start();
  try {
    const sides = await alternateRounds({
      label: 'partition',
      reference,
      sluice,
      warmupMs: ctx.options.warmupS * 1000,
      rounds: PARTITION_ROUNDS,
      roundMs: PARTITION_ROUND_S * 1000,
      sampler,
      signal: ctx.signal,
    });
    return {
      query: PARTITION_QUERY,
      sliceRecords: all[0]?.records.length ?? 0,
      partitionsPerSlice: slicesDone === 0 ? 0 : partitions / slicesDone,
      sluice: sides.sluice,
      reference: sides.reference,
      overhead: overheadOf(sides),
    };
  } finally {
    sampler.stop();
  }
}
