import { startRedisServer, type RedisServer } from '../devtools/redis-server.js';

/** How Redis keeps data; the bench prints it because it changes what an acknowledgement costs. */
export type RedisPersistence = 'none' | 'aof-everysec' | 'aof-always';

/** A private redis-server for the bench. */
export interface BenchRedis {
  readonly server: RedisServer;
  readonly persistence: RedisPersistence;
  /** A one-line description for the report, e.g. `no persistence (--save '' --appendonly no …)`. */
  readonly description: string;
}

/**
 * Starts a private `redis-server` (see {@link startRedisServer}) with the persistence under test.
 *
 * @throws when redis-server is missing, exits during start, or stays silent for 10 seconds.
 */
export async function startRedis(persistence: RedisPersistence): Promise<BenchRedis> {
  const server = await startRedisServer({
    appendOnly: persistence !== 'none',
    appendfsync: persistence === 'aof-everysec' ? 'everysec' : 'always',
    dirPrefix: 'sluice-bench-redis-',
  });
  const shown = server.flags.map((f) => (f === '' ? "''" : f)).join(' ');
  return {
    server,
    persistence,
    description: `${persistence === 'none' ? 'no persistence' : 'append-only file'} (${shown})`,
  };
}
