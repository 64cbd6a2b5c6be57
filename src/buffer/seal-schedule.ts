import type { RedisClient } from '../redis/client.js';
import { RedisScript } from '../redis/redis-script.js';
import { SEAL_SCHEDULE_KEY } from '../streams/keys.js';
import { scheduleSealCheck } from '../streams/seal-check.js';

/**
 * Ends a ticker's visit. When the score is still the visit's lease (nobody touched the stream
 * since), it becomes ARGV[3], or the member goes when ARGV[3] is empty (nothing left to look
 * at); when somebody touched it, an earlier ARGV[3] still wins, and nothing is removed.
 * KEYS: 1 schedule; ARGV: 1 stream, 2 lease, 3 next time (ms) or ''.
 */
const SETTLE_SCRIPT = `
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
local leased = s and tonumber(s) == tonumber(ARGV[2])
if ARGV[3] == '' then
  if leased then redis.call('ZREM', KEYS[1], ARGV[1]) end
  return 0
end
if leased or not s or tonumber(s) > tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
`;

const settleScript = new RedisScript(SETTLE_SCRIPT, 1);

/**
 * When each stream's buffers next need the seal ticker: one sorted set for the deployment,
 * so a tick reads the streams that are due and never visits an idle one.
 *
 * The protocol, which no crash of a process at any step can break into a buffer nobody seals:
 * - a put touches its stream (`now + grace` at the latest) before its append, on the same
 *   connection, so a batch it opens or seals is looked at within the grace even if the process
 *   dies right after; and touches it again (`now`) after opening a buffer, so the ticker
 *   learns the buffer's deadline at once;
 * - a ticker leases a due stream (`now + 2 × grace`: later than any put's touch), seals what is
 *   due, re-enqueues what is stranded, reads what is left and settles: the next deadline, or
 *   removal, unless a put touched the stream meanwhile (or the visit took longer than the
 *   grace: a put's touch then no longer lowers the lease, so the stream is kept until the lease
 *   ends). A ticker that dies mid-visit leaves the lease, so the stream is visited again.
 */
export class SealSchedule {
  /**
   * @param redis - the connection the appends this schedule covers are made on (a touch must
   *   reach Redis before the append it covers).
   * @param graceMs - `SLUICE_SWEEP_AFTER_MS`: how late a stranded batch may be found.
   */
  constructor(
    private readonly redis: RedisClient,
    readonly graceMs: number,
  ) {}

  /** The stream needs a look at `atMs` at the latest. */
  async touch(stream: string, atMs: number): Promise<void> {
    await scheduleSealCheck(this.redis, stream, atMs);
  }

  /** Streams due at `nowMs`, earliest first, with their scores (at most `limit`). */
  async due(nowMs: number, limit: number): Promise<{ stream: string; score: number }[]> {
    const flat = await this.redis.zrangebyscore(
      SEAL_SCHEDULE_KEY,
      '-inf',
      Math.floor(nowMs),
      'WITHSCORES',
      'LIMIT',
      0,
      limit,
    );
    const due: { stream: string; score: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      due.push({ stream: flat[i] as string, score: Number(flat[i + 1]) });
    }
    return due;
  }

  /**
   * Takes a visit's lease: the stream comes due again at the returned time unless the visit
   * settles it first.
   */
  async lease(stream: string, nowMs: number): Promise<number> {
    const lease = Math.floor(nowMs) + 2 * this.graceMs;
    await this.redis.zadd(SEAL_SCHEDULE_KEY, lease, stream);
    return lease;
  }

  /** Ends a visit: see {@link SETTLE_SCRIPT}. `nextMs` undefined: nothing left to look at. */
  async settle(stream: string, lease: number, nextMs: number | undefined): Promise<void> {
    await settleScript.run(
      this.redis,
      [SEAL_SCHEDULE_KEY],
      [stream, lease, nextMs === undefined ? '' : Math.floor(nextMs)],
    );
  }

  /** How many streams are scheduled (for tests and the benchmark). */
  async size(): Promise<number> {
    return this.redis.zcard(SEAL_SCHEDULE_KEY);
  }
}
