import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { isCluster, type RedisClient } from '../redis/client.js';
import { appendReceiptKey, batchKeys, streamKeys } from '../streams/keys.js';
import { RedisScript } from '../redis/redis-script.js';
import type { ReplicationBarrier } from '../redis/replication-barrier.js';
import type { SealSchedule } from './seal-schedule.js';
import { APPEND_SCRIPT, appendScriptKeys, SEAL_DUE_SCRIPT } from './scripts.js';

const appendScript = new RedisScript(APPEND_SCRIPT, 7);
const sealDueScript = new RedisScript(SEAL_DUE_SCRIPT, 5);

/**
 * Streams whose open batch id one RecordBuffer remembers; past that the least recently used is
 * forgotten, which costs its next append one more call.
 */
const OPEN_IDS_REMEMBERED = 10_000;

/**
 * Calls one append or seal makes at most when each finds another batch open than it named.
 * Each such call means another process sealed the buffer (and maybe opened one) in between,
 * so a few suffice unless something seals in a loop.
 */
const MAX_CALLS = 8;

/**
 * Redirections (a slot moving during a reshard, a failover) one append confirmed by replicas
 * follows at most, waiting {@link REDIRECT_DELAY_MS} before each: about as long as ioredis's
 * own cluster client follows them.
 */
const MAX_REDIRECTS = 16;
const REDIRECT_DELAY_MS = 100;

/**
 * How long an append's receipt is kept. A resent command arrives after ioredis reconnects: at
 * most its reconnect delay (2 s) plus its connect timeout (10 s) after the reply was lost.
 */
export const APPEND_RECEIPT_MS = 60_000;

/** Outcome of {@link RecordBuffer.append}. */
export type AppendResult =
  | { kind: 'stored'; batchId: string; chunkIndex: number; sealedBatchId: string | undefined }
  | { kind: 'not-found' }
  | { kind: 'not-active'; status: string }
  | { kind: 'backpressure' }
  /** The stream takes only gzip records (CloudWatch Logs data) and record `record` (1-based) is not. */
  | { kind: 'not-gzip'; record: number }
  /**
   * Stored, but fewer than the `wanted` replicas confirmed it within `timeoutMs`
   * (`SLUICE_REDIS_MIN_REPLICAS`): not to be acknowledged. The records stay buffered and are
   * delivered; a producer that sends them again may see them twice.
   */
  | { kind: 'not-replicated'; replicas: number; wanted: number; timeoutMs: number };

/** Called after a batch is sealed; must enqueue it for delivery. */
export type SealedListener = (stream: string, batchId: string) => Promise<void>;

/**
 * The durable buffer: appends framed chunks to a stream's open batch and seals batches by size
 * and age. Every append is one atomic script call, so a request is stored whole or not at all.
 */
export class RecordBuffer {
  /**
   * @param backlogCapBytes per stream: appends answer backpressure once the undelivered backlog
   *   holds this many bytes in Redis, counted as the APPEND script counts them (framed chunks
   *   plus per-chunk and per-batch overheads, not payload bytes only; see scripts.ts).
   * @param replication confirms each stored append on replicas before it counts as stored;
   *   it must wait on `redis`, the connection the appends are made on.
   * @param schedule tells the seal ticker about the buffers appends open and seal (see
   *   seal-schedule.ts); on the same connection as `redis`. Without one, only size and
   *   explicit {@link sealIfDue} calls seal (tests).
   */
  constructor(
    private readonly redis: RedisClient,
    private readonly backlogCapBytes: number,
    private readonly onSealed: SealedListener,
    private readonly replication?: ReplicationBarrier,
    private readonly schedule?: SealSchedule,
  ) {}

  /**
   * The id of each stream's open batch as the last reply showed it. The scripts must be told
   * the batch's keys (Redis Cluster requires every key a script touches to be declared), so an
   * append names the batch it expects open; when another process sealed or opened one since,
   * the script writes nothing and names the open one, and the append calls again.
   */
  private readonly openIds = new Map<string, string>();

