import { ProcessorFailure } from './processor-failure.js';

/**
 * The `RecordDeAggregation` processor: one record that packs several is split into them before
 * any other processing, so that each can be partitioned on its own
 * (docs.aws.amazon.com/firehose/latest/dev/dynamic-partitioning-multirecord-deaggergation.html).
 * `SubRecordType` JSON splits consecutive JSON objects (`{"a":1}{"a":2}` or one per line; an
 * array of objects is not accepted); DELIMITED splits on a custom delimiter given in base64
 * (`IyMjIw==` for `####`). Firehose de-aggregates at most 500 sub-records per record.
 *
 * The sub-records are views of the record's bytes, never copies.
 */

/** Most sub-records one record may hold; a record with more goes to the error output. */
export const MAX_SUB_RECORDS = 500;

/** The error code of a record that is not a sequence of JSON objects. */
export const DEAGGREGATION_INVALID_JSON = 'Deaggregation.InvalidJson';

/** The error code of a record that holds more than {@link MAX_SUB_RECORDS} sub-records. */
export const DEAGGREGATION_TOO_MANY = 'Deaggregation.TooManySubRecords';

/** The error code of a record that holds no sub-record at all (empty, blank, only delimiters). */
export const DEAGGREGATION_EMPTY = 'Deaggregation.NoSubRecords';

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * `SubRecordType` JSON: the JSON objects a record holds one after another, each as its exact
 * bytes. Whitespace (space, tab, CR, LF) before, between and after the objects is dropped.
 *
 * The scan finds each object's end by tracking strings, escapes and the nesting of braces and
 * brackets; it does not check what lies between them (numbers, literals, commas, colons). An
 * object that is malformed inside is passed on whole, and the stage that reads it as JSON
 * (MetadataExtraction, a transform) reports it.
 *
 * @param data - The record.
 * @returns One view of `data` per object, in order.
 * @throws {@link ProcessorFailure} with output type `processing-failed`:
 *   {@link DEAGGREGATION_INVALID_JSON} naming the byte offset of anything but an object
 *   (an array, a scalar, a stray comma or brace) at the top level, of a bracket that closes the
 *   wrong opener, or where an unclosed object or string begins; {@link DEAGGREGATION_TOO_MANY}
 *   when a 501st object begins; {@link DEAGGREGATION_EMPTY} when there is no object at all.
 */
export function deaggregateJson(data: Buffer): Buffer[] {
  const records: Buffer[] = [];
  const length = data.length;
  let offset = 0;
  for (;;) {
    while (offset < length && isJsonWhitespace(data[offset] as number)) offset++;
    if (offset === length) break;
    const byte = data[offset] as number;
    if (byte !== OPEN_BRACE) throw notAnObject(byte, offset);
    if (records.length === MAX_SUB_RECORDS) {
      throw tooMany(`JSON objects (the ${MAX_SUB_RECORDS + 1}st starts at byte offset ${offset})`);
    }
    const end = endOfObject(data, offset);
    records.push(data.subarray(offset, end));
    offset = end;
  }
  if (records.length === 0) {
    throw new ProcessorFailure(
      DEAGGREGATION_EMPTY,
      `The record holds no JSON object: it is ${length === 0 ? 'empty' : 'only whitespace'}. RecordDeAggregation (JSON) needs at least one object per record.`,
      'processing-failed',
    );
  }
  return records;
}

/**
 * `SubRecordType` DELIMITED: the pieces of a record between occurrences of the delimiter,
 * found left to right without overlap. Empty pieces are dropped: a delimiter at the start or
 * the end of the record, or two delimiters side by side, yield no empty record. Firehose's
 * documentation does not say what it does with empty pieces; dropping them keeps a record
 * that ends with its delimiter (the usual way to write delimited data) from gaining an empty
 * record, and loses no bytes but delimiters.
 *
 * @param data - The record.
 * @param delimiter - The delimiter's bytes (see {@link parseDelimiterParameter}); not empty.
 * @returns One view of `data` per non-empty piece, in order.
 * @throws {@link ProcessorFailure} with output type `processing-failed`:
 *   {@link DEAGGREGATION_TOO_MANY} when a 501st piece begins; {@link DEAGGREGATION_EMPTY} when
 *   the record holds nothing but delimiters (or nothing).
 * @throws RangeError when `delimiter` is empty (a defect in the caller).
 */
