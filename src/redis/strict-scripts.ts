import { keySlot } from './key-slot.js';

/**
 * Strict scripts: a check that every Lua script touches only keys it declares in KEYS, all in
 * one hash slot — what Redis Cluster requires and a single Redis does not enforce. On when the
 * environment sets `SLUICE_REDIS_STRICT_SCRIPTS=1`, as the test suite does (vitest.config.ts),
 * so that every script call of every test checks it; off in production, where it would only
 * cost time.
 */
export function strictScriptsEnabled(): boolean {
  return process.env.SLUICE_REDIS_STRICT_SCRIPTS === '1';
}

/**
 * Lua put before a script's body in strict mode: it shadows the `redis` global with a table
 * whose `call` and `pcall` fail when a command's key is not one of KEYS. The key positions are
 * those of the commands Sluice's scripts use: every argument for the multi-key commands, the
 * first otherwise.
 */
export const STRICT_KEYS_PRELUDE = `
local redis = (function(real)
  local declared = {}
  for _, k in ipairs(KEYS) do declared[k] = true end
  local every = {DEL = true, UNLINK = true, EXISTS = true, TOUCH = true}
  local none = {TIME = true, PING = true}
  local function check(command, ...)
    local name = string.upper(command)
    local n = select('#', ...)
    local last = every[name] and n or math.min(n, 1)
    if none[name] then last = 0 end
    for i = 1, last do
      local key = select(i, ...)
      if not declared[key] then
        error('sluice strict scripts: ' .. name .. ' touches ' .. tostring(key) ..
          ', which is not one of the KEYS')
      end
    end
  end
  local guarded = setmetatable({}, {__index = real})
  guarded.call = function(command, ...) check(command, ...) return real.call(command, ...) end
  guarded.pcall = function(command, ...) check(command, ...) return real.pcall(command, ...) end
  return guarded
end)(redis)
`;

/** Throws unless every key of one script call hashes to the same Redis Cluster slot. */
export function assertOneSlot(keys: readonly string[]): void {
  const slots = new Set(keys.map(keySlot));
  if (slots.size > 1) {
    throw new Error(`a script call's keys span ${slots.size} hash slots: ${keys.join(', ')}`);
  }
}
