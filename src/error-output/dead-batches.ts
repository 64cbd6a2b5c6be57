import type { RedisClient } from '../redis/client.js';
import { batchKeys, streamKeys } from '../streams/keys.js';

/** Most dead batches one listing returns by default. */
export const DEFAULT_DEAD_LIST_LIMIT = 1000;

/** A dead-lettered batch, as the dead set and its metadata hash describe it. */
export interface DeadBatch {
  stream: string;
  batchId: string;
  records: number;
  /** Payload bytes. */
  bytes: number;
  /** Arrival of its oldest record, epoch ms. */
  firstArrivalMs: number;
  /** When it was dead-lettered, epoch ms. */
  deadAtMs: number;
  /** Why (`deadReason`: the last error, or the permanent failure). */
  reason: string;
}

/**
 * The stream's dead-lettered batches (`streamKeys(stream).dead`, see DEAD_LETTER_SCRIPT),
 * oldest first, at most `limit` of them. An entry whose metadata hash is gone (removed by
 * hand) is left out: there is nothing of it to show or replay.
 */
export async function listDeadBatches(
  redis: RedisClient,
  stream: string,
  limit = DEFAULT_DEAD_LIST_LIMIT,
): Promise<DeadBatch[]> {
  if (limit <= 0) return [];
  const entries = await redis.zrange(streamKeys(stream).dead, 0, String(limit - 1), 'WITHSCORES');
  const ids: string[] = [];
  const scores: number[] = [];
  for (let i = 0; i + 1 < entries.length; i += 2) {
    ids.push(entries[i] as string);
    scores.push(Number(entries[i + 1]));
  }
  const metas = await readDeadMetas(redis, stream, ids);
  const batches: DeadBatch[] = [];
  for (let i = 0; i < ids.length; i++) {
    const meta = metas[i];
    if (meta === undefined) continue;
    batches.push({
      stream,
      batchId: ids[i] as string,
      records: meta.records,
      bytes: meta.bytes,
      firstArrivalMs: meta.firstArrivalMs,
      deadAtMs: meta.deadAtMs ?? (scores[i] as number),
      reason: meta.reason,
    });
  }
  return batches;
}

/** What a dead batch's metadata hash says, for listings and replay. */
export interface DeadBatchMeta {
  records: number;
  bytes: number;
  chunks: number;
  firstArrivalMs: number;
  /** Absent: the batch is not dead-lettered (it is live). */
  deadAtMs: number | undefined;
  reason: string;
}

/**
 * The metadata of each batch in `batchIds` (one round trip), undefined where the batch no
 * longer exists.
 */
export async function readDeadMetas(
  redis: RedisClient,
  stream: string,
  batchIds: readonly string[],
): Promise<(DeadBatchMeta | undefined)[]> {
  if (batchIds.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const id of batchIds) {
    pipeline.hmget(
      batchKeys(stream, id).meta,
      'id',
      'records',
      'bytes',
      'chunks',
      'firstArrivalMs',
      'deadAtMs',
      'deadReason',
    );
  }
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([error, value]) => {
    if (error) throw error;
    const [id, records, bytes, chunks, first, deadAt, reason] = value as (string | null)[];
    if (id === null || id === undefined) return undefined;
    return {
      records: Number(records ?? 0),
      bytes: Number(bytes ?? 0),
      chunks: Number(chunks ?? 0),
      firstArrivalMs: Number(first ?? 0),
      deadAtMs: deadAt === null || deadAt === undefined ? undefined : Number(deadAt),
      reason: reason ?? '',
    };
  });
}
