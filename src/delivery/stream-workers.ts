import { Worker } from 'bullmq';
import type { RedisClient } from '../redis/client.js';
import { remaining, TIMED_OUT, withinTime } from '../lifecycle/time-limit.js';
import type { Logger } from '../telemetry/logger.js';
import type { StreamRegistry } from '../streams/registry.js';
import { DELIVERY_QUEUE_NAME, streamKeys, streamPrefix } from '../streams/keys.js';
import { retryDelayMs } from './backoff.js';
import type { DeliveryDriver } from './driver.js';
import type { DeliveryJobData, DeliveryQueues } from './delivery-queues.js';
import { crossSlotPipeline } from '../redis/cross-slot-pipeline.js';

/** Settings for {@link StreamWorkers}. */
export interface StreamWorkersOptions {
  /** Connection for BullMQ workers (`maxRetriesPerRequest: null`); each worker duplicates it. */
  connection: RedisClient;
  /** Shared command connection. */
  redis: RedisClient;
  registry: StreamRegistry;
  /** The queues, and the list of active streams they keep. */
  queues: DeliveryQueues;
  driver: DeliveryDriver;
  concurrency: number;
  retryBaseMs: number;
  retryMaxMs: number;
  log: Logger;
  /** How often the active streams are read (a new job waits at most this long for a worker). */
  pollIntervalMs?: number;
  /** How long a stream's worker stays after its last job before it is retired. */
  idleMs?: number;
  /** How often every stream is checked for a backlog the active set lost. */
  reconcileMs?: number;
  /**
   * How long a worker may take no job at all while its queue holds waiting jobs (or delayed
   * ones past due) and none is active, before it is presumed stuck and replaced.
   */
  stuckMs?: number;
  /**
   * How long a sync may run before it is presumed stalled (waiting on a connection a failover
   * left behind) and the next one starts beside it.
   */
  stalledSyncMs?: number;
}

/**
 * A job whose worker died is taken over after its lock expires. Shorter than BullMQ's 30 s
 * default so a crashed process delays its batches by seconds, not half a minute.
 */
const LOCK_DURATION_MS = 10_000;
const STALLED_INTERVAL_MS = 5_000;
const DEFAULT_POLL_MS = 200;
const DEFAULT_IDLE_MS = 15_000;
const DEFAULT_RECONCILE_MS = 5 * 60_000;
/**
 * A healthy worker takes a waiting job within milliseconds (the queue's marker wakes its
 * blocking read, which never waits longer than BullMQ's drain delay of 5 s anyway), or after
 * a Redis error once BullMQ's retry delay of 15 s has passed: twice that of waiting jobs and
 * none taken is a worker whose loop still runs but reads from nowhere, as failovers leave
 * some. Replacing a healthy one by mistake costs a new connection, nothing else.
 */
const DEFAULT_STUCK_MS = 30_000;
/**
 * A delayed job due this long ago and still delayed was not promoted by the worker, which
 * promotes due jobs as it waits for them (its blocking read times out at the next one's due
 * time): milliseconds for a healthy one.
 */
const DUE_DELAYED_GRACE_MS = 1_000;
/**
 * A worker this process stopped running that has not closed after this long is reported and
 * left to close (or not) in the background: BullMQ's close waits for the worker's blocking
 * connection to end, which a Redis Cluster client that lost every node never does.
 */
const STOPPED_WORKER_CLOSE_MS = 5_000;
/**
 * A sync takes milliseconds, seconds while Redis fails over: one still running after a minute
 * waits on something that will not answer, and must not hold every later sync (the only thing
 * that starts workers for newly active streams).
 */
const DEFAULT_STALLED_SYNC_MS = 60_000;
/** How soon after a failure the reconciling pass runs (see `reconcileSoon`). */
const RECONCILE_AFTER_ERROR_MS = 5_000;
/** Deleting streams are checked for a drained backlog this often. */
const DELETION_CHECK_MS = 1000;
/** Streams read per pipeline in the reconciling pass. */
const RECONCILE_PAGE = 500;
/** The queue states that hold a job not yet done. */
const PENDING_STATES = ['active', 'wait', 'delayed', 'prioritized', 'waiting-children'] as const;

