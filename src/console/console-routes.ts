/**
 * The web console, on the Firehose API's listener under `/console` (docs/console.md):
 *
 * - `GET /console/` (the streams), `GET /console/stream?name=` (one stream), `GET
 *   /console/assets/<file>`: static HTML, CSS and browser modules from `web/`.
 * - `GET /console/api/streams?after=&limit=` → `{ streams, next, sampleIntervalMs }`
 * - `GET /console/api/stream?stream=` → `{ summary, description }` (Describe's output:
 *   secrets redacted)
 * - `GET /console/api/history?stream=` → `{ stream, from, to, intervalMs, points }`
 * - `GET /console/api/failures?stream=&type=&limit=` → `{ items, truncated }` (error output and
 *   dead set, oldest first; dead batches with their reason)
 * - `GET /console/api/preview?stream=&id=&limit=` → the item's first records and its reason
 * - `POST /console/api/replay` `{ stream, id, to? }` (JSON) → `{ id, records, skipped? }`
 * - `GET /console/api/tail?stream=&cursor=&wait=&limit=` → a long poll of the live tail
 *
 * When the API requires signatures (`ctx.auth`), every console route asks for an access key
 * id and its secret with HTTP Basic instead (a browser cannot sign SigV4), answering 401 with
 * `WWW-Authenticate`; otherwise the console is as open as the API. Errors answer
 * `{ error, message }` as the admin API does: 400 `InvalidParameter`, 401 `Unauthorized`, 403
 * `Forbidden`, 404 `NotFound` / `StreamNotFound` / `ItemNotFound`, 409, 413, 415, 422, 503.
 * Without `ctx.console` (`SLUICE_CONSOLE=off`) every `/console` path answers 404.
 */
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onRequestAsyncHookHandler,
} from 'fastify';
import { parseAdminInput, TailQuerySchema } from '../api/admin/admin-inputs.js';
import type { ParsedBody } from '../api/app.js';
import type { ApiContext } from '../api/context.js';
import {
  AdminError,
  describeFailure as describeAdminFailure,
  jsonObjectOf,
  REPLAY_FAILURES,
  requireJsonContentType,
  valid,
} from '../api/admin/admin-failures.js';
import { readDeadMetas } from '../error-output/dead-batches.js';
import { parseItemId } from '../error-output/replay-items.js';
import { describeStream } from '../streams/describe.js';
import type { StreamDefinition } from '../streams/stream-definition.js';
import type { LiveTail } from '../tail/live-tail.js';
import { basicCredentialsMatch, CONSOLE_REALM } from './console-auth.js';
import { loadConsoleAssets, type ConsoleAsset } from './console-assets.js';
import {
  FailuresQuerySchema,
  MAX_FAILURE_ITEMS,
  MAX_OVERVIEW_STREAMS,
  OverviewQuerySchema,
  PreviewQuerySchema,
  ReplayBodySchema,
  StreamQuerySchema,
} from './console-inputs.js';
import type { ConsoleServices } from './console-services.js';
import { historyPoints } from './history-series.js';
import { MAX_PREVIEW_RECORDS, PreviewError, previewItem } from './item-preview.js';
import { HISTORY_WINDOW_MS } from './stream-history.js';
import { summarizeStreams } from './stream-summaries.js';

/** Where the console lives. */
export const CONSOLE_PATH = '/console';

/** Largest replay request body (it is a few hundred bytes). */
const REPLAY_BODY_LIMIT = 16 * 1024;

/**
 * What the pages may load: only their own files, no inline script or style, nothing framed.
 * The charts are SVG elements made by the page's own modules.
 */
const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** Whether a route (its pattern, `request.routeOptions.url`) is the console's. */
export function isConsoleRoute(url: string): boolean {
  return url === CONSOLE_PATH || url.startsWith(`${CONSOLE_PATH}/`);
}

/**
 * Adds the console's routes to the API app: the pages and the JSON API with `ctx.console`,
 * else only a 404 for every `/console` path.
 */
