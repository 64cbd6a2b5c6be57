import type { RedisClient } from '../redis/client.js';
import { RedisScript } from '../redis/redis-script.js';
import { SEAL_SCHEDULE_KEY } from './keys.js';

/**
 * Sets the member's score to ARGV[2] unless it already has a lower one (ZADD LT, which
 * Redis 5 lacks). KEYS: 1 schedule; ARGV: 1 stream, 2 time (ms).
 */
const EARLIEST_SCRIPT = `
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) <= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
`;

const earliestScript = new RedisScript(EARLIEST_SCRIPT, 1);

/**
 * The stream's buffers need the seal ticker at `atMs` at the latest (an earlier time already
 * scheduled stays); see `buffer/seal-schedule.ts`. Also for changes of a stream's definition
 * that move its deadlines (DELETING seals at once, new buffering hints).
 */
export async function scheduleSealCheck(
  redis: RedisClient,
  stream: string,
  atMs: number,
): Promise<void> {
  await earliestScript.run(redis, [SEAL_SCHEDULE_KEY], [stream, Math.floor(atMs)]);
}
