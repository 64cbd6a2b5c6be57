/**
 * The console's chart history: every `SAMPLE_INTERVAL_MS` one process of the deployment (the
 * one that takes a short lock in Redis) reads the durable counters and backlog of the streams
 * whose counts moved lately (those the metrics flushes list, see durable-counters.ts), and of
 * every stream once per `HEARTBEAT_MS`, and appends a sample to the stream's history list in
 * Redis. Any process reads the same lists, a restart loses nothing, and cost and memory stay
 * bounded whatever the number of streams: idle streams are read once per heartbeat, a list
 * holds at most an hour of samples and expires with its stream, and a stream whose counts did
 * not change gets a sample only every `HEARTBEAT_MS` or so.
 */
import type { RedisClient } from '../redis/client.js';
import { COUNTED_STREAMS_KEY, streamKeys } from '../streams/keys.js';
import {
  decodeSample,
  encodeSample,
  sameCounts,
  SAMPLE_STATS_FIELDS,
  sampleFromReading,
  type HistorySample,
} from './history-sample.js';
import { crossSlotPipeline } from '../redis/cross-slot-pipeline.js';

/** How often streams are sampled. */
export const SAMPLE_INTERVAL_MS = 10_000;
/** How far back the charts go. */
export const HISTORY_WINDOW_MS = 60 * 60 * 1000;
/** A stream whose counts did not change is still sampled this often, so its list stays alive. */
export const HEARTBEAT_MS = 5 * 60 * 1000;
/** Most samples a stream's list keeps: an hour of them, and a few more for the first delta. */
export const MAX_SAMPLES = HISTORY_WINDOW_MS / SAMPLE_INTERVAL_MS + 6;
/** A list outlives its last sample by this: a deleted stream's history goes away by itself. */
const HISTORY_TTL_MS = HISTORY_WINDOW_MS + HEARTBEAT_MS;
/** Streams read and written per pipeline: bounds one round trip's size. */
const STREAMS_PER_PIPELINE = 500;

/** Sampling failures are reported at most this often. */
const ERROR_REPORT_INTERVAL_MS = 60_000;

/** The lock key: its holder samples this interval. Not per stream, so not hash-tagged. */
export const HISTORY_LOCK_KEY = 'sluice:console:history-lock';

/** The list of a stream's samples, oldest first. Hash-tagged with the stream's other keys. */
export function historyKey(stream: string): string {
  return streamKeys(stream).consoleHistory;
}

/** What {@link StreamHistory} needs. */
export interface StreamHistoryOptions {
  /** A command connection (no blocking commands are sent). */
  redis: RedisClient;
  /** Every stream's name. */
  streamNames: () => Promise<string[]>;
  /**
   * Called when a sampling round fails, at most once a minute (Redis down fails every round);
   * the next interval tries again.
   */
  onSampleError: (error: unknown) => void;
  /** Sampling interval; {@link SAMPLE_INTERVAL_MS} unless a test wants it shorter. */
  intervalMs?: number | undefined;
  now?: () => number;
}

/**
 * Samples streams into their history lists (when started) and reads a stream's history back.
 */
export class StreamHistory {
  private readonly intervalMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> = Promise.resolve();
  private readonly token = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  private lastReportMs = -Infinity;
  /** When this process last sampled every stream (the heartbeat pass). */
  private allSampledAt = -Infinity;

  constructor(private readonly options: StreamHistoryOptions) {
    this.intervalMs = options.intervalMs ?? SAMPLE_INTERVAL_MS;
    this.now = options.now ?? Date.now;
  }

  /** The sampling interval, ms. */
  get sampleIntervalMs(): number {
    return this.intervalMs;
  }

  /**
   * Starts sampling: at the start of every interval (wall clock, plus a small random delay
   * so that processes do not all ask for the lock at the same instant) this process tries the
   * lock, and samples when it gets it.
   */
  start(): void {
    if (this.timer !== undefined) return;
    const schedule = () => {
      const now = this.now();
      const next = Math.ceil((now + 1) / this.intervalMs) * this.intervalMs;
      const jitter = Math.floor(Math.random() * Math.min(500, this.intervalMs / 10));
      this.timer = setTimeout(
        () => {
          this.round = this.round
            .then(async () => {
              await this.sampleIfLeader();
            })
            .catch((error: unknown) => this.report(error));
          schedule();
        },
        next - now + jitter,
      );
      // Charts alone never keep a process alive.
      this.timer.unref();
    };
    schedule();
  }

  private report(error: unknown): void {
    const now = this.now();
    if (now - this.lastReportMs < ERROR_REPORT_INTERVAL_MS) return;
    this.lastReportMs = now;
    this.options.onSampleError(error);
  }

