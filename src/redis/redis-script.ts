import { createHash } from 'node:crypto';
import type { RedisClient } from './client.js';
import { assertOneSlot, STRICT_KEYS_PRELUDE, strictScriptsEnabled } from './strict-scripts.js';

/**
 * A Lua script run by SHA (EVALSHA), loaded on first NOSCRIPT. Sending the SHA instead of
 * the body matters on the hot path: the append script runs once per put request.
 *
 * Every key a script touches is one of its KEYS, and all KEYS of a call share one hash slot, so
 * each script runs unchanged on Redis Cluster; strict mode (strict-scripts.ts) checks both.
 */
export class RedisScript {
  private readonly lua: string;
  private readonly sha: string;
  private readonly strict: boolean;

  constructor(
    lua: string,
    private readonly numberOfKeys?: number,
  ) {
    this.strict = strictScriptsEnabled();
    this.lua = this.strict ? STRICT_KEYS_PRELUDE + lua : lua;
    this.sha = createHash('sha1').update(this.lua).digest('hex');
  }

  /**
   * Runs the script with `keys` (exactly `numberOfKeys` of them, when the script was given a
   * number; any number otherwise) and `args`.
   */
  async run(
    redis: RedisClient,
    keys: readonly string[],
    args: readonly (string | number | Buffer)[],
  ) {
    if (this.numberOfKeys !== undefined && keys.length !== this.numberOfKeys) {
      throw new Error(`script expects ${this.numberOfKeys} keys, got ${keys.length}`);
    }
    if (this.strict) assertOneSlot(keys);
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        return await redis.eval(this.lua, keys.length, ...keys, ...args);
      }
      throw error;
    }
  }
}
