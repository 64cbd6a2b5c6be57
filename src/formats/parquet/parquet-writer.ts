/**
 * Writes converted rows ({@link Row}) as a Parquet file, the output of Firehose's JSON → Parquet
 * conversion (`ParquetSerDe`), with parquetjs-lite. The column types are mapped as
 * `parquet-schema.ts` describes.
 *
 * How the ParquetSerDe options are honoured:
 *
 * | ParquetSerDe option         | Firehose default | Honoured    | How                                                 |
 * | --------------------------- | ---------------- | ----------- | --------------------------------------------------- |
 * | Compression                 | SNAPPY           | yes         | UNCOMPRESSED, GZIP (zlib), SNAPPY (snappyjs) pages  |
 * | PageSizeBytes               | 1 MiB            | by estimate | see (1)                                             |
 * | BlockSizeBytes              | 256 MiB          | by estimate | see (2)                                             |
 * | EnableDictionaryCompression | —                | no          | parquetjs-lite has no dictionary encoder: all PLAIN |
 * | WriterVersion               | V1               | V1 only     | see (3)                                             |
 * | MaxPaddingBytes             | 0                | as 0        | no padding (it aligns to HDFS blocks; S3 has none)  |
 *
 * (1) Pages are cut by rows, for all columns at once (as parquetjs-lite cuts them). A page ends
 * after the row with which some column's page reaches PageSizeBytes of PLAIN-encoded values
 * (repetition and definition levels not counted), or after 20,000 rows (parquet-mr's page row
 * count limit).
 *
 * (2) A row group ends after the row with which the row group's PLAIN-encoded values reach
 * BlockSizeBytes: the uncompressed size, so a compressed row group is smaller on disk. A row group
 * is held in memory (its encoded pages, and the open page's columns) until it ends.
 *
 * (3) Data pages are always V1: parquetjs-lite's V2 pages state a wrong row count for repeated
 * columns, and parquet-mr's V2 also means encodings parquetjs-lite does not have.
 *
 * The minimums Firehose enforces (PageSizeBytes ≥ 64 KiB, BlockSizeBytes ≥ 64 MiB) are the API's
 * to check; the writer takes any positive size.
 *
 * Also: min/max and null-count statistics are written for every column but float and double
 * (see `parquet-schema.ts`), no distinct count (see `page-encoder.ts`); no page index
 * (ColumnIndex/OffsetIndex) is written, as parquetjs-lite's lacks required fields.
 *
 * Who does what: rows are shredded into columns by Sluice (`column-shredder.ts`, checking every
 * value), and each page encoded from them (`page-encoder.ts`, with parquetjs-lite's compression
 * and page header); parquetjs-lite's envelope writer lays out the row groups (column chunks and
 * their metadata); the footer is Sluice's own, since parquetjs-lite's cannot carry a decimal's
 * precision and scale.
 */

import parquetjs from 'parquetjs-lite';
import type { ParquetEnvelopeWriter, ParquetPageEntry } from 'parquetjs-lite';
import thrift from 'parquetjs-lite/gen-nodejs/parquet_types.js';
import parquetUtil from 'parquetjs-lite/lib/util.js';

import { ColumnShredder, ParquetValueError } from './column-shredder.js';
import { encodePage } from './page-encoder.js';
import {
  toParquetSchema,
  type ParquetCompression,
  type ParquetTableSchema,
} from './parquet-schema.js';
import type { Row, TableSchema } from './table-schema.js';

export { ParquetValueError } from './column-shredder.js';

/** ParquetSerDe's options (see the table above for which are honoured). */
export interface ParquetWriterOptions {
  /** Firehose's default is SNAPPY. */
  compression: ParquetCompression;
  /** The page size to aim at; default 1 MiB. */
  pageSizeBytes?: number;
  /** The row group size to aim at; default 256 MiB. */
  blockSizeBytes?: number;
  /** Accepted, not honoured: pages are PLAIN-encoded. */
  enableDictionaryCompression?: boolean;
  /** Accepted, not honoured: pages are V1. */
  writerVersion?: 'V1' | 'V2';
  /** Accepted, not honoured: no padding. */
  maxPaddingBytes?: number;
  /**
   * Called for a row that does not fit the schema (a {@link ParquetValueError}); the row is left
   * out and writing goes on. Without it, such a row fails the whole write.
   */
  onInvalidRow?: (row: Row, error: ParquetValueError) => void;
}

