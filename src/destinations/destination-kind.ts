import type { RecordGroup } from './record-group.js';
import type { z } from 'zod';
import type { DeliveryErrorCode } from '../errors/delivery-error-codes.js';
import type { CompressionFormat } from '../formats/compression.js';
import type { ParquetEncoder } from '../formats/parquet/parquet-encoder.js';
import type { TableCatalog } from '../formats/parquet/table-catalog.js';
import type { ObjectStore } from './object-store.js';
import type { OpenSearchEndpoints } from './opensearch/endpoints.js';
import type { OpenSearchClients } from './opensearch/clients.js';
import type { PlanBase, S3Location } from './plan-base.js';
import type { RedshiftConnections } from './redshift/connections.js';
import type { ProcessorInput } from '../processors/processing-config.js';

export type { PlanBase, S3Location } from './plan-base.js';

/**
 * The contract every destination kind fulfils, and the only thing the rest of Sluice knows
 * about destinations. A kind lives in `src/destinations/<kind>/` with the same small files:
 * `config.ts` (its Firehose request, update, stored and description shapes, one schema each),
 * `plan.ts` (the delivery plan), `request.ts` (the request builder), `sender.ts` (the I/O),
 * `classify.ts` (the outcome classifier) and `index.ts` (the registration). Kinds are listed
 * once, in `registry.ts`.
 *
 * A destination only builds requests and classifies what came back. The driver
 * (`delivery/driver.ts`) owns the rest: reading the batch, the pipeline stages, backoff, the
 * retry window, partial retry and the error output.
 */

/** One record as the delivery pipeline carries it. */
export interface PipelineRecord {
  /** The record id PutRecord/PutRecordBatch answered (stable for the record's whole life). */
  id: string;
  /** Position in its batch (0-based, in arrival order): how partial progress names it. */
  position: number;
  /** Approximate arrival time, epoch milliseconds. */
  arrivalMs: number;
  /** The payload (a view into the batch's chunk; not to be modified). */
  data: Buffer;
}

/**
 * Records as the pipeline streams them: groups of records (a stored chunk each) in batch order,
 * read in place from the chunk (see record-group.ts).
 */
export type RecordStream = AsyncIterable<RecordGroup>;

/**
 * What a destination says about one attempt. `code` is a bounded error code (Firehose's own
 * where it has one, e.g. `S3.AccessDenied`, `HttpEndpoint.RequestTimeout`); `reason` is the
 * human text, which may quote the destination's answer.
 */
export type DeliveryOutcome =
  | { kind: 'delivered'; location: string }
  | { kind: 'retry'; code: string; reason: string }
  | { kind: 'permanent'; code: string; reason: string }
  | {
      kind: 'partial';
      location: string;
      /** The records that failed, by position in the attempt's record list. */
      failed: readonly FailedRecord[];
    };

/** One record a partial outcome reports as not delivered. */
export interface FailedRecord {
  /** Position in the record list the attempt was built from. */
  index: number;
  code: string;
  reason: string;
  /** Whether a later attempt may succeed (else it goes to the error output at once). */
  retryable: boolean;
}

/** How a kind's retry window is counted. */
export interface RetryWindow {
  /** Length of the window in seconds (0: no retry). */
  seconds: number;
  /**
   * `first-failure`: from the batch's first failed attempt (Firehose's `RetryOptions`);
   * `first-arrival`: from the arrival of the batch's oldest record (S3's retention).
   */
  from: 'first-failure' | 'first-arrival';
}

/** What a kind's `plan` is given about the batch and the stream. */
export interface PlanContext {
  streamName: string;
  streamArn: string;
  /** The stream's `VersionId` now. */
  versionId: number;
  batchId: string;
  /** Arrival time of the oldest record, epoch ms. */
  firstArrivalMs: number;
  /** The object key fixed by a version that stored only a key (S3 only). */
  legacyObjectKey?: string | undefined;
  /** The partition the batch holds, with dynamic partitioning. */
  partitionKeys?: PartitionKeys | undefined;
  /**
   * The batch holds source records for the destination's source-record backup (its
   * partition is the backup's): plan the write to the backup location.
   */
  sourceBackup?: boolean;
  /** Where format conversion finds its tables; absent where no plan needs one (tests). */
  catalog?: TableCatalog | undefined;
}