  /** Stops sampling; waits for a round in progress. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.round;
  }

  /**
   * Samples every stream if no other process did this interval: takes the lock for most of an
   * interval, so one process samples per interval.
   *
   * @returns whether this process sampled.
   */
  async sampleIfLeader(): Promise<boolean> {
    const held = await this.options.redis.set(
      HISTORY_LOCK_KEY,
      this.token,
      'PX',
      Math.max(1, Math.floor(this.intervalMs * 0.8)),
      'NX',
    );
    if (held !== 'OK') return false;
    await this.sampleAll();
    return true;
  }

  /**
   * Appends a sample to the history of each stream whose counts changed since its last sample
   * (or whose last sample is older than {@link HEARTBEAT_MS}); a stream sampled less than half
   * an interval ago (by a process whose clock runs ahead) is left alone. Reads the streams whose
   * counts moved in the last intervals, and every stream once per {@link HEARTBEAT_MS}.
   */
  async sampleAll(): Promise<void> {
    const { redis } = this.options;
    const at = this.now();
    let names: string[];
    if (at - this.allSampledAt >= HEARTBEAT_MS) {
      names = await this.options.streamNames();
      this.allSampledAt = at;
      await redis.zremrangebyscore(COUNTED_STREAMS_KEY, '-inf', at - HISTORY_TTL_MS);
    } else {
      // Three intervals back: a round another process missed is covered by the next.
      names = await redis.zrangebyscore(COUNTED_STREAMS_KEY, at - 3 * this.intervalMs, '+inf');
    }
    for (let start = 0; start < names.length; start += STREAMS_PER_PIPELINE) {
      await this.sampleStreams(names.slice(start, start + STREAMS_PER_PIPELINE));
    }
  }

  private async sampleStreams(names: readonly string[]): Promise<void> {
    const { redis } = this.options;
    const read = crossSlotPipeline(redis);
    for (const stream of names) {
      const keys = streamKeys(stream);
      read.hgetall(keys.metrics);
      read.hmget(keys.stats, ...SAMPLE_STATS_FIELDS);
      read.lindex(historyKey(stream), -1);
      read.exists(keys.stream);
    }
    const results = (await read.exec()) ?? [];
    const value = (i: number): unknown => {
      const [error, result] = results[i] ?? [new Error('no reply'), null];
      if (error) throw error;
      return result;
    };
    const at = this.now();
    const write = crossSlotPipeline(redis);
    let writes = 0;
    names.forEach((stream, s) => {
      // A stream deleted since its counts moved gets no history back.
      if (value(s * 4 + 3) === 0) return;
      const sample = sampleFromReading(
        at,
        value(s * 4) as Record<string, string>,
        value(s * 4 + 1) as (string | null)[],
      );
      const lastText = value(s * 4 + 2) as string | null;
      const last = lastText === null ? undefined : decodeSample(lastText);
      if (last !== undefined) {
        if (at - last.at < this.intervalMs / 2) return;
        if (sameCounts(last, sample) && at - last.at < HEARTBEAT_MS) return;
      }
      const key = historyKey(stream);
      write.rpush(key, encodeSample(sample));
      write.ltrim(key, -MAX_SAMPLES, -1);
      write.pexpire(key, HISTORY_TTL_MS);
      writes += 1;
    });
    if (writes === 0) return;
    const written = (await write.exec()) ?? [];
    const failed = written.find(([error]) => error !== null)?.[0];
    if (failed) throw failed;
  }

  /**
   * The stream's samples of the last `HISTORY_WINDOW_MS` (and the one before, for the first
   * rate), oldest first, followed by one read now, so that the charts reach the present.
   */
  async read(stream: string): Promise<{ samples: HistorySample[]; intervalMs: number }> {
    const keys = streamKeys(stream);
    const [stored, metrics, stats] = await Promise.all([
      this.options.redis.lrange(historyKey(stream), 0, -1),
      this.options.redis.hgetall(keys.metrics),
      this.options.redis.hmget(keys.stats, ...SAMPLE_STATS_FIELDS),
    ]);
    const now = this.now();
    const from = now - HISTORY_WINDOW_MS;
    const decoded = stored
      .map(decodeSample)
      .filter((sample): sample is HistorySample => sample !== undefined && sample.at <= now);
    // Keep the last sample before the window: the first rate in it is measured from there.
    const firstInside = decoded.findIndex((sample) => sample.at >= from);
    const samples =
      firstInside === -1 ? decoded.slice(-1) : decoded.slice(Math.max(0, firstInside - 1));
    const live = sampleFromReading(now, metrics, stats);
    const last = samples.at(-1);
    if (last === undefined || now - last.at >= 1000) samples.push(live);
    return { samples, intervalMs: this.intervalMs };
  }
}
