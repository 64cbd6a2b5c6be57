import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';

import { z } from 'zod';

import type { Child } from '../devtools/children.js';
import { nowMs } from './clock.js';
import { launchIpcChild, runWhenScript, serveParent } from './ipc-child-process.js';
import { listenOnLoopback } from '../devtools/free-port.js';

/**
 * The bench's Firehose HTTP endpoint receiver (spec §5): the least an endpoint must do — read
 * the body, `JSON.parse` it, answer `{"requestId","timestamp"}` — plus the counting the http
 * phase needs, and a deliberate failure of a fixed share of batches.
 *
 * Every `failEvery`-th distinct request id, the first included, is answered 500 on every
 * attempt: Sluice keeps a batch's request id across retries, so such a batch fails until its
 * retry window ends and its records go to the error output. Counting distinct ids in arrival
 * order makes the share exact (⌈batches / failEvery⌉), so even a short run exercises the error
 * output. The receiver remembers, per
 * record sequence number ({@link seqPrefix}), how often it accepted the record and whether it
 * belonged to a deliberately failed batch, so the phase can account for every record.
 *
 * It runs in a child process ({@link launchBenchReceiver}) with its own event loop, as a real
 * endpoint would, so neither Sluice nor the bare POST reference shares a core with it.
 */

/** Digits of the sequence number at the start of every bench record. */
const SEQ_DIGITS = 15;
/** `{"seq":"` — the sequence number's opening. */
const SEQ_OPEN = '{"seq":"';
/**
 * Bytes of {@link seqPrefix}: a multiple of 3, so the prefix is exactly the first
 * {@link SEQ_PREFIX_BASE64_CHARS} characters of the record's base64, which can then be read
 * (and written) without touching the rest.
 */
export const SEQ_PREFIX_BYTES = SEQ_OPEN.length + SEQ_DIGITS + 1;
/** Base64 characters that encode {@link SEQ_PREFIX_BYTES} bytes. */
export const SEQ_PREFIX_BASE64_CHARS = (SEQ_PREFIX_BYTES / 3) * 4;
/** Sequence numbers at or above this are not tallied (a bound on the tallies' memory). */
const MAX_TALLIED_SEQ = 1 << 28;
/** Bodies above this get 413, as an endpoint protects itself (Sluice sends at most 64 MiB). */
const MAX_BODY_BYTES = 256 * 1024 * 1024;

/**
 * The first {@link SEQ_PREFIX_BYTES} bytes of the bench record with sequence number `seq`:
 * `{"seq":"000000000000042"`; the record goes on with `,"event_id":…}` (a JSON line).
 */
export function seqPrefix(seq: number): Buffer {
  return Buffer.from(`${SEQ_OPEN}${String(seq).padStart(SEQ_DIGITS, '0')}"`, 'latin1');
}

/** Base64 of `{"seq":"0`: the prefix's first 9 bytes, for every number below 10^14. */
const SEQ_HEAD_BASE64 = Buffer.from(Buffer.from(`${SEQ_OPEN}0`, 'latin1').toString('base64'));
/** Base64 of each 3-digit group `000`…`999`, 4 characters each. */
const DIGITS3_BASE64 = Buffer.from(
  Array.from({ length: 1000 }, (_, n) =>
    Buffer.from(String(n).padStart(3, '0'), 'latin1').toString('base64'),
  ).join(''),
  'latin1',
);
/** Base64 of each 2-digit group with the closing quote, `00"`…`99"`, 4 characters each. */
const DIGITS2_QUOTE_BASE64 = Buffer.from(
  Array.from({ length: 100 }, (_, n) =>
    Buffer.from(`${String(n).padStart(2, '0')}"`, 'latin1').toString('base64'),
  ).join(''),
  'latin1',
);
/** The largest sequence number {@link writeSeqBase64} writes (its first digit must be 0). */
export const MAX_STAMPED_SEQ = 1e14 - 1;

function copyGroup(table: Buffer, index: number, target: Buffer, at: number): void {
  const from = index * 4;
  target[at] = table[from] ?? 0;
  target[at + 1] = table[from + 1] ?? 0;
  target[at + 2] = table[from + 2] ?? 0;
  target[at + 3] = table[from + 3] ?? 0;
}

/**
 * Writes the base64 of {@link seqPrefix}(`seq`) — {@link SEQ_PREFIX_BASE64_CHARS} ASCII bytes —
 * into `target` at `offset`, from lookup tables: stamping 500 records a request this way costs
 * the load generator microseconds, where building each prefix and encoding it cost a
 * millisecond.
 *
 * @throws RangeError when `seq` is not an integer from 0 to {@link MAX_STAMPED_SEQ}.
 */
