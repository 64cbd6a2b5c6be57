import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

import { BatchStore } from '../../src/delivery/batch-store.js';
import { listDeadBatches } from '../../src/error-output/dead-batches.js';
import { DELIVERY_QUEUE_NAME, streamKeys, streamPrefix } from '../../src/streams/keys.js';

/**
 * What Sluice's Redis says about a stream, read from the outside: its backlog, its dead set and
 * its delivery jobs' attempts.
 */

/** A stream's counters and sets. */
export interface StreamState {
  /** Records accepted and neither delivered nor dead-lettered (nor written as error output). */
  backlogRecords: number;
  /** Whether a buffer is open (records not yet sealed into a batch). */
  open: boolean;
  /** Batches in the dead set. */
  dead: number;
  /** Batches completed (delivered, or all their records written to the error output). */
  deliveredBatches: number;
}

/** The stream's {@link StreamState} now. */
export async function streamState(redis: Redis, stream: string): Promise<StreamState> {
  const keys = streamKeys(stream);
  const [stats, open, dead] = await Promise.all([
    redis.hgetall(keys.stats),
    redis.exists(keys.open),
    redis.zcard(keys.dead),
  ]);
  return {
    backlogRecords: Number(stats.backlogRecords ?? 0),
    open: open === 1,
    dead,
    deliveredBatches: Number(stats.deliveredBatches ?? 0),
  };
}

/** A dead-lettered batch with its reason and its records, as Redis keeps them. */
export interface DeadBatchContents {
  batchId: string;
  reason: string;
  records: Buffer[];
}

/** The stream's dead set, each batch with its records read back. */
export async function deadBatchContents(
  redis: Redis,
  stream: string,
): Promise<DeadBatchContents[]> {
  const store = new BatchStore(redis);
  const out: DeadBatchContents[] = [];
  for (const dead of await listDeadBatches(redis, stream)) {
    const meta = await store.getMeta(stream, dead.batchId);
    if (meta === undefined) throw new Error(`dead batch ${dead.batchId} has no metadata`);
    const records = await store.readRecords(meta);
    out.push({
      batchId: dead.batchId,
      reason: dead.reason,
      records: records.map((r) => Buffer.from(r.data)),
    });
  }
  return out;
}

/**
 * Delivery attempts of the stream's jobs that have ended, summed: BullMQ's `attemptsMade`,
 * which counts an attempt when it fails (and is retried) and when it completes. While a batch
 * keeps failing, every one counted failed.
 */
export async function endedAttempts(redis: Redis, stream: string): Promise<number> {
  const queue = new Queue(DELIVERY_QUEUE_NAME, {
    connection: redis,
    prefix: streamPrefix(stream),
  });
  try {
    const jobs = await queue.getJobs([
      'active',
      'completed',
      'delayed',
      'failed',
      'prioritized',
      'wait',
      'waiting-children',
    ]);
    return jobs.reduce((sum, job) => sum + job.attemptsMade, 0);
  } finally {
    await queue.close();
  }
}
