import { Agent, request } from 'node:http';

import { Signer, sha256Hex, type SigningIdentity } from './sigv4.js';

/**
 * A minimal Firehose client on `node:http` with a keep-alive agent. The AWS SDK would work, but
 * its per-request middleware costs enough CPU to make the load generator, not the server, the
 * bottleneck; this client sends prepared bytes and reads the reply, nothing more.
 */

/** Content type of every Firehose request and reply. */
export const CONTENT_TYPE = 'application/x-amz-json-1.1';
/** `X-Amz-Target` prefix of every Firehose operation. */
export const TARGET_PREFIX = 'Firehose_20150804.';

/** A raw reply. */
export interface HttpReply {
  status: number;
  body: string;
  /** `x-amzn-ErrorType`, when the server set it. */
  errorType: string | undefined;
}

/** A request body ready to send: its bytes and their SHA-256 (hex), which the signature covers. */
export interface SignedBody {
  buffer: Buffer;
  sha256: string;
}

/** A control-plane call answered with an error. */
export class FirehoseCallError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(`${operation} failed: HTTP ${status} ${type}: ${message}`);
    this.name = 'FirehoseCallError';
  }
}

/** Keep-alive HTTP connection pool to one Firehose endpoint, signing every request. */
export class FirehoseHttp {
  private readonly agent: Agent;
  private readonly signer: Signer;
  private readonly host: string;
  private readonly port: number;

  /**
   * @param url - `http://127.0.0.1:<port>`.
   * @param maxSockets - connections kept open; the load generator's concurrency.
   */
  constructor(url: string, identity: SigningIdentity, maxSockets: number) {
    const parsed = new URL(url);
    this.host = parsed.hostname;
    this.port = Number(parsed.port);
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
    this.signer = new Signer(identity, parsed.host);
  }

  /**
   * POSTs `body` as operation `operation`. Resolves with any HTTP reply; rejects on connection
   * errors and when no complete reply arrives within `timeoutMs`.
   */
  post(operation: string, body: Buffer, bodySha256: string, timeoutMs: number): Promise<HttpReply> {
    const target = TARGET_PREFIX + operation;
    return new Promise<HttpReply>((resolve, reject) => {
      const req = request(
        {
          host: this.host,
          port: this.port,
          method: 'POST',
          path: '/',
          agent: this.agent,
          headers: {
            'content-type': CONTENT_TYPE,
            'content-length': body.length,
            'x-amz-target': target,
            ...this.signer.sign(CONTENT_TYPE, target, bodySha256),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.once('error', reject);
          res.once('end', () => {
            const errorType = res.headers['x-amzn-errortype'];
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              errorType: typeof errorType === 'string' ? errorType : undefined,
            });
          });
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no reply within ${timeoutMs} ms`)));
      req.once('error', reject);
      req.end(body);
    });
  }

  /** POSTs a prepared PutRecordBatch body; resolves and rejects as {@link FirehoseHttp.post}. */
  putRecordBatch(body: SignedBody, timeoutMs: number): Promise<HttpReply> {
    return this.post('PutRecordBatch', body.buffer, body.sha256, timeoutMs);
  }

  /**
   * A control-plane call with a JSON input; resolves with the parsed reply.
   *
   * @throws FirehoseCallError when the reply is not HTTP 200.
   */
  async call(operation: string, input: object, timeoutMs = 10_000): Promise<unknown> {
    const body = Buffer.from(JSON.stringify(input), 'utf8');
    const reply = await this.post(operation, body, sha256Hex(body), timeoutMs);
    let parsed: unknown;
    try {
      parsed = JSON.parse(reply.body === '' ? '{}' : reply.body);
    } catch {
      parsed = { message: reply.body };
    }
    if (reply.status !== 200) {
      const fields = (parsed ?? {}) as { __type?: unknown; message?: unknown };
      const text = (value: unknown, fallback: string): string =>
        typeof value === 'string' ? value : fallback;
      throw new FirehoseCallError(
        operation,
        reply.status,
        reply.errorType ?? text(fields.__type, 'unknown'),
        text(fields.message, reply.body),
      );
    }
    return parsed;
  }

  /** Closes the pooled connections. */
  close(): void {
    this.agent.destroy();
  }
}
