import type { MetricsRedis } from './metrics-redis.js';
import { withinTime } from '../lifecycle/time-limit.js';
import { DeploymentMetrics, type StreamMetricKeys } from './deployment-metrics.js';
import { DurableCounters, type CounterKeys } from './durable-counters.js';
import type { Telemetry } from './events.js';
import type { Logger } from './logger.js';
import { ProcessMetrics } from './metrics-registry.js';
import { PrometheusTelemetry } from './prometheus-telemetry.js';

/** How often a process writes its counts to Redis. */
export const FLUSH_INTERVAL_MS = 1_000;

/** Longest a scrape waits for each of its two Redis steps; Prometheus gives a scrape 10 s. */
const SCRAPE_REDIS_TIMEOUT_MS = 3_000;

/** The content type of the Prometheus text format, version 0.0.4. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** What `/metrics` serves: the exposition text of a process's metrics. */
export interface MetricsSource {
  render(): Promise<string>;
}

/** What {@link Metrics} needs from the service. */
export interface MetricsOptions {
  /** Command access: PING, and pipelines that may span streams. */
  redis: MetricsRedis;
  /** `SLUICE_ROLE`: the `role` label of this process's own metrics. */
  role: string;
  streamNames: () => Promise<string[]>;
  /** Sorted set each flush lists the streams it wrote to in (see durable-counters.ts). */
  countedKey?: string;
  keysOf: (stream: string) => StreamMetricKeys & CounterKeys;
  /** `SLUICE_MAX_BACKLOG_MB` in bytes. */
  backlogLimitBytes: number;
  log: Logger;
  flushIntervalMs?: number;
}

/**
 * A process's metrics: the telemetry sink the API and the driver report to, and the
 * `/metrics` exposition — the deployment's durable series (read from Redis, the same from
 * every process) followed by this process's own (prom-client's registry).
 */
export class Metrics implements MetricsSource {
  /** Where the API, the driver and the processing job report events. */
  readonly telemetry: Telemetry;
  private readonly counters: DurableCounters;
  private readonly local: ProcessMetrics;
  private readonly deployment: DeploymentMetrics;
  private flushFailing = false;

  constructor(options: MetricsOptions) {
    const { log } = options;
    this.local = new ProcessMetrics(options.role);
    this.counters = new DurableCounters({
      redis: options.redis,
      keysOf: options.keysOf,
      countedKey: options.countedKey,
      flushIntervalMs: options.flushIntervalMs ?? FLUSH_INTERVAL_MS,
      onFlushError: (error) => {
        this.local.flushFailures.inc();
        // Once per outage, not once a second: Redis's connection errors are logged already.
        if (!this.flushFailing) {
          log.warn({ err: error }, 'metrics counts could not be written to Redis; kept for later');
        }
        this.flushFailing = true;
      },
      onFlushed: () => {
        this.flushFailing = false;
      },
    });
    this.deployment = new DeploymentMetrics({
      redis: options.redis,
      streamNames: options.streamNames,
      keysOf: options.keysOf,
      backlogLimitBytes: options.backlogLimitBytes,
      timeoutMs: SCRAPE_REDIS_TIMEOUT_MS,
      onReadError: (error) => {
        this.local.deploymentReadFailures.inc();
        log.debug({ err: error }, "metrics scrape could not read the deployment's series");
      },
    });
    this.telemetry = new PrometheusTelemetry(this.counters, this.local);
  }

  /** Starts writing counts to Redis every second. */
  start(): void {
    this.counters.start();
  }

  /**
   * The exposition text. This process's counts are written first, so its own traffic is in
   * the totals at once; other processes' are, within their flush interval.
   */
  async render(): Promise<string> {
    // Bounded: with Redis hanging, the scrape still answers (then without the deployment's
    // series, see DeploymentMetrics).
    await withinTime(this.counters.flush(), SCRAPE_REDIS_TIMEOUT_MS);
    const [deployment, local] = await Promise.all([this.deployment.render(), this.local.render()]);
    return deployment + local;
  }

  /** Writes the counts left and stops; the registry is cleared. */
  async stop(): Promise<void> {
    await this.counters.stop();
    this.local.close();
  }
}