/** ParquetSerDe's default PageSizeBytes. */
export const DEFAULT_PAGE_SIZE_BYTES = 1024 * 1024;
/** ParquetSerDe's default BlockSizeBytes. */
export const DEFAULT_BLOCK_SIZE_BYTES = 256 * 1024 * 1024;
/** The most rows in a page (parquet-mr's `parquet.page.row.count.limit`). */
export const PAGE_ROW_LIMIT = 20_000;

/** The writer named in the file's `created_by` (in the form parquet-mr's version parser reads). */
const CREATED_BY = 'parquetjs-lite version 0.8.7 (build sluice)';
const MAGIC = 'PAR1';

/**
 * Writes `rows` as one Parquet file and yields its bytes, in pieces: the header, then each row
 * group as it ends, then the footer. A caller can upload the pieces as they come; with the default
 * 256 MiB BlockSizeBytes a Firehose-sized buffer is one row group, which comes at the end.
 *
 * @throws {ParquetSchemaError} (before the first piece) for a schema Parquet cannot hold.
 * @throws {ParquetValueError} for a row that does not fit the schema, unless
 *   `options.onInvalidRow` is given.
 */
export async function* writeParquet(
  table: TableSchema,
  rows: AsyncIterable<Row> | Iterable<Row>,
  options: ParquetWriterOptions,
): AsyncGenerator<Buffer, void, undefined> {
  const pieces: Buffer[] = [];
  const file = new FileWriter(table, options, (piece) => pieces.push(piece));
  yield* drain(pieces);
  // Rows of a plain iterable are taken without a promise each: for-await would make one per row.
  if (Symbol.iterator in rows) {
    for (const row of rows) {
      file.append(row);
      if (pieces.length > 0) yield* drain(pieces);
    }
  } else {
    for await (const row of rows) {
      file.append(row);
      if (pieces.length > 0) yield* drain(pieces);
    }
  }
  file.close();
  yield* drain(pieces);
}

/** {@link writeParquet}'s file in one buffer. */
export async function writeParquetToBuffer(
  table: TableSchema,
  rows: AsyncIterable<Row> | Iterable<Row>,
  options: ParquetWriterOptions,
): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of writeParquet(table, rows, options)) pieces.push(piece);
  return Buffer.concat(pieces);
}

/** One file being written: rows in, pieces of the file out through `emit`. */
class FileWriter {
  readonly #parquet: ParquetTableSchema;
  readonly #shredder: ColumnShredder;
  readonly #envelope: ParquetEnvelopeWriter;
  readonly #onInvalidRow: ParquetWriterOptions['onInvalidRow'];
  readonly #pageLimit: number;
  readonly #blockLimit: number;
  /** The row group's encoded pages, by leaf column path (as parquetjs-lite keys them). */
  #pages: Record<string, ParquetPageEntry[]> = {};
  #pageRows = 0;
  #groupRows = 0;
  /** PLAIN-encoded value bytes of the row group's pages before the open one. */
  #groupBytesBefore = 0;

