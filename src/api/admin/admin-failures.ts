import { ReplayError, type ReplayFailure } from '../../error-output/replay-errors.js';
import { TailError, type TailFailure } from '../../tail/live-tail.js';
import type { FastifyRequest } from 'fastify';
import { FirehoseError } from '../../errors/catalogue.js';
import type { ParsedBody } from '../app.js';
import { decodeContentEncoding } from '../content-encoding.js';
import type { ApiContext } from '../context.js';
import { toFirehoseError } from '../error-reply.js';

/**
 * How the admin API and the web console's JSON endpoints check their input and answer a
 * failure: one status and `error` code per cause, `{ error, message }` as the body
 * (docs/error-output.md lists them).
 */

/** A status and the `error` code answered with it. */
export interface FailureAnswer {
  status: number;
  error: string;
}

/** How each replay failure is answered. */
export const REPLAY_FAILURES: Readonly<Record<ReplayFailure, FailureAnswer>> = {
  'item-not-found': { status: 404, error: 'ItemNotFound' },
  'item-unreadable': { status: 422, error: 'ItemUnreadable' },
  'target-not-found': { status: 404, error: 'StreamNotFound' },
  'target-not-active': { status: 409, error: 'StreamNotActive' },
  'target-refuses-records': { status: 409, error: 'StreamRefusesRecords' },
  backpressure: { status: 503, error: 'Backpressure' },
  'not-replicated': { status: 503, error: 'NotReplicated' },
};

/** How each refused tail read is answered. */
const TAIL_FAILURES: Readonly<Record<TailFailure, FailureAnswer>> = {
  'stream-not-found': { status: 404, error: 'StreamNotFound' },
  'invalid-cursor': { status: 400, error: 'InvalidParameter' },
};

/** A request answered with an error status and `{ error, message }`. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The answer to a failed admin or console request: its own {@link AdminError}, a replay or
 * tail refusal, Redis trouble (503, told apart from bugs the way the Firehose API tells it), or
 * 500 for anything else, logged as unexpected under `what`.
 */
export function describeFailure(
  thrown: unknown,
  ctx: ApiContext,
  what: string,
): FailureAnswer & { message: string } {
  if (thrown instanceof AdminError) {
    return { status: thrown.status, error: thrown.error, message: thrown.message };
  }
  if (thrown instanceof ReplayError) {
    return { ...REPLAY_FAILURES[thrown.reason], message: thrown.message };
  }
  if (thrown instanceof TailError) {
    const message =
      thrown.reason === 'invalid-cursor' ? `cursor: ${thrown.message}` : thrown.message;
    return { ...TAIL_FAILURES[thrown.reason], message };
  }
  const { error, unexpected } = toFirehoseError(thrown, ctx.redis.status === 'ready');
  if (error.status === 503) {
    return { status: 503, error: 'ServiceUnavailable', message: error.message };
  }
  if (unexpected) ctx.log.error({ err: thrown }, `${what} request failed unexpectedly`);
  return {
    status: 500,
    error: 'InternalError',
    message: thrown instanceof Error ? thrown.message : String(thrown),
  };
}

/** The parsed input, or a 400 `InvalidParameter` naming what is wrong with it. */
export function valid<T>(parsed: { ok: true; value: T } | { ok: false; message: string }): T {
  if (!parsed.ok) throw new AdminError(400, 'InvalidParameter', parsed.message);
  return parsed.value;
}

/** @throws AdminError 415 `UnsupportedMediaType` unless the request says it carries JSON. */
export function requireJsonContentType(contentType: string | undefined): void {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new AdminError(
      415,
      'UnsupportedMediaType',
      `Content-Type must be application/json, got ${type === undefined ? 'none' : JSON.stringify(type)}`,
    );
  }
}

/** @throws AdminError 400 `InvalidParameter` unless `bytes` are a JSON object. */
export function jsonObjectOf(bytes: Buffer): object {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new AdminError(400, 'InvalidParameter', `body is not JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AdminError(400, 'InvalidParameter', 'body must be a JSON object');
  }
  return value;
}

/**
 * The request's body as received, its Content-Encoding undone. The app's body parser reads
 * every body as a Firehose request; its `raw` bytes are what was received (still compressed).
 *
 * @throws AdminError 413 `RequestTooLarge` when it is over `limit` bytes decoded; 400
 *   `InvalidParameter` for an encoding that cannot be undone.
 */
export async function decodedBody(request: FastifyRequest, limit: number): Promise<Buffer> {
  const raw = (request.body as ParsedBody | undefined)?.raw ?? Buffer.alloc(0);
  let bytes: Buffer;
  try {
    bytes = await decodeContentEncoding(request.headers['content-encoding'], raw, limit);
  } catch (error) {
    if (error instanceof FirehoseError) {
      const tooLarge = error.type === 'RequestEntityTooLargeException';
      throw new AdminError(
        tooLarge ? 413 : 400,
        tooLarge ? 'RequestTooLarge' : 'InvalidParameter',
        error.message,
      );
    }
    throw error;
  }
  if (bytes.length > limit)
    throw new AdminError(413, 'RequestTooLarge', `body is over ${limit} bytes`);
  return bytes;
}
