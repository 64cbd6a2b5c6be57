import {
  FRAME_HEADER_BYTES,
  FRAME_RECORD_HEADER_BYTES,
  FRAME_VERSION,
} from '../../formats/chunk-frame.js';
import type {
  FramedOutcomes,
  InvocationOutcomes,
  NotOkOutcome,
  TransformErrorCode,
  TransformInput,
  TransformRecordOutcome,
} from './transform-records.js';

/**
 * An invocation's records, and their outcomes, packed into one ArrayBuffer each, so that they
 * cross to a transform worker and back as one transferred buffer: no base64, no per-record
 * message, no structured clone of thousands of objects.
 *
 * Inputs, native byte order (both ends are threads of one process):
 *
 *     [0, 16)       Uint32 count, idsStart, dataStart, byteLength
 *     [16, 16+8n)   Float64 arrival time (epoch ms) of each record
 *     then          Uint32 end offset of each record's id in the ids region, then of its data
 *     idsStart      the ids, UTF-8, back to back
 *     dataStart     the data, back to back
 *
 * Outcomes:
 *
 *     [0, 16)       Uint32 count, dataStart, metaStart, byteLength
 *     [16, 16+n)    Uint8 kind of each record (0 Ok, 1 Dropped, 2 ProcessingFailed), padded to 4
 *     then          Uint32 end offset of each record's data, then of its metadata
 *     dataStart     Ok records' data as a stored chunk (`formats/chunk-frame.ts`): the chunk
 *                   header (oldest Ok record's arrival, Ok count), then each Ok record's data
 *                   with its big-endian Uint32 length before it
 *     metaStart     per record, UTF-8 JSON or nothing: an Ok record's partition keys, a failed
 *                   record's [code, message]
 *
 * The Ok records' data is a chunk as the buffers store it, so a stream whose records need
 * nothing more after the transform hands it to its partition buffer as it is: the main thread
 * makes no object per record and copies nothing.
 *
 * Either buffer may be longer than its packing (a reused or a grown buffer): its header's
 * byteLength says where the packing ends.
 */

const HEADER_BYTES = 16;
/** Pooled input buffers are allocated in multiples of this. */
const SPARE_GRANULE_BYTES = 64 * 1024;
const KIND_OK = 0;
const KIND_DROPPED = 1;
const KIND_FAILED = 2;

function alignTo4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Spare input buffers on the main thread: a worker hands an invocation's input buffer back with
 * its outcomes, and the next {@link packInputs} writes into it. A fresh ArrayBuffer of a
 * megabyte costs its zero-fill and page faults, and every one counts as external memory that
 * makes V8 collect garbage sooner; reusing a few keeps that off the thread that also serves the
 * API.
 */
export class PackBufferPool {
  readonly #spare: ArrayBuffer[] = [];
  readonly #most: number;

  /** @param most - Most buffers kept: about the invocations in flight at once. */
  constructor(most: number) {
    this.#most = most;
  }

  /** A buffer of at least `byteLength` bytes: a spare one if one is large enough. */
  take(byteLength: number): ArrayBuffer {
    const spare = this.#spare;
    for (let i = 0; i < spare.length; i += 1) {
      const buffer = spare[i] as ArrayBuffer;
      if (buffer.byteLength >= byteLength) {
        spare[i] = spare[spare.length - 1] as ArrayBuffer;
        spare.pop();
        return buffer;
      }
    }
    // Invocations differ a little in size: headroom lets the next one fit in this buffer.
    return new ArrayBuffer(
      Math.ceil((byteLength + byteLength / 16) / SPARE_GRANULE_BYTES) * SPARE_GRANULE_BYTES,
    );
  }