  /** @throws {ParquetSchemaError} */
  constructor(table: TableSchema, options: ParquetWriterOptions, emit: (piece: Buffer) => void) {
    this.#pageLimit = positive(options.pageSizeBytes, DEFAULT_PAGE_SIZE_BYTES, 'pageSizeBytes');
    this.#blockLimit = positive(options.blockSizeBytes, DEFAULT_BLOCK_SIZE_BYTES, 'blockSizeBytes');
    this.#onInvalidRow = options.onInvalidRow;
    const parquet = toParquetSchema(table, { compression: options.compression });
    this.#parquet = parquet;
    this.#shredder = new ColumnShredder(table, parquet.schema);
    if (this.#shredder.leaves.length !== parquet.leafCount) {
      throw new Error('the Parquet schema does not match the table');
    }
    this.#envelope = new parquetjs.ParquetEnvelopeWriter(parquet.schema, emit, () => undefined, 0, {
      useDataPageV2: false,
      pageIndex: false,
    });
    this.#envelope.writeHeader();
  }

  /**
   * Adds `row` (or reports it to `onInvalidRow` and leaves it out), then ends the page and the
   * row group if they are full.
   *
   * @throws {ParquetValueError} without `onInvalidRow`.
   */
  append(row: Row): void {
    try {
      this.#shredder.shred(row);
    } catch (err) {
      if (err instanceof ParquetValueError && this.#onInvalidRow) {
        this.#onInvalidRow(row, err);
        return;
      }
      throw err;
    }
    this.#pageRows += 1;
    this.#groupRows += 1;
    let pageFull = this.#pageRows >= PAGE_ROW_LIMIT;
    let groupBytes = this.#groupBytesBefore;
    for (const leaf of this.#shredder.leaves) {
      const bytes = leaf.valueBytes;
      groupBytes += bytes;
      if (bytes >= this.#pageLimit) pageFull = true;
    }
    const groupFull = groupBytes >= this.#blockLimit;
    if (pageFull || groupFull) this.#endPage();
    if (groupFull) this.#endGroup();
  }

  /** Writes the last row group and the footer. */
  close(): void {
    if (this.#pageRows > 0) this.#endPage();
    if (this.#groupRows > 0) this.#endGroup();
    const envelope = this.#envelope;
    envelope.writeSection(encodeFooter(this.#parquet, envelope.rowCount, envelope.rowGroups));
  }

  #endPage(): void {
    const firstRowIndex = this.#groupRows - this.#pageRows;
    for (const leaf of this.#shredder.leaves) {
      const key = leaf.field.path.join(',');
      const page = encodePage(leaf, firstRowIndex);
      (this.#pages[key] ??= []).push(page);
      this.#groupBytesBefore += leaf.valueBytes;
      leaf.reset();
    }
    this.#pageRows = 0;
  }

  #endGroup(): void {
    try {
      this.#envelope.writeRowGroup({ rowCount: this.#groupRows, pages: this.#pages });
    } catch (err) {
      throw asError(err);
    }
    this.#pages = {};
    this.#groupRows = 0;
    this.#groupBytesBefore = 0;
  }
}

function* drain(pieces: Buffer[]): Generator<Buffer> {
  while (pieces.length > 0) yield pieces.shift() as Buffer;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(value > 0)) throw new RangeError(`${name} must be positive, not ${value}`);
  return value;
}

/** parquetjs-lite throws strings; an Error keeps the stack. */
function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(`parquetjs-lite: ${String(err)}`);
}

/**
 * The footer: FileMetaData with the schema of {@link ParquetTableSchema.elements} (which carries
 * the converted types, and a decimal's precision and scale, that parquetjs-lite's own footer
 * leaves out) and the row groups parquetjs-lite wrote.
 */
function encodeFooter(
  parquet: ParquetTableSchema,
  rowCount: number,
  rowGroups: ParquetEnvelopeWriter['rowGroups'],
): Buffer {
  const stringColumns = new Set<number>();
  let leaf = 0;
  for (const element of parquet.elements) {
    if (element.type === undefined) continue;
    if (element.convertedType === 'UTF8') stringColumns.add(leaf);
    leaf += 1;
  }
  // parquetjs-lite also sets the deprecated min/max, which were defined with signed byte order:
  // a reader that still takes them would misread UTF8's (unsigned) ones; min_value/max_value stay.
  // parquetjs-lite counts the distinct values of the pages' sets, which Sluice leaves empty.
  for (const group of rowGroups) {
    group.columns.forEach((column, i) => {
      const statistics = column.meta_data.statistics;
      if (!statistics) return;
      statistics.distinct_count = null;
      if (stringColumns.has(i)) {
        statistics.min = null;
        statistics.max = null;
      }
    });
  }

  const schema = [
    new thrift.SchemaElement({ name: 'schema', num_children: parquet.rootChildren }),
    ...parquet.elements.map(
      (element) =>
        new thrift.SchemaElement({
          name: element.name,
          repetition_type: thrift.FieldRepetitionType[element.repetition],
          type: element.type === undefined ? undefined : thrift.Type[element.type],
          type_length: element.typeLength,
          num_children: element.numChildren,
          converted_type:
            element.convertedType === undefined
              ? undefined
              : thrift.ConvertedType[element.convertedType],
          precision: element.precision,
          scale: element.scale,
        }),
    ),
  ];
  const metadata = new thrift.FileMetaData({
    version: 1,
    schema,
    num_rows: rowCount,
    row_groups: rowGroups,
    created_by: CREATED_BY,
    // Type-defined order for every column: without it parquet-mr (Spark, Hive) and Arrow ignore
    // min_value/max_value and take only the deprecated min/max.
    column_orders: Array.from(
      { length: leaf },
      () => new thrift.ColumnOrder({ TYPE_ORDER: new thrift.TypeDefinedOrder() }),
    ),
  });
  const body = parquetUtil.serializeThrift(metadata);
  const footer = Buffer.alloc(body.length + 8);
  body.copy(footer);
  footer.writeUInt32LE(body.length, body.length);
  footer.write(MAGIC, body.length + 4, 'latin1');
  return footer;
}
