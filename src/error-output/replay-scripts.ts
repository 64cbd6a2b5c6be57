/**
 * Replay's Redis Lua script, headed by its contract (KEYS, ARGV, returns) like the buffer's
 * (`buffer/scripts.ts`). It touches only its KEYS, which share the source stream's hash tag, so
 * it runs unchanged on Redis Cluster.
 */

import { CHECK_FUNCTIONS } from '../buffer/scripts.js';

/**
 * FORGET_DEAD — a dead batch was replayed in full: note the item as replayed and remove the
 * batch (its data, its dead-set entry, its share of the dead counters), all at once, so the
 * batch is never both gone and replayable, nor replayed and still listed.
 *
 * KEYS: 1 stats hash, 2 dead zset, 3 batch meta hash, 4 replayed set, 5 batch chunk list
 * ARGV: 1 batch id, 2 item id
 * returns: 1 when removed now; 0 when the batch is gone (removed by an earlier call);
 *          2 when the batch is not dead-lettered (it is live: nothing is touched);
 *          an error reply, writing nothing, when an argument or a stored value is invalid
 *          (the counters, when the stream still has them, must hold at least this batch and
 *          its records).
 */
export const FORGET_DEAD_SCRIPT = `${CHECK_FUNCTIONS}
local e = str(ARGV[1], 'ARGV[1] (batch id)') or str(ARGV[2], 'ARGV[2] (item id)')
  or batch_keys(KEYS[3], KEYS[5], ARGV[1], 'KEYS[3] and KEYS[5]')
if e then return fail('FORGET_DEAD', e) end
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
local m = redis.call('HMGET', KEYS[3], 'records', 'deadAtMs')
if not m[2] then return 2 end
local b = {}
e = int(b, 'records', m[1], 0, "batch field 'records'")
if e then return fail('FORGET_DEAD', e) end
-- A deleted stream's counters are removed with it while its dead batches stay: then there is
-- nothing to count down.
local counted = redis.call('EXISTS', KEYS[1]) == 1
local v = {}
if counted then
  local c = redis.call('HMGET', KEYS[1], 'deadBatches', 'deadRecords')
  e = sum(v, 'deadBatches', c[1], -1, 0, "stats field 'deadBatches'")
    or sum(v, 'deadRecords', c[2], 0 - b.records, 0, "stats field 'deadRecords'")
  if e then return fail('FORGET_DEAD', e) end
end
redis.call('SADD', KEYS[4], ARGV[2])
-- UNLINK, as COMPLETE does: the batch's chunk list is freed off Redis's main thread.
redis.call('UNLINK', KEYS[3], KEYS[5])
redis.call('ZREM', KEYS[2], ARGV[1])
if counted then
  redis.call('HSET', KEYS[1], 'deadBatches', dec(v.deadBatches), 'deadRecords', dec(v.deadRecords))
end
return 1
`;
