import type { RedisClient } from '../redis/client.js';
import { streamKeys } from '../streams/keys.js';
import type { PreviewEncoding } from './record-preview.js';
import { TailCapture, type CaptureLog } from './tail-capture.js';
import { TAILED_STREAMS_KEY, tailKeys } from './tail-keys.js';
import {
  ACTIVE_TTL_MS,
  MAX_PAGE_RECORDS,
  MAX_WAIT_MS,
  POLL_INTERVAL_MS,
  RING_MAX_AGE_MS,
} from './tail-limits.js';

/** One captured record, as a tail shows it. */
export interface TailRecord {
  /** Its place in the stream's tail; the cursor of a page ending with it. */
  seq: string;
  /** When the put that carried it was accepted (epoch ms). */
  at: number;
  /** Size of the whole record's data. */
  bytes: number;
  /** How `preview` shows the data (see record-preview.ts). */
  encoding: PreviewEncoding;
  /** The data's first `PREVIEW_BYTES` bytes: JSON or text as is, else base64. */
  preview: string;
  /** The record is longer than the preview. */
  truncated: boolean;
  /**
   * Records not shown just before this one: left out by sampling, or, for a page's first
   * record, trimmed from the ring before the read reached them (see {@link TailPage.skipped}).
   */
  skippedBefore: number;
}

/** One answer of {@link LiveTail.read}. */
export interface TailPage {
  stream: string;
  /** Where the next read continues; the last record's `seq`, or the cursor read from. */
  cursor: string;
  /** Oldest first. */
  records: TailRecord[];
  /**
   * Records not shown between the cursor and the last record shown: left out by sampling, or
   * trimmed from the ring (it keeps the last `RING_RECORDS`) before a slow reader reached them.
   * Records left out after the last shown one are counted with the next one shown; a cursor
   * older than the ring's start (it expires `RING_MAX_AGE_MS` after its last capture) counts
   * only what the new ring saw.
   */
  skipped: number;
}

/** Options of {@link LiveTail.read}. */
export interface TailReadOptions {
  /**
   * Continue after this page's `cursor`. Without it the read starts with the records captured
   * in the last `RING_MAX_AGE_MS` (the newest `limit`), or, when there are none, waits for new
   * ones.
   */
  cursor?: string | undefined;
  /**
   * How long to wait for records when none is there yet, 0 to `MAX_WAIT_MS` (longer is cut to
   * it); default `MAX_WAIT_MS`. A read answers as soon as there is at least one record.
   */
  waitMs?: number | undefined;
  /** Most records to answer, 1 to `MAX_PAGE_RECORDS`; default (and larger values) the most. */
  limit?: number | undefined;
  /** Ends the wait early; the read then answers what it has (no records), it does not throw. */
  signal?: AbortSignal | undefined;
}

/** Why {@link LiveTail.read} refused. */
export type TailFailure = 'stream-not-found' | 'invalid-cursor';

/** A read that cannot be answered; `reason` says why, the message says it for a user. */
export class TailError extends Error {
  constructor(
    readonly reason: TailFailure,
    message: string,
  ) {
    super(message);
    this.name = 'TailError';
  }
}

/** A cursor is a ring entry id: the ring start (epoch ms), `-`, records offered (tail-scripts.ts). */
const CURSOR = /^\d{1,15}-\d{1,19}$/;

/** Whether `text` has the form of a {@link TailPage.cursor}. */
export function isTailCursor(text: string): boolean {
  return CURSOR.test(text);
}

/** Options of {@link LiveTail}. */
export interface LiveTailOptions {
  /** The process's command connection: reads use short commands only, never a blocking one. */
  redis: RedisClient;
  /** Where failed captures are reported, at most once a minute. */
  log?: CaptureLog | undefined;
}

/**
 * A live tail of streams' incoming records, across every API process sharing the Redis: a
 * sample of each tailed stream's acknowledged records (see {@link TailCapture}) goes into a
 * small ring in Redis, which {@link read} long-polls.
 *
 * Reading marks the stream as tailed for `ACTIVE_TTL_MS`; API processes notice within about a
 * second, and capture stops that long after the last read. A waiting read polls the ring every
 * `POLL_INTERVAL_MS` with one short command on the shared connection, so concurrent tails take
 * no connection of their own.
 */
export class LiveTail {
  private readonly redis: RedisClient;
  private readonly capture: TailCapture;
  private reads = 0;

  constructor(options: LiveTailOptions) {
    this.redis = options.redis;
    this.capture = new TailCapture(options.redis, options.log);
  }

  /** Reads in progress (waiting or not), for tests and diagnostics. */
  get readsInProgress(): number {
    return this.reads;
  }

  /** Captures written to Redis and not yet answered. */
  get capturesInFlight(): number {
    return this.capture.inFlight;
  }