export function deaggregateDelimited(data: Buffer, delimiter: Buffer): Buffer[] {
  if (delimiter.length === 0) throw new RangeError('the delimiter must not be empty');
  const records: Buffer[] = [];
  const length = data.length;
  let start = 0;
  while (start < length) {
    let end = data.indexOf(delimiter, start);
    if (end === -1) end = length;
    if (end > start) {
      if (records.length === MAX_SUB_RECORDS) {
        throw tooMany(
          `delimited pieces (the ${MAX_SUB_RECORDS + 1}st starts at byte offset ${start})`,
        );
      }
      records.push(data.subarray(start, end));
    }
    start = end + delimiter.length;
  }
  if (records.length === 0) {
    throw new ProcessorFailure(
      DEAGGREGATION_EMPTY,
      `The record holds no data between its delimiters: it is ${length === 0 ? 'empty' : 'only delimiters'}. RecordDeAggregation (DELIMITED) needs at least one non-empty piece per record.`,
      'processing-failed',
    );
  }
  return records;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Reads the DELIMITED processor's `Delimiter` parameter: the delimiter's bytes in standard
 * base64 (`+` and `/`), padded with `=` or not.
 *
 * @param base64 - The parameter's value, e.g. `IyMjIw==` for `####`.
 * @returns The delimiter's bytes (at least one).
 * @throws Error for a value that is empty or not base64; its message, meant to follow
 *   "Delimiter: " in an API error, says what a valid value looks like.
 */
export function parseDelimiterParameter(base64: string): Buffer {
  const example = 'e.g. IyMjIw== for ####';
  if (base64.length === 0) {
    throw new Error(`the value is empty; give the delimiter's bytes in base64 (${example}).`);
  }
  const unpadded = base64.replace(/=+$/, '');
  const valid =
    BASE64.test(base64) &&
    unpadded.length % 4 !== 1 &&
    (unpadded.length === base64.length || base64.length % 4 === 0);
  if (!valid) {
    throw new Error(
      `${JSON.stringify(base64)} is not base64: use the characters A-Z, a-z, 0-9, + and /, padded with = to a multiple of 4 characters (${example}).`,
    );
  }
  // Valid and non-empty, so at least two characters: at least one byte.
  return Buffer.from(unpadded, 'base64');
}

/**
 * The offset just past the closing brace of the object that opens at `start`.
 * Bytes of multi-byte UTF-8 characters are all 0x80 or above, so they
 * can never be taken for the ASCII bytes the scan looks for.
 */
function endOfObject(data: Buffer, start: number): number {
  const length = data.length;
  // Offsets of the open braces and brackets, innermost last: a closer names its opener.
  const open: number[] = [];
  for (let offset = start; offset < length; offset++) {
    const byte = data[offset] as number;
    switch (byte) {
      case QUOTE:
        offset = endOfString(data, offset);
        break;
      case OPEN_BRACE:
      case OPEN_BRACKET:
        open.push(offset);
        break;
      case CLOSE_BRACE:
      case CLOSE_BRACKET: {
        const opener = open.pop() as number;
        if (data[opener] !== (byte === CLOSE_BRACE ? OPEN_BRACE : OPEN_BRACKET)) {
          throw invalidJson(
            `at byte offset ${offset}, '${String.fromCharCode(byte)}' closes the '${String.fromCharCode(data[opener] as number)}' opened at byte offset ${opener}`,
          );
        }
        if (open.length === 0) return offset + 1;
        break;
      }
    }
  }
  const innermost = open[open.length - 1] as number;
  const what =
    innermost === start ? '' : `; the innermost unclosed one opens at byte offset ${innermost}`;
  throw invalidJson(
    `the JSON object that starts at byte offset ${start} is not closed before the record ends at byte offset ${length}${what}`,
  );
}

/**
 * Strings up to this many bytes are scanned byte by byte; the rest of a longer one is searched
 * with `indexOf`, which runs natively (several GB/s against under 1 GB/s for the loop) but
 * costs a call each time, too much for the short strings JSON records are mostly made of.
 */
const SHORT_STRING = 64;

/** The offset of the quote that closes the string opening at `start`. */
function endOfString(data: Buffer, start: number): number {
  const length = data.length;
  const shortEnd = Math.min(length, start + 1 + SHORT_STRING);
  let offset = start + 1;
  for (; offset < shortEnd; offset++) {
    const byte = data[offset] as number;
    if (byte === BACKSLASH) offset++;
    else if (byte === QUOTE) return offset;
  }
  // A quote is escaped when an odd number of backslashes precede it: the byte before the run
  // is not a backslash, so no escape is pending there and the run pairs up from its start.
  let from = offset;
  for (;;) {
    const quote = data.indexOf(QUOTE, from);
    if (quote === -1) {
      throw invalidJson(
        `the string that starts at byte offset ${start} is not closed before the record ends at byte offset ${length}`,
      );
    }
    let backslashes = 0;
    while (data[quote - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

function isJsonWhitespace(byte: number): boolean {
  return byte === SPACE || byte === LF || byte === CR || byte === TAB;
}

function notAnObject(byte: number, offset: number): ProcessorFailure {
  const found =
    byte === OPEN_BRACKET
      ? "'[', a JSON array (send its objects one after another instead)"
      : byte >= 0x21 && byte <= 0x7e
        ? `'${String.fromCharCode(byte)}'`
        : `the byte 0x${byte.toString(16).padStart(2, '0')}`;
  return invalidJson(
    `at byte offset ${offset} there is ${found} where a JSON object ('{') must start`,
  );
}

function invalidJson(problem: string): ProcessorFailure {
  return new ProcessorFailure(
    DEAGGREGATION_INVALID_JSON,
    `The record is not a sequence of JSON objects: ${problem}. RecordDeAggregation (JSON) takes objects one after another, as {"a":1}{"a":2} or one per line.`,
    'processing-failed',
  );
}

function tooMany(what: string): ProcessorFailure {
  return new ProcessorFailure(
    DEAGGREGATION_TOO_MANY,
    `The record holds more than ${MAX_SUB_RECORDS} ${what}; Firehose de-aggregates at most ${MAX_SUB_RECORDS} per record. Pack fewer into each record.`,
    'processing-failed',
  );
}
