import { isUtf8 } from 'node:buffer';
import type { LoadFormat } from './copy-options.js';
import { recordRows } from './copy-rows.js';
import { JsonRowWriter } from './json-row-writer.js';

/**
 * Records into COPY rows, many at a time: each record's rows are written back to back into one
 * buffer, with per record its index, where its rows end and how many lines they are, so the
 * sender can stream the buffer whole and still split it by record when PostgreSQL rejects a
 * row. JSON 'auto' records that are one plain object go through {@link JsonRowWriter}; every
 * other record through `recordRows` (copy-rows.ts), which defines the format. The same code
 * runs on the event loop and in the conversion worker (row-worker.ts).
 */

/** A run of converted records. */
export interface ConvertedRows {
  /** The rows of the records below, back to back. */
  rows: Uint8Array;
  /** Per record with rows: its index in the attempt. */
  indexes: Uint32Array;
  /** Per record with rows: where its rows end in `rows`. */
  ends: Uint32Array;
  /** Per record with rows: how many lines of COPY data its rows are. */
  lines: Uint32Array;
  /** Records that cannot become rows, with why. */
  failed: { index: number; message: string }[];
}

const NEWLINE = 0x0a;
const EMPTY = Buffer.alloc(0);

/** Converts records for one format and column list, appending to one output per run. */
export class RowConverterCore {
  readonly #format: LoadFormat;
  readonly #columns: readonly string[];
  readonly #json: JsonRowWriter | undefined;
  #out: Buffer;
  /** Size of a run's first buffer. */
  readonly #expectedBytes: number;
  #at = 0;
  #indexes: number[] = [];
  #ends: number[] = [];
  #lines: number[] = [];
  #failed: ConvertedRows['failed'] = [];

  /** @param expectedBytes - about how many bytes of rows a run will hold (the first buffer). */
  constructor(format: LoadFormat, columns: readonly string[], expectedBytes = 1 << 16) {
    this.#format = format;
    this.#columns = columns;
    this.#json = format.kind === 'json' ? new JsonRowWriter(columns, format.ignoreCase) : undefined;
    this.#expectedBytes = Math.max(1024, expectedBytes);
    this.#out = Buffer.allocUnsafeSlow(this.#expectedBytes);
  }

  /** Bytes of rows in the current run. */
  get size(): number {
    return this.#at;
  }

  /**
   * Converts the record `src[start, end)`, the attempt's record `index`. `utf8Checked`: the
   * caller knows the record is valid UTF-8.
   */
  add(src: Uint8Array, start: number, end: number, index: number, utf8Checked = false): void {
    const json = this.#json;
    if (json !== undefined) {
      const valid =
        utf8Checked ||
        (start === 0 && end === src.length ? isUtf8(src) : isUtf8(src.subarray(start, end)));
      if (!valid) {
        this.#failed.push({ index, message: 'The record is not valid UTF-8 text.' });
        return;
      }
      this.#reserve(json.maxRowBytes(end - start));
      const written = json.write(src, start, end, this.#out, this.#at);
      if (written >= 0) {
        this.#at = written;
        this.#indexes.push(index);
        this.#ends.push(written);
        this.#lines.push(1);
        return;
      }
    }
    const record = src.subarray(start, end);
    const rows = recordRows(
      Buffer.from(record.buffer, record.byteOffset, record.byteLength),
      this.#format,
      this.#columns,
    );
    if ('error' in rows) {
      this.#failed.push({ index, message: rows.error });
      return;
    }
    if (rows.rows.length === 0) return;
    this.#reserve(rows.rows.length);
    rows.rows.copy(this.#out, this.#at);
    this.#at += rows.rows.length;
    this.#indexes.push(index);
    this.#ends.push(this.#at);
    this.#lines.push(countLines(rows.rows));
  }

  /**
   * The run converted so far; `rows` starts its own ArrayBuffer (no pool's), so it can be
   * transferred. The next run starts empty in a new buffer.
   */
  take(): ConvertedRows {
    const rows = new Uint8Array(this.#out.buffer, 0, this.#at);
    const taken: ConvertedRows = {
      rows,
      indexes: Uint32Array.from(this.#indexes),
      ends: Uint32Array.from(this.#ends),
      lines: Uint32Array.from(this.#lines),
      failed: this.#failed,
    };
    // Allocated when the next run writes: a worker's converter makes one run only.
    this.#out = EMPTY;
    this.#at = 0;
    this.#indexes = [];
    this.#ends = [];
    this.#lines = [];
    this.#failed = [];
    return taken;
  }

  #reserve(bytes: number): void {
    if (this.#at + bytes <= this.#out.length) return;
    const grown = Buffer.allocUnsafeSlow(
      Math.max(2 * this.#out.length, this.#at + bytes, this.#expectedBytes),
    );
    this.#out.copy(grown, 0, 0, this.#at);
    this.#out = grown;
  }
}

/** Lines of COPY data in `rows` (each ends with a newline). */
export function countLines(rows: Uint8Array): number {
  let lines = 0;
  for (let at = rows.indexOf(NEWLINE); at >= 0; at = rows.indexOf(NEWLINE, at + 1)) lines += 1;
  return lines;
}
