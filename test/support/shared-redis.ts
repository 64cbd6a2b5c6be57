import type { Redis } from 'ioredis';
import { STREAM_INDEX_KEY, streamPrefix } from '../../src/streams/keys.js';

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
  }
}