/** A sync in progress: when it started and what it is waiting on, for the stalled-sync report. */
interface SyncRun {
  startedMs: number;
  step: string;
}

/** A stream's worker, when it last started or finished a job, and when it was last checked. */
interface RunningWorker {
  worker: Worker<DeliveryJobData, string>;
  lastBusyMs: number;
  /** When the idle check last found the queue not empty. */
  checkedMs: number;
}

/**
 * Runs a BullMQ worker in this process for each stream with jobs (the active streams, see
 * active-streams.ts) and retires it once the stream's queue has stayed empty for a while, so
 * an idle stream costs no worker, no connection and no Redis round trips; removes a deleted
 * stream once its backlog is delivered. A queue per stream means one failing destination never
 * holds back another stream: its worker alone waits on its retries.
 */
export class StreamWorkers {
  private readonly workers = new Map<string, RunningWorker>();
  private timer: NodeJS.Timeout | undefined;
  private syncing: { run: SyncRun; done: Promise<void> } | undefined;
  /** Closes of workers this process stopped running, still under way. */
  private readonly closing = new Set<Promise<void>>();
  private closed = false;
  private started = false;
  private deletionsCheckedAt = Number.NEGATIVE_INFINITY;
  private reconciledAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: StreamWorkersOptions) {}

  /** Starts the workers for the active streams, then keeps them in step. */
  async start(): Promise<void> {
    await this.sync(true, { startedMs: Date.now(), step: 'starting' });
    this.started = true;
    this.timer = setInterval(
      () => this.syncUnlessSyncing(),
      this.options.pollIntervalMs ?? DEFAULT_POLL_MS,
    );
    this.timer.unref();
  }

  /**
   * Starts a sync unless one is running, or one has run so long it is presumed stalled: that
   * one is reported, with what it waits on, and left to finish or not. Every step of a sync is
   * safe beside another (each acts on what it finds at that moment, a worker only if it is
   * still the one it checked).
   */
  private syncUnlessSyncing(): void {
    const current = this.syncing;
    if (current) {
      const tookMs = Date.now() - current.run.startedMs;
      if (tookMs < (this.options.stalledSyncMs ?? DEFAULT_STALLED_SYNC_MS)) return;
      this.reconcileSoon();
      this.options.log.warn(
        { tookMs, step: current.run.step },
        'stream sync stalled; starting another beside it',
      );
    }
    const run: SyncRun = { startedMs: Date.now(), step: 'starting' };
    const syncing = {
      run,
      done: this.sync(false, run)
        .catch((error: unknown) => {
          this.reconcileSoon();
          this.options.log.warn({ err: error, step: run.step }, 'stream sync failed');
        })
        .finally(() => {
          if (this.syncing === syncing) this.syncing = undefined;
        }),
    };
    this.syncing = syncing;
  }

  /**
   * Why this process is not delivering, or undefined when it is: started, not closing, and
   * every running stream worker in its main loop (one whose loop ended, say on a Redis error
   * at its start, takes no more jobs). For `GET /ready`.
   */
  notRunning(): string | undefined {
    if (this.closed) return 'delivery workers are stopping';
    if (!this.started) return 'delivery workers are starting';
    const stopped = [...this.workers].filter(([, running]) => !running.worker.isRunning());
    if (stopped.length === 0) return undefined;
    const names = stopped.slice(0, 5).map(([name]) => name);
    const more = stopped.length > names.length ? `, and ${stopped.length - names.length} more` : '';
    return `the delivery worker of ${stopped.length} stream(s) is not running: ${names.join(', ')}${more}`;
  }

  /** Streams with a worker in this process. */
  streams(): string[] {
    return [...this.workers.keys()];
  }

  /**
   * Starts workers for streams that became active, retires idle ones, and (each
   * {@link DELETION_CHECK_MS}) removes deleted streams that are drained. At start, and every
   * few minutes, first lists as active every stream with a backlog and every DELETING stream
   * (a version before these lists, or a lost write).
   */
  private async sync(first: boolean, run: SyncRun): Promise<void> {
    const now = Date.now();
    const reconcile = now - this.reconciledAt >= (this.options.reconcileMs ?? DEFAULT_RECONCILE_MS);
    if (reconcile) {
      run.step = 'reconciling the active streams';
      await this.reconcile();
    }
    run.step = 'listing the active streams';
    const active = new Set(await this.options.queues.active.list());
    // A worker whose main loop ended (a Redis error it did not survive, as a failover can
    // cause) takes no more jobs: it is replaced, and the active streams reconciled soon, as
    // the failover may have lost the sets' last writes.
    for (const [name, running] of [...this.workers]) {
      if (this.closed) return;
      if (running.worker.isRunning()) continue;
      this.options.log.warn({ stream: name }, 'delivery worker stopped; starting a new one');
      this.dropWorker(name, running);
    }
    for (const name of active) {
      if (this.closed) return;
      if (!this.workers.has(name)) {
        const now = Date.now();
        this.workers.set(name, {
          worker: this.createWorker(name),
          lastBusyMs: now,
          checkedMs: now,
        });
      }
    }
    for (const [name, running] of [...this.workers]) {
      if (this.closed) return;
      const checked = Date.now();
      const idleMs = this.options.idleMs ?? DEFAULT_IDLE_MS;
      if (checked - Math.max(running.lastBusyMs, running.checkedMs) < idleMs) continue;
      run.step = `checking the idle worker of ${name}`;
      // Another process retired it, or this one does now: either way its queue is empty.
      const retired =
        !active.has(name) ||
        (await this.options.queues.active.retireIfEmpty(name, () => this.pendingJobs(name)));
      if (retired) {
        // Not awaited: its close may never end (see STOPPED_WORKER_CLOSE_MS).
        void this.stopWorker(name, running);
        continue;
      }
      running.checkedMs = checked;
      const stuckMs = this.options.stuckMs ?? DEFAULT_STUCK_MS;
      if (checked - running.lastBusyMs >= stuckMs && (await this.leavesJobsWaiting(name))) {
        // Seen after a Redis failover: the loop runs on, its blocking read answered by nothing.
        this.options.log.warn(
          { stream: name, idleMs: checked - running.lastBusyMs },
          'delivery worker takes no jobs while some wait; starting a new one',
        );
        this.dropWorker(name, running);
      }
    }
    if (first || reconcile || now - this.deletionsCheckedAt >= DELETION_CHECK_MS) {
      this.deletionsCheckedAt = now;
      run.step = 'listing the deleting streams';
      for (const name of await this.options.registry.listDeleting(reconcile)) {
        if (this.closed) return;
        run.step = `finishing the deletion of ${name}`;
        if (await this.isDrained(name)) await this.finishDeletion(name);
      }
    }
    if (reconcile) this.reconciledAt = now;
  }

  /**
   * After a failure: reconcile within {@link RECONCILE_AFTER_ERROR_MS} rather than at the next
   * regular time. What failed may be Redis failing over, which can lose the active set's last
   * writes (they are not waited for on replicas); reconciling puts back what was lost.
   */
  private reconcileSoon(): void {
    const every = this.options.reconcileMs ?? DEFAULT_RECONCILE_MS;
    this.reconciledAt = Math.min(this.reconciledAt, Date.now() - every + RECONCILE_AFTER_ERROR_MS);
  }

  /**
   * Lists as active every stream whose queue holds a job (looked for among the streams whose
   * stats count an undelivered backlog).
   */
  private async reconcile(): Promise<void> {
    const names = await this.options.registry.listAllNames();
    for (let start = 0; start < names.length; start += RECONCILE_PAGE) {
      const page = names.slice(start, start + RECONCILE_PAGE);
      const read = crossSlotPipeline(this.options.redis);
      for (const name of page) read.hget(streamKeys(name).stats, 'backlogRecords');
      const replies = (await read.exec()) ?? [];
      const failed = replies.find(([error]) => error !== null)?.[0];
      if (failed) throw failed;
      const backlogged = page.filter((_, i) => Number(replies[i]?.[1] ?? 0) > 0);
      await this.options.queues.active.addAll(
        await this.options.queues.withPendingJobs(backlogged),
      );
    }
  }

  /**
   * Forgets a worker that takes no more jobs and closes it in the background (the next sync
   * starts a new one for the stream if it is active), and reconciles soon: what stopped it may
   * be a failover that also lost the active set's last writes.
   */
  private dropWorker(name: string, running: RunningWorker): void {
    this.reconcileSoon();
    void this.stopWorker(name, running);
  }

  /**
   * Forgets the stream's worker `running` (unless another has replaced it) and closes it.
   * Resolves once it closed or {@link STOPPED_WORKER_CLOSE_MS} passed, whichever comes first:
   * a close still running then is reported and kept in {@link closing}, for shutdown to wait
   * on.
   */
  private async stopWorker(name: string, running: RunningWorker): Promise<void> {
    if (this.workers.get(name) === running) this.workers.delete(name);
    const closed = running.worker.close().catch((error: unknown) => {
      this.options.log.warn(
        { err: error, stream: name },
        'stopped delivery worker failed to close',
      );
    });
    this.closing.add(closed);
    void closed.finally(() => this.closing.delete(closed));
    if ((await withinTime(closed, STOPPED_WORKER_CLOSE_MS)) === TIMED_OUT) {
      this.options.log.warn(
        { stream: name, waitedMs: STOPPED_WORKER_CLOSE_MS },
        'stopped delivery worker has not closed; left to close in the background',
      );
    }
  }

  /**
   * Whether the stream's queue holds jobs ready to be taken — waiting, or delayed (a retry's
   * backoff) and due for a while: a worker promotes those itself as it takes jobs, so a stuck
   * one leaves a retrying batch delayed for ever — and none is being delivered.
   */
  private async leavesJobsWaiting(stream: string): Promise<boolean> {
    const queue = this.options.queues.queue(stream);
    const counts = await queue.getJobCounts('active', 'wait', 'prioritized');
    if ((counts.active ?? 0) > 0) return false;
    if ((counts.wait ?? 0) + (counts.prioritized ?? 0) > 0) return true;
    return (await queue.getDelayedCount(Date.now() - DUE_DELAYED_GRACE_MS)) > 0;
  }

  /** Jobs of the stream's queue not yet done, in any process. */
  private async pendingJobs(stream: string): Promise<number> {
    return this.options.queues.queue(stream).getJobCountByTypes(...PENDING_STATES);
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
    worker.on('error', (error) => {
      this.reconcileSoon();
      options.log.warn({ err: error, stream }, 'delivery worker error');
    });
    const busy = () => {
      const running = this.workers.get(stream);
      if (running?.worker === worker) running.lastBusyMs = Date.now();
    };
    worker.on('active', busy);
    worker.on('completed', busy);
    worker.on('failed', busy);
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
    const running = this.workers.get(stream);
    if (running) await this.stopWorker(stream, running);
    await this.options.queues.obliterate(stream);
    await this.options.queues.active.remove(stream);
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
    await withinTime(this.syncing?.done ?? Promise.resolve(), remaining(deadline));
    const workers = [...this.workers.values()].map((running) => running.worker);
    this.workers.clear();
    // Not awaited past the deadline: BullMQ's close waits for the stuck job and would hold the
    // process; it exits instead, and the job's lock expires.
    const graceful = Promise.all([...workers.map((w) => w.close()), ...this.closing]);
    if ((await withinTime(graceful, remaining(deadline))) === TIMED_OUT) {
      this.options.log.warn({ timeoutMs }, 'in-flight deliveries abandoned at shutdown');
    }
  }
}
