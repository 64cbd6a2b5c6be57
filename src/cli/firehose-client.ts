import { CliError } from './cli-error.js';
import { AdminApiError, transportError } from './admin-client.js';
import type { Endpoint } from './endpoint.js';
import type { RequestSigner } from './request-signer.js';

/**
 * Client of Sluice's Firehose API itself (AWS JSON 1.1: `POST /` with
 * `X-Amz-Target: Firehose_20150804.<Operation>`), signed as any Firehose client signs. The
 * `streams` and `put` commands use it, so they work exactly as far as any SDK would.
 */

/** The Firehose API's JSON protocol. */
const CONTENT_TYPE = 'application/x-amz-json-1.1';
const TARGET_PREFIX = 'Firehose_20150804.';
const DEFAULT_TIMEOUT_MS = 60_000;
/** How much of a non-JSON error body a message quotes. */
const QUOTED_BODY_CHARS = 200;

/** A Firehose API error answer: `__type` (without a namespace) and its message. */
export class FirehoseApiError extends AdminApiError {}

/** Options of {@link FirehoseClient}. */
export interface FirehoseClientOptions {
  readonly endpoint: Endpoint;
  /** Signs every request; unsigned when `undefined`. */
  readonly signer?: RequestSigner | undefined;
  readonly timeoutMs?: number;
}

/** Calls Firehose operations on one Sluice. */
export class FirehoseClient {
  private readonly endpoint: Endpoint;
  private readonly signer: RequestSigner | undefined;
  private readonly timeoutMs: number;

  constructor(options: FirehoseClientOptions) {
    this.endpoint = options.endpoint;
    this.signer = options.signer;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * Calls `operation` with `input` and returns the answer's JSON object.
   *
   * @throws FirehoseApiError for an error answer (its `code` is the `__type`, such as
   *   `ResourceNotFoundException`), or no answer (`Unreachable`, `Timeout`).
   */
  async call(operation: string, input: unknown): Promise<Record<string, unknown>> {
    const url = new URL(this.endpoint.base);
    if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
    const body = JSON.stringify(input);
    let headers: Record<string, string> = {
      'content-type': CONTENT_TYPE,
      'x-amz-target': `${TARGET_PREFIX}${operation}`,
    };
    if (this.endpoint.basicAuthorization !== undefined) {
      headers.authorization = this.endpoint.basicAuthorization;
    }
    if (this.signer !== undefined) {
      headers = await this.signer.sign({ method: 'POST', url, headers, body });
    }
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      throw transportError(err, this.endpoint.display, this.timeoutMs);
    }
    const json = parseJsonObject(text);
    if (response.ok && json !== undefined) return json;
    if (!response.ok && json !== undefined && typeof json.__type === 'string') {
      // `__type` may carry a namespace (`com.amazonaws…#ResourceNotFoundException`).
      const code = json.__type.replace(/^.*#/, '');
      const message = typeof json.message === 'string' ? json.message : code;
      throw new FirehoseApiError(`${message} (${code})`, response.status, code);
    }
    const quoted = text.trim().slice(0, QUOTED_BODY_CHARS);
    throw new FirehoseApiError(
      `${operation} at ${this.endpoint.display} answered HTTP ${response.status}${quoted === '' ? '' : `: ${quoted}`} (is this a Sluice?)`,
      response.status,
      response.ok ? 'BadResponse' : 'HttpError',
    );
  }
}

/** The body as a JSON object, `undefined` when it is not one. */
function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `err` with a hint for the errors a user can act on: a stream that does not exist, or one
 * that exists already. Other errors are returned as they are.
 */
export function withStreamHint(err: unknown, stream: string): unknown {
  if (!(err instanceof FirehoseApiError)) return err;
  if (err.code === 'ResourceNotFoundException') {
    return new CliError(
      `there is no delivery stream ${JSON.stringify(stream)} at this Sluice; 'sluice streams list' shows the streams, 'sluice streams create --file <json>' creates one`,
      { cause: err },
    );
  }
  return err;
}
