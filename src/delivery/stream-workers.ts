import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { remaining, TIMED_OUT, withinTime } from '../lifecycle/time-limit.js';
import type { Logger } from '../telemetry/logger.js';
import type { StreamRegistry } from '../streams/registry.js';
import { DELIVERY_QUEUE_NAME, streamKeys, streamPrefix } from '../streams/keys.js';
import { retryDelayMs } from './backoff.js';
import type { DeliveryDriver } from './driver.js';
import type { DeliveryJobData, DeliveryQueues } from './delivery-queues.js';

/** Settings for {@link StreamWorkers}. */
export interface StreamWorkersOptions {
  /** Connection for BullMQ workers (`maxRetriesPerRequest: null`); each worker duplicates it. */
  connection: Redis;
  /** Shared command connection. */
  redis: Redis;
  registry: StreamRegistry;
  queues: DeliveryQueues;
  driver: DeliveryDriver;
  concurrency: number;
  retryBaseMs: number;
  retryMaxMs: number;
  log: Logger;
  /** How often the set of streams is re-read. */
  syncIntervalMs?: number;
}

/**
 * A job whose worker died is taken over after its lock expires. Shorter than BullMQ's 30 s
 * default so a crashed process delays its batches by seconds, not half a minute.
 */
const LOCK_DURATION_MS = 10_000;
const STALLED_INTERVAL_MS = 5_000;

/**
 * Keeps one BullMQ worker per delivery stream in this process: starts workers for new streams,
 * stops them for removed ones, and removes a deleted stream once its backlog is delivered.
 * A queue per stream means one failing destination never holds back another stream.
 */
export class StreamWorkers {
  private readonly workers = new Map<string, Worker<DeliveryJobData, string>>();
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private closed = false;
  private started = false;

  constructor(private readonly options: StreamWorkersOptions) {}

  /** Starts the workers for the streams that exist now, then keeps them in step. */
  async start(): Promise<void> {
    await this.sync();
    this.started = true;
    this.timer = setInterval(() => {
      if (this.syncing) return;
      this.syncing = this.sync()
        .catch((error: unknown) => this.options.log.warn({ err: error }, 'stream sync failed'))
        .finally(() => {
          this.syncing = undefined;
        });
    }, this.options.syncIntervalMs ?? 1000);
    this.timer.unref();
  }

  /**
   * Why this process is not delivering, or undefined when it is: started, not closing, and
   * every stream's BullMQ worker in its main loop (one whose loop ended, say on a Redis error
   * at its start, takes no more jobs). For `GET /ready`.
   */
  notRunning(): string | undefined {
    if (this.closed) return 'delivery workers are stopping';
    if (!this.started) return 'delivery workers are starting';
    const stopped = [...this.workers].filter(([, worker]) => !worker.isRunning());
    if (stopped.length === 0) return undefined;
    const names = stopped.slice(0, 5).map(([name]) => name);
    const more = stopped.length > names.length ? `, and ${stopped.length - names.length} more` : '';
    return `the delivery worker of ${stopped.length} stream(s) is not running: ${names.join(', ')}${more}`;
  }

  /** Streams with a worker in this process. */
  streams(): string[] {
    return [...this.workers.keys()];
  }

  private async sync(): Promise<void> {
    const { registry } = this.options;
    const names = new Set(await registry.listAllNames());
    for (const name of names) {
      if (this.closed) return;
      if (!this.workers.has(name)) this.workers.set(name, this.createWorker(name));
      const definition = await registry.get(name);
      if (definition?.status === 'DELETING' && (await this.isDrained(name))) {
        await this.finishDeletion(name);
      }
    }
    for (const name of this.workers.keys()) {
      if (!names.has(name)) await this.stopWorker(name);
    }
  }

  private createWorker(stream: string): Worker<DeliveryJobData, string> {
    const { options } = this;
    const worker = new Worker<DeliveryJobData, string>(
      DELIVERY_QUEUE_NAME,
      (job) => options.driver.process(job),
      {
        connection: options.connection,
        prefix: streamPrefix(stream),
        concurrency: options.concurrency,
        lockDuration: LOCK_DURATION_MS,
        stalledInterval: STALLED_INTERVAL_MS,
        // A batch whose worker keeps dying is still retried, never failed for stalling.
        maxStalledCount: Number.MAX_SAFE_INTEGER,
        settings: {
          backoffStrategy: (attemptsMade: number) =>
            retryDelayMs(attemptsMade, options.retryBaseMs, options.retryMaxMs),
        },
      },
    );
    worker.on('error', (error) =>
      options.log.warn({ err: error, stream }, 'delivery worker error'),
    );
    return worker;
  }

  /** Drained: nothing open, nothing sealed, nothing undelivered left in the backlog. */
  private async isDrained(stream: string): Promise<boolean> {
    const keys = streamKeys(stream);
    const [open, sealed, backlog] = await Promise.all([
      this.options.redis.exists(keys.open),
      this.options.redis.zcard(keys.sealed),
      this.options.redis.hget(keys.stats, 'backlogRecords'),
    ]);
    return open === 0 && sealed === 0 && Number(backlog ?? 0) === 0;
  }

  /**
   * Removes a deleted, drained stream. Its dead-lettered batches (data and dead set) stay in
   * Redis: they are records nobody has received yet.
   */
  private async finishDeletion(stream: string): Promise<void> {
    await this.stopWorker(stream);
    await this.options.queues.obliterate(stream);
    const keys = streamKeys(stream);
    await this.options.redis.del(keys.open, keys.sealed, keys.stats);
    const removed = await this.options.registry.remove(stream);
    // After the definition is gone: counts flushed later are dropped, not written back, and
    // the console samples it no more.
    await this.options.redis.del(keys.metrics, keys.consoleHistory);
    // Several worker processes may finish the same deletion; the one that removed it says so.
    if (removed) {
      this.options.log.info(
        { event: 'stream.drained', stream },
        'deleted stream drained and removed',
      );
    }
  }

  private async stopWorker(stream: string): Promise<void> {
    const worker = this.workers.get(stream);
    this.workers.delete(stream);
    await worker?.close();
  }

  /**
   * Stops taking jobs and waits for in-flight deliveries, at most `timeoutMs` in all (a stream
   * sync in progress included: with Redis unreachable it may never end). A delivery still
   * running then is abandoned: its batch stays in Redis, and once its lock expires another
   * worker (or this one after a restart) takes it over.
   */
  async close(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    // A sync in progress sees `closed` before creating any further worker.
    await withinTime(this.syncing ?? Promise.resolve(), remaining(deadline));
    const workers = [...this.workers.values()];
    this.workers.clear();
    // Not awaited past the deadline: BullMQ's close waits for the stuck job and would hold the
    // process; it exits instead, and the job's lock expires.
    const graceful = Promise.all(workers.map((w) => w.close()));
    if ((await withinTime(graceful, remaining(deadline))) === TIMED_OUT) {
      this.options.log.warn({ timeoutMs }, 'in-flight deliveries abandoned at shutdown');
    }
  }
}
