/**
 * The framed chunk: one PutRecord/PutRecordBatch request's records as one Redis value.
 *
 * Layout (big-endian):
 * ```
 * u8  version (1)
 * f64 arrival time, epoch ms (shared by every record of the request)
 * u32 record count
 * then per record: u32 length, <length> bytes
 * ```
 * One value per request is what lets the buffer append hundreds of MiB a second: Redis pays
 * per command, not per byte.
 */

/** The layout version, the chunk's first byte. */
export const FRAME_VERSION = 1;
/** Bytes before the first record: version, arrival time, record count (the header's last 4). */
export const FRAME_HEADER_BYTES = 1 + 8 + 4;
/** Bytes before each record's payload: its length. */
export const FRAME_RECORD_HEADER_BYTES = 4;

/** A record read back from a chunk. `data` is a view into the chunk, not a copy. */
export interface FramedRecord {
  data: Buffer;
  arrivalMs: number;
}

/** Size of a chunk holding records of the given payload sizes. */
export function frameSize(payloadBytes: number, recordCount: number): number {
  return FRAME_HEADER_BYTES + recordCount * FRAME_RECORD_HEADER_BYTES + payloadBytes;
}

/**
 * Writes records into one chunk without intermediate copies: `writeRecord` is called once per
 * record with the offset to write its payload at and must return the bytes it wrote.
 */
export function encodeChunk(
  arrivalMs: number,
  payloadLengths: readonly number[],
  payloadBytes: number,
  writeRecord: (index: number, target: Buffer, offset: number) => void,
): Buffer {
  const chunk = Buffer.allocUnsafe(frameSize(payloadBytes, payloadLengths.length));
  chunk.writeUInt8(FRAME_VERSION, 0);
  chunk.writeDoubleBE(arrivalMs, 1);
  chunk.writeUInt32BE(payloadLengths.length, 9);
  let offset = FRAME_HEADER_BYTES;
  for (let i = 0; i < payloadLengths.length; i++) {
    const length = payloadLengths[i] ?? 0;
    chunk.writeUInt32BE(length, offset);
    offset += FRAME_RECORD_HEADER_BYTES;
    writeRecord(i, chunk, offset);
    offset += length;
  }
  return chunk;
}

/** Convenience for tests and tools: frames ready buffers. */
export function encodeChunkFromBuffers(arrivalMs: number, records: readonly Buffer[]): Buffer {
  const lengths = records.map((r) => r.length);
  const total = lengths.reduce((a, b) => a + b, 0);
  return encodeChunk(arrivalMs, lengths, total, (i, target, offset) => {
    (records[i] as Buffer).copy(target, offset);
  });
}

/** How many records a chunk holds, by its header (0 for one too short to have a header). */
export function chunkRecordCount(chunk: Buffer): number {
  return chunk.length < FRAME_HEADER_BYTES ? 0 : chunk.readUInt32BE(9);
}

/**
 * Reads every record of a chunk.
 *
 * @throws Error when the chunk is truncated or of an unknown version: a corrupt batch must
 * fail loudly, never deliver partial data as if it were whole.
 */
export function decodeChunk(chunk: Buffer): FramedRecord[] {
  return decodeChunkAs(chunk, (data, arrivalMs) => ({ data, arrivalMs }));
}

/** Where a chunk's records lie: record `i`'s payload is `chunk[starts[i], ends[i])`. */
export interface ChunkLayout {
  /** Shared by every record of the chunk (one put request). */
  arrivalMs: number;
  starts: Uint32Array;
  ends: Uint32Array;
}

/**
 * Where each record of a chunk lies, without a view or an object per record.
 *
 * @throws Error as {@link decodeChunk} does.
 */
export function chunkLayout(chunk: Buffer): ChunkLayout {
  if (chunk.length < FRAME_HEADER_BYTES || chunk.readUInt8(0) !== FRAME_VERSION) {
    throw new Error(`corrupt chunk: bad header (length ${chunk.length})`);
  }
  const count = chunk.readUInt32BE(9);
  // A count no chunk of this size can hold is refused before anything is allocated for it.
  if (count > (chunk.length - FRAME_HEADER_BYTES) / FRAME_RECORD_HEADER_BYTES) {
    throw new Error(`corrupt chunk: ${count} records announced in ${chunk.length} bytes`);
  }
  const starts = new Uint32Array(count);
  const ends = new Uint32Array(count);
  let offset = FRAME_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (offset + FRAME_RECORD_HEADER_BYTES > chunk.length) {
      throw new Error(`corrupt chunk: record ${i} header past end`);
    }
    const length = chunk.readUInt32BE(offset);
    offset += FRAME_RECORD_HEADER_BYTES;
    if (offset + length > chunk.length) throw new Error(`corrupt chunk: record ${i} past end`);
    starts[i] = offset;
    offset += length;
    ends[i] = offset;
  }
  if (offset !== chunk.length) throw new Error('corrupt chunk: trailing bytes');
  return { arrivalMs: chunk.readDoubleBE(1), starts, ends };
}

/**
 * Reads every record of a chunk as the caller's own record object, made by `make` from the
 * record's payload (a view into the chunk), arrival time and index in the chunk: the readers
 * on the delivery path build their records in one step, not through a {@link FramedRecord}
 * each (an object per record is garbage-collector time at hundreds of thousands a second).
 *
 * @throws Error as {@link decodeChunk} does.
 */
export function decodeChunkAs<T>(
  chunk: Buffer,
  make: (data: Buffer, arrivalMs: number, index: number) => T,
): T[] {
  const { arrivalMs, starts, ends } = chunkLayout(chunk);
  const records = new Array<T>(starts.length);
  for (let i = 0; i < starts.length; i++) {
    records[i] = make(chunk.subarray(starts[i], ends[i]), arrivalMs, i);
  }
  return records;
}
