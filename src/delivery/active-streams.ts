import type { RedisClient } from '../redis/client.js';
import { ACTIVE_STREAMS_KEY } from '../streams/keys.js';

/**
 * The streams whose delivery queue may hold jobs: delivery processes run a BullMQ worker for
 * these only, so an idle stream costs no worker, no blocking connection and no Redis polling.
 *
 * A stream is added after a job is added to its queue (and before the batch counts as
 * enqueued, so a crash in between is repaired by the seal ticker's re-enqueue), and removed by
 * {@link retireIfEmpty} only once its queue is empty, checked after the removal: a job added
 * meanwhile either is counted there or adds the stream again after it.
 */
export class ActiveStreams {
  constructor(private readonly redis: RedisClient) {}

  /** The stream's queue holds (or is about to hold) a job. */
  async add(stream: string): Promise<void> {
    await this.redis.zadd(ACTIVE_STREAMS_KEY, 'NX', Date.now(), stream);
  }

  /** Adds every listed stream (the reconciling pass). */
  async addAll(streams: readonly string[]): Promise<void> {
    if (streams.length === 0) return;
    const now = String(Date.now());
    await this.redis.zadd(ACTIVE_STREAMS_KEY, 'NX', ...streams.flatMap((s) => [now, s]));
  }

  /** Every active stream. */
  async list(): Promise<string[]> {
    return this.redis.zrange(ACTIVE_STREAMS_KEY, '0', '-1');
  }

  /**
   * Removes the stream when `jobsIn` finds its queue empty after the removal; puts it back
   * otherwise.
   *
   * @returns whether the stream was retired.
   */
  async retireIfEmpty(stream: string, jobsIn: () => Promise<number>): Promise<boolean> {
    await this.redis.zrem(ACTIVE_STREAMS_KEY, stream);
    if ((await jobsIn()) === 0) return true;
    await this.add(stream);
    return false;
  }

  /** Removes a stream for good (it was deleted). */
  async remove(stream: string): Promise<void> {
    await this.redis.zrem(ACTIVE_STREAMS_KEY, stream);
  }
}