/**
 * A partition's key values by namespace (`!{partitionKeyFromQuery:k}`, `…Lambda:k`); `backup`
 * marks the partition of source records kept for the source-record backup.
 */
export interface PartitionKeys {
  query: Record<string, string>;
  lambda: Record<string, string>;
  backup?: true;
}

/**
 * What runs between reading a batch and encoding it, from the stream's destination: the
 * enabled processors (any order; the pipeline runs them in Firehose's) and dynamic
 * partitioning.
 */
export interface ProcessingOf {
  /** The enabled processors, as configured. */
  processors: readonly ProcessorInput[];
  /** Whether records are partitioned by key (ExtendedS3 only). */
  partitioning: boolean;
  /** The keys the destination's prefix uses, by namespace: a partition is their values. */
  partitionKeys: { query: readonly string[]; lambda: readonly string[] };
  /**
   * Where the records as they arrived are also written, and the buffering they wait for there
   * (`S3BackupMode` Enabled of an extended S3 destination); undefined when off.
   */
  sourceBackup?: SourceBackup | undefined;
}

/** A destination's source-record backup: its location and buffering hints. */
export interface SourceBackup {
  location: S3Location;
  sizeBytes: number;
  intervalMs: number;
}

/**
 * Whether a stream's batches go through the first stage (the processing job) before they are
 * delivered: with processors, dynamic partitioning or a source-record backup.
 */
export function hasFirstStage(processing: ProcessingOf): boolean {
  return (
    processing.processors.length > 0 ||
    processing.partitioning ||
    processing.sourceBackup !== undefined
  );
}

/** What lives outside a request that a kind's `verify` checks a destination against. */
export interface VerifyContext {
  /** Where format conversion finds its tables (`SLUICE_CATALOG_DIR`). */
  catalog: TableCatalog;
  /** Which URL each OpenSearch `DomainARN` stands for (`SLUICE_OPENSEARCH_ENDPOINTS`). */
  openSearchEndpoints: OpenSearchEndpoints;
}

/** What an encoder is given besides the plan and the records. */
export interface EncodeContext {
  /** When the attempt runs, epoch ms (an HTTP body's timestamp). */
  attemptAtMs: number;
  /** Leaves out a record that cannot be encoded. */
  reject: RejectRecord;
  services: DestinationServices;
}

/**
 * How an encoder leaves out a record it cannot encode (a record that does not fit the Parquet
 * table): it is not sent, and goes to the error output at once under `outputType`, not retried.
 */
export type RejectRecord = (rejected: {
  /** The record's position in its batch. */
  position: number;
  code: DeliveryErrorCode;
  reason: string;
  outputType: string;
}) => void;

/** What a request builder is given besides the plan, the body and the current configuration. */
export interface BuildContext {
  /**
   * The batch positions of the records the request carries, in the order the encoder gets
   * them, known before any is read: a kind that names its write by its records (Redshift's
   * ledger key) can name it before the body streams. Absent when the driver does not know them
   * up front. A sender relying on it must still check the records it got against it.
   */
  positions?: (() => readonly number[]) | undefined;
}

/** One attempt's request, as the kind's builder made it. */
export interface BuiltRequest {
  /** Human text for logs, e.g. `s3://bucket/key`, `POST https://…`. Never a secret. */
  target: string;
}

/** What the sender got: a response, or the error that stopped it. */
export type SendResult<Response> = { response: Response } | { error: unknown };

/** Services a kind's sender may use, built once per process by the service. */
export interface DestinationServices {
  /** Where S3 objects go (a local directory or an S3 endpoint). */
  objectStore: ObjectStore;
  /** Longest wait for an HTTP endpoint's answer, ms. */
  httpResponseTimeoutMs: number;
  /** Converts batches to Parquet on worker threads; absent, on the calling thread (tests). */
  parquet?: ParquetEncoder | undefined;
  /** The process's OpenSearch clients, one per cluster; absent, OpenSearch batches retry. */
  opensearch?: OpenSearchClients | undefined;
  /** Database connections of Redshift/PostgreSQL destinations; absent: none can be loaded. */
  redshift?: RedshiftConnections | undefined;
  /** zlib's level for GZIP and ZIP objects (`SLUICE_GZIP_LEVEL`); absent, zlib's default. */
  deflateLevel?: number | undefined;
}

