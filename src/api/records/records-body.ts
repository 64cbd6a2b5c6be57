import { isUtf8 } from 'node:buffer';
import { encodeChunk } from '../../formats/chunk-frame.js';
import { lineRecordBytes, lineRecords } from '../../formats/line-records.js';
import { AdminError } from '../admin/admin-failures.js';
import {
  MAX_BATCH_BYTES,
  MAX_BATCH_RECORDS,
  MAX_RECORD_BYTES,
  type DecodedRecords,
} from '../firehose/record-decoding.js';

/**
 * The body of the HTTP records endpoint: one record a non-empty line, the rule `sluice put`
 * follows (src/formats/line-records.ts), within PutRecordBatch's limits, checked whole before
 * anything is stored.
 */

/** How lines are read: `json` lines must each be one JSON value; `text` lines are taken as they are. */
export type LineFormat = 'json' | 'text';

/** The Content-Types the endpoint takes, and how each is read. */
export const LINE_FORMATS: Readonly<Record<string, LineFormat>> = {
  'application/x-ndjson': 'json',
  'application/ndjson': 'json',
  'application/jsonl': 'json',
  'text/plain': 'text',
};

/** Largest body, decoded: a full 4 MiB of records, with room for line breaks and empty lines. */
export const RECORDS_BODY_LIMIT = 5 * 1024 * 1024;

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** @throws AdminError 415 `UnsupportedMediaType` for a Content-Type not in {@link LINE_FORMATS}. */
export function lineFormatOf(contentType: string | undefined): LineFormat {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  const format =
    type !== undefined && Object.hasOwn(LINE_FORMATS, type) ? LINE_FORMATS[type] : undefined;
  if (format === undefined) {
    throw new AdminError(
      415,
      'UnsupportedMediaType',
      `Content-Type must be one of ${Object.keys(LINE_FORMATS).join(', ')}; got ${type === undefined ? 'none' : JSON.stringify(type)}`,
    );
  }
  return format;
}

/**
 * The records of `body` in one framed chunk, ready for the buffer, and the line each came from.
 *
 * @param addNewline - end each record with `\n`.
 * @throws AdminError 400 `InvalidParameter` for a body without records; 400 `InvalidRecord`
 *   naming the first line that is not UTF-8 or not JSON (`json`), or over 1,024,000 bytes;
 *   413 `RequestTooLarge` for more than 500 records or more than 4 MiB of them.
 */
export function decodeLineRecords(
  body: Buffer,
  format: LineFormat,
  addNewline: boolean,
  arrivalMs: number,
): DecodedRecords & { lines: number[] } {
  // A byte-order mark says "UTF-8", nothing about the first record.
  const text = body.subarray(0, 3).equals(UTF8_BOM) ? body.subarray(3) : body;
  // One more than the limit tells a body over it.
  const records = lineRecords(text, MAX_BATCH_RECORDS + 1);
  if (records.length === 0) {
    throw new AdminError(400, 'InvalidParameter', 'the body holds no records (no non-empty line)');
  }
  if (records.length > MAX_BATCH_RECORDS) {
    throw new AdminError(
      413,
      'RequestTooLarge',
      `the body holds more than ${MAX_BATCH_RECORDS} records; at most ${MAX_BATCH_RECORDS} per request`,
    );
  }
  const lengths = new Array<number>(records.length);
  let payloadBytes = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as (typeof records)[number];
    const size = lineRecordBytes(record, addNewline);
    if (size > MAX_RECORD_BYTES) {
      throw new AdminError(
        400,
        'InvalidRecord',
        `line ${record.line} is ${size} bytes${addNewline ? ' with its newline' : ''}; a record is at most ${MAX_RECORD_BYTES} bytes`,
      );
    }
    if (format === 'json') checkJsonLine(record.data, record.line);
    lengths[i] = size;
    payloadBytes += size;
  }
  if (payloadBytes > MAX_BATCH_BYTES) {
    throw new AdminError(
      413,
      'RequestTooLarge',
      `the records are ${payloadBytes} bytes together; at most ${MAX_BATCH_BYTES} (4 MiB) per request`,
    );
  }
  const chunk = encodeChunk(arrivalMs, lengths, payloadBytes, (i, target, offset) => {
    const data = (records[i] as (typeof records)[number]).data;
    data.copy(target, offset);
    if (addNewline) target[offset + data.length] = 0x0a;
  });
  return { chunk, payloadBytes, count: records.length, lines: records.map((r) => r.line) };
}

/** @throws AdminError 400 `InvalidRecord` unless `data` is UTF-8 holding one JSON value. */
function checkJsonLine(data: Buffer, line: number): void {
  if (!isUtf8(data)) {
    throw new AdminError(400, 'InvalidRecord', `line ${line} is not UTF-8`);
  }
  try {
    JSON.parse(data.toString('utf8'));
  } catch (error) {
    throw new AdminError(
      400,
      'InvalidRecord',
      `line ${line} is not JSON: ${(error as Error).message}`,
    );
  }
}
