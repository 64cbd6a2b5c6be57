import {
  FRAME_HEADER_BYTES,
  FRAME_RECORD_HEADER_BYTES,
  FRAME_VERSION,
} from '../formats/chunk-frame.js';
import { batchKeys, streamKeys } from '../streams/keys.js';

/**
 * The buffer's Redis Lua scripts. Each script is headed by its contract (KEYS, ARGV, returns).
 * Every key a script touches is one of its KEYS, and all keys of one call share the stream's
 * hash tag, so the scripts run unchanged on Redis Cluster (strict mode checks it in the tests:
 * redis/strict-scripts.ts).
 *
 * Redis does not roll back a script that fails half-way, so every script checks all its
 * arguments and every value it reads before its first write, and answers an error reply
 * (`ERR sluice <SCRIPT>: <what is wrong>`) instead of writing anything. Integers are limited to
 * 2^53 - 1, the largest Lua (and JavaScript) numbers hold exactly.
 */

/**
 * Redis memory one stored chunk costs beyond its own bytes: its list entry and, for chunks over
 * the list's 8 KiB listpack size, a list node of its own.
 *
 * Measured on Redis 7.0 (jemalloc) by pushing 20 to 20,000 equal chunks onto one list and
 * dividing the growth of `INFO memory` `used_memory` (and of `MEMORY USAGE <key> SAMPLES 0`) by
 * the count: 2–3 bytes per chunk up to about 100 bytes, 45–275 bytes from 2 KiB to 10 KiB
 * (listpack nodes rounded up to the allocator's size class, shared by a node's chunks). The
 * allocator's rounding grows with the chunk, up to a quarter of it (a chunk just over 4 MiB
 * takes a 5 MiB allocation); no constant covers that, so Redis may hold up to about 1.25 times
 * the counted backlog when it is made of chunks of unlucky sizes. Through the whole append
 * path (RecordBuffer on a private Redis) Redis grew by 0.22 (one tiny record per request, over
 * counted) to 1.15 (100 KB requests) times the count.
 */
export const CHUNK_OVERHEAD_BYTES = 64;

/**
 * Redis memory one batch costs besides its chunks: the open hash, then the batch's metadata
 * hash, its chunk list's key, its entry in the sealed set and its BullMQ job (job hash and
 * wait-list entry).
 *
 * Measured on Redis 7.0 by appending 5,000 one-record requests to a stream that seals every
 * request (IntervalInSeconds 0) through RecordBuffer and DeliveryQueues, dividing the growth of
 * `used_memory` by the count: 1,776 bytes per batch for a 32-character stream name and 1,849
 * for a 64-character one, its 17-byte chunk included (`MEMORY USAGE`: metadata hash ~300,
 * chunk list ~220, job hash ~800). The BullMQ events stream is capped per stream (about
 * 10,000 entries), so it is not counted.
 */
export const BATCH_OVERHEAD_BYTES = 2048;

