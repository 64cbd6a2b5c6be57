import { Redis, type RedisOptions } from 'ioredis';

/** The connections a Sluice process uses. */
export interface RedisConnections {
  /**
   * Commands on the request path: fails fast (no offline queue) so that a Redis outage
   * answers 503 at once instead of holding requests.
   */
  commands: Redis;
  /** For BullMQ: BullMQ requires `maxRetriesPerRequest: null` and retries by itself. */
  queue: Redis;
}

/** Opens (lazily) the process's Redis connections to `url`. */
export function openRedis(url: string): RedisConnections {
  const common: RedisOptions = { lazyConnect: true, connectionName: 'sluice' };
  const commands = new Redis(url, {
    ...common,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 15_000,
  });
  const queue = new Redis(url, { ...common, maxRetriesPerRequest: null });
  return { commands, queue };
}

/** Connects both, or throws the first connection error. */
export async function connectRedis(connections: RedisConnections): Promise<void> {
  await Promise.all([connections.commands.connect(), connections.queue.connect()]);
}

/** Closes both connections. */
export async function closeRedis(connections: RedisConnections): Promise<void> {
  await Promise.allSettled([connections.commands.quit(), connections.queue.quit()]);
}

/**
 * A client for one short exchange with a Redis that may not be there: no reconnects, no
 * queued commands, errors left to the caller's awaits (not the global error event).
 */
export function oneShotRedis(url: string, timeoutMs = 1500): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  return client;
}

/** Answers whether a Redis answers PING at `url` within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 1500): Promise<boolean> {
  const probe = oneShotRedis(url, timeoutMs);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}
