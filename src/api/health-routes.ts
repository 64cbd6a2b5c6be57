import type { FastifyInstance } from 'fastify';
import type { RedisClient } from '../redis/client.js';
import { Readiness, type ReadinessProbe } from '../telemetry/readiness.js';
import { redactUrlCredentials } from '../telemetry/redact.js';

/** The paths probes use; they need no signature and stay answered while the process drains. */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/health', '/ready']);

/**
 * How long `/ready` waits for each check. Below the 3 s timeout of the image's HEALTHCHECK and
 * of common probe defaults, so a Redis that hangs is reported as such rather than as a probe
 * timeout.
 */
const CHECK_TIMEOUT_MS = 2_000;

/** The check every API process makes: Redis answers PING. */
export const REDIS_CHECK = 'redis';

/** A probe's answer: the HTTP status and the JSON body. */
export interface ProbeAnswer {
  status: 200 | 503;
  body: Record<string, unknown>;
}

/**
 * The answer to `GET /health` or `GET /ready` (undefined for any other path), for this app's
 * routes and for any other server of the process that should answer probes too (a worker's
 * metrics port, say).
 *
 * - `/health` is liveness: 200 `{"status":"ok"}` whenever the process answers at all, whatever
 *   Redis or a destination is doing and also while it shuts down. Restarting a process whose
 *   Redis is down would not bring Redis back.
 * - `/ready` is readiness: 200 `{"status":"ready", "checks": …}` when Redis answers PING, every
 *   check of `readiness` passes (the service adds the delivery workers where the role
 *   delivers) and the process is not shutting down; otherwise 503
 *   `{"status":"not ready", "checks": …, "failed": [names]}`, each check `ok` or what is wrong.
 */
export async function answerProbe(
  path: string,
  redis: RedisClient,
  readiness: Readiness,
): Promise<ProbeAnswer | undefined> {
  if (path === '/health') return { status: 200, body: { status: 'ok' } };
  if (path !== '/ready') return undefined;
  const own = new Map<string, ReadinessProbe>([[REDIS_CHECK, () => pingRedis(redis)]]);
  const report = await readiness.report(CHECK_TIMEOUT_MS, own);
  return report.ready
    ? { status: 200, body: { status: 'ready', checks: report.checks } }
    : { status: 503, body: { status: 'not ready', checks: report.checks, failed: report.failed } };
}

/** `GET /health` and `GET /ready` on the API (see {@link answerProbe}). */
export function registerHealthRoutes(
  app: FastifyInstance,
  redis: RedisClient,
  readiness: Readiness = new Readiness(),
): void {
  for (const path of PROBE_PATHS) {
    app.get(path, async (_request, reply) => {
      const answer = (await answerProbe(path, redis, readiness)) as ProbeAnswer;
      return reply.code(answer.status).send(answer.body);
    });
  }
}

async function pingRedis(redis: RedisClient): Promise<string | undefined> {
  // The request path's connection: without an offline queue a PING fails at once while it is
  // disconnected, instead of waiting for a reconnect.
  if (redis.status !== 'ready') return `not connected to Redis (connection ${redis.status})`;
  try {
    await redis.ping();
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return `Redis did not answer PING: ${redactUrlCredentials(message)}`;
  }
}
