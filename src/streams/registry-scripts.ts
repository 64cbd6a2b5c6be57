/**
 * The stream registry's Redis Lua scripts, each headed by its contract (KEYS, ARGV, returns).
 *
 * ioredis resends a command whose reply a dropped connection lost, so each script answers a
 * repeat of a call that already took effect as it answered the first time: a create or an
 * update must not be reported as lost to a concurrent writer because its own first run won.
 */

/**
 * CREATE — store a new stream's hash unless one exists, whatever its status.
 *
 * KEYS: 1 stream hash
 * ARGV: 1 definition JSON, 2 status, 3 sizeBytes, 4 intervalMs, 5 version, 6 gzipOnly ('1'
 *       when puts must carry gzip records, else '0'), 7 call token (unique to this call; stored
 *       as `writtenBy`)
 * returns: 1 created (also when the hash was written by this very call: the same call, resent
 *          by ioredis after a lost reply, must not read as a name taken by another request);
 *          0 the stream already exists.
 */
export const CREATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'writtenBy') == ARGV[7] then return 1 end
  return 0
end
redis.call('HSET', KEYS[1], 'definition', ARGV[1], 'status', ARGV[2], 'sizeBytes', ARGV[3],
  'intervalMs', ARGV[4], 'version', ARGV[5], 'gzipOnly', ARGV[6], 'writtenBy', ARGV[7])
return 1
`;

/**
 * REPLACE — compare-and-set of a stream's definition. The fields the append script reads
 * (status, sizeBytes, intervalMs, gzipOnly) are written in the same call, so they never
 * disagree with the definition.
 *
 * KEYS: 1 stream hash
 * ARGV: 1 definition JSON as read, 2 new definition JSON, 3 status, 4 sizeBytes,
 *       5 intervalMs, 6 version, 7 gzipOnly, 8 call token (unique to this call; stored as
 *       `writtenBy`)
 * returns: 1 written (also when the definition was written by this very call, resent after a
 *          lost reply); 0 the definition changed since it was read; -1 the stream is gone.
 */
export const REPLACE_SCRIPT = `
local current = redis.call('HMGET', KEYS[1], 'definition', 'writtenBy')
if not current[1] then return -1 end
if current[2] == ARGV[8] then return 1 end
if current[1] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'definition', ARGV[2], 'status', ARGV[3], 'sizeBytes', ARGV[4],
  'intervalMs', ARGV[5], 'version', ARGV[6], 'gzipOnly', ARGV[7], 'writtenBy', ARGV[8])
return 1
`;

/**
 * REMOVE — delete a stream's hash, only while it is DELETING (a late call can never remove a
 * stream that was created again under the same name).
 *
 * KEYS: 1 stream hash
 * ARGV: none
 * returns: 1 removed; 0 absent or not DELETING.
 */
export const REMOVE_SCRIPT = `
if redis.call('HGET', KEYS[1], 'status') ~= 'DELETING' then return 0 end
redis.call('DEL', KEYS[1])
return 1
`;