/**
 * A destination kind. `Stored` is its normalized configuration (what the registry keeps),
 * `Plan` its delivery plan, `Request` and `Response` what its builder makes and its sender
 * gets back. Everything a request or description needs comes from these; no kind reaches into
 * another's configuration.
 */
export interface DestinationKind<
  Stored = unknown,
  Plan extends PlanBase = PlanBase,
  Request extends BuiltRequest = BuiltRequest,
  Response = unknown,
> {
  /** Stored discriminator of the stream's destination, e.g. `ExtendedS3`, `HttpEndpoint`. */
  readonly shape: string;
  /**
   * Kinds of one family take each other's updates merged (an `S3DestinationUpdate` on an
   * ExtendedS3 destination). An update from another family replaces the destination whole.
   */
  readonly family: string;
  /**
   * Whether a destination of this kind may become another type by UpdateDestination, and
   * another become this one (Firehose refuses it for OpenSearch and HTTP endpoints).
   */
  readonly switchable: boolean;
  /** CreateDeliveryStream member, e.g. `ExtendedS3DestinationConfiguration`. */
  readonly createMember: string;
  readonly createSchema: z.ZodType;
  /** UpdateDestination member, e.g. `ExtendedS3DestinationUpdate`. */
  readonly updateMember: string;
  readonly updateSchema: z.ZodType;
  /** Schema of the normalized configuration the registry stores. */
  readonly storedSchema: z.ZodType<Stored>;
  /** Schema of this kind's plans (its `destination` is a literal). */
  readonly planSchema: z.ZodType<Plan>;
  /** The plan discriminator this kind's plans carry. */
  readonly planDestination: string;
  /** The error-output type of records this destination failed, e.g. `http-endpoint-failed`. */
  readonly failureOutputType: string | undefined;

  /**
   * Checks a validated create member and fills Firehose's defaults.
   *
   * @param where - the member's name, for messages.
   * @throws FirehoseError `InvalidArgumentException` for a rule broken or a feature missing.
   */
  normalize(config: unknown, where: string): Stored;
  /**
   * Applies a validated update member to the current destination of the same family, with
   * Firehose's merge semantics (named members replace, the rest is kept).
   *
   * @returns the new destination's shape and configuration.
   */
  merge(current: { shape: string; config: unknown }, update: unknown): StoredDestination;
  /**
   * An update member applied where the destination is of another family: nothing is merged,
   * so the update must be a complete configuration.
   */
  replaceWith(update: unknown, where: string): Stored;
  /** Description members of `DestinationDescription`, e.g. `{ HttpEndpointDestinationDescription }`. */
  describe(stored: Stored): Record<string, unknown>;
  /** Buffering thresholds in the buffer's units. */
  buffering(stored: Stored): { sizeBytes: number; intervalMs: number };
  /** The processors and partitioning the destination's records go through. */
  processing(stored: Stored): ProcessingOf;
  /**
   * Where records that fail before delivery (processing) are written: the destination's own
   * S3 error output, its S3 configuration's. Undefined: the kind has none.
   */
  errorOutput(stored: Stored): S3Location | undefined;
  /**
   * Checks a new or updated destination against what lives outside the request — the table
   * catalog a format conversion names, the endpoint an OpenSearch `DomainARN` stands for —
   * when CreateDeliveryStream or UpdateDestination stores it. Absent: nothing outside to check.
   *
   * @throws FirehoseError `InvalidArgumentException` saying what is missing.
   */
  verify?(stored: Stored, outside: VerifyContext): void;
  /** How long failures are retried; undefined: `SLUICE_RETENTION_SECONDS` from first arrival. */
  retryWindow(stored: Stored): RetryWindow | undefined;

  /**
   * The batch's delivery plan, fixed on its first attempt: the identity of every write the
   * batch makes, so a retry rewrites and never adds.
   *
   * @throws PlanError when no plan can be made (a permanent failure), with its code.
   */
  plan(stored: Stored, context: PlanContext): Plan | Promise<Plan>;
  /**
   * Most records one request may carry (Firehose's HTTP endpoint: 10,000); a larger batch is
   * sent as several requests, records grouped by position so that a retry sends each group
   * with the same identity. Undefined: a batch is one request.
   */
  readonly maxRecordsPerRequest?: number;
  /**
   * The plan of group `part` (1, 2, …) of a batch sent as several requests: its own identity
   * (an HTTP request id), derived from the batch's plan so that it is the same on every retry.
   * Group 0 uses the batch's plan itself. Required with {@link maxRecordsPerRequest}.
   */
  planPart?(plan: Plan, part: number): Plan;
  /** The compression the encoded body gets (the driver's compress stage). */
  compression(plan: Plan): CompressionFormat;
  /**
   * The encode stage: the records, as they stream from the batch in groups, in the
   * destination's body format (before compression), as pieces. A kind whose body can be
   * streamed yields as it goes, so a batch is never whole in memory; one that needs all
   * records (a JSON document) collects them first.
   *
   * @param attemptAtMs - when the attempt starts (a body may carry it, as HTTP's does).
   */
  encode(plan: Plan, records: RecordStream, context: EncodeContext): AsyncIterable<Buffer>;
  /**
   * The request builder: one request from the compressed body's pieces (consumed once; a
   * kind that needs the length collects them). `current` is the stream's configuration now,
   * for what may change between retries (an access key); identities come from the plan.
   * A builder may leave the body unread for the sender to stream.
   */
  build(
    plan: Plan,
    body: AsyncIterable<Buffer>,
    current: Stored | undefined,
    context?: BuildContext,
  ): Promise<Request>;
  /** The sender: does the I/O and reports what came back; never classifies. */
  send(request: Request, services: DestinationServices): Promise<SendResult<Response>>;
  /** The classifier: what the result means for the attempt. */
  classify(request: Request, result: SendResult<Response>): DeliveryOutcome;
  /**
   * What the error record of a record this destination failed (its `failureOutputType`)
   * carries beyond the common members — an OpenSearch document's `_id` and index — derived
   * from the plan and the record as every attempt derived them. Absent: nothing more.
   */
  errorDetails?(plan: Plan, record: PipelineRecord): FailureDetails;
  /**
   * Objects the destination leaves in a bucket when the driver gives records of its
   * `failureOutputType` up (the retry window ended, or a permanent failure) — Firehose's
   * manifest under `errors/` of a Redshift batch it skipped. Derived from the plan alone, so
   * every attempt names the same keys; the driver writes them through the object store before
   * the error output, and a failed write keeps the batch queued. Absent: none.
   */
  giveUpObjects?(plan: Plan): readonly GiveUpObject[];
}

