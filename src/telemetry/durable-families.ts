/**
 * The metric families whose values are kept in Redis (one hash per stream), so that every
 * process reports the deployment's totals for them however many api and worker processes
 * share the work. Each is named after the Firehose CloudWatch metric it stands for
 * (docs/metrics.md has the table).
 *
 * A series is stored as one hash field: the metric name and its label values (besides
 * `stream`, which the hash is per), joined by `|`; a histogram adds `le=<bound>` per bucket
 * and `sum_ms`. The names are part of the data in Redis: change one and the old counts are no
 * longer read.
 */

/** A durable metric family. */
export interface DurableFamily {
  name: string;
  type: 'counter' | 'histogram';
  help: string;
  /** Label names after `stream`, in the order their values are stored. */
  labels: readonly string[];
  /** Histograms: bucket upper bounds in seconds, ascending (`+Inf` is implied). */
  buckets?: readonly number[];
}

/**
 * Buckets of the data freshness histogram, seconds: from sub-second zero-buffering streams to
 * Firehose's longest buffering interval (900 s) and the 24-hour retention window.
 */
export const FRESHNESS_BUCKETS: readonly number[] = [
  0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 21600, 86400,
];

/** Every durable family, keyed by name. */
export const DURABLE = {
  incomingBytes: {
    name: 'sluice_incoming_bytes_total',
    type: 'counter',
    help: 'Bytes of record data accepted by PutRecord and PutRecordBatch (Firehose IncomingBytes).',
    labels: [],
  },
  incomingRecords: {
    name: 'sluice_incoming_records_total',
    type: 'counter',
    help: 'Records accepted by PutRecord and PutRecordBatch (Firehose IncomingRecords).',
    labels: [],
  },
  incomingPutRequests: {
    name: 'sluice_incoming_put_requests_total',
    type: 'counter',
    help: 'PutRecord and PutRecordBatch requests whose records were stored (Firehose IncomingPutRequests).',
    labels: [],
  },
  throttledRecords: {
    name: 'sluice_throttled_records_total',
    type: 'counter',
    help: 'Records refused with "Slow down." because the stream backlog reached SLUICE_MAX_BACKLOG_MB (Firehose ThrottledRecords).',
    labels: [],
  },
  deliveryRecords: {
    name: 'sluice_delivery_records_total',
    type: 'counter',
    help: 'Records a destination took (Firehose DeliveryTo<Destination>.Records).',
    labels: ['destination'],
  },
  deliveryBytes: {
    name: 'sluice_delivery_bytes_total',
    type: 'counter',
    help: 'Bytes of record data a destination took, before compression (Firehose DeliveryTo<Destination>.Bytes).',
    labels: ['destination'],
  },
  deliverySuccess: {
    name: 'sluice_delivery_success_total',
    type: 'counter',
    help: 'Delivery attempts in which the destination took records (numerator of Firehose DeliveryTo<Destination>.Success).',
    labels: ['destination'],
  },
  deliveryFailedRecords: {
    name: 'sluice_delivery_failed_records_total',
    type: 'counter',
    help: 'Records that failed a delivery attempt, by stage (processing or delivery), error code and whether they are retried ("true") or given up to the error output or dead set ("false").',
    labels: ['destination', 'stage', 'code', 'retrying'],
  },
  deliveryRetries: {
    name: 'sluice_delivery_retries_total',
    type: 'counter',
    help: 'Delivery attempts that failed and will be retried, one per attempt and error code.',
    labels: ['destination'],
  },
  deliveryFreshness: {
    name: 'sluice_delivery_data_freshness_seconds',
    type: 'histogram',
    help: 'Age of the oldest record of each delivery when the destination took it (Firehose DeliveryTo<Destination>.DataFreshness).',
    labels: ['destination'],
    buckets: FRESHNESS_BUCKETS,
  },
  errorOutputRecords: {
    name: 'sluice_error_output_records_total',
    type: 'counter',
    help: 'Records written to the error output, by error-output type.',
    labels: ['type'],
  },
  errorOutputObjects: {
    name: 'sluice_error_output_objects_total',
    type: 'counter',
    help: 'Error-output objects written, by error-output type.',
    labels: ['type'],
  },
  backupRecords: {
    name: 'sluice_backup_records_total',
    type: 'counter',
    help: 'Records written to the S3 backup (Firehose BackupToS3.Records).',
    labels: [],
  },
  backupBytes: {
    name: 'sluice_backup_bytes_total',
    type: 'counter',
    help: 'Bytes of record data written to the S3 backup (Firehose BackupToS3.Bytes).',
    labels: [],
  },
  backupObjects: {
    name: 'sluice_backup_objects_total',
    type: 'counter',
    help: 'Backup objects written (Firehose BackupToS3.Success counts these).',
    labels: [],
  },
  processingInvocations: {
    name: 'sluice_processing_invocations_total',
    type: 'counter',
    help: 'Transform invocations made by the processing stage (denominator of Firehose ExecuteProcessing.Success).',
    labels: [],
  },
  processingFailures: {
    name: 'sluice_processing_failures_total',
    type: 'counter',
    help: 'Slices whose transform could not run at all (not loadable), by error code; the batch is retried.',
    labels: ['code'],
  },
  processingRecordsIn: {
    name: 'sluice_processing_input_records_total',
    type: 'counter',
    help: 'Records that went into the processors.',
    labels: [],
  },
  processingSucceededRecords: {
    name: 'sluice_processing_succeeded_records_total',
    type: 'counter',
    help: 'Records the processors returned Ok (Firehose SucceedProcessing.Records).',
    labels: [],
  },
  processingSucceededBytes: {
    name: 'sluice_processing_succeeded_bytes_total',
    type: 'counter',
    help: 'Bytes of the records the processors returned Ok (Firehose SucceedProcessing.Bytes).',
    labels: [],
  },
  processingDroppedRecords: {
    name: 'sluice_processing_dropped_records_total',
    type: 'counter',
    help: 'Records the transform returned as Dropped.',
    labels: [],
  },
  processingFailedRecords: {
    name: 'sluice_processing_failed_records_total',
    type: 'counter',
    help: 'Records the processors failed (to the processing-failed error output).',
    labels: [],
  },
  partitionLimitExceeded: {
    name: 'sluice_partition_count_exceeded_records_total',
    type: 'counter',
    help: 'Records refused because the active-partition limit was reached (Firehose PartitionCountExceeded).',
    labels: [],
  },
} as const satisfies Record<string, DurableFamily>;