/** Argument and value checks shared by every script; see the module comment. */
export const CHECK_FUNCTIONS = `
local MAX_INT = 9007199254740991
-- Integers go to Redis as plain decimals: Lua would write 2^53 as 9.007199254741e+15 and a
-- negated zero as -0, and HINCRBY or a later reader would refuse either.
local function dec(n) return string.format('%.0f', n) end
local function shown(v)
  if type(v) ~= 'string' then return 'nothing' end
  if #v > 40 then v = string.sub(v, 1, 40) .. '...' end
  return "'" .. v .. "'"
end
-- Reads v, a decimal integer from lo to MAX_INT (absent counts as 0 when optional), checks
-- that adding delta keeps it in that range, and stores the sum in out[name]. Returns a
-- message saying what is wrong, or nil.
local function sum(out, name, v, delta, lo, what, optional)
  local n
  if not v and optional then
    n = 0
  elseif type(v) == 'string' and #v <= 17 and string.match(v, '^%-?%d+$') then
    n = tonumber(v) + 0
  end
  if n == nil or n < lo or n > MAX_INT then
    return what .. ' must be an integer from ' .. dec(lo) .. ' to ' .. dec(MAX_INT) ..
      ', got ' .. shown(v)
  end
  local total = n + delta
  if total < lo or total > MAX_INT then
    return what .. ' is ' .. dec(n) .. ': adding ' .. dec(delta) .. ' would leave the range ' ..
      dec(lo) .. ' to ' .. dec(MAX_INT)
  end
  out[name] = total
  return nil
end
local function int(out, name, v, lo, what, optional)
  return sum(out, name, v, 0, lo, what, optional)
end
local function str(v, what)
  if type(v) ~= 'string' or v == '' then return what .. ' must be a non-empty string' end
  return nil
end
-- Checks that metaKey and chunksKey are the keys of batch id (see batchKeys in keys.ts).
local function batch_keys(metaKey, chunksKey, id, what)
  if string.sub(metaKey, -#id - 1) ~= ':' .. id or chunksKey ~= metaKey .. ':chunks' then
    return what .. ' must be the metadata and chunk keys of batch ' .. shown(id)
  end
  return nil
end
local function fail(script, message)
  return redis.error_reply('ERR sluice ' .. script .. ': ' .. message)
end
`;

/**
 * The open buffer's fields, read with `HMGET openKey ${OPEN_FIELDS}`, checked, and sealed.
 * `storedBytes` is absent from a buffer opened by a version that did not count it; it counts
 * as 0 then, which is what that version added to the backlog for it.
 */
const OPEN_FUNCTIONS = `
local function read_open(openKey)
  return redis.call('HMGET', openKey, 'id', 'firstArrivalMs', 'bytes', 'records', 'storedBytes')
end
-- Checks the open buffer o (from read_open, which found an id) with the deltas an append adds,
-- storing the new totals in out.first, out.bytes, out.records, out.stored.
local function check_open(out, o, bytes, records, stored)
  return int(out, 'first', o[2], 0, "open buffer field 'firstArrivalMs'")
    or sum(out, 'bytes', o[3], bytes, 0, "open buffer field 'bytes'")
    or sum(out, 'records', o[4], records, 0, "open buffer field 'records'")
    or sum(out, 'stored', o[5], stored, 0, "open buffer field 'storedBytes'", true)
end
-- Seals the open buffer, which the caller has checked and whose batch keys are metaKey and
-- chunksKey: turns it into the batch's metadata hash and records the batch as
-- sealed-not-yet-enqueued.
local function seal(openKey, sealedKey, metaKey, chunksKey, now)
  local o = read_open(openKey)
  redis.call('HSET', metaKey, 'id', o[1], 'firstArrivalMs', o[2], 'bytes', o[3],
    'records', o[4], 'storedBytes', o[5] or '0',
    'chunks', redis.call('LLEN', chunksKey), 'sealedAtMs', dec(now))
  redis.call('DEL', openKey)
  redis.call('ZADD', sealedKey, dec(now), o[1])
  return o[1]
end
`;

