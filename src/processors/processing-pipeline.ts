import { appendDelimiter } from './builtin/append-delimiter.js';
import { extractCloudWatchLogMessages } from './builtin/cloudwatch-logs.js';
import { deaggregateDelimited, deaggregateJson } from './builtin/deaggregation.js';
import { decompressGzip } from './builtin/decompression.js';
import { ProcessorFailure } from './builtin/processor-failure.js';
import { JqRuntimeError } from './jq/index.js';
import type { LambdaSpec, ProcessingSpec } from './processing-config.js';
import type {
  InvocationOutcomes,
  TransformInput,
  TransformRecordOutcome,
} from './transforms/transform-host.js';

/**
 * Runs a stream's processors over records in Firehose's order: de-aggregation, decompression,
 * CloudWatch Logs message extraction, the Lambda transform, metadata extraction (jq), the
 * appended delimiter. A record a processor fails leaves the pipeline with its reason, as the
 * failing processor got it; the others go on. Records keep their arrival time.
 */

/** A record entering the processors. */
export interface SourceRecord {
  /** The record id PutRecord answered; sub-records (de-aggregation) get `<id>.<n>`. */
  id: string;
  arrivalMs: number;
  data: Buffer;
  /**
   * The record as it arrived, once Decompression changed it: what the error output keeps for
   * a record failed after decompression (Firehose writes such records still compressed, and
   * only that form can be replayed into the stream).
   */
  original?: Buffer | undefined;
}

/** Partition key values by namespace, from the transform and from the jq query. */
export interface RecordPartitionKeys {
  query: Record<string, string>;
  lambda: Record<string, string>;
}

/** A record that came through every processor. */
export interface ProcessedRecord {
  id: string;
  arrivalMs: number;
  data: Buffer;
  keys: RecordPartitionKeys;
  /** See {@link SourceRecord.original}. */
  original?: Buffer | undefined;
}

/** A record a processor failed, with the data as that processor got it. */
export interface ProcessingFailure {
  id: string;
  arrivalMs: number;
  data: Buffer;
  code: string;
  message: string;
  outputType: 'processing-failed' | 'decompression-failed';
  /** The transform's LambdaArn, for `processing-failed` records of a transform. */
  lambdaArn?: string | undefined;
  /** See {@link SourceRecord.original}. */
  original?: Buffer | undefined;
}

/**
 * Records that came through every processor already framed as a stored chunk (a local
 * transform's Ok records, see {@link ProcessingContext.framedOutput}): no partition keys, each
 * record's arrival time only as the chunk's.
 */
export interface FramedRecords {
  frame: Buffer;
  records: number;
  /** Payload bytes. */
  bytes: number;
}

/** What the processors made of some records. */
export interface ProcessingResult {
  /** Records that came through, one by one… */
  records: ProcessedRecord[];
  /** …and framed (when the context asks for it). */
  framed: FramedRecords[];
  failures: ProcessingFailure[];
  /** Records a transform dropped (`Dropped`: a success that delivers nothing). */
  dropped: number;
  /** Transform invocations made and the time they took, for telemetry. */
  invocations: number;
  transformMs: number;
}

/** Invokes a transform: one call per invocation, outcomes in input order. */
export type TransformInvoker = (
  lambda: LambdaSpec,
  records: readonly TransformInput[],
) => Promise<InvocationOutcomes>;

/** What the processors need besides the records. */
export interface ProcessingContext {
  spec: ProcessingSpec;
  invoke: TransformInvoker;
  /** Largest a decompressed record may be (a gzip bomb is refused, not expanded). */
  maxDecompressedBytes: number;
  /**
   * The caller keeps one buffer for every record (no dynamic partitioning): a transform's Ok
   * records may come back as stored chunks ({@link ProcessingResult.framed}) when no processor
   * runs after it, which saves an object and a copy per record on the main thread.
   */
  framedOutput?: boolean;
}

/** Firehose's synchronous Lambda payload limit, base64 and JSON framing included. */
const MAX_INVOCATION_PAYLOAD = 6 * 1024 * 1024;
/** Per-record JSON framing of the event beyond the base64 data (ids, timestamps, keys). */
const EVENT_RECORD_OVERHEAD = 160;

/** The keys of a record that has none; shared (never modified: keys are replaced whole). */
const NO_KEYS: RecordPartitionKeys = Object.freeze({
  query: Object.freeze({}),
  lambda: Object.freeze({}),
});

