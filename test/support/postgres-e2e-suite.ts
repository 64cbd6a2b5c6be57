import { Redis } from 'ioredis';
import { afterEach, beforeAll } from 'vitest';

import { Cleanups, cleanupAfterAll, startRedis } from './e2e.js';
import type { SluiceUnderTest } from '../conformance/sluice-under-test.js';
import { backlogDrained } from './firehose-stream.js';
import type { TestPostgres } from './postgres.js';
import type { RedisServer } from './redis-server.js';
import { testPostgresForFile } from './test-postgres-for-file.js';

/**
 * What a file of end-to-end tests that deliver to PostgreSQL shares: a private Redis for the
 * Sluices it starts, a client on it, and the test PostgreSQL. The fields are set by the
 * `beforeAll` that {@link postgresE2eSuite} registers; read them inside hooks and tests.
 */
export interface PostgresE2eSuite {
  /** Undone after all the file's tests. */
  readonly file: Cleanups;
  /** Undone after each test; Redis is emptied after them. */
  readonly cleanups: Cleanups;
  readonly redisServer: RedisServer;
  readonly redis: Redis;
  readonly db: TestPostgres;
  /** Waits until `stream`'s backlog on this Redis drained ({@link backlogDrained}). */
  readonly drained: (stream: string, sluice: SluiceUnderTest, timeoutMs?: number) => Promise<void>;
}

/**
 * Registers the file's hooks (call at top level, before the file's own `beforeAll`): Redis and
 * PostgreSQL before all tests, each test's cleanups and an empty Redis after each, everything
 * undone after all.
 */
export function postgresE2eSuite(): PostgresE2eSuite {
  const file = cleanupAfterAll();
  const cleanups = new Cleanups();
  const suite: { -readonly [K in keyof PostgresE2eSuite]?: PostgresE2eSuite[K] } = {
    file,
    cleanups,
    drained: (stream, sluice, timeoutMs) =>
      backlogDrained(suite.redis as Redis, stream, sluice, timeoutMs),
  };
  beforeAll(async () => {
    suite.redisServer = await startRedis(file);
    const redis = new Redis(suite.redisServer.url, { maxRetriesPerRequest: 2 });
    suite.redis = redis;
    file.add(() => redis.quit());
    suite.db = await testPostgresForFile(file);
  }, 120_000);
  afterEach(async () => {
    await cleanups.run();
    await suite.redis?.flushall();
  });
  return suite as PostgresE2eSuite;
}
