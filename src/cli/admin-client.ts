import { z } from 'zod';
import { CliError } from './cli-error.js';
import type { Endpoint } from './endpoint.js';
import type { RequestSigner } from './request-signer.js';

/**
 * Client of Sluice's admin HTTP API (`/admin/v1/…`). Every answer is checked against a zod
 * schema before the CLI uses it, so a server of another version fails with a message naming the
 * field, not with `undefined` in a table.
 */

/** A batch that exhausted its delivery retries and sits in the stream's dead set. */
export const DeadBatchSchema = z.object({
  stream: z.string(),
  batchId: z.string(),
  records: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  firstArrivalMs: z.number(),
  deadAtMs: z.number(),
  reason: z.string(),
});
/** A dead batch, as {@link DeadBatchSchema} validates it. */
export type DeadBatch = z.output<typeof DeadBatchSchema>;

/** `GET /admin/v1/dead` answer. */
export const DeadListSchema = z.object({ batches: z.array(DeadBatchSchema) });

/** One replayable unit: an error-output object or a dead batch. */
export const ReplayCandidateSchema = z.object({
  id: z.string(),
  source: z.enum(['error-output', 'dead-batch']),
  stream: z.string(),
  type: z.string(),
  records: z.number().int().nonnegative(),
  atMs: z.number(),
  /** Replayed before: replaying it again would duplicate its records. */
  replayed: z.boolean(),
});
/** A replay candidate, as {@link ReplayCandidateSchema} validates it. */
export type ReplayCandidate = z.output<typeof ReplayCandidateSchema>;

/** `GET /admin/v1/replay/selection` answer: items oldest first. */
export const ReplaySelectionSchema = z.object({
  items: z.array(ReplayCandidateSchema),
  /**
   * More items match than one answer holds (the server caps a selection); the rest start at
   * the last item's time. Absent: all of them are here.
   */
  truncated: z.boolean().default(false),
});
/** A selection, as {@link ReplaySelectionSchema} validates it. */
export type ReplaySelection = z.output<typeof ReplaySelectionSchema>;

/** `POST /admin/v1/replay/item` answer. */
export const ReplayResultSchema = z.object({
  id: z.string(),
  /** Records put into the target stream. */
  records: z.number().int().nonnegative(),
  /** Why the server did not replay it (such as a concurrent replay of the same item). */
  skipped: z.string().optional(),
});
/** The outcome of replaying one item, as {@link ReplayResultSchema} validates it. */
export type ReplayResult = z.output<typeof ReplayResultSchema>;

/**
 * An error answer: the admin API's `{ error, message }`, or the Firehose API's
 * `{ __type, message }` (what a request refused before the admin routes gets, such as a bad
 * signature, or a Sluice without the admin API).
 */
export const AdminErrorBodySchema = z.union([
  z.object({ error: z.string(), message: z.string() }),
  z
    .object({ __type: z.string(), message: z.string() })
    .transform(({ __type, message }) => ({ error: __type, message })),
]);

/** Filters of a replay selection; unset ones select everything. */
export interface ReplaySelectionQuery {
  readonly stream: string;
  /** An error-output type, or `dead` for dead batches. */
  readonly type?: string | undefined;
  /** Only items from this time on (epoch ms, inclusive). */
  readonly sinceMs?: number | undefined;
  /** Only items up to this time (epoch ms, inclusive). */
  readonly untilMs?: number | undefined;
}

/** A failed admin API call; the message is ready for the user. */
export class AdminApiError extends CliError {
  /**
   * @param status - the HTTP status, `undefined` when no answer came.
   * @param code - the server's error code, or `Unreachable`, `Timeout`, `BadResponse`, `HttpError`.
   */
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'AdminApiError';
  }
}

/** Options of {@link AdminClient}. */
export interface AdminClientOptions {
  readonly endpoint: Endpoint;
  /** Signs every request; unsigned when `undefined`. */
  readonly signer?: RequestSigner | undefined;
  /**
   * The longest one request may take. Generous, because replaying one item re-appends all its
   * records before the server answers.
   */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;
/** How much of a non-JSON error body a message quotes. */
const QUOTED_BODY_CHARS = 200;

/** Calls the admin API of one Sluice. */
export class AdminClient {
  private readonly endpoint: Endpoint;
  private readonly signer: RequestSigner | undefined;
  private readonly timeoutMs: number;

