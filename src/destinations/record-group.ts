import { chunkLayout, type ChunkLayout } from '../formats/chunk-frame.js';
import type { PositionRuns } from './position-runs.js';
import type { PipelineRecord } from './destination-kind.js';

/**
 * One group of an attempt's records as the pipeline streams them: a stored chunk's records (all
 * of them, or those still pending), or records given as objects.
 *
 * A group read from a stored chunk is columnar: where each record lies in the chunk, its
 * position and the chunk's arrival time. The stages that only move bytes (the tally, S3's
 * concatenation, the Redshift record runs) read those directly, so a batch of hundreds of
 * thousands of records is delivered without an object, a view and an id string per record
 * (garbage-collector time that cost the event loop about a fifth of a PostgreSQL load). Stages
 * that look at records one by one ask for {@link records}, made once, on first use.
 */
export class RecordGroup {
  /** How many records. */
  readonly length: number;
  private made: readonly PipelineRecord[] | undefined;

  private constructor(
    private readonly stored: StoredRecords | undefined,
    made: readonly PipelineRecord[] | undefined,
  ) {
    this.made = made;
    this.length = stored?.starts.length ?? made?.length ?? 0;
  }

  /** A group of records given as objects. */
  static of(records: readonly PipelineRecord[]): RecordGroup {
    return new RecordGroup(undefined, records);
  }

  /**
   * The records of a stored chunk (see chunk-frame.ts) whose first record is at batch position
   * `firstPosition`, or only those whose position `wanted` holds.
   *
   * @param ids - The ids of the chunk's records, in chunk order; called only when
   *   {@link records} is.
   * @throws Error when the chunk is corrupt (see chunkLayout).
   */
  static fromChunk(
    chunk: Buffer,
    firstPosition: number,
    ids: () => readonly string[],
    wanted?: ReadonlySet<number>,
  ): RecordGroup {
    const layout = chunkLayout(chunk);
    if (wanted === undefined) {
      return new RecordGroup(
        { chunk, firstPosition, ids, indexes: undefined, ...layout },
        undefined,
      );
    }
    const indexes: number[] = [];
    for (let i = 0; i < layout.starts.length; i += 1) {
      if (wanted.has(firstPosition + i)) indexes.push(i);
    }
    const selected = Uint32Array.from(indexes);
    return new RecordGroup(
      {
        chunk,
        firstPosition,
        ids,
        indexes: selected,
        arrivalMs: layout.arrivalMs,
        starts: selected.map((i) => layout.starts[i] ?? 0),
        ends: selected.map((i) => layout.ends[i] ?? 0),
      },
      undefined,
    );
  }

  /** The batch position of the group's `k`th record. */
  positionAt(k: number): number {
    const { stored } = this;
    if (stored === undefined) return this.recordAt(k).position;
    return stored.firstPosition + (stored.indexes === undefined ? k : (stored.indexes[k] ?? 0));
  }

  /** The payload size of the group's `k`th record, in bytes. */
  sizeAt(k: number): number {
    const { stored } = this;
    if (stored === undefined) return this.recordAt(k).data.length;
    return (stored.ends[k] ?? 0) - (stored.starts[k] ?? 0);
  }

  /** The payload of the group's `k`th record: a view, not a copy (not to be modified). */
  dataAt(k: number): Buffer {
    const { stored } = this;
    if (stored === undefined) return this.recordAt(k).data;
    return stored.chunk.subarray(stored.starts[k], stored.ends[k]);
  }

  /**
   * Copies the payload of the group's `k`th record into `target` at `at`.
   *
   * @returns The bytes copied.
   */
  copyDataTo(k: number, target: Uint8Array, at: number): number {
    const { stored } = this;
    if (stored === undefined) {
      const data = this.recordAt(k).data;
      target.set(data, at);
      return data.length;
    }
    const start = stored.starts[k] ?? 0;
    const end = stored.ends[k] ?? 0;
    return stored.chunk.copy(target, at, start, end);
  }

  /** The payload bytes of every record of the group. */
  dataBytes(): number {
    let bytes = 0;
    const { stored } = this;
    if (stored === undefined) {
      for (let k = 0; k < this.length; k += 1) bytes += this.sizeAt(k);
      return bytes;
    }
    const { starts, ends } = stored;
    for (let k = 0; k < starts.length; k += 1) bytes += (ends[k] as number) - (starts[k] as number);
    return bytes;
  }

  /** Adds the batch positions of the group's records, in order, to `positions`. */
  addPositionsTo(positions: PositionRuns): void {
    const { stored } = this;
    if (stored !== undefined && stored.indexes === undefined) {
      positions.addRun(stored.firstPosition, this.length);
      return;
    }
    for (let k = 0; k < this.length; k += 1) positions.add(this.positionAt(k));
  }

  /** The payloads of the group's records back to back, in a buffer of their own. */
  concatenatedData(): Buffer {
    const out = Buffer.allocUnsafe(this.dataBytes());
    let at = 0;
    for (let k = 0; k < this.length; k += 1) at += this.copyDataTo(k, out, at);
    return out;
  }

  /** The arrival time of the group's oldest record (epoch ms); +∞ for an empty group. */
  oldestArrivalMs(): number {
    if (this.length === 0) return Number.POSITIVE_INFINITY;
    if (this.stored !== undefined) return this.stored.arrivalMs;
    let oldest = Number.POSITIVE_INFINITY;
    for (const record of this.records()) oldest = Math.min(oldest, record.arrivalMs);
    return oldest;
  }

  /** The group's records as objects, in order (made on the first call, then kept). */
  records(): readonly PipelineRecord[] {
    if (this.made !== undefined) return this.made;
    const stored = this.stored as StoredRecords;
    const ids = stored.ids();
    const made = new Array<PipelineRecord>(this.length);
    for (let k = 0; k < this.length; k += 1) {
      const index = stored.indexes === undefined ? k : (stored.indexes[k] ?? 0);
      made[k] = {
        id: ids[index] as string,
        position: stored.firstPosition + index,
        arrivalMs: stored.arrivalMs,
        data: stored.chunk.subarray(stored.starts[k], stored.ends[k]),
      };
    }
    this.made = made;
    return made;
  }

  private recordAt(k: number): PipelineRecord {
    const record = this.records()[k];
    if (record === undefined) throw new RangeError(`record ${k} of a group of ${this.length}`);
    return record;
  }
}

/** Where a stored chunk's records lie. */
interface StoredRecords extends ChunkLayout {
  chunk: Buffer;
  /** Batch position of the chunk's first record. */
  firstPosition: number;
  /** Each record's index in the chunk, when the group is a selection of it. */
  indexes: Uint32Array | undefined;
  ids: () => readonly string[];
}
