import type { RedisClient } from '../redis/client.js';
import { streamKeys } from '../streams/keys.js';
import type { StreamDefinition } from '../streams/stream-definition.js';
import { decodeSample } from './history-sample.js';
import { historyKey } from './stream-history.js';
import { crossSlotPipeline } from '../redis/cross-slot-pipeline.js';

/** What the console's streams table shows of one stream. */
export interface StreamSummary {
  name: string;
  status: string;
  /** The destination's kind as stored: `ExtendedS3`, `HttpEndpoint`, … */
  destination: string;
  createdMs: number;
  backlogRecords: number;
  backlogBytes: number;
  /** Batches in the dead set now. */
  deadBatches: number;
  /** Error-output objects indexed (replayed ones included). */
  errorObjects: number;
  /** Incoming records a second over the last sampled interval; null before two samples. */
  incomingRecordsPerSecond: number | null;
  /** Delivered records a second over the last sampled interval; null before two samples. */
  deliveredRecordsPerSecond: number | null;
}

/**
 * The summaries of `definitions`, with one pipelined round trip: four reads a stream (its
 * backlog fields, dead set and error index sizes, its last two history samples). A last
 * sample older than one and a half intervals means the counts stood still since: rate 0.
 */
export async function summarizeStreams(
  redis: RedisClient,
  definitions: readonly StreamDefinition[],
  intervalMs: number,
  nowMs: number,
): Promise<StreamSummary[]> {
  if (definitions.length === 0) return [];
  const pipeline = crossSlotPipeline(redis);
  for (const def of definitions) {
    const keys = streamKeys(def.name);
    pipeline.hmget(keys.stats, 'backlogRecords', 'backlogBytes');
    pipeline.zcard(keys.dead);
    pipeline.zcard(keys.errors);
    pipeline.lrange(historyKey(def.name), -2, -1);
  }
  const results = (await pipeline.exec()) ?? [];
  const value = (i: number): unknown => {
    const [error, result] = results[i] ?? [new Error('no reply'), null];
    if (error) throw error;
    return result;
  };
  return definitions.map((def, s) => {
    const [backlogRecords, backlogBytes] = value(s * 4) as (string | null)[];
    const [before, after] = (value(s * 4 + 3) as string[]).map(decodeSample);
    const seconds = before && after && after.at > before.at ? (after.at - before.at) / 1000 : 0;
    const idle = after !== undefined && nowMs - after.at > intervalMs * 1.5;
    const rate = (from: number | undefined, to: number | undefined) => {
      if (seconds <= 0 || from === undefined || to === undefined) return null;
      return idle ? 0 : Math.max(0, to - from) / seconds;
    };
    return {
      name: def.name,
      status: def.status,
      destination: def.destination.shape,
      createdMs: def.createTimestamp,
      backlogRecords: Number(backlogRecords ?? 0),
      backlogBytes: Number(backlogBytes ?? 0),
      deadBatches: value(s * 4 + 1) as number,
      errorObjects: value(s * 4 + 2) as number,
      incomingRecordsPerSecond: rate(before?.incomingRecords, after?.incomingRecords),
      deliveredRecordsPerSecond: rate(before?.deliveredRecords, after?.deliveredRecords),
    };
  });
}
