import { readFile } from 'node:fs/promises';
import { MAX_RECORD_BYTES } from '../api/firehose/record-decoding.js';
import { UsageError } from './cli-error.js';
import { formatCount } from './format.js';
import { lineRecordBytes, lineRecords } from '../formats/line-records.js';

/**
 * The records of `sluice put`: one a non-empty line of the input (NDJSON, or any text),
 * without its line break (`\n` or `\r\n`); by default a `\n` is added back to each, so that
 * the records of one delivered object stay one a line, as Firehose producers are advised to do.
 * All of the input is read and checked before anything is sent.
 */

/** A record and the line it came from. */
export interface InputRecord {
  readonly line: number;
  readonly data: Buffer;
}

const NEWLINE = Buffer.from('\n');

/** Reads all of `source` (a file path, or standard input for `-`/none). */
export async function readInput(
  file: string | undefined,
  stdin: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
): Promise<Buffer> {
  if (file !== undefined && file !== '-') {
    try {
      return await readFile(file);
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stdin)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/**
 * The records of `content`, one a non-empty line (src/formats/line-records.ts).
 *
 * @param addNewline - end each record with `\n` (the default of `sluice put`).
 * @param source - how messages name the input, such as `events.ndjson` or `standard input`.
 * @throws UsageError naming the line of a record over Firehose's 1,000 KiB limit.
 */
export function splitRecords(content: Buffer, addNewline: boolean, source: string): InputRecord[] {
  return lineRecords(content).map((record) => {
    const size = lineRecordBytes(record, addNewline);
    if (size > MAX_RECORD_BYTES) {
      throw new UsageError(
        `${source} line ${record.line} is ${formatCount(size)} bytes${addNewline ? ' with its newline' : ''}; a Firehose record is at most ${formatCount(MAX_RECORD_BYTES)} bytes. Nothing was sent`,
      );
    }
    return {
      line: record.line,
      data: addNewline ? Buffer.concat([record.data, NEWLINE]) : record.data,
    };
  });
}
