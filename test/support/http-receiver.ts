import { randomUUID } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

import { z } from 'zod';
import { listenOnLoopback } from './free-port.js';

/**
 * A loopback stand-in for the HTTP endpoint a Firehose HTTP destination delivers to (spec §5):
 * it checks each request against the protocol, records it, and answers it the way the test
 * scripted — a valid success, any status, a malformed 200, a slow or missing answer, a cut
 * connection — so tests can drive every outcome the delivery side must classify.
 */

const gunzipAsync = promisify(gunzip);

const MIB = 1024 * 1024;

/** The largest response body Firehose accepts (spec §5: "≤ 1 MiB"). */
export const MAX_RESPONSE_BYTES = MIB;

/** Default of {@link HttpReceiverOptions.maxBodyBytes}: room for a 64 MiB batch, base64-encoded. */
export const DEFAULT_MAX_BODY_BYTES = 256 * MIB;

/** How long {@link HttpReceiver.close} waits for the server to close before it rejects. */
const CLOSE_TIMEOUT_MS = 5_000;

/**
 * The JSON body Firehose POSTs: `{"requestId", "timestamp", "records": [{"data"}]}` with
 * 1..10,000 records, `data` base64. Strict objects: a member Firehose does not send is a
 * protocol problem worth seeing.
 */
export const firehoseRequestBodySchema = z.strictObject({
  requestId: z.string().min(1),
  timestamp: z.number().int().nonnegative(),
  records: z
    .array(z.strictObject({ data: z.string() }))
    .min(1)
    .max(10_000),
});

/** A parsed, protocol-valid Firehose request body; see {@link firehoseRequestBodySchema}. */
export type FirehoseRequestBody = z.infer<typeof firehoseRequestBodySchema>;

/** The `X-Amz-Firehose-Common-Attributes` header's JSON: at most 50 string attributes. */
const commonAttributesSchema = z.strictObject({
  commonAttributes: z
    .record(z.string(), z.string())
    .refine((attributes) => Object.keys(attributes).length <= 50, 'more than 50 attributes'),
});

/** What a valid success answer's body must hold; `errorMessage` is allowed beside it. */
const successBodySchema = z.object({
  requestId: z.string(),
  timestamp: z.number(),
  errorMessage: z.string().max(8192).optional(),
});

/**
 * How the receiver answers one request. Only `ok` (and `slow` followed by `ok`) is a valid
 * Firehose success; everything else is a failure Firehose would retry (or, for 413, drop).
 */
export type ReceiverBehaviour =
  /** 200, `application/json`, `{"requestId": <echoed>, "timestamp": <now ms>}`. */
  | { kind: 'ok' }
  /**
   * Any status (a non-200 2xx is a failure too). Without `body` the answer is the JSON a real
   * endpoint sends (`requestId`, `timestamp`, and `errorMessage` when given); with `body` that
   * is sent verbatim as `contentType` (default `text/plain; charset=utf-8`).
   */
  | {
      kind: 'status';
      status: number;
      errorMessage?: string;
      body?: string | Buffer;
      contentType?: string;
    }
  /** 200 with a valid body echoing another request id (`requestId`, or a random UUID). */
  | { kind: 'wrong-request-id'; requestId?: string }
  /** 200 with `{"requestId"}` only. */
  | { kind: 'no-timestamp' }
  /** 200 with the timestamp as a JSON string. */
  | { kind: 'string-timestamp' }
  /** 200, `application/json`, with a body that is not JSON (`body`, default `OK`). */
  | { kind: 'not-json'; body?: string }
  /** 200 with a valid JSON body but `Content-Type: text/plain`. */
  | { kind: 'wrong-content-type' }
  /** Waits `delayMs`, then answers with `then` (default `ok`). */
  | { kind: 'slow'; delayMs: number; then?: ReceiverBehaviour }
  /** Never answers; the connection stays open until the client gives up or the receiver closes. */
  | { kind: 'hang' }
  /** Closes the connection without answering (`socket.destroy()`). */
  | { kind: 'close' }
  /** Resets the connection (TCP RST, `socket.resetAndDestroy()`). */
  | { kind: 'reset' }
  /**
   * 200 with a valid JSON body of exactly `bodyBytes` bytes (default 1 MiB + 1), padded by a
   * `padding` member: over {@link MAX_RESPONSE_BYTES} it is `HttpEndpoint.ResponseTooLarge`.
   */
  | { kind: 'too-large'; bodyBytes?: number };