export function writeSeqBase64(target: Buffer, offset: number, seq: number): void {
  if (!Number.isInteger(seq) || seq < 0 || seq > MAX_STAMPED_SEQ) {
    throw new RangeError(`sequence number ${seq} is out of range`);
  }
  // Byte by byte: for 12 bytes a native copy costs more than the loop.
  for (let i = 0; i < SEQ_HEAD_BASE64.length; i += 1) target[offset + i] = SEQ_HEAD_BASE64[i] ?? 0;
  // Digits 1–12 of the 15 in 3-digit groups, then digits 13–14 with the closing quote.
  copyGroup(DIGITS3_BASE64, Math.floor(seq / 1e11) % 1000, target, offset + 12);
  copyGroup(DIGITS3_BASE64, Math.floor(seq / 1e8) % 1000, target, offset + 16);
  copyGroup(DIGITS3_BASE64, Math.floor(seq / 1e5) % 1000, target, offset + 20);
  copyGroup(DIGITS3_BASE64, Math.floor(seq / 100) % 1000, target, offset + 24);
  copyGroup(DIGITS2_QUOTE_BASE64, seq % 100, target, offset + 28);
}

/**
 * The sequence number of a record given as base64 (a Firehose body's `data`, an error record's
 * `rawData`), read from its first {@link SEQ_PREFIX_BASE64_CHARS} characters only; undefined
 * when the record does not start with a {@link seqPrefix}.
 */
export function seqOfData(base64: string): number | undefined {
  if (base64.length < SEQ_PREFIX_BASE64_CHARS) return undefined;
  return seqOfRecord(Buffer.from(base64.slice(0, SEQ_PREFIX_BASE64_CHARS), 'base64'));
}

/**
 * The sequence number of a record's bytes (or of their first {@link SEQ_PREFIX_BYTES});
 * undefined when they do not start with a {@link seqPrefix}.
 */
export function seqOfRecord(bytes: Buffer): number | undefined {
  if (bytes.length < SEQ_PREFIX_BYTES) return undefined;
  const head = bytes.toString('latin1', 0, SEQ_PREFIX_BYTES);
  if (!head.startsWith(SEQ_OPEN) || head.charCodeAt(SEQ_PREFIX_BYTES - 1) !== 0x22) {
    return undefined;
  }
  const digits = head.slice(SEQ_OPEN.length, SEQ_OPEN.length + SEQ_DIGITS);
  return /^\d+$/.test(digits) ? Number(digits) : undefined;
}

/** Bytes that padded base64 text of this length and padding decodes to, without decoding it. */
export function base64PayloadBytes(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor(text.length / 4) * 3 - padding);
}

/**
 * Settings of a receiver (also its child process's argument, as JSON): `accessKey`, the
 * `X-Amz-Firehose-Access-Key` every request must carry (others get 401), and `failEvery`: the
 * 1st, (1 + failEvery)-th, … distinct request id is answered 500 every time (0: none).
 */
export const BenchReceiverOptionsSchema = z.object({
  accessKey: z.string(),
  failEvery: z.number().int().min(0),
});

/** Settings of a receiver; see {@link BenchReceiverOptionsSchema}. */
export type BenchReceiverOptions = z.infer<typeof BenchReceiverOptionsSchema>;

/** The receiver's running totals. */
export interface ReceiverCounters {
  /** Every request, whatever its answer. */
  requests: number;
  /** Requests answered 200: their records count as delivered. */
  acceptedRequests: number;
  acceptedRecords: number;
  /** Payload bytes (base64-decoded) of the accepted records. */
  acceptedBytes: number;
  /** Answers of 500 on purpose, retries of the same batch included. */
  failedRequests: number;
  /** Distinct request ids failed on purpose. */
  failedBatches: number;
  /** Records of those distinct batches, each batch counted once. */
  failedBatchRecords: number;
  /** Requests refused as not Firehose requests (wrong key, method or body): 400, 401, 405, 413. */
  rejectedRequests: number;
  /** Records without a bench sequence number, or one too large to tally. */
  untalliedRecords: number;
  /** When the first request arrived (epoch ms). */
  firstRequestMs: number | undefined;
  /** When the last 200 was sent (epoch ms). */
  lastAcceptedMs: number | undefined;
}

/** Per-record tallies, indexed by sequence number. */
export interface ReceiverTallies {
  counters: ReceiverCounters;
  /** How often each record was accepted (saturates at 255). */
  accepted: Uint8Array;
  /** 1 for each record of a batch failed on purpose. */
  failed: Uint8Array;
}

/** An answer: status and JSON body. */
export interface ReceiverAnswer {
  status: number;
  body: string;
}

