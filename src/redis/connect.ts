import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import { withinTime } from '../lifecycle/time-limit.js';
import type { RedisClient } from './client.js';

/** The connections a Sluice process uses. */
export interface RedisConnections {
  /**
   * Commands on the request path: fails fast (no offline queue) so that a Redis outage
   * answers 503 at once instead of holding requests.
   */
  commands: RedisClient;
  /** For BullMQ: BullMQ requires `maxRetriesPerRequest: null` and retries by itself. */
  queue: RedisClient;
  /**
   * The buffer's appends when they must be confirmed by replicas (`SLUICE_REDIS_MIN_REPLICAS`),
   * with the same options as `commands`: `WAIT` holds the connection it is sent on until the
   * replicas answer, so it gets one of its own rather than stalling every other command.
   */
  ingest?: RedisClient | undefined;
}

/** `SLUICE_REDIS_MODE`: one Redis, or a Redis Cluster. */
export type RedisMode = 'single' | 'cluster';

/**
 * Opens (lazily) the process's Redis connections to `url`: one Redis, or with `mode`
 * `cluster` a Redis Cluster, `url` then naming one or more of its nodes, comma-separated.
 *
 * @param tls - TLS options for a `rediss://` URL (CA, client certificate, server name).
 * @param options.ingest - also open {@link RedisConnections.ingest}.
 */
export function openRedis(
  url: string,
  tls?: ConnectionOptions,
  options: { ingest?: boolean; mode?: RedisMode } = {},
): RedisConnections {
  const common: RedisOptions = { lazyConnect: true, connectionName: 'sluice', ...tlsOption(tls) };
  const requestPath: RedisOptions = {
    ...common,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 15_000,
  };
  const queuePath: RedisOptions = { ...common, maxRetriesPerRequest: null };
  // On a cluster, commands to many streams' keys (cross-slot-pipeline.ts) are batched per node
  // by auto-pipelining; not for BullMQ's connection, which sends blocking commands.
  const open =
    options.mode === 'cluster'
      ? (redisOptions: RedisOptions, autoPipelining: boolean) =>
          openCluster(url, redisOptions, autoPipelining)
      : (redisOptions: RedisOptions) => new Redis(url, redisOptions);
  return {
    commands: open(requestPath, true),
    queue: open(queuePath, false),
    ingest: options.ingest === true ? open(requestPath, true) : undefined,
  };
}

/**
 * A Redis Cluster client from comma-separated node URLs; their credentials (the same on every
 * node, as Redis Cluster wants) and TLS come from the first.
 *
 * Commands to a slot that moves (resharding, failover) are redirected (MOVED, ASK) and retried
 * (TRYAGAIN, CLUSTERDOWN) by ioredis; a command that cannot be served fails as on one Redis.
 * Reads go to masters only: a replica may lag, and Sluice reads what it just wrote.
 */
export function openCluster(
  url: string,
  redisOptions: RedisOptions,
  autoPipelining = false,
): Cluster {
  const urls = url.split(',').map((part) => new URL(part.trim()));
  const first = urls[0];
  if (first === undefined) throw new Error('no Redis Cluster node URL');
  const seeds = urls.map((node) => ({
    host: node.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(node.port || 6379),
  }));
  const { lazyConnect, enableOfflineQueue, ...nodeOptions } = redisOptions;
  const clusterOptions: ClusterOptions = {
    lazyConnect,
    enableOfflineQueue,
    scaleReads: 'master',
    enableAutoPipelining: autoPipelining,
    redisOptions: {
      ...nodeOptions,
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
      ...(first.protocol === 'rediss:' && !nodeOptions.tls ? { tls: {} } : {}),
    },
  };
  return new Cluster(seeds, clusterOptions);
}

/** Every connection of `connections`. */
function allOf(connections: RedisConnections): RedisClient[] {
  const { commands, queue, ingest } = connections;
  return ingest === undefined ? [commands, queue] : [commands, queue, ingest];
}

/** Connects them all, or throws the first connection error. */
export async function connectRedis(connections: RedisConnections): Promise<void> {
  await Promise.all(allOf(connections).map((connection) => connection.connect()));
}

/** How long a polite QUIT may wait for its answer before the connection is simply dropped. */
const QUIT_TIMEOUT_MS = 1_000;

/**
 * Closes every connection without ever waiting on an unreachable Redis: QUIT on a connection
 * that is not ready would sit in the offline queue until Redis comes back (for ever, with
 * `maxRetriesPerRequest: null`), so such a connection is dropped at once, and a QUIT not
 * answered within `timeoutMs` is cut short the same way. Commands still queued then fail;
 * nothing acknowledged depends on them (acknowledged means already stored in Redis).
 */
export async function closeRedis(
  connections: RedisConnections,
  timeoutMs = QUIT_TIMEOUT_MS,
): Promise<void> {
  await Promise.all(allOf(connections).map((connection) => closeConnection(connection, timeoutMs)));
}

async function closeConnection(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') {
    await withinTime(
      client.quit().catch(() => undefined),
      timeoutMs,
    );
  }
  if (client.status !== 'end') client.disconnect();
}

/**
 * A client for one short exchange with a Redis that may not be there: no reconnects, no
 * queued commands, errors left to the caller's awaits (not the global error event).
 */
export function oneShotRedis(url: string, timeoutMs = 1500, tls?: ConnectionOptions): Redis {
  const client = new Redis(url, {
    ...tlsOption(tls),
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
export async function redisAnswers(
  url: string,
  timeoutMs = 1500,
  tls?: ConnectionOptions,
): Promise<boolean> {
  return (await redisProbe(url, timeoutMs, tls)) === undefined;
}

/**
 * `code` of {@link redisProbe}'s error when a TLS Redis completed the handshake and then closed
 * the connection: with TLS 1.3 that is how Redis refuses a missing or untrusted client
 * certificate, which the client otherwise sees only as a bare reset.
 */
export const REDIS_TLS_CLOSED_AFTER_HANDSHAKE = 'SLUICE_REDIS_TLS_CLOSED_AFTER_HANDSHAKE';

/**
 * Why no Redis answered PING at `url` within `timeoutMs`, or `undefined` when one did. The
 * reason is the connection's own error where there was one (a refused TLS certificate, say),
 * not the bare "Connection is closed." the failed connect reports.
 */
export async function redisProbe(
  url: string,
  timeoutMs = 1500,
  tls?: ConnectionOptions,
): Promise<Error | undefined> {
  const probe = oneShotRedis(url, timeoutMs, tls);
  let connectionError: Error | undefined;
  let handshakeDone = false;
  probe.on('error', (error: Error) => (connectionError ??= error));
  // With TLS, ioredis says 'connect' once the handshake is done.
  probe.once('connect', () => (handshakeDone = true));
  try {
    await probe.connect();
    // A Redis still loading its data answers PING with an error, which rejects.
    await probe.ping();
    return undefined;
  } catch (error) {
    const cause = connectionError ?? (error instanceof Error ? error : new Error(String(error)));
    if (!tls || !handshakeDone) return cause;
    return Object.assign(
      new Error(`Redis closed the connection after the TLS handshake (${cause.message})`, {
        cause,
      }),
      { code: REDIS_TLS_CLOSED_AFTER_HANDSHAKE },
    );
  } finally {
    probe.disconnect();
  }
}

/** ioredis's `tls` option: set only when given, as with it ioredis speaks TLS whatever the URL. */
function tlsOption(tls: ConnectionOptions | undefined): Pick<RedisOptions, 'tls'> {
  return tls ? { tls } : {};
}