/**
 * APPEND — store one request's records as one chunk, atomically with its accounting.
 *
 * KEYS: 1 stream hash, 2 open hash, 3 stats hash, 4 sealed zset, 5 the request's receipt
 *       (a string key unique to this call, see {@link appendReceiptKey}), 6 and 7 the
 *       metadata hash and chunk list of batch ARGV 2 ({@link batchKeys})
 * ARGV: 1 'new' when ARGV 2 is a new batch id, to open when no buffer is open, or 'open'
 *       when it is the id of the buffer the caller believes open, 2 batch id, 3 chunk,
 *       4 payload bytes, 5 record count, 6 now (epoch ms), 7 backlog cap (bytes),
 *       8 how long the receipt is kept (ms)
 * returns: {0, batchId, chunkIndex, sealedBatchId|false} stored (also when the receipt shows
 *          this very call stored it already: then nothing is written again);
 *          {1} no such stream; {2, status} stream not ACTIVE; {3} backlog over the cap;
 *          {4, n} the stream takes only gzip records (its `gzipOnly` field is '1': it
 *          decompresses CloudWatch Logs data) and record n (1-based) is not;
 *          {5, openId|false} the open buffer is not batch ARGV 2 (another process sealed it
 *          or opened another): nothing written, call again with `openId` ('open') or, when
 *          false, a new id ('new');
 *          an error reply, writing nothing, when an argument or a stored value is invalid
 *          (the chunk must be a framed chunk of ARGV 5 records and ARGV 4 payload bytes).
 *
 * The batch's keys are the caller's to name because Redis Cluster requires every key a
 * script touches to be declared; the caller learns the open batch's id from the replies.
 *
 * The backlog cap bounds `backlogStoredBytes`: what the backlog holds in Redis, i.e. each
 * chunk's length (framing and per-record headers included) plus {@link CHUNK_OVERHEAD_BYTES},
 * plus {@link BATCH_OVERHEAD_BYTES} per batch, counted when its buffer opens. `backlogBytes`
 * keeps counting payload bytes only. The open buffer accumulates its stored bytes, the seal
 * copies them into the batch, and COMPLETE or DEAD_LETTER release exactly that.
 *
 * Seals when the buffer reaches the stream's `sizeBytes`, or at once when `intervalMs` is 0.
 * A request is refused for backpressure only when the backlog is non-empty, so a single
 * request larger than the cap still goes through on an empty stream.
 *
 * The receipt makes a repeated call harmless. ioredis resends the commands whose replies a
 * dropped connection lost (`autoResendUnfulfilledCommands`); without it, a script that ran
 * but whose reply was lost would append the chunk a second time while the client is
 * acknowledged once — the fault oracle (bench/fault-oracle.ts, `redis-disconnect`) measured
 * 15,500 such duplicates in 300,000 records. The receipt holds the reply for ARGV 8 ms, longer
 * than any resend can come late (reconnect delay plus connect timeout).
 */
/**
 * APPEND's KEYS, in the script's order, for an append to `stream` that names batch `batchId`
 * and keeps its receipt at `receiptKey` (`appendReceiptKey`).
 */
export function appendScriptKeys(stream: string, batchId: string, receiptKey: string): string[] {
  const keys = streamKeys(stream);
  const batch = batchKeys(stream, batchId);
  return [keys.stream, keys.open, keys.stats, keys.sealed, receiptKey, batch.meta, batch.chunks];
}