function failure(record: SourceRecord, error: unknown, lambdaArn?: string): ProcessingFailure {
  if (error instanceof ProcessorFailure) {
    return {
      id: record.id,
      arrivalMs: record.arrivalMs,
      data: record.data,
      code: error.code,
      message: error.message,
      outputType: error.outputType,
      lambdaArn,
      original: record.original,
    };
  }
  return {
    id: record.id,
    arrivalMs: record.arrivalMs,
    data: record.data,
    code: 'Sluice.Internal',
    message: error instanceof Error ? error.message : String(error),
    outputType: 'processing-failed',
    lambdaArn,
    original: record.original,
  };
}

/** Applies a one-to-many step to every record; failures leave with their reason. */
function expand(
  records: readonly SourceRecord[],
  failures: ProcessingFailure[],
  step: (data: Buffer) => Buffer | Buffer[],
  renumber: boolean,
  keepOriginal = false,
): SourceRecord[] {
  const out: SourceRecord[] = [];
  for (const record of records) {
    let result: Buffer | Buffer[];
    try {
      result = step(record.data);
    } catch (error) {
      failures.push(failure(record, error));
      continue;
    }
    const original = record.original ?? (keepOriginal ? record.data : undefined);
    if (!Array.isArray(result)) {
      out.push({ id: record.id, arrivalMs: record.arrivalMs, data: result, original });
      continue;
    }
    result.forEach((data, n) => {
      out.push({
        id: renumber ? `${record.id}.${n}` : record.id,
        arrivalMs: record.arrivalMs,
        data,
        original,
      });
    });
  }
  return out;
}

/**
 * The invocations a transform gets for `records`: consecutive records up to the Lambda
 * processor's BufferSizeInMBs and Firehose's 6 MB payload, at least one record each.
 */