  /**
   * Stores one request's chunk. When the append seals the batch, the batch is handed to the
   * sealed listener before this resolves, so the caller acknowledges only after both.
   *
   * @param chunk a framed chunk (frame.ts) of exactly `recordCount` records holding
   *   `payloadBytes` payload bytes; the script refuses any other with an error, storing nothing.
   * @param callId names the call's receipt (default: a fresh UUID). A caller that repeats a
   *   call on purpose (replay resuming after a crash) passes the same id each time: within
   *   {@link APPEND_RECEIPT_MS} of the first, a repeat stores nothing and answers as the first
   *   did. Any string that fits in a Redis key.
   */
  async append(
    stream: string,
    chunk: Buffer,
    payloadBytes: number,
    recordCount: number,
    nowMs: number,
    callId?: string,
  ): Promise<AppendResult> {
    const keys = streamKeys(stream);
    const receipt = appendReceiptKey(stream, callId ?? randomUUID());
    // Sent before the append: a batch the append opens or seals is looked at even if this
    // process dies right after it. On one Redis, sending it first on the same connection
    // orders it; a cluster may serve the schedule on another node, so it is awaited there.
    // A failed touch fails nothing: the ticker's reconciling pass finds what it missed.
    const touched = this.schedule
      ?.touch(stream, nowMs + this.schedule.graceMs)
      .catch(() => undefined);
    if (isCluster(this.redis)) await touched;
    let expected = this.openIds.get(stream);
    let reply: [number, (string | null)?, number?, (string | null)?];
    // With replicas to confirm, the append goes where its WAIT will (replication-barrier.ts).
    let confirmOn: Redis | undefined;
    for (let calls = 1, redirects = 0; ; calls += 1) {
      confirmOn = this.replication?.connectionFor(keys.open);
      // A new id is unique to this call: a batch id must never be reused (it names the
      // batch's keys and its objects).
      const batchId = expected ?? randomUUID();
      try {
        reply = (await appendScript.run(
          confirmOn ?? this.redis,
          appendScriptKeys(stream, batchId, receipt),
          [
            expected === undefined ? 'new' : 'open',
            batchId,
            chunk,
            payloadBytes,
            recordCount,
            nowMs,
            this.backlogCapBytes,
            APPEND_RECEIPT_MS,
          ],
        )) as typeof reply;
      } catch (error) {
        // The slot moved or is moving: nothing was written; try where it is now.
        if (redirects < MAX_REDIRECTS && this.replication?.retryable(error)) {
          redirects += 1;
          calls -= 1;
          await sleep(REDIRECT_DELAY_MS);
          continue;
        }
        throw error;
      }
      if (reply[0] !== 5) break;
      expected = reply[1] ?? undefined;
      if (calls === MAX_CALLS) {
        this.openIds.delete(stream);
        throw new Error(
          `stream ${stream}: ${MAX_CALLS} appends in a row found another batch open than the one they named`,
        );
      }
    }
    await touched;
    switch (reply[0]) {
      case 0: {
        const sealedBatchId = reply[3] ?? undefined;
        this.rememberOpen(
          stream,
          sealedBatchId === undefined ? (reply[1] ?? undefined) : undefined,
        );
        // A buffer this append opened: the ticker reads its deadline now.
        if (reply[2] === 0 && sealedBatchId === undefined) {
          await this.schedule?.touch(stream, nowMs).catch(() => undefined);
        }
        if (sealedBatchId) await this.handOff(stream, sealedBatchId);
        if (this.replication && confirmOn) {
          const confirmed = await this.replication.confirm(confirmOn);
          if (!confirmed.ok) {
            return {
              kind: 'not-replicated',
              replicas: confirmed.replicas,
              wanted: this.replication.minReplicas,
              timeoutMs: this.replication.timeoutMs,
            };
          }
        }
        return {
          kind: 'stored',
          batchId: reply[1] as string,
          chunkIndex: reply[2] as number,
          sealedBatchId,
        };
      }
      case 1:
        return { kind: 'not-found' };
      case 2:
        return { kind: 'not-active', status: reply[1] ?? 'UNKNOWN' };
      case 4:
        return { kind: 'not-gzip', record: Number(reply[1]) };
      default:
        return { kind: 'backpressure' };
    }
  }

  /**
   * Seals the stream's open batch when it is due (age, stream not ACTIVE) or when `force`.
   *
   * @returns the sealed batch id, or undefined when nothing was sealed.
   */
  async sealIfDue(stream: string, nowMs: number, force = false): Promise<string | undefined> {
    const keys = streamKeys(stream);
    let openId = await this.redis.hget(keys.open, 'id');
    for (let calls = 1; openId !== null; calls += 1) {
      const batch = batchKeys(stream, openId);
      const reply = (await sealDueScript.run(
        this.redis,
        [keys.stream, keys.open, keys.sealed, batch.meta, batch.chunks],
        [openId, nowMs, force ? '1' : '0'],
      )) as [number, string?];
      if (reply[0] === 0) return undefined;
      if (reply[0] === 1) {
        const sealed = reply[1] as string;
        this.rememberOpen(stream, undefined);
        await this.handOff(stream, sealed);
        return sealed;
      }
      if (calls === MAX_CALLS) {
        throw new Error(
          `stream ${stream}: ${MAX_CALLS} seals in a row found another batch open than the one they read`,
        );
      }
      openId = reply[1] ?? null;
    }
    return undefined;
  }

  /** Notes `batchId` as the stream's open batch, or that none is known (`undefined`). */
  private rememberOpen(stream: string, batchId: string | undefined): void {
    // Deleted first so that a set moves the stream to the end: the Map's order is then the
    // order of use, and the first key the least recently used.
    this.openIds.delete(stream);
    if (batchId === undefined) return;
    this.openIds.set(stream, batchId);
    if (this.openIds.size > OPEN_IDS_REMEMBERED) {
      const oldest = this.openIds.keys().next().value;
      if (oldest !== undefined) this.openIds.delete(oldest);
    }
  }

  /**
   * A failed hand-off is not an error for the request: the batch is durable and listed as
   * sealed, and the seal ticker enqueues it.
   */
  private async handOff(stream: string, batchId: string): Promise<void> {
    try {
      await this.onSealed(stream, batchId);
    } catch {
      // The seal ticker owns recovery; see seal-ticker.ts.
    }
  }
}