  /** Keeps `buffer` for a later {@link take}, or lets it go when enough are kept. */
  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength === 0) return;
    if (this.#spare.length < this.#most) {
      this.#spare.push(buffer);
      return;
    }
    // Full: keep the larger, so a large invocation finds a buffer next time too.
    let smallest = 0;
    for (let i = 1; i < this.#spare.length; i += 1) {
      if (
        (this.#spare[i] as ArrayBuffer).byteLength <
        (this.#spare[smallest] as ArrayBuffer).byteLength
      )
        smallest = i;
    }
    if ((this.#spare[smallest] as ArrayBuffer).byteLength < buffer.byteLength)
      this.#spare[smallest] = buffer;
  }

  /** Buffers kept now. */
  get size(): number {
    return this.#spare.length;
  }
}

/**
 * Packs `records` for a transform worker, into a buffer from `pool` when given; the caller
 * transfers the buffer. The buffer may be longer than the packing (its header says how long).
 */
export function packInputs(records: readonly TransformInput[], pool?: PackBufferPool): ArrayBuffer {
  const count = records.length;
  const idBytes = new Uint32Array(count);
  let idsLength = 0;
  let dataLength = 0;
  for (let i = 0; i < count; i += 1) {
    const record = records[i] as TransformInput;
    const length = Buffer.byteLength(record.id, 'utf8');
    idBytes[i] = length;
    idsLength += length;
    dataLength += record.data.length;
  }
  const arrivalStart = HEADER_BYTES;
  const idEndsStart = arrivalStart + 8 * count;
  const dataEndsStart = idEndsStart + 4 * count;
  const idsStart = dataEndsStart + 4 * count;
  const dataStart = idsStart + idsLength;
  const byteLength = dataStart + dataLength;
  const buffer = pool === undefined ? new ArrayBuffer(byteLength) : pool.take(byteLength);
  new Uint32Array(buffer, 0, 4).set([count, idsStart, dataStart, byteLength]);
  const arrivals = new Float64Array(buffer, arrivalStart, count);
  const idEnds = new Uint32Array(buffer, idEndsStart, count);
  const dataEnds = new Uint32Array(buffer, dataEndsStart, count);
  const bytes = new Uint8Array(buffer);
  const text = Buffer.from(buffer);
  let idAt = idsStart;
  let dataAt = dataStart;
  for (let i = 0; i < count; i += 1) {
    const record = records[i] as TransformInput;
    arrivals[i] = record.arrivalMs;
    text.write(record.id, idAt, 'utf8');
    idAt += idBytes[i] as number;
    idEnds[i] = idAt - idsStart;
    // TypedArray#set is a builtin; Buffer#copy goes through more JavaScript per call.
    bytes.set(record.data, dataAt);
    dataAt += record.data.length;
    dataEnds[i] = dataAt - dataStart;
  }
  return buffer;
}

/** Packed inputs, read in place (in the transform worker). */
export class PackedInputs {
  /** Number of records. */
  readonly count: number;
  /** The whole buffer as bytes: records' data are ranges of it. */
  readonly bytes: Buffer;
  readonly #arrivals: Float64Array;
  readonly #idEnds: Uint32Array;
  readonly #dataEnds: Uint32Array;
  readonly #idsStart: number;
  readonly #dataStart: number;

  constructor(buffer: ArrayBuffer) {
    const [count, idsStart, dataStart, byteLength] = new Uint32Array(buffer, 0, 4) as unknown as [
      number,
      number,
      number,
      number,
    ];
    if (byteLength > buffer.byteLength) {
      throw new Error(`packed inputs of ${buffer.byteLength} bytes say ${byteLength}`);
    }
    this.count = count;
    this.bytes = Buffer.from(buffer);
    this.#arrivals = new Float64Array(buffer, HEADER_BYTES, count);
    this.#idEnds = new Uint32Array(buffer, HEADER_BYTES + 8 * count, count);
    this.#dataEnds = new Uint32Array(buffer, HEADER_BYTES + 12 * count, count);
    this.#idsStart = idsStart;
    this.#dataStart = dataStart;
  }

  arrivalMs(i: number): number {
    return this.#arrivals[i] as number;
  }

  recordId(i: number): string {
    const start = i === 0 ? 0 : (this.#idEnds[i - 1] as number);
    return this.bytes.toString(
      'utf8',
      this.#idsStart + start,
      this.#idsStart + (this.#idEnds[i] as number),
    );
  }

  /** Where record `i`'s data is in {@link bytes}: `[start, end)`. */
  dataStart(i: number): number {
    return this.#dataStart + (i === 0 ? 0 : (this.#dataEnds[i - 1] as number));
  }

  dataEnd(i: number): number {
    return this.#dataStart + (this.#dataEnds[i] as number);
  }

  /** Record `i`'s data: a view, not a copy. */
  data(i: number): Buffer {
    return this.bytes.subarray(this.dataStart(i), this.dataEnd(i));
  }
}

/**
 * Collects the outcomes of an invocation (in the transform worker), record after record, and
 * packs them. Ok data is written into the packed buffer as it comes (text as UTF-8, in one
 * pass), so no record's result outlives its turn; the buffer grows when a result does not fit.
 */
export class OutcomeWriter {
  readonly #count: number;
  readonly #kinds: Uint8Array;
  readonly #dataEnds: Uint32Array;
  readonly #meta: (string | undefined)[];
  readonly #delimiter: Buffer;
  readonly #dataStart: number;
  readonly #arrivals: ArrivalTimes | undefined;
  #bytes: Buffer;
  /** Where the next Ok record's length goes, its data after it. */
  #at: number;
  /** Records written so far: the next record's index. */
  #written = 0;
  #okCount = 0;
  #oldestOkMs = Number.POSITIVE_INFINITY;

  /**
   * @param count - Number of records.
   * @param delimiter - Written after every Ok record's data.
   * @param dataBytes - Expected Ok data in all, to size the buffer once (it grows if need be).
   * @param arrivals - The records' arrival times, for the Ok records' chunk header.
   */
  constructor(count: number, delimiter = '', dataBytes = 0, arrivals?: ArrivalTimes) {
    this.#count = count;
    this.#kinds = new Uint8Array(count);
    this.#dataEnds = new Uint32Array(count);
    this.#meta = new Array<string | undefined>(count);
    this.#delimiter = Buffer.from(delimiter, 'utf8');
    this.#arrivals = arrivals;
    this.#dataStart = alignTo4(HEADER_BYTES + count) + 8 * count;
    this.#at = this.#dataStart + FRAME_HEADER_BYTES;
    this.#bytes = Buffer.from(
      new ArrayBuffer(
        this.#at + Math.max(0, Math.ceil(dataBytes)) + count * FRAME_RECORD_HEADER_BYTES,
      ),
    );
  }

  ok(i: number, data: string | Uint8Array, partitionKeys?: Record<string, string>): void {
    this.#next(i);
    const delimiter = this.#delimiter;
    const lengthAt = this.#at;
    if (typeof data === 'string') {
      // At most three UTF-8 bytes per UTF-16 code unit.
      this.#room(FRAME_RECORD_HEADER_BYTES + 3 * data.length + delimiter.length);
      this.#at += FRAME_RECORD_HEADER_BYTES;
      this.#at += this.#bytes.write(data, this.#at, 'utf8');
    } else {
      this.#room(FRAME_RECORD_HEADER_BYTES + data.length + delimiter.length);
      this.#at += FRAME_RECORD_HEADER_BYTES;
      this.#bytes.set(data, this.#at);
      this.#at += data.length;
    }
    if (delimiter.length > 0) {
      this.#bytes.set(delimiter, this.#at);
      this.#at += delimiter.length;
    }
    this.#bytes.writeUInt32BE(this.#at - lengthAt - FRAME_RECORD_HEADER_BYTES, lengthAt);
    this.#okCount += 1;
    const arrivalMs = this.#arrivals?.arrivalMs(i) ?? 0;
    if (arrivalMs < this.#oldestOkMs) this.#oldestOkMs = arrivalMs;
    this.#kinds[i] = KIND_OK;
    this.#dataEnds[i] = this.#at - this.#dataStart;
    if (partitionKeys !== undefined) this.#meta[i] = JSON.stringify(partitionKeys);
  }

  dropped(i: number): void {
    this.#next(i);
    this.#kinds[i] = KIND_DROPPED;
    this.#dataEnds[i] = this.#at - this.#dataStart;
  }

  failed(i: number, code: TransformErrorCode, message: string): void {
    this.#next(i);
    this.#kinds[i] = KIND_FAILED;
    this.#dataEnds[i] = this.#at - this.#dataStart;
    this.#meta[i] = JSON.stringify([code, message]);
  }

  /** Records one outcome as the Lambda contract check gave it. */
  outcome(i: number, outcome: TransformRecordOutcome): void {
    if (outcome.result === 'Ok') this.ok(i, outcome.data, outcome.partitionKeys);
    else if (outcome.result === 'Dropped') this.dropped(i);
    else this.failed(i, outcome.code, outcome.message);
  }

  /**
   * The packed outcomes; transfer the buffer (it may be longer than the packing).
   *
   * @throws when not every record has an outcome.
   */
  finish(): ArrayBuffer {
    const count = this.#count;
    if (this.#written !== count) {
      throw new Error(`outcomes of ${this.#written} records written, of ${count}`);
    }
    const metaEnds = new Uint32Array(count);
    let metaLength = 0;
    for (let i = 0; i < count; i += 1) {
      const meta = this.#meta[i];
      if (meta !== undefined) metaLength += Buffer.byteLength(meta, 'utf8');
      metaEnds[i] = metaLength;
    }
    this.#room(metaLength);
    const bytes = this.#bytes;
    bytes.writeUInt8(FRAME_VERSION, this.#dataStart);
    bytes.writeDoubleBE(this.#okCount === 0 ? 0 : this.#oldestOkMs, this.#dataStart + 1);
    bytes.writeUInt32BE(this.#okCount, this.#dataStart + 9);
    const metaStart = this.#at;
    const byteLength = metaStart + metaLength;
    const dataEndsStart = alignTo4(HEADER_BYTES + count);
    const buffer = bytes.buffer as ArrayBuffer;
    new Uint32Array(buffer, 0, 4).set([count, this.#dataStart, metaStart, byteLength]);
    new Uint8Array(buffer, HEADER_BYTES, count).set(this.#kinds);
    new Uint32Array(buffer, dataEndsStart, count).set(this.#dataEnds);
    new Uint32Array(buffer, dataEndsStart + 4 * count, count).set(metaEnds);
    let metaAt = metaStart;
    for (let i = 0; i < count; i += 1) {
      const meta = this.#meta[i];
      if (meta !== undefined) metaAt += bytes.write(meta, metaAt, 'utf8');
    }
    return buffer;
  }

  /** Outcomes are written in record order, each once. */
  #next(i: number): void {
    if (i !== this.#written || i >= this.#count) {
      throw new Error(
        `outcome of record ${i} written out of order (record ${this.#written} is next, of ${this.#count})`,
      );
    }
    this.#written += 1;
  }

  /** Makes room for `bytes` more bytes after the data written so far. */
  #room(bytes: number): void {
    const needed = this.#at + bytes;
    if (needed <= this.#bytes.length) return;
    const grown = Buffer.from(
      new ArrayBuffer(Math.max(needed, Math.ceil(this.#bytes.length * 1.5))),
    );
    this.#bytes.copy(grown, 0, 0, this.#at);
    this.#bytes = grown;
  }
}

/** The arrival times of an invocation's records, by index. */
export interface ArrivalTimes {
  arrivalMs(i: number): number;
}

/**
 * The outcomes in a packed buffer (on the main thread). Ok records' data are views of the
 * buffer, not copies.
 */
export function unpackOutcomes(buffer: ArrayBuffer): TransformRecordOutcome[] {
  return new PackedOutcomes(buffer).all();
}

/**
 * An invocation's outcomes as a transform worker packed them, read on the main thread: whole
 * ({@link all}), or as the chunk of its Ok records and the outcomes of the others
 * ({@link framed}).
 */
export class PackedOutcomes implements InvocationOutcomes {
  readonly count: number;
  readonly #bytes: Buffer;
  readonly #kinds: Uint8Array;
  readonly #dataEnds: Uint32Array;
  readonly #metaEnds: Uint32Array;
  readonly #dataStart: number;
  readonly #metaStart: number;

  constructor(buffer: ArrayBuffer) {
    const [count, dataStart, metaStart, byteLength] = new Uint32Array(buffer, 0, 4) as unknown as [
      number,
      number,
      number,
      number,
    ];
    if (byteLength > buffer.byteLength || metaStart < dataStart + FRAME_HEADER_BYTES) {
      throw new Error(`packed outcomes of ${buffer.byteLength} bytes say ${byteLength}`);
    }
    this.count = count;
    this.#bytes = Buffer.from(buffer);
    this.#kinds = new Uint8Array(buffer, HEADER_BYTES, count);
    const dataEndsStart = alignTo4(HEADER_BYTES + count);
    this.#dataEnds = new Uint32Array(buffer, dataEndsStart, count);
    this.#metaEnds = new Uint32Array(buffer, dataEndsStart + 4 * count, count);
    this.#dataStart = dataStart;
    this.#metaStart = metaStart;
  }

  all(): TransformRecordOutcome[] {
    const outcomes = new Array<TransformRecordOutcome>(this.count);
    const bytes = this.#bytes;
    const dataStart = this.#dataStart;
    let dataAt = FRAME_HEADER_BYTES;
    for (let i = 0; i < this.count; i += 1) {
      const dataEnd = this.#dataEnds[i] as number;
      if (this.#kinds[i] === KIND_OK) {
        const data = bytes.subarray(
          dataStart + dataAt + FRAME_RECORD_HEADER_BYTES,
          dataStart + dataEnd,
        );
        const meta = this.#meta(i);
        outcomes[i] =
          meta === ''
            ? { result: 'Ok', data }
            : { result: 'Ok', data, partitionKeys: JSON.parse(meta) as Record<string, string> };
      } else {
        outcomes[i] = this.#notOk(i);
      }
      dataAt = dataEnd;
    }
    return outcomes;
  }

  framed(): FramedOutcomes {
    const others: [number, NotOkOutcome][] = [];
    let records = 0;
    for (let i = 0; i < this.count; i += 1) {
      if (this.#kinds[i] === KIND_OK) records += 1;
      else others.push([i, this.#notOk(i)]);
    }
    const end =
      this.#dataStart +
      (this.count === 0 ? FRAME_HEADER_BYTES : (this.#dataEnds[this.count - 1] as number));
    const frame = records === 0 ? undefined : this.#bytes.subarray(this.#dataStart, end);
    const bytes =
      frame === undefined
        ? 0
        : frame.length - FRAME_HEADER_BYTES - records * FRAME_RECORD_HEADER_BYTES;
    return { frame, records, bytes, others };
  }

  /** Record `i`'s metadata text ('' when none). */
  #meta(i: number): string {
    const start = i === 0 ? 0 : (this.#metaEnds[i - 1] as number);
    const end = this.#metaEnds[i] as number;
    return end > start
      ? this.#bytes.toString('utf8', this.#metaStart + start, this.#metaStart + end)
      : '';
  }

  #notOk(i: number): NotOkOutcome {
    if (this.#kinds[i] === KIND_DROPPED) return { result: 'Dropped' };
    const [code, message] = JSON.parse(this.#meta(i)) as [TransformErrorCode, string];
    return { result: 'ProcessingFailed', code, message };
  }
}
