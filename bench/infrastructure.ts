import { Redis } from 'ioredis';

import { startS3Server, type S3Server } from '../devtools/s3-server.js';
import { BENCH_BUCKET } from './control-plane.js';
import { startRedis, type BenchRedis, type RedisPersistence } from './redis-server.js';

/** The servers Sluice runs against in the bench: a private Redis and a private s3rver. */
export interface Infrastructure {
  readonly redis: BenchRedis;
  readonly s3: S3Server;
  /** The bench's own Redis connection, for the stream counters. */
  readonly client: Redis;
  /** Redis's version, for the report. */
  readonly redisVersion: string;
  /**
   * Empties Redis between phases (no Sluice process may be running), so each phase starts from
   * the same state and no earlier backlog competes for the worker.
   */
  reset(): Promise<void>;
  /** Name and pid of each server process, for the phases' CPU and RSS sampling. */
  processes(): (readonly [string, number])[];
  /** Closes the connection and stops both servers (bounded). */
  stop(): Promise<void>;
}

/** Starts Redis and s3rver in parallel, and creates the bench bucket. */
export async function startInfrastructure(persistence: RedisPersistence): Promise<Infrastructure> {
  const [redis, s3] = await Promise.all([
    startRedis(persistence),
    startS3Server({ dirPrefix: 'sluice-bench-s3-' }),
  ]);
  await s3.createBucket(BENCH_BUCKET);
  const client = new Redis(redis.server.url, {
    maxRetriesPerRequest: 2,
    commandTimeout: 5_000,
    // Cleanup must not be held up by a client that keeps reconnecting to a stopped server.
    retryStrategy: (attempt) => (attempt > 5 ? null : 200),
  });
  client.on('error', () => undefined);
  const info = await client.info('server');
  const redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  return {
    redis,
    s3,
    client,
    redisVersion,
    async reset() {
      await client.flushall();
    },
    processes: () => [
      ['redis-server', redis.server.child.pid],
      ['s3rver', s3.child.pid],
    ],
    async stop() {
      client.disconnect();
      await Promise.all([redis.server.stop(), s3.stop()]);
    },
  };
}
