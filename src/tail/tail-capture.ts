import type { RedisClient } from '../redis/client.js';
import { FRAME_HEADER_BYTES, FRAME_RECORD_HEADER_BYTES } from '../formats/chunk-frame.js';
import { RedisScript } from '../redis/redis-script.js';
import { previewRecord } from './record-preview.js';
import { TAILED_STREAMS_KEY, tailKeys } from './tail-keys.js';
import {
  ACTIVE_CHECK_MS,
  CAPTURE_RECORDS_PER_SECOND,
  MAX_PENDING_CAPTURES,
  RING_MAX_AGE_MS,
  RING_RECORDS,
} from './tail-limits.js';
import { TAIL_CAPTURE_SCRIPT } from './tail-scripts.js';

const captureScript = new RedisScript(TAIL_CAPTURE_SCRIPT, 2);

/** How often, at most, failed captures are logged (with their count since the last line). */
const FAILURE_LOG_INTERVAL_MS = 60_000;

/** Where failed captures are reported: the process logger, or a test's. */
export interface CaptureLog {
  warn(details: object, message: string): void;
}

/** Sampling state of one tailed stream in this process. */
interface StreamWindow {
  /** The epoch second `taken` counts in. */
  second: number;
  /** Records captured in `second`. */
  taken: number;
  /** Records left out since the last capture, counted with the next one. */
  skipped: number;
}

/**
 * The ingest side of the live tail: offered every acknowledged put's records, it copies a
 * sample of the tailed streams' records into their rings in Redis.
 *
 * Nobody tailing costs a put one comparison and one set lookup: which streams are tailed is
 * read from Redis at most once per {@link ACTIVE_CHECK_MS}, in the background, triggered by
 * puts (so an idle process asks nothing). A tailed stream's records are sampled in memory (at
 * most {@link CAPTURE_RECORDS_PER_SECOND} a second) and written after the put's answer, by one
 * script call per put; the script holds every process to the same per-second budget. A capture
 * never fails, delays or changes a put: its failures are counted and logged once a minute at
 * most, without record data.
 */
export class TailCapture {
  private tailed: ReadonlySet<string> = new Set();
  private nextCheckMs = 0;
  private checking = false;
  private readonly windows = new Map<string, StreamWindow>();
  private pending = 0;
  private failures = 0;
  private lastFailureLogMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly redis: RedisClient,
    private readonly log?: CaptureLog,
  ) {}

  /** Captures written to Redis and not yet answered, for tests and diagnostics. */
  get inFlight(): number {
    return this.pending;
  }

  /**
   * Offers the records of one acknowledged put (call it after the put is stored, never before).
   * Returns at once; the chunk must not be changed afterwards (it is read after the answer).
   *
   * @param chunk - the put's framed chunk (formats/chunk-frame.ts), `records` records long.
   * @param nowMs - the put's arrival time, the chunk's.
   */
  offer(stream: string, chunk: Buffer, records: number, nowMs: number): void {
    if (nowMs >= this.nextCheckMs) this.checkTailed(nowMs);
    if (this.tailed.size === 0 || !this.tailed.has(stream)) return;
    this.sample(stream, chunk, records, nowMs);
  }

  private sample(stream: string, chunk: Buffer, records: number, nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    let window = this.windows.get(stream);
    if (window === undefined) {
      window = { second, taken: 0, skipped: 0 };
      this.windows.set(stream, window);
    } else if (window.second !== second) {
      window.second = second;
      window.taken = 0;
    }
    const room =
      this.pending >= MAX_PENDING_CAPTURES ? 0 : CAPTURE_RECORDS_PER_SECOND - window.taken;
    const take = Math.min(records, room);
    if (take <= 0) {
      window.skipped += records;
      return;
    }
    window.taken += take;
    const skippedBefore = window.skipped + records - take;
    window.skipped = 0;
    this.pending += 1;
    // After the put's answer: the answer is written from a promise continuation, which runs
    // before any setImmediate callback.
    setImmediate(() => {
      void this.write(stream, chunk, records, take, skippedBefore, nowMs).finally(() => {
        this.pending -= 1;
      });
    });
  }

  private async write(
    stream: string,
    chunk: Buffer,
    records: number,
    take: number,
    skippedBefore: number,
    nowMs: number,
  ): Promise<void> {
    try {
      const args: (string | number)[] = [
        CAPTURE_RECORDS_PER_SECOND,
        RING_RECORDS,
        RING_MAX_AGE_MS,
        skippedBefore,
        take,
      ];
      for (const data of sampledRecords(chunk, records, take)) {
        const { encoding, preview, truncated } = previewRecord(data);
        args.push(nowMs, data.length, encoding, preview, truncated ? 1 : 0);
      }
      const keys = tailKeys(stream);
      const [, carried] = (await captureScript.run(
        this.redis,
        [keys.ring, keys.rate(Math.floor(nowMs / 1000))],
        args,
      )) as [number, number];
      if (carried > 0) {
        const window = this.windows.get(stream);
        if (window !== undefined) window.skipped += carried;
      }
    } catch (error) {
      this.failed(error);
    }
  }

  /** Reads which streams are tailed, in the background; at most one read at a time. */
  private checkTailed(nowMs: number): void {
    this.nextCheckMs = nowMs + ACTIVE_CHECK_MS;
    if (this.checking) return;
    this.checking = true;
    this.redis
      .zrangebyscore(TAILED_STREAMS_KEY, nowMs, '+inf')
      .then(
        (names) => {
          this.tailed = new Set(names);
        },
        (error: unknown) => {
          // Unknown is treated as nobody: capture stops rather than guess.
          this.tailed = new Set();
          this.failed(error);
        },
      )
      .finally(() => {
        this.checking = false;
        for (const stream of this.windows.keys()) {
          if (!this.tailed.has(stream)) this.windows.delete(stream);
        }
      });
  }

  private failed(error: unknown): void {
    // Closed at shutdown: captures still in flight then are simply lost, nothing to report.
    if (this.redis.status === 'end') return;
    this.failures += 1;
    const now = Date.now();
    if (now - this.lastFailureLogMs < FAILURE_LOG_INTERVAL_MS) return;
    this.lastFailureLogMs = now;
    // The message only: no record data, whatever the error carries.
    this.log?.warn(
      { failures: this.failures, error: error instanceof Error ? error.message : String(error) },
      'live tail capture failed; the tail misses records (puts are not affected)',
    );
    this.failures = 0;
  }
}

/**
 * `take` of the chunk's `records` records, spread evenly over it, in order (views into the
 * chunk). The chunk was framed by this process, so its layout is trusted; a short one ends the
 * walk early.
 */
function sampledRecords(chunk: Buffer, records: number, take: number): Buffer[] {
  const picked: Buffer[] = [];
  let offset = FRAME_HEADER_BYTES;
  let next = 0;
  for (let i = 0; i < records && picked.length < take; i++) {
    if (offset + FRAME_RECORD_HEADER_BYTES > chunk.length) break;
    const length = chunk.readUInt32BE(offset);
    offset += FRAME_RECORD_HEADER_BYTES;
    if (i === Math.floor((next * records) / take)) {
      picked.push(chunk.subarray(offset, Math.min(offset + length, chunk.length)));
      next += 1;
    }
    offset += length;
  }
  return picked;
}
