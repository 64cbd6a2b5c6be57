import type { RecordStream } from '../destination-kind.js';

/**
 * Record runs: how both paths' encode stage hands an attempt's records to the request builder
 * and the sender. A run is a few hundred KiB of records in one buffer of its own:
 *
 * ```
 * u32 count                  (big-endian, as every number here)
 * count × u32 position       the record's position in its batch
 * count × u32 end            where the record ends in the data below
 * the records' bytes, back to back
 * ```
 *
 * So the direct path's sender moves a run to a row conversion worker as it is (its buffer is
 * transferred, not copied, and no object is made per record), and reads the ledger key's
 * digest input — the positions side by side — with one view per run.
 */

/** Bytes of records the encoder puts in one run. */
export const RUN_RECORD_BYTES = 1 << 19;

const U32 = 4;

/** One record of the attempt, in the attempt's order. */
export interface AttemptRecord {
  /** The record's position in its batch. */
  position: number;
  data: Buffer;
}

/** Where a run's parts lie. */
export interface RunLayout {
  /** Records in the run. */
  count: number;
  /** Offset of the positions (count × u32). */
  positionsAt: number;
  /** Offset of the ends (count × u32, relative to `dataAt`). */
  endsAt: number;
  /** Offset of the records' bytes. */
  dataAt: number;
}

/**
 * The encode stage: the records in runs of about `runBytes` each (a record is never split; a
 * run holds at least one), in order. Records are copied from their stored chunks into the runs
 * directly, without an object per record.
 */
export async function* encodeRecordRuns(
  records: RecordStream,
  runBytes = RUN_RECORD_BYTES,
): AsyncGenerator<Buffer> {
  let run: RunSlice[] = [];
  let size = 0;
  let count = 0;
  for await (const group of records) {
    let from = 0;
    for (let k = 0; k < group.length; k += 1) {
      const bytes = group.sizeAt(k);
      if (size + bytes > runBytes && count > 0) {
        if (k > from) run.push({ source: group, from, to: k });
        yield frameRun(run, count, size);
        run = [];
        size = 0;
        count = 0;
        from = k;
      }
      size += bytes;
      count += 1;
    }
    if (group.length > from) run.push({ source: group, from, to: group.length });
  }
  if (count > 0) yield frameRun(run, count, size);
}

/** What a run is written from: records by index (a {@link RecordGroup} is one). */
interface RunSource {
  positionAt(k: number): number;
  sizeAt(k: number): number;
  copyDataTo(k: number, target: Uint8Array, at: number): number;
}

/** Records `from` to `to` (exclusive) of a source, one stretch of a run. */
interface RunSlice {
  source: RunSource;
  from: number;
  to: number;
}

/**
 * One run of `records`, in a buffer that owns its whole ArrayBuffer (never a slice of Node's
 * pool), so that it can be transferred to a worker.
 */
export function frameRecords(records: readonly AttemptRecord[]): Buffer {
  const recordAt = (k: number): AttemptRecord => records[k] as AttemptRecord;
  const source: RunSource = {
    positionAt: (k) => recordAt(k).position,
    sizeAt: (k) => recordAt(k).data.length,
    copyDataTo: (k, target, at) => {
      const { data } = recordAt(k);
      target.set(data, at);
      return data.length;
    },
  };
  let bytes = 0;
  for (const record of records) bytes += record.data.length;
  return frameRun([{ source, from: 0, to: records.length }], records.length, bytes);
}

/** The run of `slices`, which hold `count` records of `bytes` payload bytes. */
function frameRun(slices: readonly RunSlice[], count: number, bytes: number): Buffer {
  const dataAt = U32 * (1 + 2 * count);
  const out = Buffer.allocUnsafeSlow(dataAt + bytes);
  const view = new DataView(out.buffer, out.byteOffset, out.length);
  view.setUint32(0, count);
  let positionAt = U32;
  let endAt = U32 * (1 + count);
  let end = 0;
  for (const { source, from, to } of slices) {
    for (let k = from; k < to; k += 1) {
      end += source.copyDataTo(k, out, dataAt + end);
      view.setUint32(positionAt, source.positionAt(k));
      view.setUint32(endAt, end);
      positionAt += U32;
      endAt += U32;
    }
  }
  return out;
}

/**
 * The layout of `run`, checked: a run that is truncated or whose ends go backwards or past its
 * end is refused, so a corrupt run fails loudly instead of loading wrong rows.
 *
 * @throws Error when `run` is not a whole, well-formed run.
 */
export function runLayout(run: Uint8Array): RunLayout {
  const view = new DataView(run.buffer, run.byteOffset, run.byteLength);
  if (run.byteLength < U32) throw new Error(`corrupt record run: ${run.byteLength} bytes`);
  const count = view.getUint32(0);
  const dataAt = U32 * (1 + 2 * count);
  if (dataAt > run.byteLength) throw new Error(`corrupt record run: ${count} records announced`);
  const endsAt = U32 * (1 + count);
  let previous = 0;
  for (let at = endsAt; at < dataAt; at += U32) {
    const end = view.getUint32(at);
    if (end < previous) throw new Error('corrupt record run: a record ends before it starts');
    previous = end;
  }
  if (dataAt + previous !== run.byteLength) {
    throw new Error('corrupt record run: its records do not fill it');
  }
  return { count, positionsAt: U32, endsAt, dataAt };
}

/** The positions of a run's records as stored (u32 big-endian each), a view into the run. */
export function runPositionBytes(run: Uint8Array, layout: RunLayout): Uint8Array {
  return run.subarray(layout.positionsAt, layout.positionsAt + U32 * layout.count);
}

/** Where each record of a run ends, relative to its data (a copy, in the host's order). */
export function runEnds(run: Uint8Array, layout: RunLayout): Uint32Array {
  const view = new DataView(run.buffer, run.byteOffset, run.byteLength);
  const ends = new Uint32Array(layout.count);
  for (let k = 0; k < layout.count; k += 1) ends[k] = view.getUint32(layout.endsAt + U32 * k);
  return ends;
}

/** The records of runs, each a view into its run (the staged path, which needs them whole). */
export function unframeRecords(runs: readonly Buffer[]): AttemptRecord[] {
  const records: AttemptRecord[] = [];
  for (const run of runs) {
    const layout = runLayout(run);
    const view = new DataView(run.buffer, run.byteOffset, run.byteLength);
    let start = layout.dataAt;
    for (let k = 0; k < layout.count; k += 1) {
      const end = layout.dataAt + view.getUint32(layout.endsAt + U32 * k);
      records.push({
        position: view.getUint32(layout.positionsAt + U32 * k),
        data: run.subarray(start, end),
      });
      start = end;
    }
  }
  return records;
}
