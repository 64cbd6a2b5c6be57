/**
 * The live tail's Redis Lua script, headed by its contract (KEYS, ARGV, returns). Both keys
 * carry the stream's hash tag (see tail-keys.ts), so the script is valid under Redis Cluster.
 * It checks its arguments before its first write.
 */

/**
 * TAIL_CAPTURE: adds captured records to a stream's ring, within the stream's per-second
 * budget shared by every API process.
 *
 * KEYS: [1] ring (Redis stream), [2] the budget counter of the current epoch second.
 * ARGV: [1] records allowed per second, [2] most entries the ring keeps, [3] how long the ring
 *   outlives this capture (ms), [4] records the caller left out before these (sampling),
 *   [5] n, the records offered, then 5 values per record: arrival (epoch ms), bytes, encoding,
 *   preview, truncated (`1`/`0`).
 * Returns: { added, carried }: records added (the first of the budget's room, in order), and
 *   records left out that no added entry counts (all of them when none was added), which the
 *   caller counts with its next capture. The first added entry's `skipped` counts the rest.
 *
 * Entry ids are `<start>-<offered>`, not Redis's time-based ones: `<start>` is when the ring
 * began (Redis's clock, ms; the same for every entry until the ring expires), `<offered>` the
 * records offered to the ring since, shown or left out, up to and including the entry. So a
 * reader whose cursor the ring's trimming has passed still learns how many records it missed
 * (see live-tail.ts); a ring begun again after expiring starts later, so its ids stay above
 * every earlier cursor.
 */
export const TAIL_CAPTURE_SCRIPT = `
local limit = tonumber(ARGV[1])
local skipped = tonumber(ARGV[4])
local n = tonumber(ARGV[5])
if limit == nil or skipped == nil or n == nil or n < 1 or #ARGV ~= 5 + 5 * n then
  return redis.error_reply('ERR sluice TAIL_CAPTURE: bad arguments')
end
local used = redis.call('INCRBY', KEYS[2], n)
redis.call('PEXPIRE', KEYS[2], 2000)
local take = limit - (used - n)
if take > n then take = n end
if take < 0 then take = 0 end
skipped = skipped + n - take
if take == 0 then
  return { 0, skipped }
end
local start, offered
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
if last then
  local s, o = string.match(last[1], '^(%d+)%-(%d+)$')
  start, offered = s, tonumber(o)
else
  local t = redis.call('TIME')
  start, offered = t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000)), 0
end
for i = 0, take - 1 do
  local at = 6 + i * 5
  local counted = 0
  if i == 0 then counted = skipped end
  offered = offered + counted + 1
  redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], start .. '-' .. string.format('%.0f', offered),
    'at', ARGV[at], 'bytes', ARGV[at + 1], 'encoding', ARGV[at + 2],
    'preview', ARGV[at + 3], 'truncated', ARGV[at + 4], 'skipped', counted)
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return { take, 0 }
`;
