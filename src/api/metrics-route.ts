import type { FastifyInstance } from 'fastify';
import { METRICS_CONTENT_TYPE, type MetricsSource } from '../telemetry/metrics.js';

/** Where Prometheus scrapes. Like the probes, it needs no signature (docs/metrics.md). */
export const METRICS_PATH = '/metrics';

/**
 * `GET /metrics`: the Prometheus text format, the deployment's series read from Redis and then
 * this process's own. No signature is required, as with `/health`: scrapers do not sign
 * requests, and nothing in it is secret (stream names, counts); `SLUICE_METRICS=false` turns
 * it off.
 */
export function registerMetricsRoute(app: FastifyInstance, metrics: MetricsSource): void {
  app.get(METRICS_PATH, async (_request, reply) =>
    reply.header('content-type', METRICS_CONTENT_TYPE).send(await metrics.render()),
  );
}
