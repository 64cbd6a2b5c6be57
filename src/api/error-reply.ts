import { FirehoseError } from '../errors/catalogue.js';

/** ioredis errors that mean "Redis could not take the command now", not a Sluice bug. */
const REDIS_UNAVAILABLE = new Set([
  'MaxRetriesPerRequestError',
  'AbortError',
  // A Redis Cluster none of whose nodes answered a slot-map refresh.
  'ClusterAllFailedError',
]);
/**
 * Redis replies that mean "not now": full (OOM), unable to persist (MISCONF: a full disk or a
 * failed save refuses writes), starting, busy, failing over.
 */
const REDIS_BUSY_REPLY =
  /^(OOM|MISCONF|LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|MOVED|ASK)\b/;
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  // Sluice's own: no Redis Cluster master serves the key's slot (see replication-barrier.ts).
  'SLUICE_REDIS_SLOT_UNSERVED',
]);

/**
 * Maps any error thrown while handling a request to the Firehose error the client gets.
 * Redis trouble becomes a 503 `ServiceUnavailableException` (SDKs retry it); anything else
 * unexpected a 500 `InternalFailure`. Either way nothing was acknowledged.
 */
export function toFirehoseError(
  error: unknown,
  redisReady: boolean,
): {
  error: FirehoseError;
  unexpected: boolean;
} {
  if (error instanceof FirehoseError) return { error, unexpected: false };
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (
    !redisReady ||
    REDIS_UNAVAILABLE.has(name) ||
    (name === 'ReplyError' && REDIS_BUSY_REPLY.test(message)) ||
    (typeof code === 'string' && NETWORK_CODES.has(code)) ||
    message.includes('enableOfflineQueue') ||
    message.includes('Command timed out') ||
    message.includes('Connection is closed')
  ) {
    return {
      error: new FirehoseError(
        'ServiceUnavailableException',
        'Sluice cannot reach its Redis right now. Retry later.',
      ),
      unexpected: false,
    };
  }
  return {
    error: new FirehoseError(
      'InternalFailure',
      'Internal error. Retry later; the Sluice log has the details.',
    ),
    unexpected: true,
  };
}
