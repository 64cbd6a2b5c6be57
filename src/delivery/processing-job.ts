import { chunkRecordCount, decodeChunkAs, encodeChunkFromBuffers } from '../formats/chunk-frame.js';
import type { PartitionBuffer, PartitionSlice } from '../buffer/partition-buffer.js';
import { recordIds } from '../buffer/record-id.js';
import type {
  DestinationKind,
  ProcessingOf,
  S3Location,
} from '../destinations/destination-kind.js';
import { FailedByType, writeErrorObjects } from './error-objects.js';
import { processingSpecOf, type ProcessingSpec } from '../processors/processing-config.js';
import {
  runProcessors,
  type FramedRecords,
  type ProcessedRecord,
  type ProcessingResult,
  type ProcessingFailure,
  type SourceRecord,
  type TransformInvoker,
} from '../processors/processing-pipeline.js';
import { TransformLoadError, type TransformHost } from '../processors/transforms/transform-host.js';
import type { StreamDefinition } from '../streams/stream-definition.js';
import { NO_TELEMETRY, type Telemetry } from '../telemetry/events.js';
import type { Logger } from '../telemetry/logger.js';
import type { BatchMeta, BatchStore } from './batch-store.js';
import { RetryableDeliveryError, type ErrorOutputSink } from './delivery-errors.js';
import { retryLogLevel } from './retry-log.js';

/**
 * The first stage of a stream with processing or dynamic partitioning: a batch of records as
 * they arrived goes through the processors slice by slice, and each slice's records go into
 * their partitions' buffers (the second buffering stage), committed atomically with the
 * batch's progress. Failed records are written to the error output before their slice is
 * committed, so a crash repeats a slice (rewriting the same error objects) but never loses or
 * doubles one. Transforms run once per record, not once per delivery attempt.
 */

/** What the processing job needs. */
export interface ProcessingJobDeps {
  batches: BatchStore;
  partitions: PartitionBuffer;
  errorOutput: ErrorOutputSink;
  /** Runs transforms. */
  transforms: Pick<TransformHost, 'invokeOutcomes'>;
  /** Most open partition buffers per stream (Firehose: 500 active partitions). */
  activePartitionLimit: number;
  /** How long a batch may wait for its transform to load, from its oldest record. */
  retentionMs: number;
  /** Largest a decompressed record may be. */
  maxDecompressedBytes: number;
  log: Logger;
  telemetry?: Telemetry;
  now?: () => number;
}

/**
 * Payload bytes one slice holds at least (unless the batch ends): enough for several
 * transform invocations at once, so every worker thread of the pool has work.
 */
const MIN_SLICE_BYTES = 4 * 1024 * 1024;
/** Most times a slice is committed again because other jobs opened partitions meanwhile. */
const MAX_COMMIT_TRIES = 5;

/** A slice of raw chunks and what became of it. */
interface Slice {
  chunksBefore: number;
  chunksAfter: number;
  records: SourceRecord[];
}

/** The JSON identity of a partition without dynamic partitioning: one for all records. */
const SINGLE_PARTITION = JSON.stringify({ query: {}, lambda: {} });
/** The partition of source records kept for the source-record backup (`S3BackupMode`). */
export const SOURCE_BACKUP_PARTITION = JSON.stringify({ query: {}, lambda: {}, backup: true });

/** Runs the first stage for a stream's batches; see the module comment. */
export class ProcessingJob {
  private readonly now: () => number;
  private readonly telemetry: Telemetry;

  constructor(private readonly deps: ProcessingJobDeps) {
    this.now = deps.now ?? Date.now;
    this.telemetry = deps.telemetry ?? NO_TELEMETRY;
  }

