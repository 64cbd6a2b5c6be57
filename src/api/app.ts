import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { ApiTls } from '../config/tls.js';
import { FirehoseError } from '../errors/catalogue.js';
import type { ApiContext } from './context.js';
import { registerAdminRoutes } from './admin/admin-routes.js';
import { isConsoleRoute, registerConsoleRoutes } from '../console/console-routes.js';
import { PROBE_PATHS, registerHealthRoutes } from './health-routes.js';
import { METRICS_PATH, registerMetricsRoute } from './metrics-route.js';
import { registerRecordsRoute } from './records/records-route.js';
import { Readiness } from '../telemetry/readiness.js';
import { applyConnectionLimits } from './connection-limits.js';
import { decodeContentEncoding } from './content-encoding.js';
import { toFirehoseError } from './error-reply.js';
import { FAST_BODY_READERS, OPERATIONS, TARGET_PREFIX } from './firehose/operations.js';
import { registerRequestTiming } from './request-timing.js';
import { MAX_NESTING_DEPTH, nestingTooDeepError, nestsDeeperThan } from '../config/json-nesting.js';
import { renderValue } from '../config/validation.js';

const CONTENT_TYPE = 'application/x-amz-json-1.1';
/**
 * Largest body read at all. A full PutRecordBatch is at most 4 MiB of data, about 5.6 MB in
 * base64 plus JSON; reading up to 16 MiB lets oversize batches get Firehose's precise error
 * instead of a bare 413.
 */
const BODY_LIMIT = 16 * 1024 * 1024;

/**
 * The parsed body, or the reason it could not be parsed (answered by the route), with the
 * bytes exactly as received, still compressed if the request has a Content-Encoding (request
 * signatures cover them).
 */
export type ParsedBody = { raw: Buffer } & (
  { ok: true; value: Record<string, unknown> } | { ok: false; error: FirehoseError }
);

/** How {@link buildApp} serves, beyond what the handlers need ({@link ApiContext}). */
export interface AppOptions {
  /** Certificate and key to serve HTTPS with; plain HTTP without. */
  https?: ApiTls | undefined;
}

/**
 * Builds the Firehose API (AWS JSON 1.1: `POST /`, operation in `X-Amz-Target`) without
 * listening, with the probes `GET /health` (the process answers) and `GET /ready` (Redis and
 * `ctx.readiness`'s checks pass, not shutting down; see health-routes.ts), and `GET /metrics`
 * when `ctx.metrics` is given (see metrics-route.ts).
 */
export function buildApp(ctx: ApiContext, options: AppOptions = {}): FastifyInstance {
  const app = Fastify({
    // Typed as the plain HTTP server either way: nothing here uses what only one of them has.
    ...(options.https ? { https: options.https } : {}),
    loggerInstance: ctx.log,
    // No log line per request: the put path is hot.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    keepAliveTimeout: 65_000,
    // The whole request, body included, must arrive within this (Fastify's default is never).
    requestTimeout: ctx.settings.SLUICE_REQUEST_TIMEOUT_MS,
    // Answered by the draining hook below instead, so that /ready can say why it fails and
    // puts get Firehose's error shape, which SDKs retry.
    return503OnClosing: false,
  });
  applyConnectionLimits(app, {
    requestTimeoutMs: ctx.settings.SLUICE_REQUEST_TIMEOUT_MS,
    headersTimeoutMs: ctx.settings.SLUICE_HEADERS_TIMEOUT_MS,
    maxConnections: ctx.settings.SLUICE_MAX_CONNECTIONS,
  });

  app.removeAllContentTypeParsers();
  // Fastify answers an unparseable Content-Type itself, before this parser (see the error
  // handler); a missing one with an empty body skips it (see the route).
  app.addContentTypeParser(
    '*',
    { parseAs: 'buffer' },
    async (request: FastifyRequest, body: Buffer): Promise<ParsedBody> =>
      readBody(request.headers, body),
  );

  // From the start of shutdown (the service drains `readiness` before closing the app; closing
  // it drains it too) only the probes are answered: everything else is refused before its body
  // is read, so nothing more is stored.
  const readiness = ctx.readiness ?? new Readiness();
  app.addHook('preClose', (done) => {
    readiness.drain();
    done();
  });
  app.addHook('onRequest', async (request, reply) => {
    if (!readiness.draining || PROBE_PATHS.has(request.routeOptions.url ?? '')) return;
    void reply.header('x-amzn-RequestId', randomUUID()).header('connection', 'close');
    return sendError(
      reply,
      new FirehoseError('ServiceUnavailableException', 'Sluice is shutting down; retry.'),
      ctx,
    );
  });

  // Before any operation reads the body; the probes stay open for load balancers.
  const auth = ctx.auth;
  if (auth) {
    app.addHook('preHandler', async (request, reply) => {
      const path = request.routeOptions.url ?? '';
      // The console asks for an access key and its secret itself (HTTP Basic): browsers
      // cannot sign SigV4 (see console/console-routes.ts).
      if (PROBE_PATHS.has(path) || path === METRICS_PATH || isConsoleRoute(path)) return;
      try {
        await auth.verify({
          method: request.method,
          url: request.url,
          headers: request.headers,
          body: (request.body as ParsedBody | undefined)?.raw ?? Buffer.alloc(0),
        });
      } catch (error) {
        void reply.header('x-amzn-RequestId', randomUUID());
        return sendError(reply, error, ctx);
      }
    });
  }

  registerHealthRoutes(app, ctx.redis, readiness);
  if (ctx.telemetry) registerRequestTiming(app, ctx.telemetry);
  if (ctx.metrics) registerMetricsRoute(app, ctx.metrics);

  app.post('/', async (request, reply) => {
    const requestId = randomUUID();
    void reply.header('x-amzn-RequestId', requestId);
    try {
      const target = request.headers['x-amz-target'];
      const operation =
        typeof target === 'string' && target.startsWith(TARGET_PREFIX)
          ? OPERATIONS.get(target.slice(TARGET_PREFIX.length))
          : undefined;
      if (!operation) {
        throw new FirehoseError(
          'UnknownOperationException',
          typeof target === 'string'
            ? `Unknown operation ${renderValue(target)}`
            : 'Missing X-Amz-Target header: expected Firehose_20150804.<Operation>',
        );
      }
      // Fastify runs no parser for a request without Content-Type and without a body.
      const body =
        (request.body as ParsedBody | undefined) ??
        (await readBody(request.headers, Buffer.alloc(0)));
      if (!body.ok) throw body.error;
      const result = await operation(body.value, ctx);
      return await reply.header('content-type', CONTENT_TYPE).send(jsonBody(result));
    } catch (error) {
      return sendError(reply, error, ctx);
    }
  });

  registerAdminRoutes(app, ctx);
  registerRecordsRoute(app, ctx);
  registerConsoleRoutes(app, ctx);

  app.setNotFoundHandler(async (request, reply) =>
    sendError(
      reply,
      new FirehoseError(
        'UnknownOperationException',
        `Sluice's Firehose API answers POST / only (got ${request.method} ${request.url})`,
      ),
      ctx,
    ),
  );

  app.setErrorHandler(async (error, request, reply) => {
    const code = (error as { code?: string }).code;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendError(
        reply,
        new FirehoseError(
          'RequestEntityTooLargeException',
          `Request body is larger than ${BODY_LIMIT} bytes`,
        ),
        ctx,
      );
    }
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return sendError(reply, contentTypeError(request.headers['content-type']), ctx);
    }
    return sendError(reply, error, ctx);
  });

  return app;
}

