import type { RedisClient } from '../redis/client.js';
import { streamKeys } from '../streams/keys.js';

/**
 * When the stream's buffers next need the seal ticker, read now: its open buffer's deadline
 * (first arrival + `IntervalInSeconds`), its earliest partition buffer's, and the enqueue check
 * of a batch sealed but not yet confirmed enqueued (seal time + `graceMs`); `nowMs` for
 * buffers of a stream that is no longer ACTIVE (sealed at once). Undefined when the stream has
 * none of these.
 */
export async function nextCheckAt(
  redis: RedisClient,
  stream: string,
  nowMs: number,
  graceMs: number,
): Promise<number | undefined> {
  const keys = streamKeys(stream);
  const replies =
    (await redis
      .pipeline()
      .hmget(keys.stream, 'status', 'intervalMs')
      .hget(keys.open, 'firstArrivalMs')
      .zrange(keys.partitions, '0', '0', 'WITHSCORES')
      .zrange(keys.sealed, '0', '0', 'WITHSCORES')
      .exec()) ?? [];
  const reply = (i: number): unknown => {
    const [error, value] = replies[i] ?? [new Error('no reply'), null];
    if (error) throw error;
    return value;
  };
  const [status, interval] = reply(0) as (string | null)[];
  const firstArrival = reply(1) as string | null;
  const partition = reply(2) as string[];
  const sealed = reply(3) as string[];
  const active = status === 'ACTIVE';
  const times: number[] = [];
  if (firstArrival !== null) {
    times.push(active ? Number(firstArrival) + Number(interval ?? 0) : nowMs);
  }
  if (partition[1] !== undefined) times.push(active ? Number(partition[1]) : nowMs);
  if (sealed[1] !== undefined) times.push(Number(sealed[1]) + graceMs);
  const finite = times.filter((t) => Number.isFinite(t));
  // A value that does not parse is looked at again soon rather than never.
  if (finite.length < times.length) finite.push(nowMs + graceMs);
  return finite.length === 0 ? undefined : Math.min(...finite);
}