export const APPEND_SCRIPT = `${CHECK_FUNCTIONS}${OPEN_FUNCTIONS}
local a = {}
local e = str(ARGV[2], 'ARGV[2] (batch id)')
  or batch_keys(KEYS[6], KEYS[7], ARGV[2], 'KEYS[6] and KEYS[7]')
  or int(a, 'receiptMs', ARGV[8], 1, 'ARGV[8] (receipt lifetime, ms)')
  or int(a, 'bytes', ARGV[4], 0, 'ARGV[4] (payload bytes)')
  or int(a, 'records', ARGV[5], 1, 'ARGV[5] (record count)')
  or int(a, 'now', ARGV[6], 0, 'ARGV[6] (now)')
  or int(a, 'cap', ARGV[7], 0, 'ARGV[7] (backlog cap)')
if not e and ARGV[1] ~= 'new' and ARGV[1] ~= 'open' then
  e = "ARGV[1] (what the batch id is) must be 'new' or 'open', got " .. shown(ARGV[1])
end
if e then return fail('APPEND', e) end
local chunk = ARGV[3]
if #chunk < ${FRAME_HEADER_BYTES} or string.byte(chunk, 1) ~= ${FRAME_VERSION} then
  return fail('APPEND', 'ARGV[3] (chunk) must start with a ${FRAME_HEADER_BYTES}-byte header of ' ..
    'version ${FRAME_VERSION}, got ' .. dec(#chunk) .. ' bytes starting ' ..
    tostring(string.byte(chunk, 1) or 'with nothing'))
end
-- The record count is the header's last 4 bytes (Lua strings index from 1).
local count = struct.unpack('>I4', chunk, ${FRAME_HEADER_BYTES - 3})
local framed = ${FRAME_HEADER_BYTES} + ${FRAME_RECORD_HEADER_BYTES} * a.records + a.bytes
if count ~= a.records or #chunk ~= framed then
  return fail('APPEND', 'ARGV[3] (chunk) holds ' .. dec(count) .. ' records in ' ..
    dec(#chunk) .. ' bytes, but ARGV[5] and ARGV[4] say ' .. dec(a.records) ..
    ' records of ' .. dec(a.bytes) .. ' payload bytes, framed in ' .. dec(framed) .. ' bytes')
end
local receipt = redis.call('GET', KEYS[5])
if receipt then
  local rid, ridx, rsealed = string.match(receipt, '^([^ ]+) (%d+) ?(.*)$')
  if not rid then return fail('APPEND', 'KEYS[5] (receipt) holds ' .. shown(receipt)) end
  return {0, rid, tonumber(ridx), rsealed ~= '' and rsealed or false}
end
local st = redis.call('HMGET', KEYS[1], 'status', 'sizeBytes', 'intervalMs', 'gzipOnly')
if not st[1] then return {1} end
if st[1] ~= 'ACTIVE' then return {2, st[1]} end
if st[4] == '1' then
  -- Every record must start with gzip's magic bytes 1f 8b (the chunk's framing was checked).
  local offset = ${FRAME_HEADER_BYTES} + 1
  for i = 1, a.records do
    local length = struct.unpack('>I4', chunk, offset)
    local b1, b2 = string.byte(chunk, offset + 4, offset + 5)
    if length < 2 or b1 ~= 31 or b2 ~= 139 then return {4, i} end
    offset = offset + 4 + length
  end
end
local o = read_open(KEYS[2])
-- HMGET answers false for a missing field; nil compares equal to a missing expectation.
local expected = ARGV[1] == 'open' and ARGV[2] or nil
if (o[1] or nil) ~= expected then return {5, o[1] or false} end
local c = redis.call('HMGET', KEYS[3], 'backlogBytes', 'backlogRecords', 'backlogStoredBytes')
local stored = #chunk + ${CHUNK_OVERHEAD_BYTES}
if not o[1] then stored = stored + ${BATCH_OVERHEAD_BYTES} end
local v = {}
e = int(v, 'size', st[2], 0, "stream field 'sizeBytes'")
  or int(v, 'interval', st[3], 0, "stream field 'intervalMs'")
  or sum(v, 'backlogBytes', c[1], a.bytes, -MAX_INT, "stats field 'backlogBytes'", true)
  or sum(v, 'backlogRecords', c[2], a.records, -MAX_INT, "stats field 'backlogRecords'", true)
  or sum(v, 'backlogStored', c[3], stored, -MAX_INT, "stats field 'backlogStoredBytes'", true)
local open = {bytes = a.bytes, records = a.records, stored = stored}
if not e and o[1] then e = check_open(open, o, a.bytes, a.records, stored) end
if e then return fail('APPEND', e) end
if v.backlogStored - stored > 0 and v.backlogStored > a.cap then return {3} end
local id = ARGV[2]
local length = redis.call('RPUSH', KEYS[7], chunk)
redis.call('HSET', KEYS[2], 'id', id, 'firstArrivalMs', o[1] and o[2] or dec(a.now),
  'bytes', dec(open.bytes), 'records', dec(open.records), 'storedBytes', dec(open.stored))
redis.call('HSET', KEYS[3], 'backlogBytes', dec(v.backlogBytes),
  'backlogRecords', dec(v.backlogRecords), 'backlogStoredBytes', dec(v.backlogStored))
local sealed = false
if open.bytes >= v.size or v.interval == 0 then
  sealed = seal(KEYS[2], KEYS[4], KEYS[6], KEYS[7], a.now)
end
redis.call('SET', KEYS[5], id .. ' ' .. dec(length - 1) .. ' ' .. (sealed or ''), 'PX',
  dec(a.receiptMs))
return {0, id, length - 1, sealed}
`;