/** The answer the receiver wrote for a request. */
export interface ReceiverAnswer {
  /** HTTP status code. */
  readonly status: number;
  /** Response headers sent, lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** Response body bytes sent. */
  readonly body: Buffer;
  /**
   * The client's connection was already closed when the answer was due (it gave up on a slow
   * answer): the answer never reached it, though the receiver did process the request.
   */
  readonly clientGone: boolean;
}

/** One request the receiver got, recorded once its body was read. */
export interface ReceivedRequest {
  /** Position in {@link HttpReceiver.requests}. */
  readonly index: number;
  /** HTTP method. */
  readonly method: string;
  /** Path and query, as sent. */
  readonly path: string;
  /** Request headers, lower-case names (repeated headers joined by `, `). */
  readonly headers: Readonly<Record<string, string>>;
  /** The body bytes as received (gzip-compressed when `Content-Encoding: gzip`). */
  readonly rawBody: Buffer;
  /** The body after content decoding; undefined when it could not be decoded. */
  readonly body: Buffer | undefined;
  /** The parsed body when it is a valid Firehose request body; undefined otherwise. */
  readonly json: FirehoseRequestBody | undefined;
  /** The records' data, base64-decoded, in order; undefined when the body is not valid. */
  readonly records: readonly Buffer[] | undefined;
  /** The body's `requestId`, else the `X-Amz-Firehose-Request-Id` header. */
  readonly requestId: string | undefined;
  /** The `X-Amz-Firehose-Common-Attributes` header's attributes, when present and valid. */
  readonly commonAttributes: Readonly<Record<string, string>> | undefined;
  /** Every way the request departs from the protocol (spec §5); empty for a faithful one. */
  readonly problems: readonly string[];
  /**
   * The behaviour the request was answered with: the scripted one, or a `status` the receiver
   * chose itself (401 wrong access key, 404 wrong path, 413 body over the limit, 400 protocol
   * problems in strict mode).
   */
  readonly behaviour: ReceiverBehaviour;
  /** The answer written; undefined until then, and for ever for `hang`, `close` and `reset`. */
  readonly answer: ReceiverAnswer | undefined;
  /** The answer was a valid Firehose success: the request's records count as delivered. */
  readonly accepted: boolean;
}

/** Options of {@link startHttpReceiver}. */
export interface HttpReceiverOptions {
  /** The path (and query) requests must be sent to; others get 404. Default `/`. */
  path?: string;
  /**
   * When set, a request whose `X-Amz-Firehose-Access-Key` is not exactly this gets 401 with a
   * JSON error body. Change it later with {@link HttpReceiver.setAccessKey}.
   */
  accessKey?: string;
  /** Serve HTTPS with this PEM key and certificate instead of plain HTTP. */
  https?: { key: string | Buffer; cert: string | Buffer };
  /**
   * Answer 400 (404 for a wrong path), naming the problems, to a request that departs from the
   * protocol, as a careful endpoint would, instead of its scripted behaviour. Default `true`;
   * with `false` every request gets its scripted behaviour and problems are only recorded.
   */
  strict?: boolean;
  /** Larger bodies (raw, or after gunzip) get 413. Default {@link DEFAULT_MAX_BODY_BYTES}. */
  maxBodyBytes?: number;
}

