import type { Redis } from 'ioredis';
import { APPEND_RECEIPT_MS } from '../../src/buffer/record-buffer.js';
import {
  ACTIVE_STREAMS_KEY,
  appendReceiptKey,
  COUNTED_STREAMS_KEY,
  DELETING_STREAMS_KEY,
  SEAL_SCHEDULE_KEY,
  STREAM_INDEX_KEY,
  streamPrefix,
} from '../../src/streams/keys.js';

/**
 * Removes every key of the named streams (definition, buffers, batches, BullMQ queue) from a
 * Redis that other tests share, so no test leaves work behind for a Sluice process that later
 * runs against the same Redis.
 */
export async function removeStreams(redis: Redis, names: Iterable<string>): Promise<void> {
  for (const name of names) {
    // Stream names are [a-zA-Z0-9_.-], none of which is special in a SCAN pattern.
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${streamPrefix(name)}*`,
        'COUNT',
        500,
      );
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await redis.zrem(STREAM_INDEX_KEY, name);
    await redis.zrem(SEAL_SCHEDULE_KEY, name);
    await redis.zrem(ACTIVE_STREAMS_KEY, name);
    await redis.zrem(COUNTED_STREAMS_KEY, name);
    await redis.srem(DELETING_STREAMS_KEY, name);
  }
}

/**
 * The keys of `stream` that remain, leaving out append receipts: those expire by themselves
 * within a minute (see `appendReceiptKey`), so a removed stream has left nothing behind when
 * this is empty. Fails if a receipt would outlive that minute.
 */
export async function keysLeftBehind(redis: Redis, stream: string): Promise<string[]> {
  const keys = await redis.keys(`${streamPrefix(stream)}*`);
  const receiptPrefix = appendReceiptKey(stream, '');
  const left: string[] = [];
  for (const key of keys.sort()) {
    if (!key.startsWith(receiptPrefix)) {
      left.push(key);
      continue;
    }
    const ttl = await redis.pttl(key);
    if (ttl < 0 || ttl > APPEND_RECEIPT_MS) left.push(`${key} (expires in ${ttl} ms)`);
  }
  return left;
}