  /**
   * Processes what is left of `meta`.
   *
   * @throws RetryableDeliveryError when the transform cannot load (within the retention
   *   window) or an error-output write fails: the job is retried after the backoff.
   */
  async run(
    meta: BatchMeta,
    definition: StreamDefinition,
    kind: DestinationKind,
    processing: ProcessingOf,
    attempt: number,
  ): Promise<string> {
    const config = definition.destination.config;
    const spec = processingSpecOf(processing.processors, { partitioning: processing.partitioning });
    const location = kind.errorOutput(config);
    const hints = kind.buffering(config);
    const invoke: TransformInvoker = (lambda, records) =>
      this.deps.transforms.invokeOutcomes(lambda.ref, records, {
        numberOfRetries: lambda.numberOfRetries,
        streamName: definition.name,
        streamArn: definition.arn,
      });
    let errorWrites = meta.errorWrites;
    let committed = 0;
    const { sourceBackup } = processing;
    for await (const slice of this.slices(meta, spec)) {
      // Framed before the processors run: the records as they arrived.
      const backup =
        sourceBackup === undefined || slice.records.length === 0
          ? undefined
          : {
              ...framePartition(SOURCE_BACKUP_PARTITION, slice.records),
              sizeBytes: sourceBackup.sizeBytes,
              intervalMs: sourceBackup.intervalMs,
            };
      const outcome = await this.processSlice(meta, spec, invoke, slice, attempt, processing);
      const failures = [...outcome.failures];
      const partitions = partitionRecords(outcome.records, processing, failures);
      addFramed(partitions, outcome.framed);
      const overLimit = await this.applyLimit(meta.stream, partitions, processing, failures);
      let tries = 0;
      for (;;) {
        const writes = await this.writeFailures(
          meta,
          definition,
          location,
          failures,
          errorWrites,
          attempt,
        );
        const result = await this.deps.partitions.commit({
          stream: meta.stream,
          batchId: meta.id,
          chunksBefore: slice.chunksBefore,
          chunksAfter: slice.chunksAfter,
          errorWrites: errorWrites + writes,
          nowMs: this.now(),
          // The backup's buffer is no dynamic partition: it does not count against the limit.
          activePartitionLimit: processing.partitioning
            ? this.deps.activePartitionLimit + (backup === undefined ? 0 : 1)
            : Number.MAX_SAFE_INTEGER,
          sizeBytes: hints.sizeBytes,
          intervalMs: hints.intervalMs,
          partitions: [
            ...[...partitions.values()].map((p) => p.slice),
            ...(backup === undefined ? [] : [backup]),
          ],
        });
        if (result.kind === 'stale') return 'processed by another attempt';
        if (result.kind === 'committed') {
          errorWrites += writes;
          break;
        }
        // Other jobs of the stream opened partitions since the check: refuse more and redo
        // the slice's error output (the same objects, rewritten with more records).
        tries += 1;
        if (tries >= MAX_COMMIT_TRIES) {
          throw new RetryableDeliveryError(
            'DynamicPartitioning.PartitionCountExceeded: partitions kept opening while committing; retried later',
          );
        }
        overLimit.push(...this.refuseNew(partitions, result.free, failures));
      }
      committed += slice.chunksAfter - slice.chunksBefore;
      this.emitPartitions(meta.stream, partitions, overLimit.length, processing.partitioning);
    }
    return committed === 0 ? 'nothing left to process' : `processed ${committed} chunks`;
  }

  /** The batch's unprocessed chunks in slices of at least {@link MIN_SLICE_BYTES}. */
  private async *slices(meta: BatchMeta, spec: ProcessingSpec): AsyncGenerator<Slice> {
    const sliceBytes = Math.max(MIN_SLICE_BYTES, 4 * (spec.lambda?.bufferSizeBytes ?? 0));
    let slice: Slice = {
      chunksBefore: meta.processedChunks,
      chunksAfter: meta.processedChunks,
      records: [],
    };
    let bytes = 0;
    // A batch a crash left part-processed is read from its first unprocessed chunk.
    let chunkIndex = meta.processedChunks;
    for await (const chunk of this.deps.batches.readStoredChunks(meta, meta.processedChunks)) {
      const index = chunkIndex++;
      const ids = recordIds(meta.id, index, chunkRecordCount(chunk));
      const records = decodeChunkAs(chunk, (data, arrivalMs, i): SourceRecord => {
        bytes += data.length;
        return { id: ids[i] as string, arrivalMs, data };
      });
      for (const record of records) slice.records.push(record);
      slice.chunksAfter = index + 1;
      if (bytes >= sliceBytes) {
        yield slice;
        slice = { chunksBefore: index + 1, chunksAfter: index + 1, records: [] };
        bytes = 0;
      }
    }
    if (slice.chunksAfter > slice.chunksBefore) yield slice;
  }