/** Options of {@link HttpReceiver.waitForAccepted}. */
export interface WaitForAcceptedOptions {
  /** Count {@link HttpReceiver.uniqueAccepted} records (first answer per request id) instead. */
  unique?: boolean;
}

/** A running receiver, from {@link startHttpReceiver}. */
export interface HttpReceiver {
  /** The endpoint URL, e.g. `http://127.0.0.1:PORT/` (the configured path included). */
  readonly url: string;
  /** Every request received since start (or {@link reset}), in order. */
  readonly requests: readonly ReceivedRequest[];
  /** The records of every request answered with a valid 200, in the order answered. */
  readonly accepted: readonly Buffer[];
  /** The request id of every request answered with a valid 200, repeats included. */
  readonly acceptedRequestIds: readonly string[];
  /**
   * The accepted records with each request id counted once (its first accepted request), as an
   * endpoint that de-duplicates on `X-Amz-Firehose-Request-Id` would keep them.
   */
  uniqueAccepted(): Buffer[];
  /** Queues behaviours, one per following request; once the queue is empty requests get `ok`. */
  script(...behaviours: ReceiverBehaviour[]): void;
  /** Answers every following request with `behaviour`; drops any queued behaviours. */
  always(behaviour: ReceiverBehaviour): void;
  /**
   * Back to a fresh receiver at the same URL: no queued behaviours, `ok` for all, and no
   * recorded requests or accepted records (late answers to earlier requests are not counted).
   */
  reset(): void;
  /** Changes the access key required from now on; undefined accepts any. */
  setAccessKey(accessKey: string | undefined): void;
  /**
   * Resolves with the requests once at least `count` have been received; rejects, saying what
   * did arrive, after `timeoutMs` or when the receiver closes.
   */
  waitForRequests(count: number, timeoutMs: number): Promise<readonly ReceivedRequest[]>;
  /**
   * Resolves with the accepted records once at least `records` have been accepted (counted in
   * {@link accepted}, or in {@link uniqueAccepted} with `unique`); rejects, saying what did
   * arrive, after `timeoutMs` or when the receiver closes.
   */
  waitForAccepted(
    records: number,
    timeoutMs: number,
    options?: WaitForAcceptedOptions,
  ): Promise<readonly Buffer[]>;
  /**
   * Stops listening, destroys every open connection (hung requests included), drops pending
   * slow answers and rejects pending waits. Idempotent; rejects if the server has not closed
   * within a few seconds.
   */
  close(): Promise<void>;
}

/**
 * Starts a Firehose HTTP endpoint receiver on 127.0.0.1 on a free port. Close it with
 * {@link HttpReceiver.close}.
 */
