import type { MetricsRedis } from './metrics-redis.js';

/** The two keys a stream's counters touch. */
export interface CounterKeys {
  /** The stream's definition hash: counters of a stream that no longer exists are dropped. */
  stream: string;
  /** The hash holding the stream's durable counters. */
  metrics: string;
}

/** What {@link DurableCounters} needs. */
export interface DurableCountersOptions {
  /** A command connection (no blocking commands are sent). */
  redis: MetricsRedis;
  keysOf: (stream: string) => CounterKeys;
  /** How often increments are written to Redis. */
  flushIntervalMs: number;
  /** Called when a flush fails; its increments are kept and written by the next one. */
  onFlushError: (error: unknown) => void;
  /** Called when a flush wrote every increment it had. */
  onFlushed?: () => void;
  /**
   * Sorted set in which each flush also records the streams it wrote to (score: the flush's
   * time, ms), so readers can tell the streams whose counts moved from all others.
   */
  countedKey?: string;
}

/**
 * Adds a stream's counts to its hash, unless the stream is gone: a flush that comes after a
 * deleted stream's keys were removed must not bring its counters back.
 *
 * KEYS: 1 stream hash, 2 counters hash; ARGV: field, increment, field, increment, …
 */
const ADD_COUNTS_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 1, #ARGV, 2 do redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
`;

/**
 * Counters kept in Redis, one hash per stream, so that every process of a deployment reads
 * the same totals. Increments add up in memory and are written once a second (and before a
 * scrape, and at stop) with one pipelined call per stream, so counting costs the hot path a
 * map update, never a Redis round trip. Increments are whole numbers.
 */
export class DurableCounters {
  private pending = new Map<string, Map<string, number>>();
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: DurableCountersOptions) {}

  /** Adds `amount` to the stream's counter `field` (written by the next flush). */
  add(stream: string, field: string, amount: number): void {
    if (amount === 0) return;
    let fields = this.pending.get(stream);
    if (fields === undefined) {
      fields = new Map();
      this.pending.set(stream, fields);
    }
    fields.set(field, (fields.get(field) ?? 0) + amount);
  }

  /** Starts flushing every `flushIntervalMs`. */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.flush(), this.options.flushIntervalMs);
    // Metrics alone never keep a process alive.
    this.timer.unref();
  }

  /** Stops the timer and writes what is left. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /**
   * Writes the increments added so far; resolves once they are in Redis or, on failure, kept
   * for the next flush (never rejects). Flushes run one after another.
   */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushOnce());
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const streams = [...batch.keys()];
    const pipeline = this.options.redis.pipeline();
    for (const stream of streams) {
      const keys = this.options.keysOf(stream);
      const args: (string | number)[] = [];
      for (const [field, amount] of batch.get(stream) as Map<string, number>) {
        args.push(field, amount);
      }
      pipeline.eval(ADD_COUNTS_SCRIPT, 2, keys.stream, keys.metrics, ...args);
    }
    if (this.options.countedKey !== undefined) {
      const at = String(Date.now());
      pipeline.zadd(this.options.countedKey, ...streams.flatMap((stream) => [at, stream]));
    }
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch (error) {
      this.restore(batch, streams);
      this.options.onFlushError(error);
      return;
    }
    const failed = streams.filter((_, i) => (results?.[i]?.[0] ?? null) !== null);
    if (results === null || failed.length > 0) {
      const toRestore = results === null ? streams : failed;
      this.restore(batch, toRestore);
      this.options.onFlushError(
        results?.find(([error]) => error !== null)?.[0] ?? new Error('pipeline not run'),
      );
      return;
    }
    this.options.onFlushed?.();
  }

  /** Puts increments that were not written back in front of those added since. */
  private restore(batch: Map<string, Map<string, number>>, streams: readonly string[]): void {
    for (const stream of streams) {
      for (const [field, amount] of batch.get(stream) as Map<string, number>) {
        this.add(stream, field, amount);
      }
    }
  }
}
