import type { Cluster, Redis } from 'ioredis';

import { streamKeys } from '../src/streams/keys.js';
import { nowMs } from './clock.js';

/**
 * Reads Sluice's per-stream counters (`sluice:{<stream>}:stats`) from Redis. They are how the
 * bench sees delivery from outside: the counters move in the same Redis scripts that store and
 * complete batches, so they are exact, not estimates.
 */

/** One reading of a stream's counters. */
export interface StreamStatsSample {
  atMs: number;
  backlogBytes: number;
  backlogRecords: number;
  deliveredRecords: number;
  deliveredBytes: number;
  deliveredBatches: number;
  deadRecords: number;
}

const FIELDS = [
  'backlogBytes',
  'backlogRecords',
  'deliveredRecords',
  'deliveredBytes',
  'deliveredBatches',
  'deadRecords',
] as const;

/** Reads the counters once; absent counters read as 0. */
export async function readStreamStats(
  redis: Pick<Redis | Cluster, 'hmget'>,
  stream: string,
): Promise<StreamStatsSample> {
  const values = await redis.hmget(streamKeys(stream).stats, ...FIELDS);
  const atMs = nowMs();
  const field = (i: number): number => Number(values[i] ?? 0) || 0;
  return {
    atMs,
    backlogBytes: field(0),
    backlogRecords: field(1),
    deliveredRecords: field(2),
    deliveredBytes: field(3),
    deliveredBatches: field(4),
    deadRecords: field(5),
  };
}

/**
 * Reads a stream's counters every `periodMs` until stopped. A reading still in flight when the
 * next is due is not duplicated, so a slow Redis cannot pile up requests.
 */
export class StreamStatsSampler {
  readonly samples: StreamStatsSample[] = [];
  /** Readings that failed (Redis busy or gone); reported rather than fatal. */
  failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly stream: string,
    private readonly periodMs: number,
  ) {}

  /** Takes a first reading now, then one every period. */
  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.periodMs);
  }

  /** Stops sampling and takes one last reading, so the series ends at the stop time. */
  async stop(): Promise<StreamStatsSample[]> {
    clearInterval(this.timer);
    await this.pending;
    this.tick();
    await this.pending;
    return this.samples;
  }

  /** Stops sampling at once, without a last reading (for error paths). */
  cancel(): void {
    clearInterval(this.timer);
  }

  /** The most recent reading, if any. */
  latest(): StreamStatsSample | undefined {
    return this.samples[this.samples.length - 1];
  }

  private tick(): void {
    if (this.pending) return;
    this.pending = readStreamStats(this.redis, this.stream)
      .then(
        (sample) => {
          this.samples.push(sample);
        },
        () => {
          this.failures += 1;
        },
      )
      .finally(() => {
        this.pending = undefined;
      });
  }
}
