import type { Redis } from 'ioredis';
import { isCluster, type RedisClient } from './client.js';
import { keySlot } from './key-slot.js';

/** `code` of the error {@link ReplicationBarrier.connectionFor} throws when no master serves a slot. */
export const SLOT_UNSERVED = 'SLUICE_REDIS_SLOT_UNSERVED';

/** What {@link ReplicationBarrier.confirm} found. */
export type ReplicationOutcome = { ok: true } | { ok: false; replicas: number };

/**
 * Confirms that writes reached replicas before they are acknowledged
 * (`SLUICE_REDIS_MIN_REPLICAS`), with Redis's `WAIT`: it answers once every write its
 * connection sent before it has reached `minReplicas` replicas, or when `timeoutMs` has passed,
 * with the number of replicas that have them.
 *
 * `WAIT` covers the writes of the connection it is sent on, so a write to confirm is made on
 * {@link connectionFor} its key: the client itself on one Redis; on a Redis Cluster, the
 * connection to the master that serves the key's slot, addressed directly (a cluster client
 * could follow a redirection to another node, and `WAIT` would then cover the wrong node).
 *
 * One `WAIT` per connection serves every caller whose write has been answered while it is
 * pending (a group commit). That is sound because Redis answers one connection's commands in
 * order and a client blocked in `WAIT` runs nothing after it: a write answered while a `WAIT`
 * is pending was sent before that `WAIT`, so that `WAIT` covers it.
 */
export class ReplicationBarrier {
  private readonly pending = new Map<Redis, Promise<number>>();

  /**
   * @param redis - the client the writes to confirm are made through.
   * @param minReplicas - replicas each write must reach, at least 1.
   * @param timeoutMs - longest a confirmation waits, at least 1 (`WAIT` with 0 waits for ever).
   */
  constructor(
    private readonly redis: RedisClient,
    readonly minReplicas: number,
    readonly timeoutMs: number,
  ) {
    if (!(minReplicas >= 1) || !(timeoutMs >= 1)) {
      throw new RangeError('ReplicationBarrier needs minReplicas >= 1 and timeoutMs >= 1');
    }
  }

  /**
   * The connection a write of `key` must be made on to be confirmed by {@link confirm}.
   *
   * @throws Error on a cluster whose slot map names no reachable master for the key's slot
   *   (during a failover): the write is then not made, and the put is answered as failed.
   */
  connectionFor(key: string): Redis {
    const redis = this.redis;
    if (!isCluster(redis)) return redis;
    const master = redis.slots[keySlot(key)]?.[0];
    const node = redis
      .nodes('master')
      .find((candidate) => `${candidate.options.host}:${candidate.options.port}` === master);
    if (node === undefined) {
      redis.refreshSlotsCache();
      throw Object.assign(
        new Error(`no Redis Cluster master is known for the slot of ${key} yet`),
        { code: SLOT_UNSERVED },
      );
    }
    return node;
  }

  /**
   * On a cluster, after a write on {@link connectionFor} was redirected (MOVED, ASK) or told to
   * try again (TRYAGAIN, CLUSTERDOWN): whether to make it again, once the slot map is reread.
   * Redis answers these before running anything, so the write was not made.
   */
  retryable(error: unknown): boolean {
    if (!isCluster(this.redis) || !(error instanceof Error)) return false;
    if (!/^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN) /.test(error.message)) return false;
    this.redis.refreshSlotsCache();
    return true;
  }

  /**
   * Waits until the writes `connection` has answered so far reached `minReplicas` replicas, or
   * the timeout. Rejects when the connection fails (the writes are then not confirmed).
   */
  async confirm(connection: Redis): Promise<ReplicationOutcome> {
    const replicas = await (this.pending.get(connection) ?? this.startWait(connection));
    return replicas >= this.minReplicas ? { ok: true } : { ok: false, replicas };
  }

  private startWait(connection: Redis): Promise<number> {
    // Cleared in the first reaction to the reply: a write answered after this WAIT was sent
    // after it, and its own reactions run after this one, so it never joins a WAIT that
    // cannot cover it.
    const clear = () => {
      if (this.pending.get(connection) === wait) this.pending.delete(connection);
    };
    const wait: Promise<number> = connection.call('WAIT', this.minReplicas, this.timeoutMs).then(
      (replicas) => {
        clear();
        return Number(replicas);
      },
      (error: unknown) => {
        clear();
        throw error;
      },
    );
    this.pending.set(connection, wait);
    return wait;
  }
}
