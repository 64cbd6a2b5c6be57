import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { DestinationServices, SendResult } from '../destination-kind.js';
import type { HttpEndpointRequest } from './request.js';

/**
 * The HTTP endpoint sender: one POST over `node:http`/`node:https`, reported as it came back.
 * It never classifies (that is `classify.ts`) and never leaves a socket or timer behind: every
 * way out clears the deadline and destroys the request.
 *
 * Not `fetch`: the sender needs its own deadline over the whole exchange, a hard cap on how
 * much of the answer is read, no redirects, and socket errors with their codes.
 *
 * Each request uses its own connection (`agent: false`): a batch is up to 64 MiB, so a
 * handshake per request costs little, and a pooled connection the endpoint has since closed
 * would fail a request with a reset that is nobody's fault. HTTPS endpoints are verified
 * against Node's CA store (add a private CA with `NODE_EXTRA_CA_CERTS`).
 */

/** Largest response body Firehose accepts from an endpoint: 1 MiB. */
export const MAX_RESPONSE_BYTES = 1_048_576;

/** What an endpoint answered. */
export interface HttpEndpointResponse {
  status: number;
  /** Response headers, names in lower case, repeated ones joined with `, `. */
  headers: Record<string, string>;
  /** The body as read: all of it, or its first `MAX_RESPONSE_BYTES + 1` bytes when too large. */
  body: Buffer;
  /** The body is longer than {@link MAX_RESPONSE_BYTES}; reading stopped there. */
  tooLarge: boolean;
}

/** The marker of an exchange that did not finish within the response timeout. */
export class ResponseTimeoutError extends Error {
  override name = 'ResponseTimeoutError';
  /** A code no socket error has, so the classifier cannot mistake one for the other. */
  readonly code = 'SLUICE_RESPONSE_TIMEOUT';

  constructor(readonly timeoutMs: number) {
    super(`the endpoint did not answer completely within ${timeoutMs} ms`);
  }
}

/** The marker of a connection that ended in the middle of the response body. */
export class ResponseCutOffError extends Error {
  override name = 'ResponseCutOffError';
  /** A connection reset, as the classifier files it. */
  readonly code = 'ECONNRESET';

  constructor() {
    super('the connection closed before the response body was complete');
  }
}

/**
 * The sender: POSTs the request and reads the answer, at most `MAX_RESPONSE_BYTES + 1` bytes
 * of it, within `services.httpResponseTimeoutMs` for the whole exchange (connecting, sending
 * the body, the answer and its body). Redirects are not followed (a 3xx is an answer like any
 * other). Resolves, never rejects: `{ response }` or `{ error }` with the error as Node gave it
 * (its `code`: `ECONNREFUSED`, `ECONNRESET`, a TLS code, …) or a {@link ResponseTimeoutError}.
 */
export function sendHttpRequest(
  request: HttpEndpointRequest,
  services: Pick<DestinationServices, 'httpResponseTimeoutMs'>,
): Promise<SendResult<HttpEndpointResponse>> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch (error) {
      resolve({ error });
      return;
    }
    let settled = false;
    let answered = false;
    let req: ClientRequest | undefined;
    const timer = setTimeout(
      () => finish({ error: new ResponseTimeoutError(services.httpResponseTimeoutMs) }),
      services.httpResponseTimeoutMs,
    );
    const finish = (result: SendResult<HttpEndpointResponse>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Frees the socket on every path; after a complete answer it is closing anyway.
      req?.destroy();
      resolve(result);
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    try {
      req = send(url, { method: 'POST', headers: request.headers, agent: false });
    } catch (error) {
      // Node refuses some requests before any I/O (a header value it cannot send).
      finish({ error });
      return;
    }
    req.on('error', (error) => finish({ error }));
    req.on('close', () => {
      // A close with neither an answer nor an error: the endpoint hung up unnoticed.
      if (!settled && !answered) finish({ error: new ResponseCutOffError() });
    });
    req.on('response', (res) => {
      answered = true;
      readResponse(res, finish);
    });
    req.end(request.body);
  });
}

/** Reads the answer's body up to the cap, then reports it through `finish`. */
function readResponse(
  res: IncomingMessage,
  finish: (result: SendResult<HttpEndpointResponse>) => void,
): void {
  const chunks: Buffer[] = [];
  let received = 0;
  const report = (tooLarge: boolean): void =>
    finish({
      response: {
        status: res.statusCode ?? 0,
        headers: flattenHeaders(res.headers),
        body: Buffer.concat(chunks, received),
        tooLarge,
      },
    });
  res.on('data', (chunk: Buffer) => {
    if (received + chunk.length > MAX_RESPONSE_BYTES) {
      // One byte past the limit proves it is too large; the rest is never read.
      const kept = MAX_RESPONSE_BYTES + 1 - received;
      chunks.push(chunk.subarray(0, kept));
      received += kept;
      report(true);
      return;
    }
    chunks.push(chunk);
    received += chunk.length;
  });
  res.on('end', () => report(false));
  res.on('error', (error) => finish({ error }));
  res.on('close', () => {
    if (!res.complete) finish({ error: new ResponseCutOffError() });
  });
}

function flattenHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}
