import type { FastifyInstance } from 'fastify';
import { ERROR_CATALOGUE } from '../errors/catalogue.js';
import type { Telemetry } from '../telemetry/events.js';
import { OPERATIONS, TARGET_PREFIX } from './firehose/operations.js';

/**
 * Reports every answered Firehose API request (`POST /`) as an `api.answered` event, with
 * labels from closed sets only — a known operation name or `unknown`, `ok` or a catalogued
 * error type — so a client sending made-up targets cannot grow the metric's series.
 * Fastify's `elapsedTime` runs from the request's arrival, body upload included, as
 * Firehose's `<Operation>.Latency` does.
 */
export function registerRequestTiming(app: FastifyInstance, telemetry: Telemetry): void {
  app.addHook('onResponse', async (request, reply) => {
    if (request.method !== 'POST' || request.routeOptions.url !== '/') return;
    const target = request.headers['x-amz-target'];
    const name =
      typeof target === 'string' && target.startsWith(TARGET_PREFIX)
        ? target.slice(TARGET_PREFIX.length)
        : undefined;
    const operation = name !== undefined && OPERATIONS.has(name) ? name : 'unknown';
    telemetry.emit({
      type: 'api.answered',
      operation,
      outcome: outcomeOf(reply.statusCode, reply.getHeader('x-amzn-ErrorType')),
      durationMs: reply.elapsedTime,
    });
  });
}

function outcomeOf(status: number, errorType: unknown): string {
  if (status < 400) return 'ok';
  return typeof errorType === 'string' && Object.hasOwn(ERROR_CATALOGUE, errorType)
    ? errorType
    : 'error';
}