/**
 * Compact JSON as a Buffer: fastify would append `; charset=utf-8` to the content type of a
 * string body, and Firehose answers the bare `application/x-amz-json-1.1`.
 */
function jsonBody(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/**
 * Reads a request body as Firehose does: checks the Content-Type, undoes a Content-Encoding
 * (at most {@link BODY_LIMIT} bytes decoded), then parses the JSON object, fast for the usual
 * PutRecordBatch body. A problem with the request is the result's `error`, not a throw: the
 * route answers it after any authentication. `raw` stays the bytes as received, which request
 * signatures cover.
 */
async function readBody(headers: IncomingHttpHeaders, received: Buffer): Promise<ParsedBody> {
  const type = headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== CONTENT_TYPE && type !== 'application/x-amz-json-1.0') {
    return { raw: received, ok: false, error: contentTypeError(headers['content-type']) };
  }
  let bytes: Buffer;
  try {
    bytes = await decodeContentEncoding(headers['content-encoding'], received, BODY_LIMIT);
  } catch (error) {
    if (error instanceof FirehoseError) return { raw: received, ok: false, error };
    throw error;
  }
  const target = headers['x-amz-target'];
  const fastReader =
    typeof target === 'string' && target.startsWith(TARGET_PREFIX)
      ? FAST_BODY_READERS.get(target.slice(TARGET_PREFIX.length))
      : undefined;
  const fast = fastReader?.(bytes);
  return { raw: received, ...(fast ? { ok: true, value: fast } : parseJsonObject(bytes)) };
}

/** The SerializationException for a missing, unparseable or other Content-Type. */
function contentTypeError(header: string | undefined): FirehoseError {
  return new FirehoseError(
    'SerializationException',
    `Content-Type must be ${CONTENT_TYPE}, got ${header === undefined ? 'none' : `'${renderValue(header)}'`}`,
  );
}

function parseJsonObject(bytes: Buffer): DistributiveOmit<ParsedBody, 'raw'> {
  // Checked on the bytes first: JSON.parse itself copes with any depth, but would build the
  // whole structure, and later steps walk it recursively.
  if (nestsDeeperThan(bytes, MAX_NESTING_DEPTH)) return { ok: false, error: nestingTooDeepError() };
  const body = bytes.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(body === '' ? '{}' : body);
  } catch (error) {
    return {
      ok: false,
      error: new FirehoseError(
        'SerializationException',
        `Request body is not valid JSON: ${(error as Error).message}`,
      ),
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      ok: false,
      error: new FirehoseError('SerializationException', 'Request body must be a JSON object'),
    };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

async function sendError(reply: FastifyReply, thrown: unknown, ctx: ApiContext) {
  const { error, unexpected } = toFirehoseError(thrown, ctx.redis.status === 'ready');
  if (unexpected) ctx.log.error({ err: thrown }, 'request failed unexpectedly');
  return reply
    .code(error.status)
    .header('content-type', CONTENT_TYPE)
    .header('x-amzn-ErrorType', error.type)
    .send(jsonBody({ __type: error.type, message: error.message }));
}