export function invocationsOf(
  records: readonly SourceRecord[],
  bufferSizeBytes: number,
): SourceRecord[][] {
  const groups: SourceRecord[][] = [];
  let group: SourceRecord[] = [];
  let bytes = 0;
  let payload = 0;
  for (const record of records) {
    const recordPayload = Math.ceil(record.data.length / 3) * 4 + EVENT_RECORD_OVERHEAD;
    if (
      group.length > 0 &&
      (bytes + record.data.length > bufferSizeBytes ||
        payload + recordPayload > MAX_INVOCATION_PAYLOAD)
    ) {
      groups.push(group);
      group = [];
      bytes = 0;
      payload = 0;
    }
    group.push(record);
    bytes += record.data.length;
    payload += recordPayload;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/** Runs the transform over the records, all invocations at once (the pool queues them). */
async function transform(
  records: readonly SourceRecord[],
  lambda: LambdaSpec,
  context: ProcessingContext,
  failures: ProcessingFailure[],
  result: ProcessingResult,
): Promise<ProcessedRecord[]> {
  const groups = invocationsOf(records, lambda.bufferSizeBytes);
  const started = performance.now();
  const outcomes = await Promise.all(
    groups.map((group) =>
      // A record is its transform input as it is (ids are unique within an invocation: a
      // record's sub-records are numbered).
      context.invoke(lambda, group),
    ),
  );
  result.transformMs += performance.now() - started;
  result.invocations += groups.length;
  const out: ProcessedRecord[] = [];
  const framing =
    context.framedOutput === true &&
    context.spec.metadata === undefined &&
    !context.spec.appendDelimiter;
  groups.forEach((group, g) => {
    const invocation = outcomes[g] as InvocationOutcomes;
    const framed = framing && invocation.count === group.length ? invocation.framed?.() : undefined;
    if (framed !== undefined) {
      if (framed.frame !== undefined) {
        result.framed.push({ frame: framed.frame, records: framed.records, bytes: framed.bytes });
      }
      for (const [i, outcome] of framed.others) {
        settleOutcome(group[i] as SourceRecord, outcome, lambda, out, failures, result);
      }
      return;
    }
    const listed = invocation.all();
    group.forEach((record, i) => {
      const outcome = listed[i];
      if (outcome === undefined) {
        failures.push({
          ...failure(record, new Error('the transform host returned no outcome')),
          lambdaArn: lambda.arn,
        });
        return;
      }
      settleOutcome(record, outcome, lambda, out, failures, result);
    });
  });
  return out;
}

/** What becomes of one record by its transform outcome. */
function settleOutcome(
  record: SourceRecord,
  outcome: TransformRecordOutcome,
  lambda: LambdaSpec,
  out: ProcessedRecord[],
  failures: ProcessingFailure[],
  result: ProcessingResult,
): void {
  switch (outcome.result) {
    case 'Ok':
      out.push({
        id: record.id,
        arrivalMs: record.arrivalMs,
        data: outcome.data,
        // Shared when the transform gave no keys: an object per record costs GC time.
        keys:
          outcome.partitionKeys === undefined
            ? NO_KEYS
            : { query: NO_KEYS.query, lambda: outcome.partitionKeys },
        original: record.original,
      });
      break;
    case 'Dropped':
      result.dropped += 1;
      break;
    case 'ProcessingFailed':
      failures.push({
        id: record.id,
        arrivalMs: record.arrivalMs,
        data: record.data,
        code: outcome.code,
        message: outcome.message,
        outputType: 'processing-failed',
        lambdaArn: lambda.arn,
        original: record.original,
      });
      break;
  }
}

/**
 * Runs the stream's processors over `records`.
 *
 * @throws TransformLoadError (from the invoker) when the transform cannot be loaded: the
 *   caller retries the records later rather than failing them.
 */
export async function runProcessors(
  records: readonly SourceRecord[],
  context: ProcessingContext,
): Promise<ProcessingResult> {
  const { spec } = context;
  const failures: ProcessingFailure[] = [];
  const result: ProcessingResult = {
    records: [],
    framed: [],
    failures,
    dropped: 0,
    invocations: 0,
    transformMs: 0,
  };
  let current: readonly SourceRecord[] = records;
  const deaggregation = spec.deaggregation;
  if (deaggregation !== undefined) {
    current = expand(
      current,
      failures,
      deaggregation.type === 'JSON'
        ? deaggregateJson
        : (data) => deaggregateDelimited(data, deaggregation.delimiter),
      true,
    );
  }
  if (spec.decompression) {
    current = expand(
      current,
      failures,
      (data) => decompressGzip(data, context.maxDecompressedBytes),
      false,
      // Records failed after this step are written as they arrived (see `original`).
      true,
    );
  }
  if (spec.cloudWatchExtraction) {
    current = expand(current, failures, extractCloudWatchLogMessages, true);
  }
  let processed: ProcessedRecord[];
  if (spec.lambda !== undefined) {
    processed = await transform(current, spec.lambda, context, failures, result);
  } else {
    // Built member by member: a spread per record costs as much as the query itself.
    processed = current.map((record) => ({
      id: record.id,
      arrivalMs: record.arrivalMs,
      data: record.data,
      keys: NO_KEYS,
      original: record.original,
    }));
  }
  const metadata = spec.metadata;
  if (metadata !== undefined) {
    const kept: ProcessedRecord[] = [];
    for (const record of processed) {
      try {
        const query = metadata.evaluate(JSON.parse(record.data.toString('utf8')));
        record.keys = { query, lambda: record.keys.lambda };
        kept.push(record);
      } catch (error) {
        const reason =
          error instanceof SyntaxError
            ? `the record is not JSON: ${error.message}`
            : error instanceof JqRuntimeError
              ? error.message
              : String(error);
        failures.push({
          id: record.id,
          arrivalMs: record.arrivalMs,
          data: record.data,
          code: 'DynamicPartitioning.MetadataExtractionFailed',
          message: `MetadataExtractionQuery ${metadata.source}: ${reason}`,
          outputType: 'processing-failed',
          original: record.original,
        });
      }
    }
    processed = kept;
  }
  if (spec.appendDelimiter) {
    for (const record of processed) record.data = appendDelimiter(record.data);
  }
  result.records = processed;
  result.failures = asArrived(failures);
  return result;
}

/**
 * Failures of records that were decompressed, as they arrived: once per arrived record
 * however many of its log events failed, so that a replay puts it back once.
 */
export function asArrived(failures: readonly ProcessingFailure[]): ProcessingFailure[] {
  const seen = new Set<Buffer>();
  const out: ProcessingFailure[] = [];
  for (const failed of failures) {
    if (failed.original === undefined) {
      out.push(failed);
      continue;
    }
    if (seen.has(failed.original)) continue;
    seen.add(failed.original);
    out.push({ ...failed, data: failed.original });
  }
  return out;
}
