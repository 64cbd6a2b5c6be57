import { Queue, QueueKeys } from 'bullmq';
import type { RedisClient } from '../redis/client.js';
import { TIMED_OUT, withinTime } from '../lifecycle/time-limit.js';
import { DELIVERY_QUEUE_NAME, streamPrefix } from '../streams/keys.js';
import { ActiveStreams } from './active-streams.js';
import type { BatchStore } from './batch-store.js';
import { crossSlotPipeline } from '../redis/cross-slot-pipeline.js';

/** The job payload: which batch of which stream to deliver. */
export interface DeliveryJobData {
  stream: string;
  batchId: string;
}

/**
 * Attempts are bounded by the retention window (checked by the driver), not by a count; this
 * is only a backstop far beyond any window the settings allow.
 */
const MAX_ATTEMPTS = 1_000_000;

/**
 * Longest wait for BullMQ to take a job. Its connection queues commands while Redis is
 * unreachable and waits for it to return (`maxRetriesPerRequest: null`), which would hold the
 * put that sealed the batch and the seal ticker, and with them the shutdown.
 */
const ENQUEUE_TIMEOUT_MS = 10_000;

/**
 * A queue object not asked for this long is closed (and made again when next needed): far
 * longer than any call made on one, so none is closed in use.
 */
const QUEUE_IDLE_MS = 10 * 60_000;

/**
 * One BullMQ queue per stream, one job per sealed batch with `jobId` = batch id, so adding the
 * same batch twice (a sealer and the seal ticker's re-enqueue racing) is a no-op.
 */
export class DeliveryQueues {
  /** Queue objects by stream, with when each was last asked for. */
  private readonly queues = new Map<string, { queue: Queue<DeliveryJobData>; usedMs: number }>();
  private sweptMs = Date.now();
  /** The streams whose queue may hold jobs: the ones delivery processes run a worker for. */
  readonly active: ActiveStreams;

  /**
   * @param onError - told of a queue's connection errors (a Redis outage), which BullMQ would
   *   otherwise print to stderr as raw stack traces, outside the JSON log.
   */
  constructor(
    private readonly connection: RedisClient,
    private readonly store: BatchStore,
    private readonly onError: (error: Error, stream: string) => void = () => undefined,
  ) {
    this.active = new ActiveStreams(connection);
  }

  /**
   * The stream's queue (created on first use, shared afterwards). Queue objects not asked for
   * in {@link QUEUE_IDLE_MS} are closed, so a process holds objects for the streams it works
   * for, not for every stream it ever enqueued to (about 9 KB and a listener each).
   */
  queue(stream: string): Queue<DeliveryJobData> {
    const now = Date.now();
    if (now - this.sweptMs >= QUEUE_IDLE_MS) this.closeIdle(now);
    const known = this.queues.get(stream);
    if (known) {
      known.usedMs = now;
      return known.queue;
    }
    const queue = new Queue<DeliveryJobData>(DELIVERY_QUEUE_NAME, {
      connection: this.connection,
      prefix: streamPrefix(stream),
    });
    queue.on('error', (error: Error) => this.onError(error, stream));
    this.queues.set(stream, { queue, usedMs: now });
    return queue;
  }

  /** Closes the queue objects not asked for since `now - QUEUE_IDLE_MS` (their data stays). */
  private closeIdle(now: number): void {
    this.sweptMs = now;
    for (const [stream, { usedMs }] of this.queues) {
      if (now - usedMs >= QUEUE_IDLE_MS) void this.forget(stream).catch(() => undefined);
    }
  }

  /**
   * Enqueues a sealed batch, lists its stream as active, then clears the batch from the list
   * of sealed batches not yet enqueued.
   *
   * @throws Error when the queue does not take the job within {@link ENQUEUE_TIMEOUT_MS}. The
   *   batch is durable and listed as sealed either way, so the seal ticker enqueues it later.
   */
  async enqueue(stream: string, batchId: string): Promise<void> {
    const added = this.queue(stream).add(
      'deliver',
      { stream, batchId },
      {
        jobId: batchId,
        attempts: MAX_ATTEMPTS,
        backoff: { type: 'sluice' },
        removeOnComplete: { age: 3600, count: 1000 },
        removeOnFail: false,
      },
    );
    if ((await withinTime(added, ENQUEUE_TIMEOUT_MS)) === TIMED_OUT) {
      throw new Error(
        `enqueueing batch ${batchId} of ${stream} took over ${ENQUEUE_TIMEOUT_MS} ms; the seal ticker retries it`,
      );
    }
    await this.active.add(stream);
    await this.store.markEnqueued(stream, batchId);
  }

  /**
   * Those of `streams` whose queue holds a job not yet done (waiting, active, delayed,
   * prioritized or paused), read from BullMQ's keys in one pipeline, without a queue object
   * per stream.
   */
  async withPendingJobs(streams: readonly string[]): Promise<string[]> {
    if (streams.length === 0) return [];
    const read = crossSlotPipeline(this.connection);
    for (const stream of streams) {
      const keys = new QueueKeys(streamPrefix(stream)).getKeys(DELIVERY_QUEUE_NAME);
      read.llen(keys.wait as string);
      read.llen(keys.active as string);
      read.llen(keys.paused as string);
      read.zcard(keys.delayed as string);
      read.zcard(keys.prioritized as string);
    }
    const replies = (await read.exec()) ?? [];
    const failed = replies.find(([error]) => error !== null)?.[0];
    if (failed) throw failed;
    return streams.filter((_, s) =>
      [0, 1, 2, 3, 4].some((k) => Number(replies[s * 5 + k]?.[1] ?? 0) > 0),
    );
  }

  /** Removes a deleted stream's queue and everything in it. */
  async obliterate(stream: string): Promise<void> {
    await this.queue(stream).obliterate({ force: true });
    await this.forget(stream);
  }

  /** Closes one stream's queue object (not its data). */
  async forget(stream: string): Promise<void> {
    const known = this.queues.get(stream);
    this.queues.delete(stream);
    await known?.queue.close();
  }

  /** How many queue objects this process holds (for tests). */
  get size(): number {
    return this.queues.size;
  }

  /** Closes every queue object. */
  async close(): Promise<void> {
    const all = [...this.queues.values()];
    this.queues.clear();
    await Promise.all(all.map(({ queue }) => queue.close()));
  }
}
