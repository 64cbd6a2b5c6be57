import type { RedisClient } from '../redis/client.js';
import type { Logger } from '../telemetry/logger.js';
import { SEAL_SCHEDULE_KEY, streamKeys } from '../streams/keys.js';
import { nextCheckAt } from './next-check.js';
import type { PartitionBuffer } from './partition-buffer.js';
import type { RecordBuffer } from './record-buffer.js';
import type { SealSchedule } from './seal-schedule.js';
import { crossSlotPipeline } from '../redis/cross-slot-pipeline.js';

/** Settings for {@link SealTicker}. */
export interface SealTickerOptions {
  buffer: RecordBuffer;
  partitions?: PartitionBuffer | undefined;
  schedule: SealSchedule;
  /** Command connection, for reading what a visited stream has left. */
  redis: RedisClient;
  /** Every stream's name, for the reconciling pass. */
  streamNames: () => Promise<string[]>;
  /** Enqueues the stream's batches sealed before the time but never enqueued; returns how many. */
  enqueueStranded: (stream: string, sealedBeforeMs: number) => Promise<number>;
  tickMs: number;
  /** How often every stream is checked for buffers the schedule lost (default 5 min). */
  reconcileMs?: number;
  log: Logger;
}

/** Most due streams one tick takes; the next tick takes the rest. */
const DUE_PER_TICK = 1000;
/** Visits run at once in one tick. */
const VISITS_AT_ONCE = 32;
/** Streams read per pipeline in the reconciling pass. */
const RECONCILE_PAGE = 500;
const DEFAULT_RECONCILE_MS = 5 * 60_000;
/** How soon after a failed pass the reconciling pass runs (see `reconcileSoon`). */
const RECONCILE_AFTER_ERROR_MS = 5_000;

/**
 * Seals buffers whose oldest record has reached the stream's `IntervalInSeconds` (and
 * partition buffers that are due), seals the buffers of streams being deleted, and enqueues
 * batches a dead process sealed but never enqueued. Runs in every `api` process; the seal
 * scripts are atomic, so several tickers never seal one buffer twice.
 *
 * A tick visits only the streams the seal schedule says are due (seal-schedule.ts), so its
 * cost grows with the streams that have buffered records, not with the number of streams. A
 * reconciling pass over every stream at start and every few minutes puts back what the
 * schedule missed (buffers of a version without it, a touch that failed): it costs one
 * pipelined read per {@link RECONCILE_PAGE} streams.
 */
export class SealTicker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private reconciledAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: SealTickerOptions) {}

  /** Starts ticking; the first tick reconciles. */
  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick()
        .catch((error: unknown) => {
          this.reconcileSoon();
          this.options.log.warn({ err: error }, 'seal tick failed');
        })
        .finally(() => {
          this.running = undefined;
        });
    }, this.options.tickMs);
    this.timer.unref();
  }

  /**
   * One pass over the due streams (and the reconciling pass when it is time). `fixedNow` (for
   * tests) stands for the clock; otherwise each visit reads it when it starts, so that a long
   * pass never takes a lease older than the puts it must stay ahead of.
   */
  async tick(fixedNow?: number): Promise<void> {
    const { schedule, log } = this.options;
    const clock = () => fixedNow ?? Date.now();
    const now = clock();
    if (now - this.reconciledAt >= (this.options.reconcileMs ?? DEFAULT_RECONCILE_MS)) {
      await this.reconcile(now);
      this.reconciledAt = now;
    }
    const due = await schedule.due(clock(), DUE_PER_TICK);
    let swept = 0;
    const failures: unknown[] = [];
    for (let start = 0; start < due.length; start += VISITS_AT_ONCE) {
      const visits = due.slice(start, start + VISITS_AT_ONCE).map(({ stream }) =>
        this.visit(stream, clock).then(
          (count) => {
            swept += count;
          },
          (error: unknown) => {
            failures.push(error);
          },
        ),
      );
      await Promise.all(visits);
    }
    if (swept > 0) {
      log.info({ event: 'batches.swept', count: swept }, 'seal ticker enqueued stranded batches');
    }
    // One line per tick, not per stream: a Redis outage fails every visit alike.
    if (failures.length > 0) {
      this.reconcileSoon();
      log.warn(
        { err: failures[0], streams: failures.length },
        'seal ticker could not visit some streams; they are visited again after the lease',
      );
    }
  }

  /**
   * Seals what is due of one stream, enqueues its stranded batches, and schedules its next
   * visit. A visit that fails keeps its lease: the stream is visited again when it ends.
   *
   * @returns how many stranded batches were enqueued.
   */
  private async visit(stream: string, clock: () => number): Promise<number> {
    const { schedule, buffer, partitions, redis } = this.options;
    const now = clock();
    const lease = await schedule.lease(stream, now);
    await buffer.sealIfDue(stream, now);
    await partitions?.sealDue(stream, now);
    const swept = await this.options.enqueueStranded(stream, now - schedule.graceMs);
    // Read after the lease: a buffer opened since is either seen here or touched the schedule.
    const next = await nextCheckAt(redis, stream, now, schedule.graceMs);
    // A put's touch lowers the lease only while it comes less than a grace after the lease was
    // taken; a visit slower than that (Redis stalled) cannot tell, so it keeps the stream.
    const late = clock() >= lease - schedule.graceMs;
    await schedule.settle(stream, lease, late ? Math.min(next ?? lease, lease) : next);
    return swept;
  }

  /**
   * After a failed pass: reconcile within {@link RECONCILE_AFTER_ERROR_MS} rather than at the next
   * regular time. What failed may be Redis failing over, which can lose the schedule's last
   * writes (they are not waited for on replicas); reconciling puts back what was lost.
   */
  private reconcileSoon(): void {
    const every = this.options.reconcileMs ?? DEFAULT_RECONCILE_MS;
    this.reconciledAt = Math.min(this.reconciledAt, Date.now() - every + RECONCILE_AFTER_ERROR_MS);
  }

  /** Schedules, for now, every stream that holds an open buffer or a sealed batch and is not scheduled. */
  private async reconcile(now: number): Promise<void> {
    const { redis, schedule } = this.options;
    const names = await this.options.streamNames();
    let found = 0;
    for (let start = 0; start < names.length; start += RECONCILE_PAGE) {
      const page = names.slice(start, start + RECONCILE_PAGE);
      const read = crossSlotPipeline(redis);
      for (const name of page) {
        const keys = streamKeys(name);
        read.exists(keys.open);
        read.zcard(keys.partitions);
        read.zcard(keys.sealed);
        read.zscore(SEAL_SCHEDULE_KEY, name);
      }
      const replies = (await read.exec()) ?? [];
      const failed = replies.find(([error]) => error !== null)?.[0];
      if (failed) throw failed;
      // Streams scheduled already keep their time: only the ones the schedule lost are added.
      const holding = page.filter(
        (_, i) =>
          replies[i * 4 + 3]?.[1] === null &&
          [0, 1, 2].some((k) => Number(replies[i * 4 + k]?.[1] ?? 0) > 0),
      );
      for (const name of holding) await schedule.touch(name, now);
      found += holding.length;
    }
    if (found > 0) this.options.log.debug({ streams: found }, 'seal schedule reconciled');
  }

  /** Stops ticking and waits for a pass in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
