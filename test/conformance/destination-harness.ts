import type { CreateDeliveryStreamCommandInput } from '@aws-sdk/client-firehose';

import { parseErrorRecords, type ParsedErrorRecord } from '../../src/error-output/error-records.js';

/**
 * The contract between the destination conformance suite (`destination-conformance.test.ts`)
 * and one destination under test. A harness starts the destination's real server, tells Sluice
 * where it is, hands out targets (one per test: a bucket, an endpoint), reads back what a
 * target was given and injects the faults the suite's scenarios need.
 *
 * Where Firehose's semantics differ between destinations, the harness says which apply
 * ({@link FailureRouting}, {@link PartialRetry}, {@link InFlightWindow}); the suite asserts the
 * behaviour that applies and, for what does not, that the destination kind really lacks it.
 */

/** The destination members of CreateDeliveryStream a harness may fill in. */
export type DestinationMembers = Pick<
  CreateDeliveryStreamCommandInput,
  | 'ExtendedS3DestinationConfiguration'
  | 'S3DestinationConfiguration'
  | 'HttpEndpointDestinationConfiguration'
  | 'AmazonopensearchserviceDestinationConfiguration'
  | 'ElasticsearchDestinationConfiguration'
  | 'RedshiftDestinationConfiguration'
>;

/** The name of one {@link DestinationMembers} member. */
export type DestinationMember = keyof DestinationMembers;

/** How a test's stream is to buffer and retry. */
export interface StreamOptions {
  /** `BufferingHints.SizeInMBs`. */
  sizeMBs: number;
  /** `BufferingHints.IntervalInSeconds` (0: every request is a batch of its own). */
  intervalSeconds: number;
  /** `RetryOptions.DurationInSeconds`, for destinations that have it (60 when not given). */
  retrySeconds?: number;
}

/**
 * One write the destination took: an object (S3) or a request it accepted (HTTP). A write
 * repeated with the same identity (an object rewritten, a request resent after a lost answer)
 * is listed again where the destination can tell, so the suite can check that a repeat carries
 * exactly what the first one did.
 */
export interface DeliveredWrite {
  /** What names the write: the object key, or the request id. */
  identity: string;
  /** The records, where the destination keeps record boundaries (HTTP); else undefined. */
  records: readonly Buffer[] | undefined;
  /** The bytes written: the object's body, or the records concatenated. */
  bytes: Buffer;
}

/** One delivery attempt the destination saw, where it can see them. */
export interface DeliveryAttempt {
  /** The identity the attempt wrote under (object key, request id). */
  identity: string;
  /** Records the attempt carried, where the destination can count them. */
  records: number | undefined;
  /** Whether the destination took it. */
  accepted: boolean;
}

/** One error-output object, read back. */
export interface ErrorOutputObject {
  key: string;
  /** Each line as `parseErrorRecords` reads it (rawData decoded). */
  records: ParsedErrorRecord[];
  /** Each line as plain JSON, for members `parseErrorRecords` does not return. */
  lines: Record<string, unknown>[];
}

/**
 * Where records go that cannot be delivered. S3 destinations keep them in Sluice's Redis dead
 * set (the store that would hold an error output is the one failing); destinations that have an
 * S3 error bucket write the error output there, as Firehose does.
 */
export type FailureRouting =
  | {
      kind: 'dead-set';
      /** The error code a permanent failure ({@link DestinationTarget.failPermanent}) reports. */
      permanentCode: string;
      /** What a retryable failure's reason names (the store's own error). */
      retryableReason: RegExp;
    }
  | {
      kind: 'error-output';
      /** The `!{firehose:error-output-type}` of the failed records. */
      type: string;
      /** The `errorCode` of records a permanent failure sent there. */
      permanentCode: string;
      /** The `errorCode` of records a retryable failure sent there when the window ended. */
      retryableCode: string;
      /** What the message of a permanently failed record says; absent: the status `413`. */
      permanentMessage?: RegExp;
    };

/**
 * What records the destination keeps as they are: `bytes` — any bytes (S3, HTTP endpoints);
 * `json-documents` — each record one JSON object, which the destination keeps as a document
 * (OpenSearch). For `json-documents` the suite sends, wherever it means records to be
 * delivered, newline-terminated JSON objects of the same variety (binary, empty, large,
 * unicode content inside them), and the harness reads each document back with its `\n`.
 */
export type RecordShape = 'bytes' | 'json-documents';