export function registerConsoleRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const services = ctx.console;
  if (services === undefined) {
    const off = async (_request: FastifyRequest, reply: FastifyReply) =>
      reply.code(404).send({
        error: 'NotFound',
        message: 'the console is off on this Sluice (SLUICE_CONSOLE=off)',
      });
    app.all(CONSOLE_PATH, off);
    app.all(`${CONSOLE_PATH}/*`, off);
    return;
  }
  const { pages, assets } = loadConsoleAssets();
  const signIn = signInCheck(ctx, services);
  const get = (url: string, handler: (request: FastifyRequest) => Promise<unknown>) =>
    app.get(url, { onRequest: signIn }, async (request, reply) =>
      answer(reply, ctx, request, handler),
    );

  app.get(CONSOLE_PATH, { onRequest: signIn }, async (_request, reply) =>
    reply.redirect(`${CONSOLE_PATH}/`, 302),
  );
  app.get(`${CONSOLE_PATH}/`, { onRequest: signIn }, async (request, reply) =>
    sendAsset(request, reply, pages.get('index.html') as ConsoleAsset),
  );
  app.get(`${CONSOLE_PATH}/stream`, { onRequest: signIn }, async (request, reply) =>
    sendAsset(request, reply, pages.get('stream.html') as ConsoleAsset),
  );
  app.get<{ Params: { file: string } }>(
    `${CONSOLE_PATH}/assets/:file`,
    { onRequest: signIn },
    async (request, reply) => {
      const asset = assets.get(request.params.file);
      if (asset === undefined) {
        return reply.code(404).send({ error: 'NotFound', message: 'no such console file' });
      }
      return sendAsset(request, reply, asset);
    },
  );

  get(`${CONSOLE_PATH}/api/streams`, async (request) => {
    const query = valid(parseAdminInput(OverviewQuerySchema, request.query));
    const page = await ctx.registry.list({
      limit: query.limit ?? MAX_OVERVIEW_STREAMS,
      exclusiveStartName: query.after,
    });
    const definitions = (
      await Promise.all(page.names.map((name) => ctx.registry.get(name)))
    ).filter((def): def is StreamDefinition => def !== undefined);
    const intervalMs = services.history.sampleIntervalMs;
    return {
      streams: await summarizeStreams(ctx.redis, definitions, intervalMs, Date.now()),
      next: page.hasMore ? page.names.at(-1) : null,
      sampleIntervalMs: intervalMs,
    };
  });

  get(`${CONSOLE_PATH}/api/stream`, async (request) => {
    const query = valid(parseAdminInput(StreamQuerySchema, request.query));
    const def = await existingStream(ctx, query.stream);
    const [summary] = await summarizeStreams(
      ctx.redis,
      [def],
      services.history.sampleIntervalMs,
      Date.now(),
    );
    return { summary, description: describeStream(def) };
  });

  get(`${CONSOLE_PATH}/api/history`, async (request) => {
    const query = valid(parseAdminInput(StreamQuerySchema, request.query));
    await existingStream(ctx, query.stream);
    const { samples, intervalMs } = await services.history.read(query.stream);
    const to = samples.at(-1)?.at ?? Date.now();
    return {
      stream: query.stream,
      from: to - HISTORY_WINDOW_MS,
      to,
      intervalMs,
      points: historyPoints(samples, intervalMs).filter((p) => p.at >= to - HISTORY_WINDOW_MS),
    };
  });

  get(`${CONSOLE_PATH}/api/failures`, async (request) => {
    const query = valid(parseAdminInput(FailuresQuerySchema, request.query));
    await existingStream(ctx, query.stream);
    const replayer = ctx.admin?.replayer;
    if (replayer === undefined) {
      throw new AdminError(404, 'NotFound', 'replay is not served by this process');
    }
    const selection = await replayer.select({
      stream: query.stream,
      type: query.type,
      limit: query.limit ?? MAX_FAILURE_ITEMS,
    });
    // Dead batches carry their reason in their metadata: one pipelined read for all.
    const dead = selection.items.filter((item) => item.source === 'dead-batch');
    const metas = await readDeadMetas(
      ctx.redis,
      query.stream,
      dead.map((item) => item.batchId),
    );
    const reasons = new Map(dead.map((item, i) => [item.id, metas[i]?.reason ?? '']));
    return {
      items: selection.items.map((item) =>
        reasons.has(item.id) ? { ...item, reason: reasons.get(item.id) } : item,
      ),
      truncated: selection.truncated,
    };
  });

  get(`${CONSOLE_PATH}/api/preview`, async (request) => {
    const query = valid(parseAdminInput(PreviewQuerySchema, request.query));
    await existingStream(ctx, query.stream);
    return previewItem(
      ctx.redis,
      services.store,
      query.stream,
      query.id,
      query.limit ?? MAX_PREVIEW_RECORDS,
    );
  });

  app.post(`${CONSOLE_PATH}/api/replay`, { onRequest: signIn }, async (request, reply) =>
    answer(reply, ctx, request, async () => {
      const body = valid(parseAdminInput(ReplayBodySchema, replayBody(request)));
      await existingStream(ctx, body.stream);
      const replayer = ctx.admin?.replayer;
      if (replayer === undefined) {
        throw new AdminError(404, 'NotFound', 'replay is not served by this process');
      }
      if (parseItemId(body.id) === undefined) {
        throw new AdminError(400, 'InvalidParameter', 'id: is not an item id');
      }
      return replayer.replayItem(body);
    }),
  );

  if (ctx.tail !== undefined) registerTail(app, ctx, ctx.tail, signIn);

  // Anything else under /console: a plain 404, after the sign-in (so it tells nothing).
  app.all(`${CONSOLE_PATH}/*`, { onRequest: signIn }, async (request, reply) =>
    reply
      .code(404)
      .send({ error: 'NotFound', message: `the console has no ${request.method} ${request.url}` }),
  );
}

