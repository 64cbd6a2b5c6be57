import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { batchKeys, streamKeys } from '../streams/keys.js';
import { RedisScript } from '../redis/redis-script.js';
import {
  COMMIT_PARTITION_STRIDE,
  COMMIT_PROCESSED_SCRIPT,
  SEAL_PARTITIONS_DUE_SCRIPT,
} from './partition-scripts.js';
import type { SealedListener } from './record-buffer.js';
import type { SealSchedule } from './seal-schedule.js';

const commitScript = new RedisScript(COMMIT_PROCESSED_SCRIPT, 4);
const sealPartitionsScript = new RedisScript(SEAL_PARTITIONS_DUE_SCRIPT, 3);

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
    private readonly redis: Redis,
    private readonly onSealed: SealedListener,
    private readonly schedule?: SealSchedule,
  ) {}

  /**
   * Appends a processed slice to its partitions' buffers and records the batch's progress, all
   * at once; sealed partition batches are handed to the sealed listener.
   */
  async commit(slice: ProcessedSlice): Promise<CommitResult> {
    const keys = streamKeys(slice.stream);
    const args: (string | number | Buffer)[] = [
      keys.batchPrefix,
      keys.partitionPrefix,
      slice.batchId,
      slice.chunksBefore,
      slice.chunksAfter,
      slice.errorWrites,
      slice.nowMs,
      slice.activePartitionLimit,
      slice.partitions.length,
    ];
    for (const partition of slice.partitions) {
      if (partition.frames.length === 0) throw new Error('a partition slice without frames');
      args.push(
        partitionId(partition.keysJson),
        randomUUID(),
        partition.keysJson,
        partition.frames.length,
        partition.bytes,
        partition.records,
        partition.sizeBytes ?? slice.sizeBytes,
        partition.intervalMs ?? slice.intervalMs,
      );
    }
    if (args.length !== 9 + slice.partitions.length * COMMIT_PARTITION_STRIDE) {
      throw new Error('partition arguments out of step with COMMIT_PARTITION_STRIDE');
    }
    for (const partition of slice.partitions) args.push(...partition.frames);
    // Sent before the commit on the same connection: what it opens or seals is looked at
    // even if this process dies right after.
    // A failed touch fails nothing: the ticker's reconciling pass finds what it missed.
    const touched = this.schedule
      ?.touch(slice.stream, slice.nowMs + this.schedule.graceMs)
      .catch(() => undefined);
    const reply = (await commitScript.run(
      this.redis,
      [keys.stats, keys.sealed, batchKeys(slice.stream, slice.batchId).meta, keys.partitions],
      args,
    )) as [number, ...(string | number)[]];
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
    const sealed = (await sealPartitionsScript.run(
      this.redis,
      [keys.sealed, keys.partitions, keys.stream],
      [keys.batchPrefix, keys.partitionPrefix, nowMs, force ? '1' : '0', SEAL_BATCH_LIMIT],
    )) as string[];
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
