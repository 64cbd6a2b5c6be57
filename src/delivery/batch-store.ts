import type { RedisClient } from '../redis/client.js';
import { z } from 'zod';
import { RedisScript } from '../redis/redis-script.js';
import { COMPLETE_SCRIPT, DEAD_LETTER_SCRIPT } from '../buffer/scripts.js';
import { chunkRecordCount, decodeChunk, type FramedRecord } from '../formats/chunk-frame.js';
import { recordIds } from '../buffer/record-id.js';
import type { PartitionKeys, PipelineRecord } from '../destinations/destination-kind.js';
import { RecordGroup } from '../destinations/record-group.js';
import { batchKeys, streamKeys } from '../streams/keys.js';

const completeScript = new RedisScript(COMPLETE_SCRIPT, 4);
const deadLetterScript = new RedisScript(DEAD_LETTER_SCRIPT, 4);

/**
 * CLAIM_PLAN — stores a batch's delivery plan unless it has one, and returns the stored one.
 * A script rather than HSETNX alone, which would recreate the hash of a batch that another
 * worker completed meanwhile.
 *
 * KEYS: 1 batch meta hash
 * ARGV: 1 proposed plan (JSON)
 * returns: the stored plan, or false (nil) when the batch no longer exists.
 */
const CLAIM_PLAN_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSETNX', KEYS[1], 'plan', ARGV[1])
return redis.call('HGET', KEYS[1], 'plan')
`;
const claimPlanScript = new RedisScript(CLAIM_PLAN_SCRIPT, 1);

/**
 * SAVE_PROGRESS — records what a partly finished delivery left to do, unless the batch is gone
 * (completed meanwhile: writing would recreate its hash) or another attempt recorded later
 * progress (its error-write count is higher).
 *
 * KEYS: 1 batch meta hash
 * ARGV: 1 error-output writes done so far (integer), 2 pending record positions (JSON array;
 *       '' for all), then field/value pairs to set as well ('' for none)
 * returns: 1 when saved, 0 when the batch is gone or the progress is stale.
 */
const SAVE_PROGRESS_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local done = tonumber(redis.call('HGET', KEYS[1], 'errorWrites') or '0')
if tonumber(ARGV[1]) < done then return 0 end
redis.call('HSET', KEYS[1], 'errorWrites', ARGV[1], 'pending', ARGV[2])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
`;
const saveProgressScript = new RedisScript(SAVE_PROGRESS_SCRIPT, 1);

/**
 * MARK — sets fields of a batch that still exists (HSETNX-like for the first-failure time,
 * plain set for flags), never recreating a completed batch's hash.
 *
 * KEYS: 1 batch meta hash
 * ARGV: 1 'nx' or 'set', then field/value pairs
 * returns: 1 when the batch exists, 0 otherwise.
 */
const MARK_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 2, #ARGV, 2 do
  if ARGV[1] == 'nx' then redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
  else redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 1