  constructor(options: AdminClientOptions) {
    this.endpoint = options.endpoint;
    this.signer = options.signer;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** The stream's dead batches. */
  async listDead(stream: string, limit?: number): Promise<DeadBatch[]> {
    const params: Record<string, string> = { stream };
    if (limit !== undefined) params.limit = String(limit);
    const answer = await this.call('GET', '/admin/v1/dead', params, undefined, DeadListSchema);
    return answer.batches;
  }

  /** One answer of what a replay with these filters would take, replayed or not. */
  async selectForReplay(query: ReplaySelectionQuery): Promise<ReplaySelection> {
    const params: Record<string, string> = { stream: query.stream };
    if (query.type !== undefined) params.type = query.type;
    if (query.sinceMs !== undefined) params.since = String(query.sinceMs);
    if (query.untilMs !== undefined) params.until = String(query.untilMs);
    return this.call('GET', '/admin/v1/replay/selection', params, undefined, ReplaySelectionSchema);
  }

  /** Replays one item of `stream`'s selection into the stream `to`. */
  async replayItem(item: { stream: string; to: string; id: string }): Promise<ReplayResult> {
    return this.call(
      'POST',
      '/admin/v1/replay/item',
      {},
      JSON.stringify({ stream: item.stream, to: item.to, id: item.id }),
      ReplayResultSchema,
    );
  }

  private async call<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    params: Readonly<Record<string, string>>,
    body: string | undefined,
    schema: S,
  ): Promise<z.output<S>> {
    const url = new URL(this.endpoint.base);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    const where = `${this.endpoint.display.replace(/\/+$/, '')}${path}`;

    let headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.endpoint.basicAuthorization !== undefined) {
      headers.authorization = this.endpoint.basicAuthorization;
    }
    if (this.signer !== undefined) headers = await this.signer.sign({ method, url, headers, body });

    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      throw transportError(err, this.endpoint.display, this.timeoutMs);
    }

    const json = parseJson(text);
    if (!response.ok) {
      const problem = AdminErrorBodySchema.safeParse(json);
      if (problem.success) {
        const hint =
          problem.data.error === 'UnknownOperationException'
            ? ' — this Sluice has no admin API; is it older than the CLI?'
            : '';
        throw new AdminApiError(
          `${problem.data.message} (${problem.data.error}, HTTP ${response.status})${hint}`,
          response.status,
          problem.data.error,
        );
      }
      const quoted = text.trim().slice(0, QUOTED_BODY_CHARS);
      throw new AdminApiError(
        `${method} ${where} answered HTTP ${response.status}${quoted === '' ? '' : `: ${quoted}`}`,
        response.status,
        'HttpError',
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new AdminApiError(
        `unexpected answer from ${method} ${where} (is the server a Sluice of the same version?): ${z.prettifyError(parsed.error).replace(/\s*\n\s*/g, '; ')}`,
        response.status,
        'BadResponse',
      );
    }
    return parsed.data;
  }
}

/** The body as JSON, `undefined` when it is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** An error for a request that got no answer: refused, reset, name not found, timed out. */
export function transportError(err: unknown, display: string, timeoutMs: number): AdminApiError {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return new AdminApiError(
      `no answer from Sluice at ${display} within ${timeoutMs / 1000} s`,
      undefined,
      'Timeout',
      { cause: err },
    );
  }
  // fetch reports "fetch failed" and puts the reason (ECONNREFUSED …) in its cause.
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const why = cause instanceof Error ? cause.message : String(cause);
  return new AdminApiError(
    `cannot reach Sluice at ${display}: ${why}. Is it running? Point --endpoint or SLUICE_ENDPOINT at it.`,
    undefined,
    'Unreachable',
    { cause: err },
  );
}
