/**
 * The buffer's Redis Lua scripts. Each script is headed by its contract (KEYS, ARGV, returns).
 * All keys of one call share the stream's hash tag; keys built inside a script from a prefix
 * argument share it too, so the scripts are valid under Redis Cluster.
 */

/**
 * Seals the open buffer: turns the open hash into the batch's metadata hash and records the
 * batch as sealed-not-yet-enqueued. Shared by the scripts below.
 */
const SEAL_FUNCTION = `
local function seal(openKey, sealedKey, batchPrefix, now)
  local o = redis.call('HMGET', openKey, 'id', 'firstArrivalMs', 'bytes', 'records')
  if not o[1] then return false end
  local metaKey = batchPrefix .. o[1]
  redis.call('HSET', metaKey, 'id', o[1], 'firstArrivalMs', o[2], 'bytes', o[3],
    'records', o[4], 'chunks', redis.call('LLEN', metaKey .. ':chunks'), 'sealedAtMs', now)
  redis.call('DEL', openKey)
  redis.call('ZADD', sealedKey, now, o[1])
  return o[1]
end
`;

/**
 * APPEND — store one request's records as one chunk, atomically with its accounting.
 *
 * KEYS: 1 stream hash, 2 open hash, 3 stats hash, 4 sealed zset
 * ARGV: 1 batch key prefix, 2 candidate batch id (used when no buffer is open),
 *       3 chunk, 4 payload bytes, 5 record count, 6 now (epoch ms), 7 backlog cap (bytes)
 * returns: {0, batchId, chunkIndex, sealedBatchId|false} stored;
 *          {1} no such stream; {2, status} stream not ACTIVE; {3} backlog over the cap.
 *
 * Seals when the buffer reaches the stream's `sizeBytes`, or at once when `intervalMs` is 0.
 * A request is refused for backpressure only when the backlog is non-empty, so a single
 * request larger than the cap still goes through on an empty stream.
 */
export const APPEND_SCRIPT = `${SEAL_FUNCTION}
local st = redis.call('HMGET', KEYS[1], 'status', 'sizeBytes', 'intervalMs')
if not st[1] then return {1} end
if st[1] ~= 'ACTIVE' then return {2, st[1]} end
local nbytes = tonumber(ARGV[4])
local now = tonumber(ARGV[6])
local backlog = tonumber(redis.call('HGET', KEYS[3], 'backlogBytes') or '0')
if backlog > 0 and backlog + nbytes > tonumber(ARGV[7]) then return {3} end
local id = redis.call('HGET', KEYS[2], 'id')
if not id then
  id = ARGV[2]
  redis.call('HSET', KEYS[2], 'id', id, 'firstArrivalMs', now, 'bytes', 0, 'records', 0)
end
local length = redis.call('RPUSH', ARGV[1] .. id .. ':chunks', ARGV[3])
local bytes = redis.call('HINCRBY', KEYS[2], 'bytes', nbytes)
redis.call('HINCRBY', KEYS[2], 'records', ARGV[5])
redis.call('HINCRBY', KEYS[3], 'backlogBytes', nbytes)
redis.call('HINCRBY', KEYS[3], 'backlogRecords', ARGV[5])
local sealed = false
if bytes >= tonumber(st[2]) or tonumber(st[3]) == 0 then
  sealed = seal(KEYS[2], KEYS[4], ARGV[1], now)
end
return {0, id, length - 1, sealed}
`;

/**
 * SEAL_DUE — seal the open buffer when its oldest record is `intervalMs` old, when the stream
 * is no longer ACTIVE (a deleted stream drains), or when forced.
 *
 * KEYS: 1 stream hash, 2 open hash, 3 sealed zset
 * ARGV: 1 batch key prefix, 2 now (epoch ms), 3 '1' to force
 * returns: the sealed batch id, or false when nothing was sealed.
 */
export const SEAL_DUE_SCRIPT = `${SEAL_FUNCTION}
local first = redis.call('HGET', KEYS[2], 'firstArrivalMs')
if not first then return false end
local st = redis.call('HMGET', KEYS[1], 'status', 'intervalMs')
local now = tonumber(ARGV[2])
if ARGV[3] == '1' or st[1] ~= 'ACTIVE' or now - tonumber(first) >= tonumber(st[2]) then
  return seal(KEYS[2], KEYS[3], ARGV[1], now)
end
return false
`;

/**
 * COMPLETE — a batch was delivered: delete its data and release its backlog. Idempotent.
 *
 * KEYS: 1 stats hash, 2 sealed zset, 3 batch meta hash
 * ARGV: 1 batch id
 * returns: 1 when the batch was removed now, 0 when it was already gone.
 */
export const COMPLETE_SCRIPT = `
local m = redis.call('HMGET', KEYS[3], 'bytes', 'records', 'deadAtMs')
redis.call('ZREM', KEYS[2], ARGV[1])
if not m[1] then return 0 end
redis.call('DEL', KEYS[3], KEYS[3] .. ':chunks')
if not m[3] then
  redis.call('HINCRBY', KEYS[1], 'backlogBytes', -tonumber(m[1]))
  redis.call('HINCRBY', KEYS[1], 'backlogRecords', -tonumber(m[2]))
end
redis.call('HINCRBY', KEYS[1], 'deliveredBatches', 1)
redis.call('HINCRBY', KEYS[1], 'deliveredRecords', m[2])
redis.call('HINCRBY', KEYS[1], 'deliveredBytes', m[1])
return 1
`;

/**
 * DEAD_LETTER — a batch's retention window ended undelivered: keep its data, record why, and
 * take it out of the backlog. Idempotent.
 *
 * KEYS: 1 stats hash, 2 sealed zset, 3 batch meta hash, 4 dead zset
 * ARGV: 1 batch id, 2 now (epoch ms), 3 reason
 * returns: 1 when dead-lettered now, 0 when the batch is gone or already dead.
 */
export const DEAD_LETTER_SCRIPT = `
local m = redis.call('HMGET', KEYS[3], 'bytes', 'records', 'deadAtMs')
if not m[1] or m[3] then return 0 end
redis.call('HSET', KEYS[3], 'deadAtMs', ARGV[2], 'deadReason', ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'backlogBytes', -tonumber(m[1]))
redis.call('HINCRBY', KEYS[1], 'backlogRecords', -tonumber(m[2]))
redis.call('HINCRBY', KEYS[1], 'deadBatches', 1)
redis.call('HINCRBY', KEYS[1], 'deadRecords', m[2])
return 1
`;
