import type { MetricSample } from './metrics-text.js';

/**
 * A stream's totals, from the deployment series of `/metrics` (docs/metrics.md): what came in,
 * what was delivered, what waits, what failed. Counters count since the stream was created
 * (a Sluice keeps them in Redis).
 */
export interface StreamStats {
  readonly stream: string;
  /** Destination kinds the stream delivered to (`S3`, `HttpEndpoint`, …), when it has. */
  destinations: string[];
  incomingRecords: number;
  incomingBytes: number;
  incomingPutRequests: number;
  throttledRecords: number;
  deliveredRecords: number;
  deliveredBytes: number;
  /** Delivery attempts that failed and were retried. */
  deliveryRetries: number;
  backlogRecords: number;
  backlogBytes: number;
  /** Age of the oldest record not yet sealed into a batch. */
  openBufferAgeSeconds: number;
  batchesCompleted: number;
  deadLetteredBatches: number;
  deadLetteredRecords: number;
  /** Batches in the dead set now (`sluice dead` lists them). */
  deadSetBatches: number;
  errorOutputRecords: number;
  /** Error-output records by type (`http-endpoint-failed`, …). */
  errorOutputByType: Record<string, number>;
}

/** Which field each series adds to. */
const FIELDS: Readonly<Record<string, keyof StreamStats>> = {
  sluice_incoming_records_total: 'incomingRecords',
  sluice_incoming_bytes_total: 'incomingBytes',
  sluice_incoming_put_requests_total: 'incomingPutRequests',
  sluice_throttled_records_total: 'throttledRecords',
  sluice_delivery_records_total: 'deliveredRecords',
  sluice_delivery_bytes_total: 'deliveredBytes',
  sluice_delivery_retries_total: 'deliveryRetries',
  sluice_backlog_records: 'backlogRecords',
  sluice_backlog_bytes: 'backlogBytes',
  sluice_open_buffer_age_seconds: 'openBufferAgeSeconds',
  sluice_batches_completed_total: 'batchesCompleted',
  sluice_dead_lettered_batches_total: 'deadLetteredBatches',
  sluice_dead_lettered_records_total: 'deadLetteredRecords',
  sluice_dead_set_batches: 'deadSetBatches',
  sluice_error_output_records_total: 'errorOutputRecords',
};

function empty(stream: string): StreamStats {
  return {
    stream,
    destinations: [],
    incomingRecords: 0,
    incomingBytes: 0,
    incomingPutRequests: 0,
    throttledRecords: 0,
    deliveredRecords: 0,
    deliveredBytes: 0,
    deliveryRetries: 0,
    backlogRecords: 0,
    backlogBytes: 0,
    openBufferAgeSeconds: 0,
    batchesCompleted: 0,
    deadLetteredBatches: 0,
    deadLetteredRecords: 0,
    deadSetBatches: 0,
    errorOutputRecords: 0,
    errorOutputByType: {},
  };
}

/** Every stream the samples name, by name, in name order. */
export function statsByStream(samples: readonly MetricSample[]): StreamStats[] {
  const byStream = new Map<string, StreamStats>();
  for (const sample of samples) {
    const stream = sample.labels.stream;
    if (stream === undefined || !sample.name.startsWith('sluice_')) continue;
    let stats = byStream.get(stream);
    if (stats === undefined) {
      stats = empty(stream);
      byStream.set(stream, stats);
    }
    const field = FIELDS[sample.name];
    if (field === undefined) continue;
    (stats[field] as number) += sample.value;
    const destination = sample.labels.destination;
    if (destination !== undefined && !stats.destinations.includes(destination)) {
      stats.destinations.push(destination);
    }
    const type = sample.labels.type;
    if (field === 'errorOutputRecords' && type !== undefined) {
      stats.errorOutputByType[type] = (stats.errorOutputByType[type] ?? 0) + sample.value;
    }
  }
  return [...byStream.values()].sort((a, b) => (a.stream < b.stream ? -1 : 1));
}