/** The body members the receiver reads. */
interface FirehoseBody {
  requestId: string;
  records: { data: string }[];
}

function isFirehoseBody(value: unknown): value is FirehoseBody {
  if (value === null || typeof value !== 'object') return false;
  const { requestId, records } = value as Record<string, unknown>;
  return (
    typeof requestId === 'string' &&
    requestId !== '' &&
    Array.isArray(records) &&
    records.every(
      (r) =>
        r !== null && typeof r === 'object' && typeof (r as { data?: unknown }).data === 'string',
    )
  );
}

/** One byte per sequence number, in an array that grows (by doubling) as numbers come. */
export class SeqBytes {
  /** The bytes; index = sequence number. Longer than the highest number set. */
  bytes = new Uint8Array(1 << 16);

  /** The byte of `seq` (0 when never set). */
  at(seq: number): number {
    return this.bytes[seq] ?? 0;
  }

  /** Sets the byte of `seq`, growing the array to hold it. */
  set(seq: number, value: number): void {
    if (seq >= this.bytes.length) {
      let size = this.bytes.length;
      while (size <= seq) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes[seq] = value;
  }
}

/**
 * What the receiver does with a request, apart from HTTP: checks, counts, and the answer.
 * Separate from the server so it can be tested without sockets.
 */
export class ReceiverState {
  readonly #options: BenchReceiverOptions;
  readonly #counters: ReceiverCounters = {
    requests: 0,
    acceptedRequests: 0,
    acceptedRecords: 0,
    acceptedBytes: 0,
    failedRequests: 0,
    failedBatches: 0,
    failedBatchRecords: 0,
    rejectedRequests: 0,
    untalliedRecords: 0,
    firstRequestMs: undefined,
    lastAcceptedMs: undefined,
  };
  readonly #accepted = new SeqBytes();
  readonly #failed = new SeqBytes();
  /** Every request id seen, in order to number new ones. */
  readonly #seenIds = new Set<string>();
  readonly #failedIds = new Set<string>();
  /** The highest sequence number tallied, so the tallies sent back are no longer than needed. */
  #maxSeq = -1;

  constructor(options: BenchReceiverOptions) {
    this.#options = options;
  }

  /**
   * Handles one request whose body has been read. `body` undefined means it was over the size
   * limit.
   */
  handle(
    method: string | undefined,
    accessKey: string | undefined,
    contentEncoding: string | undefined,
    body: Buffer | undefined,
    atMs: number,
  ): ReceiverAnswer {
    const c = this.#counters;
    // The protocol's timestamp is whole epoch milliseconds.
    const timestamp = Math.trunc(atMs);
    c.requests += 1;
    c.firstRequestMs ??= atMs;
    const refuse = (status: number, errorMessage: string, requestId = ''): ReceiverAnswer => {
      c.rejectedRequests += 1;
      return { status, body: JSON.stringify({ requestId, timestamp, errorMessage }) };
    };
    if (method !== 'POST') return refuse(405, `method ${method ?? ''} is not POST`);
    if (accessKey !== this.#options.accessKey) {
      return refuse(401, 'X-Amz-Firehose-Access-Key is missing or wrong');
    }
    if (body === undefined) return refuse(413, `body over ${MAX_BODY_BYTES} bytes`);
    if (contentEncoding !== undefined && contentEncoding !== '' && contentEncoding !== 'identity') {
      return refuse(400, `Content-Encoding ${contentEncoding} is not read by the bench receiver`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return refuse(400, 'body is not JSON');
    }
    if (!isFirehoseBody(parsed)) return refuse(400, 'body is not a Firehose request body');
    const { requestId, records } = parsed;

    if (this.#failsDeliberately(requestId)) {
      c.failedRequests += 1;
      if (!this.#failedIds.has(requestId)) {
        this.#failedIds.add(requestId);
        c.failedBatches += 1;
        c.failedBatchRecords += records.length;
        for (const { data } of records) {
          const seq = this.#seq(data);
          if (seq !== undefined) this.#failed.set(seq, 1);
        }
      }
      return {
        status: 500,
        body: JSON.stringify({
          requestId,
          timestamp,
          errorMessage: 'deliberate failure (bench receiver)',
        }),
      };
    }

    c.acceptedRequests += 1;
    c.acceptedRecords += records.length;
    c.lastAcceptedMs = atMs;
    for (const { data } of records) {
      c.acceptedBytes += base64PayloadBytes(data);
      const seq = this.#seq(data);
      if (seq !== undefined) this.#accepted.set(seq, Math.min(255, this.#accepted.at(seq) + 1));
    }
    return { status: 200, body: JSON.stringify({ requestId, timestamp }) };
  }

  /** A copy of the totals. */
  counters(): ReceiverCounters {
    return { ...this.#counters };
  }

  /** The totals and the per-record tallies, cut to the highest sequence number seen. */
  tallies(): ReceiverTallies {
    const length = this.#maxSeq + 1;
    return {
      counters: this.counters(),
      accepted: this.#accepted.bytes.slice(0, length),
      failed: this.#failed.bytes.slice(0, length),
    };
  }

  /**
   * Whether to fail this request id: always once chosen; a new id is chosen when it is the
   * 1st, (1 + failEvery)-th, … distinct one. (A failing id is never "new" again: it is chosen
   * first, then stays in the failed set.)
   */
  #failsDeliberately(requestId: string): boolean {
    if (this.#failedIds.has(requestId)) return true;
    if (this.#seenIds.has(requestId)) return false;
    const n = this.#seenIds.size;
    this.#seenIds.add(requestId);
    const every = this.#options.failEvery;
    return every > 0 && n % every === 0;
  }

  #seq(data: string): number | undefined {
    const seq = seqOfData(data);
    if (seq === undefined || seq >= MAX_TALLIED_SEQ) {
      this.#counters.untalliedRecords += 1;
      return undefined;
    }
    if (seq > this.#maxSeq) this.#maxSeq = seq;
    return seq;
  }
}

/** A receiver serving in this process. */
export interface BenchReceiverServer {
  /** `http://127.0.0.1:<port>/`. */
  readonly url: string;
  readonly state: ReceiverState;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Reads a whole body; undefined (having read and dropped it) when over the limit. */
async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return length > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks, length);
}

function answer(response: ServerResponse, { status, body }: ReceiverAnswer): void {
  const bytes = Buffer.from(body, 'utf8');
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(bytes.length),
  });
  response.end(bytes);
}

