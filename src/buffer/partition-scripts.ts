import { BATCH_OVERHEAD_BYTES, CHECK_FUNCTIONS, CHUNK_OVERHEAD_BYTES } from './scripts.js';

/**
 * The partition buffers' Redis Lua scripts: the second buffering stage of streams with
 * processing or dynamic partitioning (docs/design.md, "Two-stage buffering").
 *
 * A processed batch's records go, per partition, into the partition's open buffer: a hash like
 * the stream's open buffer (`id`, `firstArrivalMs`, `bytes`, `records`, `storedBytes`) plus the
 * partition's keys (`partition`, JSON). The stream's partitions sorted set lists the open
 * partition buffers by the time each is due (opened + IntervalInSeconds). A partition buffer is
 * sealed into an ordinary batch (its metadata carries `partition`) when it reaches SizeInMBs or
 * falls due, and delivered like any batch.
 *
 * Every key is the stream's (one hash tag), so the scripts are valid under Redis Cluster; the
 * headers and argument checks follow scripts.ts.
 */

/**
 * Seals one open partition buffer into a batch, whose keys are metaKey and chunksKey; the
 * caller has checked it exists. Also checks that a partition buffer key is the one of pid.
 */
const PARTITION_FUNCTIONS = `
local function seal_partition(openKey, pid, sealedKey, partitionsKey, metaKey, chunksKey, now)
  local o = redis.call('HMGET', openKey, 'id', 'firstArrivalMs', 'bytes', 'records',
    'storedBytes', 'partition')
  redis.call('HSET', metaKey, 'id', o[1], 'firstArrivalMs', o[2], 'bytes', o[3],
    'records', o[4], 'storedBytes', o[5], 'chunks', redis.call('LLEN', chunksKey),
    'sealedAtMs', dec(now), 'partition', o[6])
  redis.call('DEL', openKey)
  redis.call('ZADD', sealedKey, dec(now), o[1])
  redis.call('ZREM', partitionsKey, pid)
  return o[1]
end
local function partition_key(openKey, pid, what)
  if string.sub(openKey, -#pid - 1) ~= ':' .. pid then
    return what .. ' must be the buffer key of partition ' .. shown(pid)
  end
  return nil
end
`;

/** Arguments per partition in {@link COMMIT_PROCESSED_SCRIPT}. */
export const COMMIT_PARTITION_STRIDE = 9;

/** Keys per partition in {@link COMMIT_PROCESSED_SCRIPT} and {@link SEAL_PARTITIONS_DUE_SCRIPT}. */
export const PARTITION_KEY_STRIDE = 3;

/** Keys of {@link COMMIT_PROCESSED_SCRIPT} before the partitions' own. */
export const COMMIT_FIXED_KEYS = 5;

/** Keys of {@link SEAL_PARTITIONS_DUE_SCRIPT} before the partitions' own. */
export const SEAL_PARTITIONS_FIXED_KEYS = 3;

/**
 * COMMIT_PROCESSED — one processed slice of a batch: its records, grouped by partition, are
 * appended to the partition buffers (one or more framed chunks per partition), and the batch notes how far it is processed; when the
 * slice is the last, the batch is removed (its records live on in the partition buffers).
 * All or nothing, so a crash never appends a slice twice or loses it.
 *
 * KEYS: 1 stats hash, 2 sealed zset, 3 and 4 the processed batch's meta hash and chunk list,
 *       5 partitions zset, then n times (${PARTITION_KEY_STRIDE} each): the partition's buffer hash, and
 *       the meta hash and chunk list of the batch id its ARGV name
 * ARGV: 1 the processed batch's id, 2 chunks processed before this slice, 3 chunks processed
 *       after it, 4 the batch's error-output objects after it, 5 now (epoch ms), 6 most open
 *       partitions allowed, 7 partition count n, then n times (${COMMIT_PARTITION_STRIDE} each): partition id,
 *       batch id (the partition buffer's as the caller read it, or a new one when it read
 *       none), 'open' or 'new' (which of the two), partition keys (JSON), number of framed
 *       chunks k, payload bytes, record count, SizeInMBs in bytes, IntervalInSeconds in ms;
 *       then the framed chunks of every partition in turn (k of the first, then of the second…)
 * returns: {0, sealed batch ids...} committed (sealed: partition buffers this filled);
 *          {1} the batch is gone or its progress is not ARGV 2 (another attempt moved on);
 *          {2, free} the slice opens more partitions than the free slots `free`: nothing is
 *          written; {3} a partition buffer is not the batch the caller named (sealed or
 *          opened since it read them): nothing is written, read them again and call again;
 *          an error reply, writing nothing, when an argument or value is invalid.
 *
 * The partitions' keys are the caller's to name because Redis Cluster requires every key a
 * script touches to be declared.
 */
