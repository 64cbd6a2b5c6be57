import type { Redis } from 'ioredis';
import { RedisScript } from '../buffer/redis-script.js';
import { COMPLETE_SCRIPT, DEAD_LETTER_SCRIPT } from '../buffer/scripts.js';
import { decodeChunk, type FramedRecord } from '../buffer/frame.js';
import { batchKeys, streamKeys } from '../streams/keys.js';

const completeScript = new RedisScript(COMPLETE_SCRIPT, 3);
const deadLetterScript = new RedisScript(DEAD_LETTER_SCRIPT, 4);

/** A sealed batch's metadata, as the seal script wrote it. */
export interface BatchMeta {
  stream: string;
  id: string;
  /** Arrival time of the oldest record (epoch ms): names the object and bounds retention. */
  firstArrivalMs: number;
  sealedAtMs: number;
  /** Sum of record payload sizes. */
  bytes: number;
  records: number;
  chunks: number;
  /** Object key fixed by the first delivery attempt, reused by every retry. */
  objectKey: string | undefined;
  /** Set once the batch is dead-lettered. */
  deadAtMs: number | undefined;
}

/** How many chunks one read fetches: bounds memory (a chunk is at most ~4 MiB). */
const CHUNKS_PER_READ = 4;

/** Reads sealed batches and records their fate (delivered, dead-lettered). */
export class BatchStore {
  constructor(private readonly redis: Redis) {}

  /** The batch's metadata, or undefined when it no longer exists (already delivered). */
  async getMeta(stream: string, batchId: string): Promise<BatchMeta | undefined> {
    const h = await this.redis.hgetall(batchKeys(stream, batchId).meta);
    if (h.id === undefined) return undefined;
    return {
      stream,
      id: h.id,
      firstArrivalMs: Number(h.firstArrivalMs),
      sealedAtMs: Number(h.sealedAtMs),
      bytes: Number(h.bytes),
      records: Number(h.records),
      chunks: Number(h.chunks),
      objectKey: h.objectKey,
      deadAtMs: h.deadAtMs === undefined ? undefined : Number(h.deadAtMs),
    };
  }

  /** Every record of the batch in order, one chunk (one put request) at a time. */
  async *readChunks(meta: BatchMeta): AsyncGenerator<FramedRecord[]> {
    const key = batchKeys(meta.stream, meta.id).chunks;
    for (let start = 0; start < meta.chunks; start += CHUNKS_PER_READ) {
      const chunks = await this.redis.lrangeBuffer(key, start, start + CHUNKS_PER_READ - 1);
      if (chunks.length === 0) throw new Error(`batch ${meta.id}: chunks missing from ${start}`);
      for (const chunk of chunks) yield decodeChunk(chunk);
    }
  }

  /**
   * Fixes the batch's object key on its first attempt; later attempts get the same key back,
   * so a retry after a crash overwrites the object instead of writing a second one.
   */
  async claimObjectKey(meta: BatchMeta, proposed: string): Promise<string> {
    const key = batchKeys(meta.stream, meta.id).meta;
    const [, stored] = (await this.redis
      .multi()
      .hsetnx(key, 'objectKey', proposed)
      .hget(key, 'objectKey')
      .exec()) as [[null, number], [null, string | null]];
    return stored[1] ?? proposed;
  }

  /** The batch is delivered: delete its data and release its backlog. Idempotent. */
  async complete(stream: string, batchId: string): Promise<boolean> {
    const keys = streamKeys(stream);
    const removed = await completeScript.run(
      this.redis,
      [keys.stats, keys.sealed, batchKeys(stream, batchId).meta],
      [batchId],
    );
    return removed === 1;
  }

  /** The batch's retention ended: keep it, with its reason, in the stream's dead set. */
  async deadLetter(stream: string, batchId: string, reason: string, nowMs: number) {
    const keys = streamKeys(stream);
    const moved = await deadLetterScript.run(
      this.redis,
      [keys.stats, keys.sealed, batchKeys(stream, batchId).meta, keys.dead],
      [batchId, nowMs, reason],
    );
    return moved === 1;
  }

  /** Batches sealed at or before `olderThanMs` and not yet confirmed enqueued. */
  async sealedBefore(stream: string, olderThanMs: number, limit = 500): Promise<string[]> {
    return this.redis.zrangebyscore(streamKeys(stream).sealed, 0, olderThanMs, 'LIMIT', 0, limit);
  }

  /** The batch is known to be enqueued: the sweeper no longer needs to look at it. */
  async markEnqueued(stream: string, batchId: string): Promise<void> {
    await this.redis.zrem(streamKeys(stream).sealed, batchId);
  }

  /** Whether the batch's metadata still exists. */
  async exists(stream: string, batchId: string): Promise<boolean> {
    return (await this.redis.exists(batchKeys(stream, batchId).meta)) === 1;
  }
}
