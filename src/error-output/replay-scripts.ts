/**
 * Replay's Redis Lua script, headed by its contract (KEYS, ARGV, returns) like the buffer's
 * (`buffer/scripts.ts`). Its keys share the source stream's hash tag; the chunk list's name is
 * built inside from the batch key, in the same slot.
 */

/**
 * FORGET_DEAD — a dead batch was replayed in full: note the item as replayed and remove the
 * batch (its data, its dead-set entry, its share of the dead counters), all at once, so the
 * batch is never both gone and replayable, nor replayed and still listed.
 *
 * KEYS: 1 stats hash, 2 dead zset, 3 batch meta hash, 4 replayed set
 * ARGV: 1 batch id, 2 item id
 * returns: 1 when removed now; 0 when the batch is gone (removed by an earlier call);
 *          2 when the batch is not dead-lettered (it is live: nothing is touched);
 *          an error reply, writing nothing, when an argument or a stored value is invalid
 *          (the counters, when the stream still has them, must hold at least this batch and
 *          its records).
 */
export const FORGET_DEAD_SCRIPT = `
local MAX_INT = 9007199254740991
local function dec(n) return string.format('%.0f', n) end
local function shown(v)
  if type(v) ~= 'string' then return 'nothing' end
  if #v > 40 then v = string.sub(v, 1, 40) .. '...' end
  return "'" .. v .. "'"
end
local function fail(message)
  return redis.error_reply('ERR sluice FORGET_DEAD: ' .. message)
end
-- v as an integer from lo to MAX_INT, or nil.
local function int(v, lo)
  if type(v) ~= 'string' or #v > 16 or not string.match(v, '^%d+$') then return nil end
  local n = tonumber(v) + 0
  if n < lo or n > MAX_INT then return nil end
  return n
end
if type(ARGV[1]) ~= 'string' or ARGV[1] == '' then
  return fail('ARGV[1] (batch id) must be a non-empty string')
end
if type(ARGV[2]) ~= 'string' or ARGV[2] == '' then
  return fail('ARGV[2] (item id) must be a non-empty string')
end
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
local m = redis.call('HMGET', KEYS[3], 'records', 'deadAtMs')
if not m[2] then return 2 end
local records = int(m[1], 0)
if not records then
  return fail("batch field 'records' must be an integer from 0 to " .. dec(MAX_INT) ..
    ', got ' .. shown(m[1]))
end
-- A deleted stream's counters are removed with it while its dead batches stay: then there is
-- nothing to count down.
local counted = redis.call('EXISTS', KEYS[1]) == 1
local batches, dead
if counted then
  local c = redis.call('HMGET', KEYS[1], 'deadBatches', 'deadRecords')
  batches = int(c[1], 1)
  if not batches then
    return fail("stats field 'deadBatches' must be an integer from 1 to " .. dec(MAX_INT) ..
      ' while a batch is dead, got ' .. shown(c[1]))
  end
  dead = int(c[2], records)
  if not dead then
    return fail("stats field 'deadRecords' must be an integer from " .. dec(records) .. ' to ' ..
      dec(MAX_INT) .. ' while this batch is dead, got ' .. shown(c[2]))
  end
end
redis.call('SADD', KEYS[4], ARGV[2])
redis.call('DEL', KEYS[3], KEYS[3] .. ':chunks')
redis.call('ZREM', KEYS[2], ARGV[1])
if counted then
  redis.call('HSET', KEYS[1], 'deadBatches', dec(batches - 1), 'deadRecords', dec(dead - records))
end
return 1
`;
