import { sha256Hex } from './sigv4.js';

/**
 * The fault oracle's records. Record `id` is `<id, 12 decimal digits>:<filler>\n`, where the
 * filler's length and bytes follow from the id and the seed alone, so the verifier can rebuild
 * every expected record byte for byte without keeping any of them in memory.
 *
 * The filler uses every byte value except the newline (0x0A), so a record splits from its
 * neighbours at newlines, and any re-encoding on the way (text decoding, a lost or doubled
 * byte, a chunk boundary off by one) shows up as a mismatch.
 */

/** Digits of the id at the head of every record. */
export const ID_DIGITS = 12;
/** The largest id a record can carry. */
export const MAX_ID = 10 ** ID_DIGITS - 1;
/** Bytes before the filler: the id and a colon. */
const HEADER_BYTES = ID_DIGITS + 1;
const NEWLINE = 0x0a;
const COLON = 0x3a;
const DIGIT_0 = 0x30;
const TWO_32 = 2 ** 32;

/** The finaliser of MurmurHash3: a cheap, well-mixed 32-bit hash. */
function fmix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** What a record of one run looks like: its size range and its filler's seed. */
export class RecordShape {
  /** Shortest record, newline included. */
  readonly minBytes: number;
  /** Longest record, newline included. */
  readonly maxBytes: number;

  /**
   * @param seed - the run's seed; the same seed gives the same bytes for the same id.
   * @param meanBytes - mean record size; each record is 50–150 % of it.
   */
  constructor(
    private readonly seed: number,
    meanBytes: number,
  ) {
    this.minBytes = Math.max(HEADER_BYTES + 2, Math.floor(meanBytes / 2));
    this.maxBytes = Math.max(this.minBytes, Math.floor(meanBytes * 1.5));
  }

  private hash(id: number): number {
    return fmix32((id >>> 0) ^ fmix32(Math.floor(id / TWO_32) ^ this.seed));
  }

  /** Length in bytes of record `id`, newline included. */
  lengthOf(id: number): number {
    return (
      this.minBytes + (fmix32(this.hash(id) ^ 0x9e3779b9) % (this.maxBytes - this.minBytes + 1))
    );
  }

  /**
   * Writes record `id` into `out` at `offset` (which must have {@link maxBytes} of room).
   *
   * @returns the record's length.
   */
  write(id: number, out: Buffer, offset: number): number {
    const length = this.lengthOf(id);
    let n = id;
    for (let i = ID_DIGITS - 1; i >= 0; i -= 1) {
      out[offset + i] = DIGIT_0 + (n % 10);
      n = Math.floor(n / 10);
    }
    out[offset + ID_DIGITS] = COLON;
    // mulberry32 from the id's hash: four filler bytes per step.
    let state = this.hash(id);
    const end = offset + length - 1;
    for (let p = offset + HEADER_BYTES; p < end; p += 4) {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = Math.imul(state ^ (state >>> 15), state | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      t = (t ^ (t >>> 14)) >>> 0;
      for (let k = 0; k < 4 && p + k < end; k += 1) {
        const byte = (t >>> (8 * k)) & 0xff;
        out[p + k] = byte === NEWLINE ? NEWLINE + 1 : byte;
      }
    }
    out[end] = NEWLINE;
    return length;
  }
}

/**
 * The id at the head of `data[start, end)`, or -1 when the bytes there do not start like a
 * record (too short, not digits, no colon).
 */
export function parseRecordId(data: Buffer, start: number, end: number): number {
  if (end - start < HEADER_BYTES + 1 || data[start + ID_DIGITS] !== COLON) return -1;
  let id = 0;
  for (let i = 0; i < ID_DIGITS; i += 1) {
    const digit = (data[start + i] ?? 0) - DIGIT_0;
    if (digit < 0 || digit > 9) return -1;
    id = id * 10 + digit;
  }
  return id;
}

/** A ready-to-send PutRecordBatch body for the records `firstId … firstId + count - 1`. */
export interface OracleBody {
  readonly buffer: Buffer;
  /** Hex SHA-256 of {@link buffer}, for SigV4. */
  readonly sha256: string;
  /** Record payload bytes (before base64). */
  readonly payloadBytes: number;
}

/**
 * Builds the PutRecordBatch body for `count` consecutive ids from `firstId`; `scratch` must hold
 * at least {@link RecordShape.maxBytes} bytes and is reused between calls.
 */
export function buildBody(
  shape: RecordShape,
  stream: string,
  firstId: number,
  count: number,
  scratch: Buffer,
): OracleBody {
  const members: string[] = new Array<string>(count);
  let payloadBytes = 0;
  for (let i = 0; i < count; i += 1) {
    const length = shape.write(firstId + i, scratch, 0);
    payloadBytes += length;
    members[i] = `{"Data":"${scratch.toString('base64', 0, length)}"}`;
  }
  const buffer = Buffer.from(
    `{"DeliveryStreamName":${JSON.stringify(stream)},"Records":[${members.join(',')}]}`,
    'utf8',
  );
  return { buffer, sha256: sha256Hex(buffer), payloadBytes };
}