/** Starts a receiver on a free 127.0.0.1 port in this process. */
export async function startBenchReceiver(
  options: BenchReceiverOptions,
): Promise<BenchReceiverServer> {
  const state = new ReceiverState(options);
  const onRequest = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    try {
      const body = await readBody(request);
      answer(
        response,
        state.handle(
          request.method,
          header(request, 'x-amz-firehose-access-key'),
          header(request, 'content-encoding'),
          body,
          nowMs(),
        ),
      );
    } catch {
      // The client went away mid-body: there is nobody to answer.
      request.socket.destroy();
    }
  };
  const server: Server = createServer((request, response) => {
    void onRequest(request, response);
  });
  // Above the reference client's keep-alive reuse, so an idle pooled socket is not cut under it.
  server.keepAliveTimeout = 65_000;
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}/`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** What the parent asks the receiver process. */
type Ask = 'counters' | 'tallies';
/** The child's answer to a question. */
type Reply = { id: number; counters: ReceiverCounters } | { id: number; tallies: ReceiverTallies };

/** A receiver running in its own process, from {@link launchBenchReceiver}. */
export interface BenchReceiverProcess {
  /** `http://127.0.0.1:<port>/`. */
  readonly url: string;
  readonly child: Child;
  /** The receiver's totals now. */
  counters(): Promise<ReceiverCounters>;
  /** The totals and per-record tallies now. */
  tallies(): Promise<ReceiverTallies>;
  /** Stops the process (bounded). */
  stop(): Promise<void>;
}

/**
 * Starts a receiver in a child process (this module as its script) on a free loopback port;
 * the parent asks it for counters and tallies over the IPC channel.
 *
 * @throws when the child does not report its port within 15 seconds.
 */
export async function launchBenchReceiver(
  options: BenchReceiverOptions,
): Promise<BenchReceiverProcess> {
  const ipc = await launchIpcChild<Ask, Reply>(
    'http receiver',
    fileURLToPath(import.meta.url),
    options,
  );
  return {
    url: `http://127.0.0.1:${ipc.port}/`,
    child: ipc.child,
    counters: () => ipc.ask('counters', (r) => ('counters' in r ? r.counters : undefined)),
    tallies: () => ipc.ask('tallies', (r) => ('tallies' in r ? r.tallies : undefined)),
    stop: () => ipc.stop(),
  };
}

/** The child process: serve, report the port, answer the parent's questions. */
async function runChild(optionsJson: string | undefined): Promise<void> {
  const options = BenchReceiverOptionsSchema.parse(JSON.parse(optionsJson ?? '{}'));
  const server = await startBenchReceiver(options);
  serveParent<Ask, Reply>(
    Number(new URL(server.url).port),
    (question) =>
      question.ask === 'tallies'
        ? { id: question.id, tallies: server.state.tallies() }
        : { id: question.id, counters: server.state.counters() },
    () => server.close(),
  );
}

runWhenScript(import.meta.url, runChild);