  /** The processors over one slice; a transform that cannot load retries the batch. */
  private async processSlice(
    meta: BatchMeta,
    spec: ProcessingSpec,
    invoke: TransformInvoker,
    slice: Slice,
    attempt: number,
    processing: ProcessingOf,
  ): Promise<Pick<ProcessingResult, 'records' | 'framed' | 'failures'>> {
    try {
      const result = await runProcessors(slice.records, {
        spec,
        invoke,
        maxDecompressedBytes: this.deps.maxDecompressedBytes,
        // One buffer takes every record: framed output goes to it as it is.
        framedOutput: !processing.partitioning,
      });
      this.telemetry.emit({
        type: 'processing.completed',
        stream: meta.stream,
        recordsIn: slice.records.length,
        recordsOut: result.records.length + result.framed.reduce((sum, f) => sum + f.records, 0),
        bytesOut:
          result.records.reduce((sum, r) => sum + r.data.length, 0) +
          result.framed.reduce((sum, f) => sum + f.bytes, 0),
        dropped: result.dropped,
        failed: result.failures.length,
        invocations: result.invocations,
        transformMs: result.transformMs,
      });
      return result;
    } catch (caught) {
      if (!(caught instanceof TransformLoadError)) throw caught;
      const error: TransformLoadError = caught;
      this.telemetry.emit({
        type: 'processing.failed',
        stream: meta.stream,
        code: error.code,
        records: slice.records.length,
      });
      const ended = this.now() - meta.firstArrivalMs >= this.deps.retentionMs;
      if (!ended) {
        this.deps.log[retryLogLevel(attempt, attempt === 1)](
          {
            event: 'processing.retrying',
            stream: meta.stream,
            batchId: meta.id,
            code: error.code,
            reason: error.message,
            attempt,
            records: slice.records.length,
          },
          'transform cannot be loaded; the batch is retried until it can',
        );
        throw new RetryableDeliveryError(`${error.code}: ${error.message}`);
      }
      // The retention window is over: the records go to the error output with the reason.
      const message = `${error.message} (the transform could not be loaded within the retention window of ${Math.round(this.deps.retentionMs / 1000)} s; ${attempt} attempts)`;
      return {
        records: [],
        framed: [],
        failures: slice.records.map((record) => ({
          ...record,
          code: error.code,
          message,
          outputType: 'processing-failed' as const,
          lambdaArn: spec.lambda?.arn,
        })),
      };
    }
  }

  /**
   * Refuses the records of partitions that would open beyond the active-partition limit
   * (`DynamicPartitioning.PartitionCountExceeded`), keeping the partitions that appeared
   * first. Returns the refused records.
   */
  private async applyLimit(
    stream: string,
    partitions: Map<string, PartitionGroup>,
    processing: ProcessingOf,
    failures: ProcessingFailure[],
  ): Promise<ProcessingFailure[]> {
    if (!processing.partitioning || partitions.size === 0) return [];
    const backup = processing.sourceBackup !== undefined;
    const { open, count } = await this.deps.partitions.openPartitions(stream, [
      ...partitions.keys(),
      ...(backup ? [SOURCE_BACKUP_PARTITION] : []),
    ]);
    // The backup's open buffer is no dynamic partition.
    const free =
      this.deps.activePartitionLimit - count + (open.has(SOURCE_BACKUP_PARTITION) ? 1 : 0);
    return this.refuseNew(partitions, free, failures, open);
  }

  /** Keeps `free` of the partitions not open yet; the others' records fail. */
  private refuseNew(
    partitions: Map<string, PartitionGroup>,
    free: number,
    failures: ProcessingFailure[],
    open?: ReadonlySet<string>,
  ): ProcessingFailure[] {
    const refused: ProcessingFailure[] = [];
    let admitted = 0;
    for (const [keysJson, partition] of partitions) {
      if (open?.has(keysJson)) continue;
      if (admitted < free) {
        admitted += 1;
        continue;
      }
      partitions.delete(keysJson);
      for (const record of partition.records) {
        refused.push({
          id: record.id,
          arrivalMs: record.arrivalMs,
          data: record.data,
          code: 'DynamicPartitioning.PartitionCountExceeded',
          message: `the stream has its maximum of ${this.deps.activePartitionLimit} active partitions; partition ${keysJson} could not be opened`,
          outputType: 'processing-failed',
        });
      }
    }
    failures.push(...refused);
    return refused;
  }

  /**
   * Writes a slice's failed records to the error output, one object per type, numbered from
   * `errorWrites`: the same slice writes the same objects if it is repeated.
   *
   * @returns how many objects were written.
   */
  private async writeFailures(
    meta: BatchMeta,
    definition: StreamDefinition,
    location: S3Location | undefined,
    failures: readonly ProcessingFailure[],
    errorWrites: number,
    attempt: number,
  ): Promise<number> {
    if (failures.length === 0) return 0;
    if (location === undefined) {
      throw new RetryableDeliveryError('the destination names no error output for failed records');
    }
    const byType = new FailedByType();
    const nowMs = this.now();
    for (const failure of failures) {
      byType.add(failure.outputType, {
        record: { id: failure.id, position: 0, arrivalMs: failure.arrivalMs, data: failure.data },
        code: failure.code,
        message: failure.message,
        attemptsMade: attempt,
        attemptEndingMs: nowMs,
        details: { lambdaArn: failure.lambdaArn },
      });
    }
    const seq = await writeErrorObjects(
      { errorOutput: this.deps.errorOutput, log: this.deps.log, telemetry: this.telemetry },
      {
        stream: meta.stream,
        streamVersion: definition.versionId,
        batchId: meta.id,
        firstArrivalMs: meta.firstArrivalMs,
        location,
      },
      byType,
      errorWrites,
      nowMs,
    );
    return seq - errorWrites;
  }

