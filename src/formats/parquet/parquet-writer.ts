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
 * (1) parquetjs-lite cuts pages by rows, for all columns at once. A page ends after the row with
 * which some column's page reaches PageSizeBytes of PLAIN-encoded values (repetition and
 * definition levels not counted), or after 20,000 rows (parquet-mr's page row count limit).
 *
 * (2) A row group ends after the row with which the row group's PLAIN-encoded values reach
 * BlockSizeBytes: the uncompressed size, so a compressed row group is smaller on disk. A row group
 * is held in memory (as parquetjs-lite's shredded values, several times its size) until it ends.
 *
 * (3) Data pages are always V1: parquetjs-lite's V2 pages state a wrong row count for repeated
 * columns, and parquet-mr's V2 also means encodings parquetjs-lite does not have.
 *
 * The minimums Firehose enforces (PageSizeBytes ≥ 64 KiB, BlockSizeBytes ≥ 64 MiB) are the API's
 * to check; the writer takes any positive size.
 *
 * Also: min/max statistics are written for every column but float and double (see
 * `parquet-schema.ts`); no page index (ColumnIndex/OffsetIndex) is written, as parquetjs-lite's
 * lacks required fields. The footer is Sluice's own, since parquetjs-lite's cannot carry a
 * decimal's precision and scale.
 */

import parquetjs from 'parquetjs-lite';
import type { ParquetEnvelopeWriter } from 'parquetjs-lite';
import thrift from 'parquetjs-lite/gen-nodejs/parquet_types.js';
import parquetUtil from 'parquetjs-lite/lib/util.js';

import {
  decimalByteLength,
  toParquetSchema,
  type ParquetCompression,
  type ParquetTableSchema,
} from './parquet-schema.js';
import type { ColumnType, Row, RowValue, TableSchema } from './table-schema.js';

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

/** A value that does not fit its column's type. */
export class ParquetValueError extends Error {
  override name = 'ParquetValueError';
}

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
  const pageLimit = positive(options.pageSizeBytes, DEFAULT_PAGE_SIZE_BYTES, 'pageSizeBytes');
  const blockLimit = positive(options.blockSizeBytes, DEFAULT_BLOCK_SIZE_BYTES, 'blockSizeBytes');
  const parquet = toParquetSchema(table, { compression: options.compression });
  const encoder = new RowEncoder(table, parquet.leafCount);

  const pieces: Buffer[] = [];
  const envelope = new parquetjs.ParquetEnvelopeWriter(
    parquet.schema,
    (buf) => pieces.push(buf),
    () => undefined,
    0,
    { pageSize: Infinity, useDataPageV2: false, pageIndex: false },
  );
  envelope.writeFooter = () =>
    envelope.writeSection(encodeFooter(parquet, envelope.rowCount, envelope.rowGroups));
  const writer = new parquetjs.ParquetWriter(parquet.schema, envelope, { rowGroupSize: Infinity });
  yield* drain(pieces);

  // What the open page (per leaf column) and row group hold, by the estimate.
  const pageBytes = new Float64Array(parquet.leafCount);
  let pageRows = 0;
  let groupBytes = 0;

  for await (const row of rows) {
    let record: Record<string, unknown>;
    try {
      record = encoder.encode(row);
    } catch (err) {
      if (err instanceof ParquetValueError && options.onInvalidRow) {
        options.onInvalidRow(row, err);
        continue;
      }
      throw err;
    }

    let pageFull = (pageRows += 1) >= PAGE_ROW_LIMIT;
    for (let i = 0; i < pageBytes.length; i += 1) {
      const bytes = encoder.sizes[i] ?? 0;
      groupBytes += bytes;
      if ((pageBytes[i] = (pageBytes[i] ?? 0) + bytes) >= pageLimit) pageFull = true;
    }
    const groupFull = groupBytes >= blockLimit;
    // parquetjs-lite ends the page (row group) once the rows since the last one reach the page
    // (row group) size, checked after each row: 1 ends it with this row.
    envelope.setPageSize(pageFull ? 1 : Infinity);
    writer.setRowGroupSize(groupFull ? 1 : Infinity);
    try {
      await writer.appendRow(record);
    } catch (err) {
      throw asError(err);
    }
    if (pageFull || groupFull) {
      pageBytes.fill(0);
      pageRows = 0;
    }
    if (groupFull) groupBytes = 0;
    yield* drain(pieces);
  }

  try {
    await writer.close();
  } catch (err) {
    throw asError(err);
  }
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
  for (const group of rowGroups) {
    group.columns.forEach((column, i) => {
      const statistics = column.meta_data.statistics;
      if (stringColumns.has(i) && statistics) {
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

/** Makes a value of a column into what the writer puts in a parquetjs-lite record. */
type Encode = (value: RowValue, sizes: Float64Array) => unknown;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Turns rows into parquetjs-lite records, checking every value against its column's type, and
 * adds each leaf value's PLAIN-encoded size to {@link RowEncoder.sizes}.
 *
 * A record has the raw values `parquet-schema.ts`'s `SLUICE_*` types take, an array as
 * `{ list: [{ element }] }` and a map as `{ key_value: [{ key, value }] }`.
 */
class RowEncoder {
  /** The last row's PLAIN-encoded bytes, by leaf column. */
  readonly sizes: Float64Array;
  private readonly columns: { name: string; encode: Encode }[];

  constructor(table: TableSchema, leafCount: number) {
    this.sizes = new Float64Array(leafCount);
    let leaf = 0;
    const nextLeaf = (): number => leaf++;
    this.columns = table.columns.map((column) => ({
      name: column.name,
      encode: compile(column.type, column.name, nextLeaf),
    }));
    if (leaf !== leafCount) throw new Error('the Parquet schema does not match the table');
  }

  /** @throws {ParquetValueError} */
  encode(row: Row): Record<string, unknown> {
    this.sizes.fill(0);
    const record: Record<string, unknown> = {};
    for (const { name, encode } of this.columns) {
      record[name] = encode(field(row, name), this.sizes);
    }
    return record;
  }
}

/** A field of a row or struct value: its own property only (not "constructor" of Object). */
function field(object: { readonly [name: string]: RowValue }, name: string): RowValue {
  return Object.hasOwn(object, name) ? (object[name] ?? null) : null;
}

function describe(value: RowValue): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

function compile(type: ColumnType, path: string, nextLeaf: () => number): Encode {
  const fail = (value: RowValue, expected: string): never => {
    throw new ParquetValueError(`column "${path}": expected ${expected}, got ${describe(value)}`);
  };
  const nullable =
    (encode: Encode): Encode =>
    (value, sizes) =>
      value === null ? null : encode(value, sizes);

  switch (type.kind) {
    case 'string': {
      const leaf = nextLeaf();
      return nullable((value, sizes) => {
        if (typeof value !== 'string') return fail(value, 'a string');
        const bytes = Buffer.from(value, 'utf8');
        sizes[leaf] = (sizes[leaf] ?? 0) + 4 + bytes.length;
        return bytes.toString('latin1');
      });
    }
    case 'int':
    case 'date': {
      const leaf = nextLeaf();
      const what = type.kind === 'int' ? 'a 32-bit integer' : 'a day number (32-bit integer)';
      return nullable((value, sizes) => {
        if (typeof value !== 'number' || !Number.isInteger(value)) return fail(value, what);
        if (value < INT32_MIN || value > INT32_MAX) return fail(value, what);
        sizes[leaf] = (sizes[leaf] ?? 0) + 4;
        return value;
      });
    }
    case 'bigint': {
      const leaf = nextLeaf();
      return nullable((value, sizes) => {
        if (typeof value !== 'bigint' || BigInt.asIntN(64, value) !== value) {
          return fail(value, 'a 64-bit bigint');
        }
        sizes[leaf] = (sizes[leaf] ?? 0) + 8;
        return value;
      });
    }
    case 'double':
    case 'float': {
      const leaf = nextLeaf();
      const width = type.kind === 'double' ? 8 : 4;
      return nullable((value, sizes) => {
        if (typeof value !== 'number') return fail(value, 'a number');
        sizes[leaf] = (sizes[leaf] ?? 0) + width;
        return value;
      });
    }
    case 'boolean': {
      const leaf = nextLeaf();
      return nullable((value, sizes) => {
        if (typeof value !== 'boolean') return fail(value, 'a boolean');
        sizes[leaf] = (sizes[leaf] ?? 0) + 0.125;
        return value;
      });
    }
    case 'timestamp': {
      const leaf = nextLeaf();
      return nullable((value, sizes) => {
        if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
          return fail(value, 'epoch milliseconds (an integer)');
        }
        sizes[leaf] = (sizes[leaf] ?? 0) + 8;
        return value;
      });
    }
    case 'decimal': {
      const leaf = nextLeaf();
      const limit = 10n ** BigInt(type.precision);
      const width = decimalByteLength(type.precision);
      const what = `an unscaled bigint of at most ${type.precision} digits`;
      return nullable((value, sizes) => {
        if (typeof value !== 'bigint' || value >= limit || value <= -limit)
          return fail(value, what);
        sizes[leaf] = (sizes[leaf] ?? 0) + width;
        return value;
      });
    }
    case 'array': {
      const element = compile(type.element, `${path}[]`, nextLeaf);
      return nullable((value, sizes) => {
        if (!Array.isArray(value)) return fail(value, 'an array');
        return {
          list: (value as readonly RowValue[]).map((v) => ({ element: element(v, sizes) })),
        };
      });
    }
    case 'struct': {
      const fields = type.fields.map((f) => ({
        name: f.name,
        encode: compile(f.type, `${path}.${f.name}`, nextLeaf),
      }));
      return nullable((value, sizes) => {
        if (typeof value !== 'object' || Array.isArray(value)) return fail(value, 'an object');
        const struct = value as { readonly [name: string]: RowValue };
        const record: Record<string, unknown> = {};
        for (const f of fields) record[f.name] = f.encode(field(struct, f.name), sizes);
        return record;
      });
    }
    case 'map': {
      const key = compile(type.key, `${path}{key}`, nextLeaf);
      const mapValue = compile(type.value, `${path}{value}`, nextLeaf);
      return nullable((value, sizes) => {
        if (!Array.isArray(value)) return fail(value, 'an array of [key, value] pairs');
        const pairs = value as readonly RowValue[];
        return {
          key_value: pairs.map((pair) => {
            if (!Array.isArray(pair) || pair.length !== 2) {
              return fail(pair, 'a [key, value] pair');
            }
            const [k, v] = pair as unknown as readonly [RowValue, RowValue];
            if (k === null) {
              throw new ParquetValueError(`column "${path}{key}": a map key cannot be null`);
            }
            return { key: key(k, sizes), value: mapValue(v, sizes) };
          }),
        };
      });
    }
  }
}
