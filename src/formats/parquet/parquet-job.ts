import { parseGlueType } from './glue-type.js';
import { writeParquetToBuffer, type ParquetWriterOptions } from './parquet-writer.js';
import {
  compileConverter,
  type ConversionErrorCode,
  type DeserializerOptions,
} from './record-converter.js';
import type { Row, TableSchema } from './table-schema.js';

/**
 * One Parquet object from a batch's records: each record converted into rows of the table
 * (records that do not convert are reported, not written), the rows written as one Parquet
 * file. What a Parquet worker thread runs (`parquet-worker.ts`).
 */

/** What converts and writes: the table, how records are read, how Parquet is written. */
export interface ParquetJob {
  /** The table's columns, types as Glue type strings. */
  columns: readonly { name: string; type: string }[];
  deserializer: DeserializerOptions;
  parquet: Pick<
    ParquetWriterOptions,
    'compression' | 'pageSizeBytes' | 'blockSizeBytes' | 'enableDictionaryCompression'
  >;
}

/** A record of the batch: its position and its data. */
export interface ParquetJobRecord {
  position: number;
  data: Uint8Array;
}

/** A record left out of the file, and why. */
export interface RejectedRecord {
  position: number;
  code: ConversionErrorCode;
  message: string;
}

/** The file, and the records it does not hold. */
export interface ParquetJobResult {
  parquet: Buffer;
  rows: number;
  rejected: RejectedRecord[];
}

/** Runs `job` over `records`, in their order. */
export async function runParquetJob(
  job: ParquetJob,
  records: Iterable<ParquetJobRecord>,
): Promise<ParquetJobResult> {
  const table: TableSchema = {
    columns: job.columns.map((c) => ({ name: c.name, type: parseGlueType(c.type) })),
  };
  const convert = compileConverter(table, job.deserializer);
  const rejected: RejectedRecord[] = [];
  const decoder = new TextDecoder();
  let count = 0;
  // The writer takes each row as it is yielded and refuses it (should the converter let through
  // one that does not fit) before asking for the next: the refused row is the current record's.
  let current: Row | undefined;
  let currentPosition = 0;
  function* rows(): Generator<Row> {
    for (const record of records) {
      const result = convert(decoder.decode(record.data));
      if ('rows' in result) {
        currentPosition = record.position;
        for (const row of result.rows) {
          current = row;
          count += 1;
          yield row;
        }
      } else {
        rejected.push({ position: record.position, code: result.code, message: result.message });
      }
    }
  }
  const parquet = await writeParquetToBuffer(table, rows(), {
    ...job.parquet,
    onInvalidRow: (row, error) => {
      if (row !== current) throw error;
      count -= 1;
      rejected.push({
        position: currentPosition,
        code: 'DataFormatConversion.MalformedData',
        message: error.message,
      });
    },
  });
  return { parquet, rows: count, rejected };
}