  /**
   * Offers an acknowledged put's records to the tail: the ingest paths call it right after the
   * records are stored. Costs nothing measurable when nobody tails; never throws.
   *
   * @param chunk - the put's framed chunk of `records` records; not changed afterwards.
   * @param nowMs - the put's arrival time, the chunk's.
   */
  offer(stream: string, chunk: Buffer, records: number, nowMs: number): void {
    this.capture.offer(stream, chunk, records, nowMs);
  }

  /**
   * The stream's records captured after `options.cursor` (see {@link TailReadOptions}), waiting
   * up to `waitMs` for the first.
   *
   * @throws TailError `stream-not-found` when there is no such stream, `invalid-cursor` when
   *   the cursor is not one a page gave. Redis errors are thrown as they are.
   */
  async read(stream: string, options: TailReadOptions = {}): Promise<TailPage> {
    const { cursor, signal } = options;
    if (cursor !== undefined && !isTailCursor(cursor)) {
      throw new TailError(
        'invalid-cursor',
        `${JSON.stringify(cursor.slice(0, 64))} is not a tail cursor: pass the cursor of a previous page, or none to start with the last minute's records`,
      );
    }
    const limit = bounded(options.limit, 1, MAX_PAGE_RECORDS, MAX_PAGE_RECORDS);
    const waitMs = bounded(options.waitMs, 0, MAX_WAIT_MS, MAX_WAIT_MS);
    const startMs = Date.now();
    if ((await this.redis.exists(streamKeys(stream).stream)) === 0) {
      throw new TailError(
        'stream-not-found',
        `there is no delivery stream ${JSON.stringify(stream)} at this Sluice`,
      );
    }
    this.reads += 1;
    try {
      await this.markTailed(stream, startMs);
      const ring = tailKeys(stream).ring;
      let after = cursor;
      if (after === undefined) {
        const newest = await this.redis.xrevrange(ring, '+', '-', 'COUNT', limit);
        const recent = newest
          .map(([id, fields]) => toRecord(id, fields))
          .filter((record) => record.at >= startMs - RING_MAX_AGE_MS)
          .reverse();
        if (recent.length > 0) return page(stream, recent, '0-0');
        after = newest[0]?.[0] ?? '0-0';
      }
      const deadline = startMs + waitMs;
      for (;;) {
        const answer = await this.redis.xread('COUNT', limit, 'STREAMS', ring, after);
        const entries = answer?.[0]?.[1] ?? [];
        if (entries.length > 0) {
          const records = entries.map(([id, fields]) => toRecord(id, fields));
          const first = records[0] as TailRecord;
          first.skippedBefore = missedSince(after, first);
          return page(stream, records, after);
        }
        const left = deadline - Date.now();
        if (left <= 0 || signal?.aborted === true) return page(stream, [], after);
        await pause(Math.min(POLL_INTERVAL_MS, left), signal);
      }
    } finally {
      this.reads -= 1;
    }
  }

  /** Marks `stream` tailed until `ACTIVE_TTL_MS` from now, and drops ended marks. */
  private async markTailed(stream: string, nowMs: number): Promise<void> {
    await this.redis
      .multi()
      .zremrangebyscore(TAILED_STREAMS_KEY, '-inf', nowMs)
      .zadd(TAILED_STREAMS_KEY, nowMs + ACTIVE_TTL_MS, stream)
      .pexpire(TAILED_STREAMS_KEY, ACTIVE_TTL_MS)
      .exec();
  }
}

function toRecord(id: string, fields: readonly string[]): TailRecord {
  const values = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    values.set(fields[i] as string, fields[i + 1] as string);
  }
  const encoding = values.get('encoding');
  return {
    seq: id,
    at: Number(values.get('at') ?? 0),
    bytes: Number(values.get('bytes') ?? 0),
    encoding: encoding === 'json' || encoding === 'text' ? encoding : 'base64',
    preview: values.get('preview') ?? '',
    truncated: values.get('truncated') === '1',
    skippedBefore: Number(values.get('skipped') ?? 0),
  };
}

/**
 * Records not shown between the cursor `after` and `first`, the first record read after it:
 * those sampling left out, and those the ring trimmed before this read. Entries of one ring
 * share their id's start and count the records offered in its second part (tail-scripts.ts), so
 * within one ring the count is exact; across rings only `first`'s own count is known.
 */
function missedSince(after: string, first: TailRecord): number {
  const [afterStart, afterOffered] = after.split('-');
  const [start, offered] = first.seq.split('-');
  if (after === '0-0' || afterStart !== start) return first.skippedBefore;
  return Math.max(first.skippedBefore, Number(offered) - Number(afterOffered) - 1);
}

function page(stream: string, records: TailRecord[], after: string): TailPage {
  let skipped = 0;
  for (const record of records) skipped += record.skippedBefore;
  return { stream, cursor: records.at(-1)?.seq ?? after, records, skipped };
}

/** `value` as a whole number within `min`..`max`, `fallback` when not given. */
function bounded(value: number | undefined, min: number, max: number, fallback: number): number {
  if (value === undefined || Number.isNaN(value)) return fallback;
  return Math.min(max, Math.max(min, Math.floor(value)));
}

/** Waits `ms`, or until `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
