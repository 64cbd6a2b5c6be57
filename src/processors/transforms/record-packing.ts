import type {
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
 *     dataStart     Ok records' data, back to back
 *     metaStart     per record, UTF-8 JSON or nothing: an Ok record's partition keys, a failed
 *                   record's [code, message]
 */

const HEADER_BYTES = 16;
const KIND_OK = 0;
const KIND_DROPPED = 1;
const KIND_FAILED = 2;

function alignTo4(n: number): number {
  return (n + 3) & ~3;
}

/** Packs `records` for a transform worker; the caller transfers the buffer. */
export function packInputs(records: readonly TransformInput[]): ArrayBuffer {
  const count = records.length;
  const idBytes = records.map((record) => Buffer.byteLength(record.recordId, 'utf8'));
  let idsLength = 0;
  let dataLength = 0;
  for (let i = 0; i < count; i += 1) {
    idsLength += idBytes[i] as number;
    dataLength += (records[i] as TransformInput).data.length;
  }
  const arrivalStart = HEADER_BYTES;
  const idEndsStart = arrivalStart + 8 * count;
  const dataEndsStart = idEndsStart + 4 * count;
  const idsStart = dataEndsStart + 4 * count;
  const dataStart = idsStart + idsLength;
  const byteLength = dataStart + dataLength;
  const buffer = new ArrayBuffer(byteLength);
  new Uint32Array(buffer, 0, 4).set([count, idsStart, dataStart, byteLength]);
  const arrivals = new Float64Array(buffer, arrivalStart, count);
  const idEnds = new Uint32Array(buffer, idEndsStart, count);
  const dataEnds = new Uint32Array(buffer, dataEndsStart, count);
  const bytes = Buffer.from(buffer);
  let idAt = 0;
  let dataAt = 0;
  for (let i = 0; i < count; i += 1) {
    const record = records[i] as TransformInput;
    arrivals[i] = record.arrivalMs;
    idAt += bytes.write(record.recordId, idsStart + idAt, 'utf8');
    idEnds[i] = idAt;
    record.data.copy(bytes, dataStart + dataAt);
    dataAt += record.data.length;
    dataEnds[i] = dataAt;
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
    if (byteLength !== buffer.byteLength) {
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
 * Collects the outcomes of an invocation (in the transform worker) and packs them. Data may be
 * given as text: it is written as UTF-8 straight into the packed buffer.
 */
export class OutcomeWriter {
  readonly #kinds: Uint8Array;
  readonly #data: (string | Uint8Array | undefined)[];
  readonly #meta: (string | undefined)[];
  readonly #delimiter: Buffer;

  /**
   * @param count - Number of records.
   * @param delimiter - Written after every Ok record's data.
   */
  constructor(count: number, delimiter = '') {
    this.#kinds = new Uint8Array(count);
    this.#data = new Array<string | Uint8Array | undefined>(count);
    this.#meta = new Array<string | undefined>(count);
    this.#delimiter = Buffer.from(delimiter, 'utf8');
  }

  ok(i: number, data: string | Uint8Array, partitionKeys?: Record<string, string>): void {
    this.#kinds[i] = KIND_OK;
    this.#data[i] = data;
    this.#meta[i] = partitionKeys === undefined ? undefined : JSON.stringify(partitionKeys);
  }

  dropped(i: number): void {
    this.#kinds[i] = KIND_DROPPED;
    this.#data[i] = undefined;
    this.#meta[i] = undefined;
  }

  failed(i: number, code: TransformErrorCode, message: string): void {
    this.#kinds[i] = KIND_FAILED;
    this.#data[i] = undefined;
    this.#meta[i] = JSON.stringify([code, message]);
  }

  /** Records one outcome as the Lambda contract check gave it. */
  outcome(i: number, outcome: TransformRecordOutcome): void {
    if (outcome.result === 'Ok') this.ok(i, outcome.data, outcome.partitionKeys);
    else if (outcome.result === 'Dropped') this.dropped(i);
    else this.failed(i, outcome.code, outcome.message);
  }

  /** The packed outcomes; transfer the buffer. */
  finish(): ArrayBuffer {
    const count = this.#kinds.length;
    const delimiterLength = this.#delimiter.length;
    const dataLengths = new Uint32Array(count);
    const metaLengths = new Uint32Array(count);
    let dataLength = 0;
    let metaLength = 0;
    for (let i = 0; i < count; i += 1) {
      const data = this.#data[i];
      if (data !== undefined) {
        const length =
          (typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length) +
          delimiterLength;
        dataLengths[i] = length;
        dataLength += length;
      }
      const meta = this.#meta[i];
      if (meta !== undefined) {
        const length = Buffer.byteLength(meta, 'utf8');
        metaLengths[i] = length;
        metaLength += length;
      }
    }
    const dataEndsStart = alignTo4(HEADER_BYTES + count);
    const metaEndsStart = dataEndsStart + 4 * count;
    const dataStart = metaEndsStart + 4 * count;
    const metaStart = dataStart + dataLength;
    const byteLength = metaStart + metaLength;
    const buffer = new ArrayBuffer(byteLength);
    new Uint32Array(buffer, 0, 4).set([count, dataStart, metaStart, byteLength]);
    new Uint8Array(buffer, HEADER_BYTES, count).set(this.#kinds);
    const dataEnds = new Uint32Array(buffer, dataEndsStart, count);
    const metaEnds = new Uint32Array(buffer, metaEndsStart, count);
    const bytes = Buffer.from(buffer);
    let dataAt = dataStart;
    let metaAt = metaStart;
    for (let i = 0; i < count; i += 1) {
      const data = this.#data[i];
      if (data !== undefined) {
        if (typeof data === 'string') bytes.write(data, dataAt, 'utf8');
        else bytes.set(data, dataAt);
        const length = dataLengths[i] as number;
        if (delimiterLength > 0) this.#delimiter.copy(bytes, dataAt + length - delimiterLength);
        dataAt += length;
      }
      dataEnds[i] = dataAt - dataStart;
      const meta = this.#meta[i];
      if (meta !== undefined) {
        bytes.write(meta, metaAt, 'utf8');
        metaAt += metaLengths[i] as number;
      }
      metaEnds[i] = metaAt - metaStart;
    }
    return buffer;
  }
}

/**
 * The outcomes in a packed buffer (on the main thread). Ok records' data are views of the
 * buffer, not copies.
 */
export function unpackOutcomes(buffer: ArrayBuffer): TransformRecordOutcome[] {
  const [count, dataStart, metaStart, byteLength] = new Uint32Array(buffer, 0, 4) as unknown as [
    number,
    number,
    number,
    number,
  ];
  if (byteLength !== buffer.byteLength) {
    throw new Error(`packed outcomes of ${buffer.byteLength} bytes say ${byteLength}`);
  }
  const kinds = new Uint8Array(buffer, HEADER_BYTES, count);
  const dataEndsStart = alignTo4(HEADER_BYTES + count);
  const dataEnds = new Uint32Array(buffer, dataEndsStart, count);
  const metaEnds = new Uint32Array(buffer, dataEndsStart + 4 * count, count);
  const bytes = Buffer.from(buffer);
  const outcomes = new Array<TransformRecordOutcome>(count);
  let dataAt = 0;
  let metaAt = 0;
  for (let i = 0; i < count; i += 1) {
    const dataEnd = dataEnds[i] as number;
    const metaEnd = metaEnds[i] as number;
    const meta =
      metaEnd > metaAt ? bytes.toString('utf8', metaStart + metaAt, metaStart + metaEnd) : '';
    switch (kinds[i]) {
      case KIND_OK: {
        const data = bytes.subarray(dataStart + dataAt, dataStart + dataEnd);
        outcomes[i] =
          meta === ''
            ? { result: 'Ok', data }
            : { result: 'Ok', data, partitionKeys: JSON.parse(meta) as Record<string, string> };
        break;
      }
      case KIND_DROPPED:
        outcomes[i] = { result: 'Dropped' };
        break;
      default: {
        const [code, message] = JSON.parse(meta) as [TransformErrorCode, string];
        outcomes[i] = { result: 'ProcessingFailed', code, message };
      }
    }
    dataAt = dataEnd;
    metaAt = metaEnd;
  }
  return outcomes;
}