/**
 * SEAL_DUE — seal the open buffer when its oldest record is `intervalMs` old, when the stream
 * is no longer ACTIVE (a deleted stream drains), or when forced.
 *
 * KEYS: 1 stream hash, 2 open hash, 3 sealed zset, 4 and 5 the metadata hash and chunk list
 *       of batch ARGV 1
 * ARGV: 1 the open buffer's batch id as the caller read it, 2 now (epoch ms), 3 '1' to force,
 *       '0' not to
 * returns: {0} nothing sealed (no buffer open, or not due); {1, batchId} sealed;
 *          {2, openId} the open buffer is another batch (the caller read it before a seal):
 *          nothing written, call again with `openId`; an error reply, writing nothing, when an
 *          argument or a stored value is invalid.
 */
export const SEAL_DUE_SCRIPT = `${CHECK_FUNCTIONS}${OPEN_FUNCTIONS}
local a = {}
local e = str(ARGV[1], 'ARGV[1] (batch id)')
  or batch_keys(KEYS[4], KEYS[5], ARGV[1], 'KEYS[4] and KEYS[5]')
  or int(a, 'now', ARGV[2], 0, 'ARGV[2] (now)')
if not e and ARGV[3] ~= '0' and ARGV[3] ~= '1' then
  e = "ARGV[3] (force) must be '0' or '1', got " .. shown(ARGV[3])
end
if e then return fail('SEAL_DUE', e) end
local o = read_open(KEYS[2])
if not o[1] then return {0} end
if o[1] ~= ARGV[1] then return {2, o[1]} end
local st = redis.call('HMGET', KEYS[1], 'status', 'intervalMs')
local v = {}
e = check_open(v, o, 0, 0, 0)
local due = ARGV[3] == '1' or st[1] ~= 'ACTIVE'
if not e and not due then
  e = int(v, 'interval', st[2], 0, "stream field 'intervalMs'")
  due = not e and a.now - v.first >= v.interval
end
if e then return fail('SEAL_DUE', e) end
if due then return {1, seal(KEYS[2], KEYS[3], KEYS[4], KEYS[5], a.now)} end
return {0}
`;

/**
 * COMPLETE — a batch was delivered: delete its data and release its backlog. Idempotent.
 *
 * KEYS: 1 stats hash, 2 sealed zset, 3 batch meta hash, 4 batch chunk list
 * ARGV: 1 batch id
 * returns: 1 when the batch was removed now, 0 when it was already gone; an error reply,
 *          writing nothing, when an argument or a stored value is invalid.
 *
 * Releases the batch's `storedBytes` as APPEND counted them (absent, from a version that did
 * not count them: 0). A dead-lettered batch left the backlog already.
 */
export const COMPLETE_SCRIPT = `${CHECK_FUNCTIONS}
local e = str(ARGV[1], 'ARGV[1] (batch id)')
  or batch_keys(KEYS[3], KEYS[4], ARGV[1], 'KEYS[3] and KEYS[4]')
if e then return fail('COMPLETE', e) end
local exists = redis.call('EXISTS', KEYS[3]) == 1
local v = {}
local live = false
if exists then
  local m = redis.call('HMGET', KEYS[3], 'bytes', 'records', 'storedBytes', 'deadAtMs')
  local c = redis.call('HMGET', KEYS[1], 'backlogBytes', 'backlogRecords', 'backlogStoredBytes',
    'deliveredBatches', 'deliveredRecords', 'deliveredBytes')
  live = not m[4]
  local b = {}
  e = int(b, 'bytes', m[1], 0, "batch field 'bytes'")
    or int(b, 'records', m[2], 0, "batch field 'records'")
    or int(b, 'stored', m[3], 0, "batch field 'storedBytes'", true)
    or sum(v, 'deliveredBatches', c[4], 1, 0, "stats field 'deliveredBatches'", true)
    or sum(v, 'deliveredRecords', c[5], b.records, 0, "stats field 'deliveredRecords'", true)
    or sum(v, 'deliveredBytes', c[6], b.bytes, 0, "stats field 'deliveredBytes'", true)
  if not e and live then
    e = sum(v, 'backlogBytes', c[1], 0 - b.bytes, -MAX_INT, "stats field 'backlogBytes'", true)
      or sum(v, 'backlogRecords', c[2], 0 - b.records, -MAX_INT,
        "stats field 'backlogRecords'", true)
      or sum(v, 'backlogStoredBytes', c[3], 0 - b.stored, -MAX_INT,
        "stats field 'backlogStoredBytes'", true)
  end
  if e then return fail('COMPLETE', e) end
end
redis.call('ZREM', KEYS[2], ARGV[1])
if not exists then return 0 end
-- UNLINK: a delivered batch's chunk list may hold tens of MB, which DEL would free while
-- every put waits; UNLINK leaves the freeing to Redis's background thread.
redis.call('UNLINK', KEYS[3], KEYS[4])
if live then
  redis.call('HSET', KEYS[1], 'backlogBytes', dec(v.backlogBytes),
    'backlogRecords', dec(v.backlogRecords), 'backlogStoredBytes', dec(v.backlogStoredBytes))
end
redis.call('HSET', KEYS[1], 'deliveredBatches', dec(v.deliveredBatches),
  'deliveredRecords', dec(v.deliveredRecords), 'deliveredBytes', dec(v.deliveredBytes))
return 1
`;

