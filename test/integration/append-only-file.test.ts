import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { AOF_REWRITE_MIN_BYTES, AOF_REWRITE_MIN_SIZE } from '../../src/redis/append-only-file.js';
import { startRedisServer } from '../support/redis-server.js';

describe('the append-only file rewrite threshold', () => {
  it('is what redis-server reads the setting as, on the Redis the tests and the bench start', async () => {
    const server = await startRedisServer({ appendfsync: 'everysec' });
    const redis = new Redis(server.url);
    try {
      expect(await redis.config('GET', 'auto-aof-rewrite-min-size')).toEqual([
        'auto-aof-rewrite-min-size',
        String(AOF_REWRITE_MIN_BYTES),
      ]);
      // Redis's default, so a rewrite waits for the file to double as well.
      expect(await redis.config('GET', 'auto-aof-rewrite-percentage')).toEqual([
        'auto-aof-rewrite-percentage',
        '100',
      ]);
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });

  it("is docker-compose's too", async () => {
    const compose = await readFile(
      fileURLToPath(new URL('../../docker-compose.yml', import.meta.url)),
      'utf8',
    );
    const value = /- '--auto-aof-rewrite-min-size'\s*\n\s*- '([^']+)'/.exec(compose)?.[1];
    expect(value).toBe(AOF_REWRITE_MIN_SIZE);
  });
});