`;
const markScript = new RedisScript(MARK_SCRIPT, 1);

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
  /**
   * The delivery plan (JSON, see `delivery-plan.ts`) fixed by the first delivery
   * attempt; every retry uses it.
   */
  plan: string | undefined;
  /**
   * The object key a first attempt fixed before delivery plans existed (field `objectKey`): a
   * batch attempted before an upgrade keeps its key.
   */
  legacyObjectKey: string | undefined;
  /** Set once the batch is dead-lettered. */
  deadAtMs: number | undefined;
  /**
   * Positions (in batch order) of the records still to deliver after a partial delivery or an
   * error-output write; undefined: all of them.
   */
  pending: number[] | undefined;
  /** Error-output objects written for this batch so far (numbers the next one). */
  errorWrites: number;
  /** When the first attempt failed (epoch ms): starts a `RetryOptions` window. */
  firstFailureAtMs: number | undefined;
  /** Whether the plan's backup copy has been written. */
  backupWritten: boolean;
  /**
   * Records an attempt gave up on, recorded before their error-output write: a retry writes
   * them first, and sends them to the destination no more.
   */
  failed: FailedSet | undefined;
  /**
   * The partition a processed batch holds (sealed from a partition buffer); undefined for a
   * batch of records as they arrived.
   */
  partition: PartitionKeys | undefined;
  /** Chunks of a batch being processed that are processed and committed already. */
  processedChunks: number;
}

const PartitionKeysSchema = z.object({
  query: z.record(z.string(), z.string()),
  lambda: z.record(z.string(), z.string()),
  backup: z.literal(true).optional(),
});

/**
 * Records bound for the error output, with their reasons (each reason stored once: a batch's
 * records mostly fail for one reason, and a reason may quote a response of kilobytes).
 */
export const FailedSetSchema = z.object({
  reasons: z.array(
    z.object({
      /** Error-output type, e.g. `http-endpoint-failed`, `processing-failed`. */
      type: z.string(),
      code: z.string(),
      message: z.string(),
      attemptsMade: z.number().int(),
      attemptEndingMs: z.number(),
    }),
  ),
  /** `[position, index into reasons]` per record, in batch order. */
  records: z.array(z.tuple([z.number().int().min(0), z.number().int().min(0)])),
});

/** Records bound for the error output, with their reasons. */
export type FailedSet = z.infer<typeof FailedSetSchema>;

/** Reads the stored pending positions; a value that is not a list of positions means all. */
function parsePending(json: string): number[] | undefined {
  const value: unknown = JSON.parse(json);
  return Array.isArray(value) && value.every((p) => Number.isInteger(p) && (p as number) >= 0)
    ? (value as number[])
    : undefined;
}

/** How many chunks one read fetches: bounds memory (a chunk is at most ~4 MiB). */
const CHUNKS_PER_READ = 4;

/** Reads sealed batches and records their fate (delivered, dead-lettered). */
export class BatchStore {
  constructor(private readonly redis: RedisClient) {}

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
      plan: h.plan,
      legacyObjectKey: h.objectKey,
      deadAtMs: h.deadAtMs === undefined ? undefined : Number(h.deadAtMs),
      pending: h.pending ? parsePending(h.pending) : undefined,
      errorWrites: Number(h.errorWrites ?? 0),
      firstFailureAtMs: h.firstFailureAtMs === undefined ? undefined : Number(h.firstFailureAtMs),
      backupWritten: h.backupWritten === '1',
      failed: h.failed ? FailedSetSchema.parse(JSON.parse(h.failed)) : undefined,
      partition:
        h.partition === undefined ? undefined : PartitionKeysSchema.parse(JSON.parse(h.partition)),
      processedChunks: Number(h.processedChunks ?? 0),
    };
  }

  /**
   * Every record of the batch in order, one chunk (one put request) at a time, from chunk
   * `fromChunk` on.
   */
  async *readChunks(meta: BatchMeta, fromChunk = 0): AsyncGenerator<FramedRecord[]> {
    for await (const chunk of this.readStoredChunks(meta, fromChunk)) yield decodeChunk(chunk);
  }

  /** The batch's stored chunks as they are (framed), in order, from chunk `fromChunk` on. */
  async *readStoredChunks(meta: BatchMeta, fromChunk = 0): AsyncGenerator<Buffer> {
    const key = batchKeys(meta.stream, meta.id).chunks;
    for (let start = fromChunk; start < meta.chunks; start += CHUNKS_PER_READ) {
      const chunks = await this.redis.lrangeBuffer(key, start, start + CHUNKS_PER_READ - 1);
      if (chunks.length === 0) throw new Error(`batch ${meta.id}: chunks missing from ${start}`);
      yield* chunks;
    }
  }

  /**
   * The batch's records with their ids and arrival times, in order, one stored chunk at a time
   * (a few chunks are read per round trip, so the batch is never whole in memory), or only
   * those at `positions`.
   */
  async *readRecordChunks(
    meta: BatchMeta,
    positions?: readonly number[],
  ): AsyncGenerator<RecordGroup> {
    const wanted = positions === undefined ? undefined : new Set(positions);
    let first = 0;
    let chunkIndex = 0;
    for await (const chunk of this.readStoredChunks(meta)) {
      const index = chunkIndex;
      const count = chunkRecordCount(chunk);
      const group = RecordGroup.fromChunk(
        chunk,
        first,
        () => recordIds(meta.id, index, count),
        wanted,
      );
      first += count;
      chunkIndex++;
      if (group.length > 0) yield group;
    }
  }

  /** The records of {@link readRecordChunks}, all at once. */
  async readRecords(meta: BatchMeta, positions?: readonly number[]): Promise<PipelineRecord[]> {
    const out: PipelineRecord[] = [];
    for await (const group of this.readRecordChunks(meta, positions)) out.push(...group.records());
    return out;
  }

  /**
   * Records the progress of a partly finished delivery: the positions still pending, the
   * records bound for the error output and how many error-output objects are written. Stale
   * progress (an older attempt's) is ignored.
   *
   * @returns false when the batch is gone or the progress is stale.
   */
  async saveProgress(
    meta: BatchMeta,
    errorWrites: number,
    pending: readonly number[] | undefined,
    failed: FailedSet | undefined,
  ): Promise<boolean> {
    const saved = await saveProgressScript.run(
      this.redis,
      [batchKeys(meta.stream, meta.id).meta],
      [
        errorWrites,
        pending === undefined ? '' : JSON.stringify(pending),
        'failed',
        failed === undefined ? '' : JSON.stringify(failed),
      ],
    );
    return saved === 1;
  }

  /** Notes the batch's first failed attempt (kept when already noted). */
  async markFirstFailure(meta: BatchMeta, atMs: number): Promise<void> {
    await markScript.run(
      this.redis,
      [batchKeys(meta.stream, meta.id).meta],
      ['nx', 'firstFailureAtMs', atMs],
    );
  }

  /** Notes that the plan's backup copy is written. */
  async markBackupWritten(meta: BatchMeta): Promise<void> {
    await markScript.run(
      this.redis,
      [batchKeys(meta.stream, meta.id).meta],
      ['set', 'backupWritten', '1'],
    );
  }

  /**
   * Fixes the batch's delivery plan on its first attempt; later attempts get the same plan
   * back, so a retry (after a crash, a lost response or an UpdateDestination) rewrites the same
   * object instead of writing a second one elsewhere.
   *
   * @param proposed - The serialized plan to store when the batch has none yet.
   * @returns The stored plan, or undefined when the batch no longer exists (delivered).
   */
  async claimPlan(meta: BatchMeta, proposed: string): Promise<string | undefined> {
    const stored = (await claimPlanScript.run(
      this.redis,
      [batchKeys(meta.stream, meta.id).meta],
      [proposed],
    )) as string | null;
    return stored ?? undefined;
  }

  /**
   * The batch is delivered: delete its data and release its backlog (records, payload bytes and
   * the stored bytes its appends counted). Idempotent.
   */
  async complete(stream: string, batchId: string): Promise<boolean> {
    const keys = streamKeys(stream);
    const batch = batchKeys(stream, batchId);
    const removed = await completeScript.run(
      this.redis,
      [keys.stats, keys.sealed, batch.meta, batch.chunks],
      [batchId],
    );
    return removed === 1;
  }

  /**
   * The batch's retention ended: keep it, with its reason, in the stream's dead set, and
   * release its backlog as {@link complete} does.
   */
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

  /** The batch is known to be enqueued: the seal ticker no longer needs to look at it. */
  async markEnqueued(stream: string, batchId: string): Promise<void> {
    await this.redis.zrem(streamKeys(stream).sealed, batchId);
  }

  /** Whether the batch's metadata still exists. */
  async exists(stream: string, batchId: string): Promise<boolean> {
    return (await this.redis.exists(batchKeys(stream, batchId).meta)) === 1;
  }
}