/**
 * Whether a batch is sent as several requests whose failures are retried alone. Not
 * applicable: the harness says why, and the suite checks the destination kind agrees.
 */
export type PartialRetry = { maxRecordsPerRequest: number } | { notApplicable: string };

/**
 * How a test catches a delivery in the middle: `slow-answer` — the destination takes the write
 * and withholds its answer ({@link DestinationTarget.slowDeliveries}); `large-write` — nothing
 * can be slowed, so the batch must be large enough for its write to take a while.
 */
export type InFlightWindow = 'slow-answer' | 'large-write';

/** One destination kind on one real server, for the conformance suite. */
export interface DestinationHarness {
  /** Shown in test names. */
  readonly name: string;
  /** The CreateDeliveryStream member its streams are created with. */
  readonly member: DestinationMember;
  readonly failureRouting: FailureRouting;
  readonly partialRetry: PartialRetry;
  readonly inFlightWindow: InFlightWindow;
  /** What records the destination takes as they are; `bytes` when absent. */
  readonly records?: RecordShape;
  /** Starts the real server (if any). */
  start(): Promise<void>;
  /** Stops the server and removes what the harness created. Idempotent. */
  stop(): Promise<void>;
  /**
   * The environment a Sluice process delivering here needs (`SLUICE_S3_ENDPOINT`,
   * `SLUICE_DATA_DIR`, S3 credentials), after {@link start}.
   */
  env(): Record<string, string>;
  /** A fresh target (bucket, endpoint) for one test; close it when the test ends. */
  target(): Promise<DestinationTarget>;
}

/** One test's place to deliver to, with its faults and its read-back. */
export interface DestinationTarget {
  /** The destination member for a stream delivering here, as the faults now stand. */
  members(options: StreamOptions): DestinationMembers;
  /** Every write the destination took, in the order it took them (see {@link DeliveredWrite}). */
  delivered(): Promise<DeliveredWrite[]>;
  /** Every attempt the destination saw, in order; undefined where it cannot see them. */
  attempts(): DeliveryAttempt[] | undefined;
  /** The error-output objects written for this target (none for dead-set routing). */
  errorOutput(): Promise<ErrorOutputObject[]>;
  /** Every delivery attempt fails in a way worth retrying, until {@link recover}. */
  failRetryable(): Promise<void>;
  /**
   * Deliveries fail in a way no retry can fix, until {@link recover}. Call it before creating
   * the stream: for S3 the failure lies in the destination's configuration (its `Prefix`).
   */
  failPermanent(): Promise<void>;
  /** Undoes every fault and slowness. */
  recover(): Promise<void>;
  /**
   * Writes are taken but answered only after `delayMs` (`slow-answer` harnesses; a no-op for
   * `large-write` ones).
   */
  slowDeliveries(delayMs: number): void;
  /**
   * Resolves once a delivery is in the middle: written (or being written) and not yet
   * answered. Rejects after `timeoutMs`.
   */
  deliveryInFlight(timeoutMs: number): Promise<void>;
  /** Present for error-output routing: makes the error bucket unwritable, and writable again. */
  readonly errorOutputFaults: { break(): Promise<void>; repair(): Promise<void> } | undefined;
  /**
   * Present where a batch is split into requests: the outcome of each of the next requests in
   * order (`ok` or a retryable failure); later requests succeed.
   */
  readonly scriptRequests: ((outcomes: readonly ('ok' | 'retryable')[]) => void) | undefined;
  close(): Promise<void>;
}

let bucketCounter = 0;

/** A unique lower-case S3 bucket name starting with `prefix` (S3 naming rules hold). */
export function uniqueBucket(prefix: string): string {
  bucketCounter += 1;
  const suffix = `${process.pid.toString(36)}-${bucketCounter}-${Math.random().toString(36).slice(2, 8)}`;
  return `${prefix}-${suffix}`.toLowerCase();
}

/** The role every destination names; Sluice never assumes it, Firehose requires one. */
export const ROLE_ARN = 'arn:aws:iam::000000000000:role/firehose';

/** Reads one error-output object's NDJSON body (uncompressed) into an {@link ErrorOutputObject}. */
export function readErrorObject(key: string, body: Buffer): ErrorOutputObject {
  const lines = body
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { key, records: parseErrorRecords(body), lines };
}

/** Rejects with `what` after `timeoutMs` unless `check` returns true first; polls every 5 ms. */
export async function pollUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
