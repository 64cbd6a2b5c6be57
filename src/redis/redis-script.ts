import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A Lua script run by SHA (EVALSHA), loaded on first NOSCRIPT. Sending the SHA instead of
 * the body matters on the hot path: the append script runs once per put request.
 */
export class RedisScript {
  private readonly sha: string;

  constructor(
    private readonly lua: string,
    private readonly numberOfKeys: number,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Runs the script with `keys` (exactly `numberOfKeys` of them) and `args`. */
  async run(redis: Redis, keys: readonly string[], args: readonly (string | number | Buffer)[]) {
    if (keys.length !== this.numberOfKeys) {
      throw new Error(`script expects ${this.numberOfKeys} keys, got ${keys.length}`);
    }
    try {
      return await redis.evalsha(this.sha, this.numberOfKeys, ...keys, ...args);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        return await redis.eval(this.lua, this.numberOfKeys, ...keys, ...args);
      }
      throw error;
    }
  }
}
