import type { Redis } from 'ioredis';

/** What {@link ReplicationBarrier.confirm} found. */
export type ReplicationOutcome = { ok: true } | { ok: false; replicas: number };

/**
 * Confirms that writes reached replicas before they are acknowledged
 * (`SLUICE_REDIS_MIN_REPLICAS`), with Redis's `WAIT`: it answers once every write its
 * connection sent before it has reached `minReplicas` replicas, or when `timeoutMs` has passed,
 * with the number of replicas that have them.
 *
 * One `WAIT` serves every caller whose write has been answered while it is pending (a group
 * commit). That is sound because Redis answers one connection's commands in order and a client
 * blocked in `WAIT` runs nothing after it: a write answered while a `WAIT` is pending was sent
 * before that `WAIT`, so that `WAIT` covers it. Only writes made on `redis` are covered.
 */
export class ReplicationBarrier {
  private pending: Promise<number> | undefined;

  /**
   * @param redis - the connection the writes to confirm are made on.
   * @param minReplicas - replicas each write must reach, at least 1.
   * @param timeoutMs - longest a confirmation waits, at least 1 (`WAIT` with 0 waits for ever).
   */
  constructor(
    private readonly redis: Redis,
    readonly minReplicas: number,
    readonly timeoutMs: number,
  ) {
    if (!(minReplicas >= 1) || !(timeoutMs >= 1)) {
      throw new RangeError('ReplicationBarrier needs minReplicas >= 1 and timeoutMs >= 1');
    }
  }

  /**
   * Waits until the writes `redis` has answered so far reached `minReplicas` replicas, or the
   * timeout. Rejects when the connection fails (the writes are then not confirmed).
   */
  async confirm(): Promise<ReplicationOutcome> {
    const replicas = await (this.pending ?? this.startWait());
    return replicas >= this.minReplicas ? { ok: true } : { ok: false, replicas };
  }

  private startWait(): Promise<number> {
    // Cleared in the first reaction to the reply: a write answered after this WAIT was sent
    // after it, and its own reactions run after this one, so it never joins a WAIT that
    // cannot cover it.
    const clear = () => {
      if (this.pending === wait) this.pending = undefined;
    };
    const wait: Promise<number> = this.redis.call('WAIT', this.minReplicas, this.timeoutMs).then(
      (replicas) => {
        clear();
        return Number(replicas);
      },
      (error: unknown) => {
        clear();
        throw error;
      },
    );
    this.pending = wait;
    return wait;
  }
}