/**
 * The sign-in check of every console route: none when the API needs no signature; HTTP Basic
 * with one of the access keys when it does.
 */
function signInCheck(ctx: ApiContext, services: ConsoleServices): onRequestAsyncHookHandler {
  return async (request, reply) => {
    if (ctx.auth === undefined) return;
    if (basicCredentialsMatch(request.headers.authorization, services.accessKeys)) return;
    await reply
      .code(401)
      .header('www-authenticate', `Basic realm="${CONSOLE_REALM}", charset="UTF-8"`)
      .header('cache-control', 'no-store')
      .send({
        error: 'Unauthorized',
        message:
          'sign in with an access key id as the user name and its secret access key as the password',
      });
  };
}

/** `GET /console/api/tail`: a long poll that ends when the client goes or the app closes. */
function registerTail(
  app: FastifyInstance,
  ctx: ApiContext,
  tail: LiveTail,
  signIn: onRequestAsyncHookHandler,
): void {
  const closing = new AbortController();
  app.addHook('preClose', (done) => {
    closing.abort();
    done();
  });
  app.get(`${CONSOLE_PATH}/api/tail`, { onRequest: signIn }, async (request, reply) =>
    answer(reply, ctx, request, async () => {
      const query = valid(parseAdminInput(TailQuerySchema, request.query));
      const gone = new AbortController();
      // Also emitted after a normal answer; unfinished then means the client closed.
      const onClose = () => {
        if (!reply.raw.writableFinished) gone.abort();
      };
      reply.raw.once('close', onClose);
      try {
        return await tail.read(query.stream, {
          cursor: query.cursor,
          waitMs: query.wait === undefined ? undefined : query.wait * 1000,
          limit: query.limit,
          signal: AbortSignal.any([gone.signal, closing.signal]),
        });
      } finally {
        reply.raw.off('close', onClose);
      }
    }),
  );
}

/** The stream's definition. @throws AdminError 404 when there is no such stream. */
async function existingStream(ctx: ApiContext, stream: string): Promise<StreamDefinition> {
  const def = await ctx.registry.get(stream);
  if (def === undefined) {
    throw new AdminError(404, 'StreamNotFound', `there is no delivery stream ${stream}`);
  }
  return def;
}

/**
 * The replay request's JSON body. A JSON content type is required: a form on another site
 * cannot send one without the browser asking first (CORS), which nothing here answers, so a
 * page elsewhere cannot make a signed-in browser replay. A browser that says the request is
 * from another site is refused outright.
 */
function replayBody(request: FastifyRequest): unknown {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new AdminError(403, 'Forbidden', 'replay requests must come from the console itself');
  }
  requireJsonContentType(request.headers['content-type']);
  if (request.headers['content-encoding'] !== undefined) {
    throw new AdminError(400, 'InvalidParameter', 'the body must not be compressed');
  }
  const raw = (request.body as ParsedBody | undefined)?.raw ?? Buffer.alloc(0);
  if (raw.length > REPLAY_BODY_LIMIT) {
    throw new AdminError(413, 'RequestTooLarge', `body is over ${REPLAY_BODY_LIMIT} bytes`);
  }
  return jsonObjectOf(raw);
}

async function sendAsset(
  request: FastifyRequest,
  reply: FastifyReply,
  asset: ConsoleAsset,
): Promise<FastifyReply> {
  void reply
    .headers(PAGE_HEADERS)
    .header('etag', asset.etag)
    // Revalidated every time: a new Sluice version's files are picked up at once.
    .header('cache-control', 'no-cache');
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  return reply.header('content-type', asset.contentType).send(asset.body);
}

/** Runs a handler and answers its result as JSON, or its failure as `{ error, message }`. */
async function answer(
  reply: FastifyReply,
  ctx: ApiContext,
  request: FastifyRequest,
  handler: (request: FastifyRequest) => Promise<unknown>,
): Promise<FastifyReply> {
  void reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff');
  try {
    return await reply.send(await handler(request));
  } catch (error) {
    const { status, error: name, message } = describeFailure(error, ctx);
    return reply.code(status).send({ error: name, message });
  }
}

/** Item previews fail as replays of the item would; the rest as the admin API's requests. */
function describeFailure(
  thrown: unknown,
  ctx: ApiContext,
): { status: number; error: string; message: string } {
  if (thrown instanceof PreviewError) {
    return { ...REPLAY_FAILURES[thrown.reason], message: thrown.message };
  }
  return describeAdminFailure(thrown, ctx, 'console');
}
