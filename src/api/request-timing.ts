import type { FastifyInstance } from 'fastify';
import { ERROR_CATALOGUE } from '../errors/catalogue.js';
import type { Telemetry } from '../telemetry/events.js';
import { OPERATIONS, TARGET_PREFIX } from './firehose/operations.js';
import {
  RECORDS_ERROR_HEADER,
  RECORDS_ERRORS,
  RECORDS_OPERATION,
  RECORDS_ROUTE,
} from './records/records-route.js';

/**
 * Reports every answered Firehose API request (`POST /`) and records endpoint request as an
 * `api.answered` event, with labels from closed sets only — a known operation name (the records
 * endpoint's is `HttpRecords`) or `unknown`, `ok` or a catalogued error type — so a client
 * sending made-up targets cannot grow the metric's series. Fastify's `elapsedTime` runs from
 * the request's arrival, body upload included, as Firehose's `<Operation>.Latency` does.
 */
export function registerRequestTiming(app: FastifyInstance, telemetry: Telemetry): void {
  app.addHook('onResponse', async (request, reply) => {
    if (request.method !== 'POST') return;
    const route = request.routeOptions.url;
    if (route !== '/' && route !== RECORDS_ROUTE) return;
    telemetry.emit({
      type: 'api.answered',
      operation:
        route === '/' ? firehoseOperation(request.headers['x-amz-target']) : RECORDS_OPERATION,
      outcome: outcomeOf(
        reply.statusCode,
        reply.getHeader('x-amzn-ErrorType'),
        reply.getHeader(RECORDS_ERROR_HEADER),
      ),
      durationMs: reply.elapsedTime,
    });
  });
}

/** The Firehose operation a target names, or `unknown`. */
function firehoseOperation(target: string | string[] | undefined): string {
  const name =
    typeof target === 'string' && target.startsWith(TARGET_PREFIX)
      ? target.slice(TARGET_PREFIX.length)
      : undefined;
  return name !== undefined && OPERATIONS.has(name) ? name : 'unknown';
}

/**
 * `ok`, or the error answered: a catalogued Firehose error type (authentication and draining
 * answer those on every route), a records endpoint code, else `error`.
 */
function outcomeOf(status: number, errorType: unknown, recordsError: unknown): string {
  if (status < 400) return 'ok';
  if (typeof errorType === 'string' && Object.hasOwn(ERROR_CATALOGUE, errorType)) return errorType;
  if (typeof recordsError === 'string' && RECORDS_ERRORS.has(recordsError)) return recordsError;
  return 'error';
}