/** An object {@link DestinationKind.giveUpObjects} asks the driver to write. */
export interface GiveUpObject {
  bucket: string;
  key: string;
  body: Buffer;
  /** `Content-Encoding` of the object; undefined for none. */
  contentEncoding?: string | undefined;
}

/** Members of a destination's error records that only the destination can fill in. */
export interface FailureDetails {
  /** `AmazonOpenSearchService-failed`: the `_id` the document was to get (none: generated). */
  esDocumentId?: string | undefined;
  /** `AmazonOpenSearchService-failed`: the index, rotation suffix included. */
  esIndexName?: string | undefined;
  /** `AmazonOpenSearchService-failed`: the type name (Elasticsearch 6 and older only). */
  esTypeName?: string | undefined;
}

/** Thrown by a kind's `plan` when no plan can be made: permanent, with its delivery code. */
export class PlanError extends Error {
  override name = 'PlanError';

  constructor(
    readonly code: DeliveryErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A stream's stored destination: its kind's shape and normalized configuration. */
export interface StoredDestination {
  shape: string;
  config: unknown;
}

/**
 * Registers a kind with its types checked; the registry holds kinds with their types erased
 * (it only passes a kind's own values back to it).
 */
export function defineDestinationKind<
  Stored,
  Plan extends PlanBase,
  Request extends BuiltRequest,
  Response,
>(kind: DestinationKind<Stored, Plan, Request, Response>): DestinationKind {
  return kind;
}
