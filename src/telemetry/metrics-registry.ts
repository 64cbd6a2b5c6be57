import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * Buckets of the transform duration histogram, seconds: a built-in processor takes
 * milliseconds, a Lambda-style transform up to its timeout (at most 300 s).
 */
const PROCESSING_DURATION_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];

/**
 * Buckets of the API latency histogram, seconds: a PutRecordBatch answers in milliseconds; a
 * slow client or a Redis under pressure makes it seconds.
 */
const API_DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
];

/**
 * This process's own metrics, in a prom-client registry: Node's and the process's (CPU,
 * memory, event loop lag, GC), transform durations, and how metrics themselves fare. Each
 * carries the label `role` (`all`, `api` or `worker`); Prometheus adds `instance`. Unlike the
 * durable families, these differ from process to process and are summed across them.
 */
export class ProcessMetrics {
  readonly registry = new Registry();
  /** Time the transforms took per processed slice (Firehose ExecuteProcessing.Duration). */
  readonly processingDuration: Histogram<'stream'>;
  /** Time the Firehose API took to answer, per operation and outcome (`<Operation>.Latency`). */
  readonly apiRequestDuration: Histogram<'operation' | 'outcome'>;
  /** Flushes of the durable counters that failed (their increments wait for the next). */
  readonly flushFailures: Counter;
  /** Scrapes that could not read the deployment's metrics from Redis. */
  readonly deploymentReadFailures: Counter;

  constructor(role: string) {
    this.registry.setDefaultLabels({ role });
    collectDefaultMetrics({ register: this.registry });
    this.processingDuration = new Histogram({
      name: 'sluice_processing_duration_seconds',
      help: 'Time the transforms of one processed slice took, in this process (Firehose ExecuteProcessing.Duration).',
      labelNames: ['stream'],
      buckets: PROCESSING_DURATION_BUCKETS,
      registers: [this.registry],
    });
    this.apiRequestDuration = new Histogram({
      name: 'sluice_api_request_duration_seconds',
      help: 'Time from the arrival of a Firehose API request to its answer, in this process, by operation and outcome (ok or the error type answered).',
      labelNames: ['operation', 'outcome'],
      buckets: API_DURATION_BUCKETS,
      registers: [this.registry],
    });
    this.flushFailures = new Counter({
      name: 'sluice_metrics_flush_failures_total',
      help: "Writes of this process's counts to Redis that failed; the counts are kept and written by a later flush.",
      registers: [this.registry],
    });
    this.deploymentReadFailures = new Counter({
      name: 'sluice_metrics_redis_read_failures_total',
      help: "Scrapes of this process that could not read the deployment's metrics from Redis.",
      registers: [this.registry],
    });
  }

  /** The registry's exposition text. */
  async render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Stops collecting (the event loop monitor) and forgets every metric. */
  close(): void {
    this.registry.clear();
  }
}