export async function startHttpReceiver(options: HttpReceiverOptions = {}): Promise<HttpReceiver> {
  const path = options.path ?? '/';
  if (!path.startsWith('/')) throw new Error(`http receiver: path must start with '/': ${path}`);
  const receiver = new Receiver(options, path);
  const server = receiver.server;
  const port = await listenOnLoopback(server);
  receiver.url = `${options.https ? 'https' : 'http'}://127.0.0.1:${port}${path}`;
  return receiver;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A pending waitForRequests() or waitForAccepted(). */
interface Waiter {
  check(): void;
  /** Rejects the wait; `why` ends the message, e.g. `within 50 ms`. */
  fail(why: string): void;
}

/** The body as it was read: its bytes, or how many there were when over the limit. */
type ReadBody = { bytes: Buffer } | { tooLarge: number };

class Receiver implements HttpReceiver {
  url = '';
  readonly server: Server;
  readonly requests: ReceivedRequest[] = [];
  readonly accepted: Buffer[] = [];
  readonly acceptedRequestIds: string[] = [];

  readonly #path: string;
  readonly #strict: boolean;
  readonly #maxBodyBytes: number;
  #accessKey: string | undefined;
  #queue: ReceiverBehaviour[] = [];
  #default: ReceiverBehaviour = { kind: 'ok' };
  /** Bumped by reset(): answers to requests of an earlier epoch are not recorded. */
  #epoch = 0;
  /** Accepted requests, for uniqueAccepted(). */
  #acceptedRequests: ReceivedRequest[] = [];
  /** Raw TCP sockets by client port: TLS sockets cannot be reset, their TCP socket can. */
  readonly #sockets = new Map<number, Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #waiters = new Set<Waiter>();
  /**
   * Requests are decoded one after another, so they are recorded, and get their behaviour, in
   * the order their bodies arrived even when one takes longer to gunzip.
   */
  #decoding: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;

  constructor(options: HttpReceiverOptions, path: string) {
    this.#path = path;
    this.#strict = options.strict ?? true;
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#accessKey = options.accessKey;
    const onRequest = (request: IncomingMessage, response: ServerResponse) => {
      void this.#handle(request, response);
    };
    this.server = options.https
      ? createHttpsServer({ key: options.https.key, cert: options.https.cert }, onRequest)
      : createHttpServer(onRequest);
    this.server.on('connection', (socket: Socket) => {
      const port = socket.remotePort;
      if (port === undefined) return;
      this.#sockets.set(port, socket);
      socket.on('close', () => {
        if (this.#sockets.get(port) === socket) this.#sockets.delete(port);
      });
    });
  }

  uniqueAccepted(): Buffer[] {
    const seen = new Set<string>();
    const records: Buffer[] = [];
    for (const request of this.#acceptedRequests) {
      const id = request.requestId ?? '';
      if (seen.has(id)) continue;
      seen.add(id);
      records.push(...(request.records ?? []));
    }
    return records;
  }

  script(...behaviours: ReceiverBehaviour[]): void {
    this.#queue.push(...behaviours);
  }

  always(behaviour: ReceiverBehaviour): void {
    this.#queue = [];
    this.#default = behaviour;
  }

  reset(): void {
    this.#epoch += 1;
    this.#queue = [];
    this.#default = { kind: 'ok' };
    this.requests.splice(0);
    this.accepted.splice(0);
    this.acceptedRequestIds.splice(0);
    this.#acceptedRequests = [];
  }

  setAccessKey(accessKey: string | undefined): void {
    this.#accessKey = accessKey;
  }

  waitForRequests(count: number, timeoutMs: number): Promise<readonly ReceivedRequest[]> {
    return this.#waitFor(
      () => (this.requests.length >= count ? [...this.requests] : undefined),
      () => `${this.requests.length} of ${count} requests arrived`,
      timeoutMs,
    );
  }

  waitForAccepted(
    records: number,
    timeoutMs: number,
    options: WaitForAcceptedOptions = {},
  ): Promise<readonly Buffer[]> {
    const current = () => (options.unique ? this.uniqueAccepted() : [...this.accepted]);
    return this.#waitFor(
      () => {
        const accepted = current();
        return accepted.length >= records ? accepted : undefined;
      },
      () =>
        `${current().length} of ${records} records were accepted${options.unique ? ' (unique)' : ''}`,
      timeoutMs,
    );
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const waiter of [...this.#waiters]) waiter.fail('before the receiver closed');
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    const closed = new Promise<void>((resolve, reject) =>
      this.server.close((error) => (error ? reject(error) : resolve())),
    );
    for (const socket of this.#sockets.values()) socket.destroy();
    let bound: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      bound = setTimeout(
        () => reject(new Error(`http receiver: not closed within ${CLOSE_TIMEOUT_MS} ms`)),
        CLOSE_TIMEOUT_MS,
      );
      bound.unref();
    });
    try {
      await Promise.race([closed, timedOut]);
    } finally {
      clearTimeout(bound);
    }
  }

  /**
   * Resolves with `ready()`'s value as soon as it has one, re-checked on every recorded
   * request and answer rather than polled.
   */
  #waitFor<T>(ready: () => T | undefined, progress: () => string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#closing) {
        reject(new Error(`http receiver: closed; ${progress()}`));
        return;
      }
      const answered = () =>
        this.requests.length === 0
          ? 'no requests'
          : this.requests
              .map(({ behaviour }) =>
                behaviour.kind === 'status' ? `status ${behaviour.status}` : behaviour.kind,
              )
              .join(', ');
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      const waiter: Waiter = {
        check: () => {
          const value = ready();
          if (value === undefined) return;
          finish();
          resolve(value);
        },
        fail: (why) => {
          finish();
          reject(new Error(`http receiver: ${progress()} ${why} (behaviours used: ${answered()})`));
        },
      };
      const timer = setTimeout(() => waiter.fail(`within ${timeoutMs} ms`), timeoutMs);
      this.#waiters.add(waiter);
      waiter.check();
    });
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter.check();
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      const body = await this.#readBody(request);
      const decoded = this.#decoding.then(() => this.#inspect(request, body));
      this.#decoding = decoded.catch(() => undefined);
      const entry = await decoded;
      const epoch = this.#epoch;
      entry.index = this.requests.length;
      entry.behaviour = this.#choose(entry, 'tooLarge' in body);
      this.requests.push(entry);
      this.#notify();
      this.#perform(entry.behaviour, entry, epoch, request, response);
    } catch {
      // The client went away mid-body (or the receiver closed): there is nothing to answer.
      request.socket.destroy();
    }
  }

  /** Reads the whole body; past the limit it keeps reading (to answer 413) but stores nothing. */
  async #readBody(request: IncomingMessage): Promise<ReadBody> {
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
      length += chunk.length;
      if (length <= this.#maxBodyBytes) chunks.push(chunk);
    }
    return length > this.#maxBodyBytes
      ? { tooLarge: length }
      : { bytes: Buffer.concat(chunks, length) };
  }

  /** Decodes and checks a request against the protocol (spec §5) into a recorded entry. */
  async #inspect(request: IncomingMessage, read: ReadBody): Promise<Mutable<ReceivedRequest>> {
    const headers = lowerCaseHeaders(request);
    const problems: string[] = [];
    const entry: Mutable<ReceivedRequest> = {
      index: -1,
      method: request.method ?? '',
      path: request.url ?? '',
      headers,
      rawBody: 'bytes' in read ? read.bytes : Buffer.alloc(0),
      body: undefined,
      json: undefined,
      records: undefined,
      requestId: headers['x-amz-firehose-request-id'],
      commonAttributes: undefined,
      problems,
      behaviour: { kind: 'ok' },
      answer: undefined,
      accepted: false,
    };

    if (entry.method !== 'POST') problems.push(`method is ${entry.method}, not POST`);
    if (entry.path !== this.#path) problems.push(`path is ${entry.path}, not ${this.#path}`);
    checkHeaders(headers, problems);
    if ('tooLarge' in read) {
      problems.push(`body of ${read.tooLarge} bytes is over ${this.#maxBodyBytes}`);
      return entry;
    }
    if (headers['content-length'] === undefined) problems.push('no Content-Length header');

    entry.body = await this.#decodeBody(headers['content-encoding'], read.bytes, problems);
    if (entry.body === undefined) return entry;
    const json = parseJson(entry.body);
    if (json === undefined) {
      problems.push('body is not JSON');
      return entry;
    }
    const parsed = firehoseRequestBodySchema.safeParse(json);
    if (!parsed.success) {
      problems.push(`body is not a Firehose request: ${z.prettifyError(parsed.error)}`);
      return entry;
    }
    entry.json = parsed.data;
    entry.requestId = parsed.data.requestId;
    if (
      headers['x-amz-firehose-request-id'] !== undefined &&
      headers['x-amz-firehose-request-id'] !== parsed.data.requestId
    ) {
      problems.push(
        `X-Amz-Firehose-Request-Id ${headers['x-amz-firehose-request-id']} is not the body's requestId ${parsed.data.requestId}`,
      );
    }
    const notBase64: number[] = [];
    entry.records = parsed.data.records.map(({ data }, index) => {
      const bytes = Buffer.from(data, 'base64');
      if (bytes.toString('base64') !== data) notBase64.push(index);
      return bytes;
    });
    if (notBase64.length > 0) {
      problems.push(
        `the data of ${notBase64.length} records is not base64 (first: records[${notBase64[0]}])`,
      );
    }
    const attributes = headers['x-amz-firehose-common-attributes'];
    if (attributes !== undefined) {
      const common = commonAttributesSchema.safeParse(parseJson(Buffer.from(attributes)));
      if (common.success) entry.commonAttributes = common.data.commonAttributes;
      else problems.push(`X-Amz-Firehose-Common-Attributes is not valid: ${attributes}`);
    }
    return entry;
  }

  async #decodeBody(
    encoding: string | undefined,
    raw: Buffer,
    problems: string[],
  ): Promise<Buffer | undefined> {
    if (encoding === undefined) return raw;
    if (encoding.trim().toLowerCase() !== 'gzip') {
      problems.push(`Content-Encoding ${encoding} is neither gzip nor absent`);
      return undefined;
    }
    try {
      return await gunzipAsync(raw, { maxOutputLength: this.#maxBodyBytes });
    } catch (error) {
      problems.push(`gzip body does not decode: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** The behaviour for a recorded request: the receiver's own refusal, else the script's. */
  #choose(entry: ReceivedRequest, tooLarge: boolean): ReceiverBehaviour {
    if (
      this.#accessKey !== undefined &&
      entry.headers['x-amz-firehose-access-key'] !== this.#accessKey
    ) {
      return { kind: 'status', status: 401, errorMessage: 'Invalid X-Amz-Firehose-Access-Key' };
    }
    if (tooLarge) {
      return { kind: 'status', status: 413, errorMessage: entry.problems.join('; ') };
    }
    if (this.#strict && entry.path !== this.#path) {
      return { kind: 'status', status: 404, errorMessage: `No endpoint at ${entry.path}` };
    }
    if (this.#strict && entry.problems.length > 0) {
      // Firehose keeps at most 8192 characters of an errorMessage.
      return {
        kind: 'status',
        status: 400,
        errorMessage: entry.problems.join('; ').slice(0, 8192),
      };
    }
    return this.#queue.shift() ?? this.#default;
  }

  #perform(
    behaviour: ReceiverBehaviour,
    entry: Mutable<ReceivedRequest>,
    epoch: number,
    request: IncomingMessage,
    response: ServerResponse,
  ): void {
    const requestId = entry.requestId ?? '';
    const send = (status: number, contentType: string, body: Buffer | string) =>
      this.#send(entry, epoch, response, status, contentType, Buffer.from(body));
    const json = (status: number, value: unknown) =>
      send(status, 'application/json', JSON.stringify(value));

    switch (behaviour.kind) {
      case 'ok':
        return json(200, { requestId, timestamp: Date.now() });
      case 'status':
        if (behaviour.body !== undefined) {
          return send(
            behaviour.status,
            behaviour.contentType ?? 'text/plain; charset=utf-8',
            behaviour.body,
          );
        }
        return json(behaviour.status, {
          requestId,
          timestamp: Date.now(),
          ...(behaviour.errorMessage === undefined ? {} : { errorMessage: behaviour.errorMessage }),
        });
      case 'wrong-request-id':
        return json(200, { requestId: behaviour.requestId ?? randomUUID(), timestamp: Date.now() });
      case 'no-timestamp':
        return json(200, { requestId });
      case 'string-timestamp':
        return json(200, { requestId, timestamp: String(Date.now()) });
      case 'not-json':
        return send(200, 'application/json', behaviour.body ?? 'OK');
      case 'wrong-content-type':
        return send(200, 'text/plain', JSON.stringify({ requestId, timestamp: Date.now() }));
      case 'too-large':
        return send(200, 'application/json', paddedBody(requestId, behaviour.bodyBytes ?? MIB + 1));
      case 'slow': {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          this.#perform(behaviour.then ?? { kind: 'ok' }, entry, epoch, request, response);
        }, behaviour.delayMs);
        // close() clears it; unref'd so a forgotten receiver cannot keep the process alive.
        timer.unref();
        this.#timers.add(timer);
        return;
      }
      case 'hang':
        return;
      case 'close':
        request.socket.destroy();
        return;
      case 'reset':
        this.#reset(request.socket);
        return;
    }
  }

  /** Sends TCP RST: on the raw socket, since a TLS socket cannot be reset itself. */
  #reset(socket: Socket): void {
    const raw = (socket.remotePort !== undefined && this.#sockets.get(socket.remotePort)) || socket;
    raw.resetAndDestroy();
    if (raw !== socket) socket.destroy();
  }

  #send(
    entry: Mutable<ReceivedRequest>,
    epoch: number,
    response: ServerResponse,
    status: number,
    contentType: string,
    body: Buffer,
  ): void {
    const headers = { 'content-type': contentType, 'content-length': String(body.length) };
    const clientGone = response.destroyed || response.socket === null || response.socket.destroyed;
    if (!clientGone) {
      response.writeHead(status, headers);
      response.end(body);
    }
    entry.answer = { status, headers, body, clientGone };
    if (epoch !== this.#epoch) return;
    if (entry.records !== undefined && isValidSuccess(entry.answer, entry.requestId)) {
      entry.accepted = true;
      this.accepted.push(...entry.records);
      this.acceptedRequestIds.push(entry.requestId ?? '');
      this.#acceptedRequests.push(entry);
    }
    this.#notify();
  }
}

/** A response Firehose counts as success (spec §5); anything else it treats like a 500. */
function isValidSuccess(answer: ReceiverAnswer, requestId: string | undefined): boolean {
  if (answer.status !== 200) return false;
  if (mediaType(answer.headers['content-type']) !== 'application/json') return false;
  if (answer.body.length > MAX_RESPONSE_BYTES) return false;
  const body = successBodySchema.safeParse(parseJson(answer.body));
  return body.success && body.data.requestId === requestId;
}

/** The protocol's header requirements (spec §5), each miss added to `problems`. */
function checkHeaders(headers: Readonly<Record<string, string>>, problems: string[]): void {
  if (mediaType(headers['content-type']) !== 'application/json') {
    problems.push(`Content-Type is ${headers['content-type'] ?? 'absent'}, not application/json`);
  }
  if (headers['x-amz-firehose-protocol-version'] !== '1.0') {
    problems.push(
      `X-Amz-Firehose-Protocol-Version is ${headers['x-amz-firehose-protocol-version'] ?? 'absent'}, not 1.0`,
    );
  }
  if (!headers['x-amz-firehose-request-id']) problems.push('no X-Amz-Firehose-Request-Id header');
  if (!headers['x-amz-firehose-source-arn']) problems.push('no X-Amz-Firehose-Source-Arn header');
}

function lowerCaseHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function mediaType(contentType: string | undefined): string | undefined {
  return contentType?.split(';')[0]?.trim().toLowerCase();
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** A valid success body of exactly `bodyBytes` bytes (or its smallest size, if larger). */
function paddedBody(requestId: string, bodyBytes: number): Buffer {
  const timestamp = Date.now();
  const bare = JSON.stringify({ requestId, timestamp, padding: '' });
  const padding = 'x'.repeat(Math.max(0, bodyBytes - Buffer.byteLength(bare)));
  return Buffer.from(JSON.stringify({ requestId, timestamp, padding }));
}
