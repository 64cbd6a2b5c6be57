import { createHash, randomUUID } from 'node:crypto';
import type { RedisClient } from '../redis/client.js';
import { batchKeys, streamKeys } from '../streams/keys.js';
import { RedisScript } from '../redis/redis-script.js';
import { isCluster } from '../redis/client.js';
import {
  COMMIT_FIXED_KEYS,
  COMMIT_PARTITION_STRIDE,
  COMMIT_PROCESSED_SCRIPT,
  PARTITION_KEY_STRIDE,
  SEAL_PARTITIONS_DUE_SCRIPT,
} from './partition-scripts.js';
import type { SealedListener } from './record-buffer.js';
import type { SealSchedule } from './seal-schedule.js';

/**
 * Calls one commit makes at most when each finds a partition buffer sealed or opened since it
 * read them (another process sealed it in between).
 */
const MAX_COMMIT_CALLS = 8;

/** Their key counts vary with the number of partitions a call names. */
const commitScript = new RedisScript(COMMIT_PROCESSED_SCRIPT);
const sealPartitionsScript = new RedisScript(SEAL_PARTITIONS_DUE_SCRIPT);

/** Most partition buffers one seal call seals; the next tick takes the rest. */
const SEAL_BATCH_LIMIT = 200;

/** One partition's share of a processed slice. */
export interface PartitionSlice {
  /** The partition's keys as JSON (`{}` without dynamic partitioning): its identity. */
  keysJson: string;
  /**
   * Its records framed as chunks (each with its oldest record's arrival time in its header),
   * at least one: a transform's invocations each frame their own.
   */
  frames: readonly Buffer[];
  /** Payload bytes and records in the frames. */
  bytes: number;
  records: number;
  /** This partition's own buffering hints (the source-record backup's), if not the slice's. */
  sizeBytes?: number;
  intervalMs?: number;
}

/** A processed slice of a batch, for {@link PartitionBuffer.commit}. */
export interface ProcessedSlice {
  stream: string;
  batchId: string;
  /** Chunks of the batch processed before the slice, and after it. */
  chunksBefore: number;
  chunksAfter: number;
  /** Error-output objects the batch has written once the slice is committed. */
  errorWrites: number;
  nowMs: number;
  /** Most open partition buffers the stream may have. */
  activePartitionLimit: number;
  /** The destination's buffering hints, which the partition buffers follow. */
  sizeBytes: number;
  intervalMs: number;
  partitions: readonly PartitionSlice[];
}

/** What {@link PartitionBuffer.commit} did. */
export type CommitResult =
  | { kind: 'committed'; sealed: string[] }
  | { kind: 'stale' }
  | { kind: 'over-limit'; free: number };

/** The stable id of a partition: its open buffer's key suffix. */
export function partitionId(keysJson: string): string {
  return createHash('sha256').update(keysJson).digest('base64url').slice(0, 22);
}

/**
 * The second buffering stage: processed records wait per partition until the partition's
 * buffer reaches the destination's size or interval, so that a partition's records arriving
 * over many processed batches make objects of the size the hints ask for. Each commit is one
 * atomic script call (see partition-scripts.ts).
 */
export class PartitionBuffer {
  /**
   * @param schedule - tells the seal ticker about the partition buffers commits open (see
   *   seal-schedule.ts); on the same connection as `redis`. Without one, nothing but explicit
   *   {@link sealDue} calls seals them (tests).
   */
  constructor(
    private readonly redis: RedisClient,
    private readonly onSealed: SealedListener,
    private readonly schedule?: SealSchedule,
  ) {}

