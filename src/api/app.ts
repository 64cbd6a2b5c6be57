import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import { FirehoseError } from '../errors/catalogue.js';
import type { ApiContext } from './context.js';
import { toFirehoseError } from './error-reply.js';
import { FAST_BODY_READERS, OPERATIONS, TARGET_PREFIX } from './firehose/operations.js';

const CONTENT_TYPE = 'application/x-amz-json-1.1';
/**
 * Largest body read at all. A full PutRecordBatch is at most 4 MiB of data, about 5.6 MB in
 * base64 plus JSON; reading up to 16 MiB lets oversize batches get Firehose's precise error
 * instead of a bare 413.
 */
const BODY_LIMIT = 16 * 1024 * 1024;

/**
 * The parsed body, or the reason it could not be parsed (answered by the route), with the
 * bytes exactly as received (request signatures cover them).
 */
export type ParsedBody = { raw: Buffer } & (
  { ok: true; value: Record<string, unknown> } | { ok: false; error: FirehoseError }
);

/**
 * Builds the Firehose API (AWS JSON 1.1: `POST /`, operation in `X-Amz-Target`) without
 * listening. `GET /health` answers 200 when Redis is reachable, 503 otherwise.
 */
export function buildApp(ctx: ApiContext): FastifyInstance {
  const app = Fastify({
    loggerInstance: ctx.log,
    // No log line per request: the put path is hot.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== CONTENT_TYPE && type !== 'application/x-amz-json-1.0') {
      done(null, {
        raw: body as Buffer,
        ok: false,
        error: new FirehoseError(
          'SerializationException',
          `Content-Type must be ${CONTENT_TYPE}, got ${type ? `'${type}'` : 'none'}`,
        ),
      } satisfies ParsedBody);
      return;
    }
    const bytes = body as Buffer;
    const target = request.headers['x-amz-target'];
    const fastReader =
      typeof target === 'string' && target.startsWith(TARGET_PREFIX)
        ? FAST_BODY_READERS[target.slice(TARGET_PREFIX.length)]
        : undefined;
    const fast = fastReader?.(bytes);
    done(null, {
      raw: bytes,
      ...(fast ? { ok: true, value: fast } : parseJsonObject(bytes.toString('utf8'))),
    } satisfies ParsedBody);
  });

  app.get('/health', async (_request, reply) => {
    try {
      await ctx.redis.ping();
      return await reply.send({ status: 'ok' });
    } catch {
      return await reply.code(503).send({ status: 'redis unreachable' });
    }
  });

  app.post('/', async (request, reply) => {
    const requestId = randomUUID();
    void reply.header('x-amzn-RequestId', requestId);
    try {
      const target = request.headers['x-amz-target'];
      const operation =
        typeof target === 'string' && target.startsWith(TARGET_PREFIX)
          ? OPERATIONS[target.slice(TARGET_PREFIX.length)]
          : undefined;
      if (!operation) {
        throw new FirehoseError(
          'UnknownOperationException',
          typeof target === 'string'
            ? `Unknown operation ${target}`
            : 'Missing X-Amz-Target header: expected Firehose_20150804.<Operation>',
        );
      }
      const body = (request.body ?? { raw: Buffer.alloc(0), ...parseJsonObject('') }) as ParsedBody;
      if (!body.ok) throw body.error;
      const result = await operation(body.value, ctx);
      return await reply.header('content-type', CONTENT_TYPE).send(jsonBody(result));
    } catch (error) {
      return sendError(reply, error, ctx);
    }
  });

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

  app.setErrorHandler(async (error, _request, reply) => {
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

function parseJsonObject(body: string): DistributiveOmit<ParsedBody, 'raw'> {
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
