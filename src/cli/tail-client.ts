import { z } from 'zod';
import { AdminApiError, AdminErrorBodySchema, transportError } from './admin-client.js';
import type { CliError } from './cli-error.js';
import type { CliIo } from './command.js';
import { connectAdmin } from './connection-options.js';
import { resolveEndpoint, type Endpoint } from './endpoint.js';
import { signerFromEnv, type RequestSigner } from './request-signer.js';

/**
 * Client of the admin API's live tail, `GET /admin/v1/tail` (a long poll). Apart from
 * the `AdminClient` because its requests are meant to be cut short: by the user's Ctrl-C,
 * which is not a failure, and by their own wait, which sets their timeout.
 */

/** One record of a tail page. */
export const TailRecordSchema = z.object({
  seq: z.string(),
  at: z.number(),
  bytes: z.number().int().nonnegative(),
  encoding: z.enum(['json', 'text', 'base64']),
  preview: z.string(),
  truncated: z.boolean(),
  skippedBefore: z.number().int().nonnegative().default(0),
});
/** A tail record, as {@link TailRecordSchema} validates it. */
export type TailRecord = z.output<typeof TailRecordSchema>;

/** `GET /admin/v1/tail` answer. */
export const TailPageSchema = z.object({
  stream: z.string(),
  cursor: z.string(),
  records: z.array(TailRecordSchema),
  skipped: z.number().int().nonnegative(),
});
/** A tail page, as {@link TailPageSchema} validates it. */
export type TailPage = z.output<typeof TailPageSchema>;

/** What one tail request asks for. */
export interface TailQuery {
  readonly stream: string;
  /** The previous page's cursor; absent, the tail starts with the last minute's records. */
  readonly cursor?: string | undefined;
  /** Seconds the server waits for a record (0 to 20). */
  readonly waitSeconds: number;
  /** Most records in the answer (1 to 200). */
  readonly limit: number;
}

/** How long past its wait a request may take before it counts as unanswered. */
const ANSWER_GRACE_MS = 30_000;

/** Reads the live tail of one Sluice. */
export class TailClient {
  constructor(
    private readonly endpoint: Endpoint,
    private readonly signer: RequestSigner | undefined,
  ) {}

  /**
   * One page of the tail.
   *
   * @returns the page, or `undefined` when `stop` aborted the request.
   * @throws AdminApiError when the server refuses or cannot be reached; a missing stream's
   *   message says how to find the streams.
   */
  async read(query: TailQuery, stop: AbortSignal): Promise<TailPage | undefined> {
    const url = new URL(this.endpoint.base);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/admin/v1/tail`;
    url.searchParams.set('stream', query.stream);
    if (query.cursor !== undefined) url.searchParams.set('cursor', query.cursor);
    url.searchParams.set('wait', String(query.waitSeconds));
    url.searchParams.set('limit', String(query.limit));

    let headers: Record<string, string> = { accept: 'application/json' };
    if (this.endpoint.basicAuthorization !== undefined) {
      headers.authorization = this.endpoint.basicAuthorization;
    }
    if (this.signer !== undefined) {
      headers = await this.signer.sign({ method: 'GET', url, headers });
    }
    const timeoutMs = query.waitSeconds * 1000 + ANSWER_GRACE_MS;
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        headers,
        signal: AbortSignal.any([stop, AbortSignal.timeout(timeoutMs)]),
      });
      text = await response.text();
    } catch (err) {
      if (stop.aborted) return undefined;
      throw transportError(err, this.endpoint.display, timeoutMs);
    }
    const json = parseJson(text);
    if (!response.ok) throw refusal(response.status, json, text, query.stream);
    const parsed = TailPageSchema.safeParse(json);
    if (!parsed.success) {
      throw new AdminApiError(
        `unexpected answer from GET ${this.endpoint.display.replace(/\/+$/, '')}/admin/v1/tail (is the server a Sluice of the same version?): ${z.prettifyError(parsed.error).replace(/\s*\n\s*/g, '; ')}`,
        response.status,
        'BadResponse',
      );
    }
    return parsed.data;
  }
}

/**
 * A tail client for the endpoint and credentials that `--endpoint`, `--region` and the
 * environment name.
 *
 * @throws UsageError as {@link connectAdmin} does.
 */
export function connectTail(
  options: { readonly endpoint: string | undefined; readonly region: string | undefined },
  io: CliIo,
): { client: TailClient; endpoint: Endpoint } {
  // Its checks are the ones wanted here too; the admin client it makes is not used.
  connectAdmin(options, io);
  const endpoint = resolveEndpoint(options.endpoint, io.env);
  return { client: new TailClient(endpoint, signerFromEnv(options.region, io.env)), endpoint };
}

/** The error for a refused request, with what to do about it. */
function refusal(status: number, json: unknown, text: string, stream: string): CliError {
  const problem = AdminErrorBodySchema.safeParse(json);
  if (!problem.success) {
    const quoted = text.trim().slice(0, 200);
    return new AdminApiError(
      `GET /admin/v1/tail answered HTTP ${status}${quoted === '' ? '' : `: ${quoted}`}`,
      status,
      'HttpError',
    );
  }
  const { error, message } = problem.data;
  const hint =
    error === 'StreamNotFound'
      ? `; 'sluice streams list' shows the streams`
      : error === 'UnknownOperationException'
        ? ' — this Sluice has no live tail; is it older than the CLI?'
        : '';
  return new AdminApiError(
    error === 'StreamNotFound'
      ? `there is no delivery stream ${JSON.stringify(stream)} at this Sluice${hint}`
      : `${message} (${error}, HTTP ${status})${hint}`,
    status,
    error,
  );
}

/** The body as JSON, `undefined` when it is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
