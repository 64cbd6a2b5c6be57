/**
 * The admin API: dead batches and replay, on the Firehose API's listener (same address, TLS
 * and SigV4 check: app.ts's preHandler verifies every route but `/health`).
 *
 * - `GET /admin/v1/dead?stream=&limit=` → `{ batches }`
 * - `GET /admin/v1/replay/selection?stream=&type=&since=&until=&limit=` → `{ items, truncated }`
 * - `POST /admin/v1/replay/item` `{ stream, to?, id }` (JSON) → `{ id, records, skipped? }`
 * - `GET /admin/v1/tail?stream=&cursor=&wait=&limit=` → `{ stream, cursor, records, skipped }`
 *   (a long poll of the live tail, see tail/live-tail.ts)
 *
 * Errors answer `{ error, message }`: 400 `InvalidParameter` (the message names the
 * parameter), 404 `ItemNotFound` / `StreamNotFound`, 409 `StreamNotActive`, 413
 * `RequestTooLarge`, 415 `UnsupportedMediaType`, 422 `ItemUnreadable`, 503 `Backpressure` /
 * `NotReplicated` / `ServiceUnavailable` (Redis), 500 `InternalError`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { listDeadBatches } from '../../error-output/dead-batches.js';
import type { LiveTail } from '../../tail/live-tail.js';
import type { ApiContext } from '../context.js';
import {
  decodedBody,
  describeFailure,
  jsonObjectOf,
  requireJsonContentType,
  valid,
} from './admin-failures.js';
import {
  DeadQuerySchema,
  parseAdminInput,
  ReplayItemBodySchema,
  SelectionQuerySchema,
  TailQuerySchema,
} from './admin-inputs.js';

/** Largest admin request body, decoded (a replay request is a few hundred bytes). */
const ADMIN_BODY_LIMIT = 1024 * 1024;

/**
 * Adds the admin routes to the API app. Without `ctx.admin` there are none (the API's
 * not-found answer applies) but the tail's, which is there when `ctx.tail` is.
 */
export function registerAdminRoutes(app: FastifyInstance, ctx: ApiContext): void {
  if (ctx.tail !== undefined) registerTailRoute(app, ctx, ctx.tail);
  const admin = ctx.admin;
  if (admin === undefined) return;

  app.get('/admin/v1/dead', async (request, reply) =>
    answer(reply, ctx, async () => {
      const query = valid(parseAdminInput(DeadQuerySchema, request.query));
      return { batches: await listDeadBatches(ctx.redis, query.stream, query.limit) };
    }),
  );

  app.get('/admin/v1/replay/selection', async (request, reply) =>
    answer(reply, ctx, async () => {
      const query = valid(parseAdminInput(SelectionQuerySchema, request.query));
      return admin.replayer.select({
        stream: query.stream,
        type: query.type,
        sinceMs: query.since,
        untilMs: query.until,
        limit: query.limit,
      });
    }),
  );

  app.post('/admin/v1/replay/item', async (request, reply) =>
    answer(reply, ctx, async () => {
      const body = valid(parseAdminInput(ReplayItemBodySchema, await jsonBody(request)));
      return admin.replayer.replayItem(body);
    }),
  );
}

/**
 * `GET /admin/v1/tail`: a long poll that ends early when the client goes away (nothing is left
 * waiting for it) or the app closes (the answer is then what arrived, so shutdown does not wait
 * out the poll).
 */
function registerTailRoute(app: FastifyInstance, ctx: ApiContext, tail: LiveTail): void {
  const closing = new AbortController();
  app.addHook('preClose', (done) => {
    closing.abort();
    done();
  });
  app.get('/admin/v1/tail', async (request, reply) =>
    answer(reply, ctx, async () => {
      const query = valid(parseAdminInput(TailQuerySchema, request.query));
      const stop = new AbortController();
      // Also emitted after a normal answer; unfinished then means the client closed.
      const onClientClose = () => {
        if (!reply.raw.writableFinished) stop.abort();
      };
      const onAppClose = () => stop.abort();
      reply.raw.once('close', onClientClose);
      closing.signal.addEventListener('abort', onAppClose, { once: true });
      try {
        return await tail.read(query.stream, {
          cursor: query.cursor,
          waitMs: query.wait === undefined ? undefined : query.wait * 1000,
          limit: query.limit,
          signal: stop.signal,
        });
      } finally {
        reply.raw.off('close', onClientClose);
        closing.signal.removeEventListener('abort', onAppClose);
      }
    }),
  );
}

/**
 * The request's JSON body. The app's body parser reads every body as a Firehose request;
 * its `raw` bytes are what was received (still compressed), read again here as JSON.
 */
async function jsonBody(request: FastifyRequest): Promise<unknown> {
  requireJsonContentType(request.headers['content-type']);
  return jsonObjectOf(await decodedBody(request, ADMIN_BODY_LIMIT));
}

/** Runs a handler and answers its result as JSON, or its failure as `{ error, message }`. */
async function answer(
  reply: FastifyReply,
  ctx: ApiContext,
  handler: () => Promise<unknown>,
): Promise<FastifyReply> {
  try {
    return await reply.send(await handler());
  } catch (error) {
    const { status, error: name, message } = describeFailure(error, ctx, 'admin');
    return reply.code(status).send({ error: name, message });
  }
}