/** The durable families in the order they are rendered. */
export const DURABLE_FAMILIES: readonly DurableFamily[] = Object.values(DURABLE);

const FAMILIES_BY_NAME = new Map(DURABLE_FAMILIES.map((family) => [family.name, family]));

/** The family a stored field belongs to, or undefined for a field of no known family. */
export function familyOfField(field: string): DurableFamily | undefined {
  const end = field.indexOf('|');
  return FAMILIES_BY_NAME.get(end === -1 ? field : field.slice(0, end));
}

/**
 * A label value as stored in a field: `|` and `%` percent-encoded, so that values never split
 * a field wrongly. Label values come from bounded sets (destination kinds, error codes,
 * error-output types), which contain neither in practice.
 */
function encodeValue(value: string): string {
  return value.includes('|') || value.includes('%')
    ? value.replaceAll('%', '%25').replaceAll('|', '%7C')
    : value;
}

function decodeValue(value: string): string {
  return value.includes('%') ? value.replaceAll('%7C', '|').replaceAll('%25', '%') : value;
}

/** The field of a counter series: its family's name and label values. */
export function counterField(family: DurableFamily, values: readonly string[] = []): string {
  if (values.length === 0) return family.name;
  return `${family.name}|${values.map(encodeValue).join('|')}`;
}

/** The fields a histogram observation adds 1 to (its bucket) and `ms` to (the sum). */
export function histogramFields(
  family: DurableFamily,
  values: readonly string[],
  seconds: number,
): { bucket: string; sumMs: string } {
  const prefix = counterField(family, values);
  const bound = family.buckets?.find((upper) => seconds <= upper);
  return {
    bucket: `${prefix}|le=${bound === undefined ? '+Inf' : String(bound)}`,
    sumMs: `${prefix}|sum_ms`,
  };
}

/** A stored field read back: its family, label values and, for histograms, which part. */
export interface ParsedField {
  family: DurableFamily;
  values: string[];
  /** Histograms: a bucket's upper bound (`+Inf` as Infinity), or `sum` for the sum in ms. */
  part?: number | 'sum';
}

/** Reads a stored field; undefined when it belongs to no known family or is malformed. */
export function parseField(field: string): ParsedField | undefined {
  const family = familyOfField(field);
  if (family === undefined) return undefined;
  const parts = field.split('|').slice(1);
  if (family.type === 'counter') {
    if (parts.length !== family.labels.length) return undefined;
    return { family, values: parts.map(decodeValue) };
  }
  if (parts.length !== family.labels.length + 1) return undefined;
  const last = parts.pop() as string;
  const values = parts.map(decodeValue);
  if (last === 'sum_ms') return { family, values, part: 'sum' };
  if (!last.startsWith('le=')) return undefined;
  const bound = last === 'le=+Inf' ? Infinity : Number(last.slice(3));
  if (Number.isNaN(bound)) return undefined;
  return { family, values, part: bound };
}