  private emitPartitions(
    stream: string,
    partitions: Map<string, PartitionGroup>,
    overLimitRecords: number,
    partitioning: boolean,
  ): void {
    if (!partitioning) return;
    this.telemetry.emit({
      type: 'partitions.written',
      stream,
      partitions: partitions.size,
      overLimitRecords,
      perPartition: [...partitions.values()].map((p) => ({
        keys: p.slice.keysJson,
        records: p.slice.records,
        bytes: p.slice.bytes,
      })),
    });
  }
}

/** A partition's records and their framed chunk. */
export interface PartitionGroup {
  records: ProcessedRecord[];
  slice: PartitionSlice;
}

/**
 * Groups processed records by partition — the values of the keys the prefix uses, in the
 * prefix's order — and frames each group. A record without one of the keys fails
 * (`DynamicPartitioning.MissingPartitionKey`) into `failures`. Without dynamic partitioning,
 * one group holds every record.
 */
export function partitionRecords(
  records: readonly ProcessedRecord[],
  processing: ProcessingOf,
  failures: ProcessingFailure[],
): Map<string, PartitionGroup> {
  const groups = new Map<string, ProcessedRecord[]>();
  for (const record of records) {
    let keysJson = SINGLE_PARTITION;
    if (processing.partitioning) {
      const picked = pickKeys(record, processing.partitionKeys);
      if (typeof picked === 'string') {
        failures.push({
          id: record.id,
          arrivalMs: record.arrivalMs,
          data: record.data,
          code: 'DynamicPartitioning.MissingPartitionKey',
          message: picked,
          outputType: 'processing-failed',
          original: record.original,
        });
        continue;
      }
      keysJson = JSON.stringify(picked);
    }
    let group = groups.get(keysJson);
    if (group === undefined) groups.set(keysJson, (group = []));
    group.push(record);
  }
  const out = new Map<string, PartitionGroup>();
  for (const [keysJson, group] of groups) {
    out.set(keysJson, { records: group, slice: framePartition(keysJson, group) });
  }
  return out;
}

/**
 * Adds records the processors gave back framed (see `ProcessingContext.framedOutput`) to the
 * one partition of a stream without dynamic partitioning, each frame a chunk of its own.
 */
function addFramed(
  partitions: Map<string, PartitionGroup>,
  framed: readonly FramedRecords[],
): void {
  if (framed.length === 0) return;
  const frames = framed.map((f) => f.frame);
  const records = framed.reduce((sum, f) => sum + f.records, 0);
  const bytes = framed.reduce((sum, f) => sum + f.bytes, 0);
  const group = partitions.get(SINGLE_PARTITION);
  if (group === undefined) {
    partitions.set(SINGLE_PARTITION, {
      records: [],
      slice: { keysJson: SINGLE_PARTITION, frames, bytes, records },
    });
    return;
  }
  group.slice = {
    ...group.slice,
    frames: [...group.slice.frames, ...frames],
    bytes: group.slice.bytes + bytes,
    records: group.slice.records + records,
  };
}

/**
 * The partition of a record: the values of the keys the prefix uses, in the prefix's order,
 * or a message naming the first one missing.
 */
function pickKeys(
  record: ProcessedRecord,
  referenced: ProcessingOf['partitionKeys'],
): { query: Record<string, string>; lambda: Record<string, string> } | string {
  const query: Record<string, string> = {};
  for (const key of referenced.query) {
    const value = record.keys.query[key];
    if (value === undefined)
      return `the MetadataExtractionQuery gave no value for partitionKeyFromQuery:${key}`;
    query[key] = value;
  }
  const lambda: Record<string, string> = {};
  for (const key of referenced.lambda) {
    const value = record.keys.lambda[key];
    if (value === undefined) {
      return `the transform returned no metadata.partitionKeys.${key} for partitionKeyFromLambda:${key}`;
    }
    lambda[key] = value;
  }
  return { query, lambda };
}

/** A partition's records framed as one chunk, stamped with the oldest record's arrival. */
export function framePartition(
  keysJson: string,
  records: readonly { arrivalMs: number; data: Buffer }[],
): PartitionSlice {
  let oldest = Number.POSITIVE_INFINITY;
  let bytes = 0;
  const data: Buffer[] = [];
  for (const record of records) {
    if (record.arrivalMs < oldest) oldest = record.arrivalMs;
    bytes += record.data.length;
    data.push(record.data);
  }
  return {
    keysJson,
    frames: [encodeChunkFromBuffers(oldest, data)],
    bytes,
    records: records.length,
  };
}
