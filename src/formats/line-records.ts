/**
 * Records read from lines of text (NDJSON, or any text with one record a line): the rule
 * `sluice put` and the HTTP records endpoint share, so a file sent either way becomes the same
 * records. Each non-empty line is one record, without its line break (`\n` or `\r\n`); empty
 * lines are skipped. Whether a `\n` is added back is the caller's choice (see
 * {@link lineRecordBytes}).
 */

/** One line that holds a record: its number (1-based) and its bytes, a view into the input. */
export interface LineRecord {
  readonly line: number;
  /** The line without its line break. */
  readonly data: Buffer;
}

/**
 * The lines of `content` that hold a record, in order; at most `limit` of them, so that a body
 * of millions of short lines costs no more than the records a caller can take.
 */
export function lineRecords(content: Buffer, limit = Number.POSITIVE_INFINITY): LineRecord[] {
  const records: LineRecord[] = [];
  let start = 0;
  for (let line = 1; start < content.length && records.length < limit; line += 1) {
    let end = content.indexOf(0x0a, start);
    if (end < 0) end = content.length;
    let data = content.subarray(start, end);
    if (data.at(-1) === 0x0d) data = data.subarray(0, -1);
    start = end + 1;
    if (data.length > 0) records.push({ line, data });
  }
  return records;
}

/** The size of a line's record: its bytes, and the `\n` when one is added back. */
export function lineRecordBytes(record: LineRecord, addNewline: boolean): number {
  return record.data.length + (addNewline ? 1 : 0);
}
