import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { appendReceiptKey, streamKeys } from '../streams/keys.js';
import { RedisScript } from '../redis/redis-script.js';
import type { ReplicationBarrier } from '../redis/replication-barrier.js';
import type { SealSchedule } from './seal-schedule.js';
import { APPEND_SCRIPT, SEAL_DUE_SCRIPT } from './scripts.js';

const appendScript = new RedisScript(APPEND_SCRIPT, 5);
const sealDueScript = new RedisScript(SEAL_DUE_SCRIPT, 3);

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
    private readonly redis: Redis,
    private readonly backlogCapBytes: number,
    private readonly onSealed: SealedListener,
    private readonly replication?: ReplicationBarrier,
    private readonly schedule?: SealSchedule,
  ) {}

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
    // Unique to this call: the id of the batch it opens if none is open. It is the receipt's
    // name too unless the caller names the receipt: a caller's id is reused across calls, and
    // a batch id must never be (it names the batch's keys and its objects).
    const batchCandidate = randomUUID();
    const receipt = appendReceiptKey(stream, callId ?? batchCandidate);
    // Sent before the append on the same connection: a batch the append opens or seals is
    // looked at even if this process dies right after it.
    // A failed touch fails nothing: the ticker's reconciling pass finds what it missed.
    const touched = this.schedule
      ?.touch(stream, nowMs + this.schedule.graceMs)
      .catch(() => undefined);
    const reply = (await appendScript.run(
      this.redis,
      [keys.stream, keys.open, keys.stats, keys.sealed, receipt],
      [
        keys.batchPrefix,
        batchCandidate,
        chunk,
        payloadBytes,
        recordCount,
        nowMs,
        this.backlogCapBytes,
        APPEND_RECEIPT_MS,
      ],
    )) as [number, string?, number?, (string | null)?];
    await touched;
    switch (reply[0]) {
      case 0: {
        const sealedBatchId = reply[3] ?? undefined;
        // A buffer this append opened: the ticker reads its deadline now.
        if (reply[2] === 0 && sealedBatchId === undefined) {
          await this.schedule?.touch(stream, nowMs).catch(() => undefined);
        }
        if (sealedBatchId) await this.handOff(stream, sealedBatchId);
        if (this.replication) {
          const confirmed = await this.replication.confirm();
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
    const sealed = (await sealDueScript.run(
      this.redis,
      [keys.stream, keys.open, keys.sealed],
      [keys.batchPrefix, nowMs, force ? '1' : '0'],
    )) as string | null;
    if (!sealed) return undefined;
    await this.handOff(stream, sealed);
    return sealed;
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