  /**
   * Appends a processed slice to its partitions' buffers and records the batch's progress, all
   * at once; sealed partition batches are handed to the sealed listener.
   */
  async commit(slice: ProcessedSlice): Promise<CommitResult> {
    const keys = streamKeys(slice.stream);
    const processed = batchKeys(slice.stream, slice.batchId);
    for (const partition of slice.partitions) {
      if (partition.frames.length === 0) throw new Error('a partition slice without frames');
    }
    const pids = slice.partitions.map((partition) => partitionId(partition.keysJson));
    const frames = slice.partitions.flatMap((partition) => partition.frames);
    // Sent before the commit: what it opens or seals is looked at even if this process dies
    // right after. On one Redis the order on the connection suffices; a cluster may serve the
    // schedule on another node, so it is awaited there.
    // A failed touch fails nothing: the ticker's reconciling pass finds what it missed.
    const touched = this.schedule
      ?.touch(slice.stream, slice.nowMs + this.schedule.graceMs)
      .catch(() => undefined);
    if (isCluster(this.redis)) await touched;
    let reply: [number, ...(string | number)[]] = [3];
    for (let calls = 1; reply[0] === 3; calls += 1) {
      if (calls > MAX_COMMIT_CALLS) {
        throw new Error(
          `stream ${slice.stream}: ${MAX_COMMIT_CALLS} commits in a row found a partition buffer sealed or opened since they read it`,
        );
      }
      // The partition buffers' batch ids, so that the call can name their keys.
      const openIds = await this.openBatchIds(slice.stream, pids);
      const callKeys = [keys.stats, keys.sealed, processed.meta, processed.chunks, keys.partitions];
      const args: (string | number | Buffer)[] = [
        slice.batchId,
        slice.chunksBefore,
        slice.chunksAfter,
        slice.errorWrites,
        slice.nowMs,
        slice.activePartitionLimit,
        slice.partitions.length,
      ];
      slice.partitions.forEach((partition, i) => {
        const pid = pids[i] as string;
        const openId = openIds[i] ?? null;
        const batchId = openId ?? randomUUID();
        const batch = batchKeys(slice.stream, batchId);
        callKeys.push(keys.partitionPrefix + pid, batch.meta, batch.chunks);
        args.push(
          pid,
          batchId,
          openId === null ? 'new' : 'open',
          partition.keysJson,
          partition.frames.length,
          partition.bytes,
          partition.records,
          partition.sizeBytes ?? slice.sizeBytes,
          partition.intervalMs ?? slice.intervalMs,
        );
      });
      if (
        args.length !== 7 + slice.partitions.length * COMMIT_PARTITION_STRIDE ||
        callKeys.length !== COMMIT_FIXED_KEYS + slice.partitions.length * PARTITION_KEY_STRIDE
      ) {
        throw new Error('partition arguments out of step with the script strides');
      }
      args.push(...frames);
      reply = (await commitScript.run(this.redis, callKeys, args)) as typeof reply;
    }
    await touched;
    if (reply[0] === 1) return { kind: 'stale' };
    if (reply[0] === 2) return { kind: 'over-limit', free: Number(reply[1]) };
    // A partition this commit opened is due one interval from now; those open before are
    // due earlier and scheduled already.
    const intervals = slice.partitions.map((p) => p.intervalMs ?? slice.intervalMs);
    if (intervals.length > 0) {
      await this.schedule
        ?.touch(slice.stream, slice.nowMs + Math.min(...intervals))
        .catch(() => undefined);
    }
    const sealed = reply.slice(1).map(String);
    await this.handOff(slice.stream, sealed);
    return { kind: 'committed', sealed };
  }

  /** The batch id of each partition's open buffer (null where none is open), in order. */
  private async openBatchIds(stream: string, pids: readonly string[]): Promise<(string | null)[]> {
    const prefix = streamKeys(stream).partitionPrefix;
    return Promise.all(pids.map((pid) => this.redis.hget(prefix + pid, 'id')));
  }

  /**
   * Which of `keysJson` have an open buffer now (writing to them opens nothing), and how many
   * partition buffers the stream has open.
   */
  async openPartitions(
    stream: string,
    keysJson: readonly string[],
  ): Promise<{ open: Set<string>; count: number }> {
    const keys = streamKeys(stream);
    const [count, scores] = await Promise.all([
      this.redis.zcard(keys.partitions),
      keysJson.length === 0
        ? Promise.resolve([])
        : this.redis.zmscore(keys.partitions, ...keysJson.map(partitionId)),
    ]);
    return { open: new Set(keysJson.filter((_, i) => scores[i] !== null)), count };
  }

  /**
   * Seals the stream's partition buffers that are due, or all of them when `force` or when the
   * stream is no longer ACTIVE.
   *
   * @returns the sealed batch ids.
   */
  async sealDue(stream: string, nowMs: number, force = false): Promise<string[]> {
    const keys = streamKeys(stream);
    const status = await this.redis.hget(keys.stream, 'status');
    const all = force || status !== 'ACTIVE';
    const pids = all
      ? await this.redis.zrange(keys.partitions, '0', String(SEAL_BATCH_LIMIT - 1))
      : await this.redis.zrangebyscore(
          keys.partitions,
          '-inf',
          String(nowMs),
          'LIMIT',
          0,
          SEAL_BATCH_LIMIT,
        );
    if (pids.length === 0) return [];
    const openIds = await this.openBatchIds(stream, pids);
    const callKeys = [keys.sealed, keys.partitions, keys.stream];
    const args: (string | number)[] = [nowMs, force ? '1' : '0'];
    pids.forEach((pid, i) => {
      // A buffer gone since the ZRANGE: a made-up id makes the script drop its stale entry.
      const batchId = openIds[i] ?? 'none-open';
      const batch = batchKeys(stream, batchId);
      callKeys.push(keys.partitionPrefix + pid, batch.meta, batch.chunks);
      args.push(pid, batchId);
    });
    const sealed = (await sealPartitionsScript.run(this.redis, callKeys, args)) as string[];
    await this.handOff(stream, sealed);
    return sealed;
  }

  /** As in RecordBuffer: the seal ticker enqueues what a failed hand-off left sealed. */
  private async handOff(stream: string, batchIds: readonly string[]): Promise<void> {
    for (const batchId of batchIds) {
      try {
        await this.onSealed(stream, batchId);
      } catch {
        // The seal ticker owns recovery; see seal-ticker.ts.
      }
    }
  }
}
