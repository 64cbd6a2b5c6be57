import { setTimeout as sleep } from 'node:timers/promises';

import type { Redis } from 'ioredis';

import { DELIVERY_QUEUE_NAME, streamKeys, streamPrefix } from '../src/streams/keys.js';
import { say } from './progress.js';
import { readStreamStats, type StreamStatsSample } from './stream-stats.js';

/**
 * Waits, after the pushing and the faults ended, until Sluice has delivered (or dead-lettered)
 * everything it stored, judged from the stream's state in Redis: no open buffer, no batch
 * sealed but not queued, and a backlog of zero in the counters the store and delivery scripts
 * keep. The condition must hold over a few seconds, so a request an api process was still
 * storing when its client gave up cannot slip in afterwards unseen.
 */

/** The stream's state in Redis at one moment. */
export interface DrainState {
  stats: StreamStatsSample;
  openBuffer: boolean;
  sealedNotQueued: number;
  deadBatches: number;
  /** BullMQ's lists of the stream's delivery queue. */
  jobs: { waiting: number; active: number; delayed: number; failed: number };
  /** Batch metadata hashes still in Redis (undelivered or dead-lettered batches). */
  batchesInRedis: number;
}

/** How the wait ended. */
export interface DrainResult {
  drained: boolean;
  waitedMs: number;
  /** The last state read (undefined when Redis never answered). */
  last: DrainState | undefined;
}

const POLL_MS = 500;
/** The drained condition must hold this long. */
const STABLE_MS = 3_000;
const PROGRESS_EVERY_MS = 10_000;
/** Upper bound on SCAN rounds when counting batch keys. */
const MAX_SCAN_ROUNDS = 10_000;

/** Reads the stream's state once. */
export async function readDrainState(redis: Redis, stream: string): Promise<DrainState> {
  const keys = streamKeys(stream);
  const queue = `${streamPrefix(stream)}:${DELIVERY_QUEUE_NAME}`;
  const [stats, open, sealed, dead, waiting, active, delayed, failed] = await Promise.all([
    readStreamStats(redis, stream),
    redis.exists(keys.open),
    redis.zcard(keys.sealed),
    redis.zcard(keys.dead),
    redis.llen(`${queue}:wait`),
    redis.llen(`${queue}:active`),
    redis.zcard(`${queue}:delayed`),
    redis.zcard(`${queue}:failed`),
  ]);
  let batchesInRedis = 0;
  let cursor = '0';
  for (let round = 0; round < MAX_SCAN_ROUNDS; round += 1) {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${keys.batchPrefix}*`, 'COUNT', 1000);
    batchesInRedis += found.filter((k) => !k.endsWith(':chunks')).length;
    cursor = next;
    if (cursor === '0') break;
  }
  return {
    stats,
    openBuffer: open === 1,
    sealedNotQueued: sealed,
    deadBatches: dead,
    jobs: { waiting, active, delayed, failed },
    batchesInRedis,
  };
}

/** Whether nothing is left to deliver. */
function drained(state: DrainState): boolean {
  return !state.openBuffer && state.sealedNotQueued === 0 && state.stats.backlogRecords === 0;
}

/** Polls until the stream is drained for {@link STABLE_MS}, or `timeoutMs` passes. */
export async function waitForDrain(
  redis: Redis,
  stream: string,
  timeoutMs: number,
  shouldStop: () => boolean,
): Promise<DrainResult> {
  const startMs = Date.now();
  const deadline = startMs + timeoutMs;
  let last: DrainState | undefined;
  let drainedSince: number | undefined;
  let lastProgress = startMs;
  while (Date.now() < deadline && !shouldStop()) {
    try {
      last = await readDrainState(redis, stream);
      if (drained(last)) {
        drainedSince ??= Date.now();
        if (Date.now() - drainedSince >= STABLE_MS) {
          return { drained: true, waitedMs: Date.now() - startMs, last };
        }
      } else {
        drainedSince = undefined;
      }
    } catch {
      drainedSince = undefined;
    }
    if (Date.now() - lastProgress >= PROGRESS_EVERY_MS && last) {
      lastProgress = Date.now();
      say(
        `draining ${((Date.now() - startMs) / 1000).toFixed(0)} s: backlog ${last.stats.backlogRecords} records in ${last.batchesInRedis} batches, jobs waiting ${last.jobs.waiting} active ${last.jobs.active} delayed ${last.jobs.delayed}`,
      );
    }
    await sleep(POLL_MS);
  }
  return { drained: false, waitedMs: Date.now() - startMs, last };
}