export const COMMIT_PROCESSED_SCRIPT = `${CHECK_FUNCTIONS}${PARTITION_FUNCTIONS}
local a = {}
local e = str(ARGV[1], 'ARGV[1] (batch id)')
  or batch_keys(KEYS[3], KEYS[4], ARGV[1], 'KEYS[3] and KEYS[4]')
  or int(a, 'before', ARGV[2], 0, 'ARGV[2] (chunks before)')
  or int(a, 'after', ARGV[3], 0, 'ARGV[3] (chunks after)')
  or int(a, 'errorWrites', ARGV[4], 0, 'ARGV[4] (error-output objects)')
  or int(a, 'now', ARGV[5], 0, 'ARGV[5] (now)')
  or int(a, 'limit', ARGV[6], 1, 'ARGV[6] (partition limit)')
  or int(a, 'n', ARGV[7], 0, 'ARGV[7] (partition count)')
if not e and #ARGV < 7 + a.n * ${COMMIT_PARTITION_STRIDE} then
  e = 'expected at least ' .. dec(7 + a.n * ${COMMIT_PARTITION_STRIDE}) .. ' arguments for ' ..
    dec(a.n) .. ' partitions, got ' .. dec(#ARGV)
end
if not e and #KEYS ~= ${COMMIT_FIXED_KEYS} + a.n * ${PARTITION_KEY_STRIDE} then
  e = 'expected ' .. dec(${COMMIT_FIXED_KEYS} + a.n * ${PARTITION_KEY_STRIDE}) .. ' keys for ' .. dec(a.n) ..
    ' partitions, got ' .. dec(#KEYS)
end
if e then return fail('COMMIT_PROCESSED', e) end
local m = redis.call('HMGET', KEYS[3], 'id', 'chunks', 'processedChunks', 'bytes', 'records',
  'storedBytes', 'deadAtMs')
if not m[1] or m[7] then return {1} end
local b = {}
e = int(b, 'chunks', m[2], 0, "batch field 'chunks'")
  or int(b, 'processed', m[3], 0, "batch field 'processedChunks'", true)
  or int(b, 'bytes', m[4], 0, "batch field 'bytes'")
  or int(b, 'records', m[5], 0, "batch field 'records'")
  or int(b, 'stored', m[6], 0, "batch field 'storedBytes'", true)
if e then return fail('COMMIT_PROCESSED', e) end
if b.processed ~= a.before then return {1} end
if a.after < a.before or a.after > b.chunks then
  return fail('COMMIT_PROCESSED', 'ARGV[3] (chunks after) must be from ' .. dec(a.before) ..
    ' to ' .. dec(b.chunks) .. ', got ' .. dec(a.after))
end
local parts = {}
local opening = 0
local nextFrame = 8 + a.n * ${COMMIT_PARTITION_STRIDE}
for i = 0, a.n - 1 do
  local base = 8 + i * ${COMMIT_PARTITION_STRIDE}
  local k = ${COMMIT_FIXED_KEYS} + i * ${PARTITION_KEY_STRIDE}
  local p = {pid = ARGV[base], id = ARGV[base + 1], keys = ARGV[base + 3], frames = {},
    open = KEYS[k + 1], meta = KEYS[k + 2], chunks = KEYS[k + 3]}
  e = str(p.pid, 'partition id') or str(p.id, 'batch id')
    or str(p.keys, 'partition keys')
    or partition_key(p.open, p.pid, 'its first key')
    or batch_keys(p.meta, p.chunks, p.id, 'its second and third keys')
    or int(p, 'k', ARGV[base + 4], 1, 'framed chunk count')
    or int(p, 'bytes', ARGV[base + 5], 0, 'payload bytes')
    or int(p, 'records', ARGV[base + 6], 1, 'record count')
    or int(p, 'size', ARGV[base + 7], 0, 'SizeInMBs in bytes')
    or int(p, 'interval', ARGV[base + 8], 0, 'IntervalInSeconds in ms')
  if not e and ARGV[base + 2] ~= 'new' and ARGV[base + 2] ~= 'open' then
    e = "what the batch id is must be 'new' or 'open', got " .. shown(ARGV[base + 2])
  end
  p.expected = ARGV[base + 2] == 'open' and p.id or nil
  if not e and nextFrame + p.k - 1 > #ARGV then
    e = 'its ' .. dec(p.k) .. ' framed chunks are past the last argument'
  end
  for f = 0, (p.k or 0) - 1 do
    if e then break end
    local frame = ARGV[nextFrame + f]
    if #frame < 13 then
      e = 'framed chunk ' .. dec(f) .. ' is shorter than a chunk header'
    end
    p.frames[f + 1] = frame
  end
  nextFrame = nextFrame + (p.k or 0)
  if e then return fail('COMMIT_PROCESSED', 'partition ' .. dec(i) .. ': ' .. e) end
  p.o = redis.call('HMGET', p.open, 'id', 'firstArrivalMs', 'bytes', 'records', 'storedBytes')
  if not p.o[1] then opening = opening + 1 end
  parts[#parts + 1] = p
end
for _, p in ipairs(parts) do
  -- HMGET answers false for a missing field; nil compares equal to a missing expectation.
  if (p.o[1] or nil) ~= p.expected then return {3} end
end
local free = a.limit - redis.call('ZCARD', KEYS[5])
if nextFrame - 1 ~= #ARGV then
  return fail('COMMIT_PROCESSED', 'expected ' .. dec(nextFrame - 1) .. ' arguments for ' ..
    dec(a.n) .. ' partitions and their framed chunks, got ' .. dec(#ARGV))
end
if opening > free then return {2, math.max(free, 0)} end
local c = redis.call('HMGET', KEYS[1], 'backlogBytes', 'backlogRecords', 'backlogStoredBytes',
  'processedBatches')
local v = {}
e = int(v, 'backlogBytes', c[1], -MAX_INT, "stats field 'backlogBytes'", true)
  or int(v, 'backlogRecords', c[2], -MAX_INT, "stats field 'backlogRecords'", true)
  or int(v, 'backlogStored', c[3], -MAX_INT, "stats field 'backlogStoredBytes'", true)
  or int(v, 'processedBatches', c[4], 0, "stats field 'processedBatches'", true)
for _, p in ipairs(parts) do
  if e then break end
  p.stored = 0
  for _, frame in ipairs(p.frames) do p.stored = p.stored + #frame + ${CHUNK_OVERHEAD_BYTES} end
  if not p.o[1] then p.stored = p.stored + ${BATCH_OVERHEAD_BYTES} end
  p.t = {bytes = p.bytes, records = p.records, stored = p.stored}
  if p.o[1] then
    e = int(p.t, 'first', p.o[2], 0, "partition field 'firstArrivalMs'")
      or sum(p.t, 'bytes', p.o[3], p.bytes, 0, "partition field 'bytes'")
      or sum(p.t, 'records', p.o[4], p.records, 0, "partition field 'records'")
      or sum(p.t, 'stored', p.o[5], p.stored, 0, "partition field 'storedBytes'")
  end
  v.backlogBytes = v.backlogBytes + p.bytes
  v.backlogRecords = v.backlogRecords + p.records
  v.backlogStored = v.backlogStored + p.stored
end
if e then return fail('COMMIT_PROCESSED', e) end
local sealed = {}
for _, p in ipairs(parts) do
  local id = p.id
  -- A frame's arrival time is its oldest record's (bytes 2 to 9 of the header).
  local first = nil
  for _, frame in ipairs(p.frames) do
    local arrival = struct.unpack('>d', frame, 2)
    if first == nil or arrival < first then first = arrival end
  end
  if p.o[1] and p.t.first < first then first = p.t.first end
  redis.call('RPUSH', p.chunks, unpack(p.frames))
  redis.call('HSET', p.open, 'id', id, 'firstArrivalMs', dec(first), 'bytes', dec(p.t.bytes),
    'records', dec(p.t.records), 'storedBytes', dec(p.t.stored), 'partition', p.keys)
  if not p.o[1] then redis.call('ZADD', KEYS[5], dec(a.now + p.interval), p.pid) end
  if p.t.bytes >= p.size or p.interval == 0 then
    sealed[#sealed + 1] = seal_partition(p.open, p.pid, KEYS[2], KEYS[5], p.meta, p.chunks, a.now)
  end
end
if a.after == b.chunks then
  -- The whole batch is processed: its records are in the partition buffers now.
  -- UNLINK, as COMPLETE does: the batch's chunk list is freed off Redis's main thread.
  redis.call('UNLINK', KEYS[3], KEYS[4])
  redis.call('ZREM', KEYS[2], ARGV[1])
  v.backlogBytes = v.backlogBytes - b.bytes
  v.backlogRecords = v.backlogRecords - b.records
  v.backlogStored = v.backlogStored - b.stored
  v.processedBatches = v.processedBatches + 1
else
  redis.call('HSET', KEYS[3], 'processedChunks', dec(a.after), 'errorWrites', dec(a.errorWrites))
end
redis.call('HSET', KEYS[1], 'backlogBytes', dec(v.backlogBytes),
  'backlogRecords', dec(v.backlogRecords), 'backlogStoredBytes', dec(v.backlogStored),
  'processedBatches', dec(v.processedBatches))
return {0, unpack(sealed)}
`;

