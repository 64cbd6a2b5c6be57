import { randomUUID } from 'node:crypto';
import {
  Agent as HttpAgent,
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { checkLambdaResponseText } from './lambda-contract.js';
import { InvocationError } from './transform-errors.js';
import type { FirehoseTransformationEvent } from './transform-kit.js';
import type { TransformInput, TransformRecordOutcome } from './transform-records.js';

/**
 * Remote transforms: an HTTP(S) URL that takes Firehose's transformation event as a JSON POST
 * and answers the Lambda response JSON, checked against the same contract as a local
 * Lambda-form transform.
 *
 * An answer other than 2xx, no answer within the timeout, a connection that fails, or a body
 * over Firehose's 6 MB Lambda payload limit is an invocation error (retried by the host); a 2xx
 * answer that breaks the contract fails records and is not retried. Connections are kept alive
 * between invocations; a kept-alive connection the server had closed is retried once at once,
 * as it is nobody's failure. Redirects are not followed. HTTPS servers are verified against
 * Node's CA store (`NODE_EXTRA_CA_CERTS` adds a private CA).
 */

/** Firehose's synchronous Lambda payload limit, the largest response read. */
export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;

/** How much of a non-2xx answer an error message quotes. */
const QUOTED_BODY_BYTES = 200;

/** Where the event says it comes from. */
export interface RemoteInvocation {
  streamArn: string;
  region: string;
}

/** What came back from one POST. */
type Exchange =
  { status: number; body: Buffer } | { error: InvocationError; staleConnection: boolean };

/** Invokes remote transforms; one per host. */
export class RemoteTransforms {
  readonly #timeoutMs: number;
  readonly #httpAgent = new HttpAgent({ keepAlive: true });
  readonly #httpsAgent = new HttpsAgent({ keepAlive: true });

  constructor(options: { timeoutMs: number }) {
    this.#timeoutMs = options.timeoutMs;
  }

  /**
   * One invocation of the transform at `url` over `records`.
   *
   * @returns one outcome per record, in order.
   * @throws InvocationError when the invocation fails as a whole.
   */
  async invoke(
    url: string,
    records: readonly TransformInput[],
    invocation: RemoteInvocation,
  ): Promise<TransformRecordOutcome[]> {
    if (records.length === 0) return [];
    const event: FirehoseTransformationEvent = {
      invocationId: randomUUID(),
      deliveryStreamArn: invocation.streamArn,
      region: invocation.region,
      records: records.map((record) => ({
        recordId: record.id,
        approximateArrivalTimestamp: record.arrivalMs,
        data: record.data.toString('base64'),
      })),
    };
    const body = Buffer.from(JSON.stringify(event), 'utf8');
    let exchange = await this.#post(url, body);
    if ('error' in exchange && exchange.staleConnection) exchange = await this.#post(url, body);
    if ('error' in exchange) throw exchange.error;
    if (exchange.status < 200 || exchange.status > 299) {
      const quoted = exchange.body.subarray(0, QUOTED_BODY_BYTES).toString('utf8');
      throw new InvocationError(
        `The remote transform ${url} answered HTTP ${exchange.status}${quoted === '' ? '' : `: ${JSON.stringify(quoted)}`}`,
      );
    }
    return checkLambdaResponseText(
      exchange.body.toString('utf8'),
      records.map((record) => record.id),
    );
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  /** One POST of `body`, its answer read whole (within the limit) or its failure. */
  #post(url: string, body: Buffer): Promise<Exchange> {
    const timeoutMs = this.#timeoutMs;
    return new Promise((resolve) => {
      let settled = false;
      let req: ClientRequest | undefined;
      const finish = (exchange: Exchange): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if ('error' in exchange) req?.destroy();
        resolve(exchange);
      };
      const fail = (message: string, staleConnection = false): void =>
        finish({ error: new InvocationError(message), staleConnection });
      const timer = setTimeout(
        () =>
          fail(
            `Sluice encountered timeout errors when calling the remote transform ${url}: no complete answer within ${timeoutMs} ms`,
          ),
        timeoutMs,
      );
      const https = url.startsWith('https:');
      try {
        req = (https ? httpsRequest : httpRequest)(url, {
          method: 'POST',
          agent: https ? this.#httpsAgent : this.#httpAgent,
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': String(body.length),
          },
        });
      } catch (error) {
        fail(`The remote transform ${url} cannot be called: ${(error as Error).message}`);
        return;
      }
      const sent = req;
      sent.on('error', (error: NodeJS.ErrnoException) => {
        const stale = sent.reusedSocket && error.code === 'ECONNRESET';
        fail(
          `The remote transform ${url} could not be reached: ${error.code ?? error.name}: ${error.message}`,
          stale,
        );
      });
      sent.on('response', (res) => readBody(res, url, finish, fail));
      sent.end(body);
    });
  }
}

/** Reads `res` whole, up to {@link MAX_RESPONSE_BYTES}. */
function readBody(
  res: IncomingMessage,
  url: string,
  finish: (exchange: Exchange) => void,
  fail: (message: string) => void,
): void {
  const status = res.statusCode ?? 0;
  const tooLarge = `The remote transform ${url} answered more than ${MAX_RESPONSE_BYTES} bytes (6 MiB, Firehose's Lambda response limit)`;
  const declared = Number(res.headers['content-length']);
  if (declared > MAX_RESPONSE_BYTES) {
    fail(tooLarge);
    return;
  }
  const chunks: Buffer[] = [];
  let received = 0;
  res.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > MAX_RESPONSE_BYTES) {
      fail(tooLarge);
      return;
    }
    chunks.push(chunk);
  });
  res.on('end', () => finish({ status, body: Buffer.concat(chunks, received) }));
  res.on('error', (error) =>
    fail(`The remote transform ${url} broke off its answer: ${error.message}`),
  );
  res.on('close', () => {
    if (!res.complete) fail(`The remote transform ${url} closed the connection mid-answer`);
  });
}
