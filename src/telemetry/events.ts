/**
 * Typed telemetry events: what the API, the driver and the destinations report about the
 * records passing through, one event per request or per batch attempt (never per record).
 * The operations issue turns them into Prometheus metrics; tests observe them directly.
 * Fields use Firehose's metric vocabulary (`firehose-spec.md` §8) so the mapping stays obvious.
 */
export type TelemetryEvent =
  /** A PutRecord/PutRecordBatch stored records (IncomingRecords, IncomingBytes). */
  | { type: 'records.received'; stream: string; records: number; bytes: number }
  /** Records refused for backpressure (ThrottledRecords). */
  | { type: 'records.throttled'; stream: string; records: number }
  /** A destination took records (DeliveryTo<X>.Records/Bytes/Success, DataFreshness). */
  | {
      type: 'delivery.succeeded';
      stream: string;
      destination: string;
      records: number;
      bytes: number;
      /** Age of the oldest record delivered, ms. */
      freshnessMs: number;
    }
  /**
   * Records of an attempt failed, one event per stage and error code: `processing` (the
   * processing stage refused them) or `delivery` (the destination did). `retrying` true is a
   * retry to come; false means the records left for the error output or the dead set.
   */
  | {
      type: 'delivery.failed';
      stream: string;
      destination: string;
      stage: 'processing' | 'delivery';
      code: string;
      records: number;
      attempt: number;
      retrying: boolean;
    }
  /** Records written to the error output under an error-output type. */
  | {
      type: 'error-output.written';
      stream: string;
      errorOutputType: string;
      records: number;
    }
  /** A backup copy of a batch was written (BackupToS3.Records/Bytes). */
  | { type: 'backup.written'; stream: string; records: number; bytes: number }
  /** A batch was kept in the dead set. */
  | { type: 'batch.dead-lettered'; stream: string; records: number; code: string }
  /**
   * A slice of a batch went through the processors (ExecuteProcessing.Duration and .Success,
   * SucceedProcessing.Records/Bytes): records in, out (delivered on), dropped by the transform,
   * failed; transform invocations and their time.
   */
  | {
      type: 'processing.completed';
      stream: string;
      recordsIn: number;
      recordsOut: number;
      bytesOut: number;
      dropped: number;
      failed: number;
      invocations: number;
      transformMs: number;
    }
  /** A transform invocation failed whole (ExecuteProcessing.Success 0), e.g. not loadable. */
  | { type: 'processing.failed'; stream: string; code: string; records: number }
  /**
   * Processed records went into partition buffers (PartitionCount, PartitionCountExceeded,
   * PerPartitionThroughput): partitions written to, records refused over the active-partition
   * limit, and per partition its records and bytes (bounded by the limit per event).
   */
  | {
      type: 'partitions.written';
      stream: string;
      partitions: number;
      overLimitRecords: number;
      perPartition: readonly { keys: string; records: number; bytes: number }[];
    }
  /**
   * The Firehose API answered a request (`<Operation>.Latency`, `.Requests`): its operation
   * (`unknown` when the target names none), `ok` or the error type answered, and the time from
   * the request's arrival to its answer.
   */
  | { type: 'api.answered'; operation: string; outcome: string; durationMs: number };

/** Where telemetry events go. Must not throw and must return quickly (hot path). */
export interface Telemetry {
  emit(event: TelemetryEvent): void;
}

/** Telemetry that goes nowhere: the default until metrics are wired. */
export const NO_TELEMETRY: Telemetry = { emit: () => undefined };