/**
 * SEAL_PARTITIONS_DUE — seal the partition buffers the caller read as due (their
 * IntervalInSeconds since opening has passed), or, when forced or the stream is no longer
 * ACTIVE (it drains), the ones it read at all. Each is checked again here: one sealed or
 * reopened since it was read is left for the next call.
 *
 * KEYS: 1 sealed zset, 2 partitions zset, 3 stream hash, then n times (${PARTITION_KEY_STRIDE} each): the
 *       partition's buffer hash, and the meta hash and chunk list of the batch id its ARGV name
 * ARGV: 1 now (epoch ms), 2 '1' to force, '0' not to, then n times: partition id, the batch id
 *       of its buffer as the caller read it
 * returns: the sealed batch ids (an empty array when none); an error reply, writing nothing,
 *          when an argument is invalid.
 */
export const SEAL_PARTITIONS_DUE_SCRIPT = `${CHECK_FUNCTIONS}${PARTITION_FUNCTIONS}
local a = {}
local e = int(a, 'now', ARGV[1], 0, 'ARGV[1] (now)')
if not e and ARGV[2] ~= '0' and ARGV[2] ~= '1' then
  e = "ARGV[2] (force) must be '0' or '1', got " .. shown(ARGV[2])
end
local n = (#ARGV - 2) / 2
if not e and (n ~= math.floor(n) or #KEYS ~= ${SEAL_PARTITIONS_FIXED_KEYS} + n * ${PARTITION_KEY_STRIDE}) then
  e = 'expected a partition id and a batch id per partition and ${PARTITION_KEY_STRIDE} keys each, got ' ..
    dec(#ARGV - 2) .. ' arguments and ' .. dec(#KEYS - ${SEAL_PARTITIONS_FIXED_KEYS}) .. ' keys'
end
for i = 0, (e and 0 or n) - 1 do
  local k = ${SEAL_PARTITIONS_FIXED_KEYS} + i * ${PARTITION_KEY_STRIDE}
  local pid, id = ARGV[3 + i * 2], ARGV[4 + i * 2]
  e = str(pid, 'partition id') or str(id, 'batch id')
    or partition_key(KEYS[k + 1], pid, 'a partition buffer key')
    or batch_keys(KEYS[k + 2], KEYS[k + 3], id, 'a batch meta and chunk key')
  if e then break end
end
if e then return fail('SEAL_PARTITIONS_DUE', e) end
local all = ARGV[2] == '1' or redis.call('HGET', KEYS[3], 'status') ~= 'ACTIVE'
local sealed = {}
for i = 0, n - 1 do
  local k = ${SEAL_PARTITIONS_FIXED_KEYS} + i * ${PARTITION_KEY_STRIDE}
  local pid, id = ARGV[3 + i * 2], ARGV[4 + i * 2]
  local open = redis.call('HGET', KEYS[k + 1], 'id')
  local due = redis.call('ZSCORE', KEYS[2], pid)
  if not open then
    if due then redis.call('ZREM', KEYS[2], pid) end
  elseif open == id and due and (all or tonumber(due) <= a.now) then
    sealed[#sealed + 1] = seal_partition(KEYS[k + 1], pid, KEYS[1], KEYS[2], KEYS[k + 2],
      KEYS[k + 3], a.now)
  end
end
return sealed
`;