/**
 * DEAD_LETTER — a batch's retention window ended undelivered: keep its data, record why, and
 * take it out of the backlog. Idempotent.
 *
 * KEYS: 1 stats hash, 2 sealed zset, 3 batch meta hash, 4 dead zset
 * ARGV: 1 batch id, 2 now (epoch ms), 3 reason
 * returns: 1 when dead-lettered now, 0 when the batch is gone or already dead; an error
 *          reply, writing nothing, when an argument or a stored value is invalid.
 *
 * Releases the batch's `storedBytes` from the backlog like COMPLETE: dead-lettered data stays
 * in Redis, outside the cap, until an operator removes it.
 */
export const DEAD_LETTER_SCRIPT = `${CHECK_FUNCTIONS}
local a = {}
local e = str(ARGV[1], 'ARGV[1] (batch id)')
  or int(a, 'now', ARGV[2], 0, 'ARGV[2] (now)')
  or str(ARGV[3], 'ARGV[3] (reason)')
if e then return fail('DEAD_LETTER', e) end
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
local m = redis.call('HMGET', KEYS[3], 'bytes', 'records', 'storedBytes', 'deadAtMs')
if m[4] then return 0 end
local c = redis.call('HMGET', KEYS[1], 'backlogBytes', 'backlogRecords', 'backlogStoredBytes',
  'deadBatches', 'deadRecords')
local b = {}
local v = {}
e = int(b, 'bytes', m[1], 0, "batch field 'bytes'")
  or int(b, 'records', m[2], 0, "batch field 'records'")
  or int(b, 'stored', m[3], 0, "batch field 'storedBytes'", true)
  or sum(v, 'backlogBytes', c[1], 0 - b.bytes, -MAX_INT, "stats field 'backlogBytes'", true)
  or sum(v, 'backlogRecords', c[2], 0 - b.records, -MAX_INT, "stats field 'backlogRecords'", true)
  or sum(v, 'backlogStoredBytes', c[3], 0 - b.stored, -MAX_INT,
    "stats field 'backlogStoredBytes'", true)
  or sum(v, 'deadBatches', c[4], 1, 0, "stats field 'deadBatches'", true)
  or sum(v, 'deadRecords', c[5], b.records, 0, "stats field 'deadRecords'", true)
if e then return fail('DEAD_LETTER', e) end
redis.call('HSET', KEYS[3], 'deadAtMs', dec(a.now), 'deadReason', ARGV[3])
redis.call('ZADD', KEYS[4], dec(a.now), ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'backlogBytes', dec(v.backlogBytes),
  'backlogRecords', dec(v.backlogRecords), 'backlogStoredBytes', dec(v.backlogStoredBytes),
  'deadBatches', dec(v.deadBatches), 'deadRecords', dec(v.deadRecords))
return 1
`;
