/**
 * A table's Glue columns as a Parquet schema, for parquetjs-lite's writer, and the footer's
 * schema elements for it.
 *
 * | Glue type      | Parquet (every column and field optional)                                    |
 * | -------------- | ---------------------------------------------------------------------------- |
 * | string         | BYTE_ARRAY (UTF8)                                                            |
 * | int            | INT32                                                                        |
 * | bigint         | INT64                                                                        |
 * | double / float | DOUBLE / FLOAT                                                               |
 * | boolean        | BOOLEAN                                                                      |
 * | timestamp      | INT64 (TIMESTAMP_MILLIS)                                                     |
 * | date           | INT32 (DATE)                                                                 |
 * | decimal(p,s)   | FIXED_LEN_BYTE_ARRAY(n) (DECIMAL, precision p, scale s), n as Hive sizes it  |
 * | array<T>       | group (LIST) { repeated group list { optional T element } }                  |
 * | struct<...>    | group { optional field... }                                                  |
 * | map<K,V>       | group (MAP) { repeated group key_value { required K key; optional V value } } |
 *
 * Timestamps: Firehose (Hive's Parquet SerDe) writes INT96, but parquetjs-lite's INT96 codec
 * writes a sign-extended 64-bit integer, not INT96's nanoseconds-of-day + Julian day, so it
 * cannot write an INT96 timestamp; INT64 TIMESTAMP_MILLIS holds Glue's millisecond timestamps
 * exactly and every current reader (Athena/Trino, Spark, DuckDB, Arrow) reads it as a timestamp.
 *
 * Decimals: fixed-length two's complement big-endian, of the fewest bytes that hold p digits
 * (Hive's `PRECISION_TO_BYTE_COUNT`, what Firehose writes), for every precision.
 *
 * parquetjs-lite knows no DECIMAL and writes no scale or precision, and its own value conversions
 * lose precision (INT64 through `parseInt`) or refuse valid values (dates and timestamps before
 * 1970, NaN). So the leaves use logical types of Sluice's own (`SLUICE_*`), added to
 * parquetjs-lite's type table, whose conversions are exact; the footer's schema (converted type,
 * scale, precision) is written by Sluice from {@link ParquetTableSchema.elements}
 * (`parquet-writer.ts`).
 */

import parquetjs from 'parquetjs-lite';
import type { ParquetFieldDefinition, ParquetPrimitiveType, ParquetSchema } from 'parquetjs-lite';
import parquetTypes from 'parquetjs-lite/lib/types.js';

import type { Column, ColumnType, TableSchema } from './table-schema.js';

/** A compression codec of ParquetSerDe. */
export type ParquetCompression = 'UNCOMPRESSED' | 'GZIP' | 'SNAPPY';

/** A Parquet converted type that Sluice writes. */
export type ParquetConvertedType =
  'UTF8' | 'DATE' | 'TIMESTAMP_MILLIS' | 'DECIMAL' | 'LIST' | 'MAP';

/** A SchemaElement of the file's footer (the root excepted). */
export interface ParquetSchemaElement {
  name: string;
  repetition: 'REQUIRED' | 'OPTIONAL' | 'REPEATED';
  /** The physical type; absent on a group. */
  type?: ParquetPrimitiveType;
  typeLength?: number;
  convertedType?: ParquetConvertedType;
  precision?: number;
  scale?: number;
  /** The number of children; on a group only. */
  numChildren?: number;
}

/** A table's Parquet schema. */
export interface ParquetTableSchema {
  /** parquetjs-lite's schema, for its writer. */
  schema: ParquetSchema;
  /** The footer's schema elements after the root, in the order of `schema.fieldList`. */
  elements: readonly ParquetSchemaElement[];
  /** The root's number of children (the table's columns). */
  rootChildren: number;
  /** The number of leaf (primitive) columns. */
  leafCount: number;
}

/** A table schema that cannot be written as Parquet. */
export class ParquetSchemaError extends Error {
  override name = 'ParquetSchemaError';
}

/**
 * The largest decimal precision: Glue's and Hive's (and the widest a 16-byte FIXED_LEN_BYTE_ARRAY
 * holds).
 */
export const MAX_DECIMAL_PRECISION = 38;

/**
 * The bytes of a decimal(precision) FIXED_LEN_BYTE_ARRAY: the fewest n with
 * 10^precision ≤ 2^(8n−1), so that every unscaled value of `precision` digits fits in n bytes of
 * two's complement.
 */
export function decimalByteLength(precision: number): number {
  const limit = 10n ** BigInt(precision);
  let n = 1;
  while (1n << BigInt(8 * n - 1) < limit) n += 1;
  return n;
}

/**
 * Sluice's leaf types, added to parquetjs-lite's logical type table. Each says what a leaf
 * column's "raw" value is — what `column-shredder.ts` keeps, and what the page statistics handed
 * to parquetjs-lite's row-group writer hold, which it orders for the column chunk's min/max — and
 * turns it into the physical value (for the statistics' encoding; `page-encoder.ts` writes the
 * pages' values itself, the same way):
 *
 * - `SLUICE_UTF8`: the UTF-8 bytes as a latin1 string (one char per byte), so that JavaScript's
 *   string order is the unsigned byte order Parquet's UTF8 statistics are defined by (UTF-16
 *   order differs for characters past U+FFFF against U+E000–U+FFFF); only a page's min and max
 *   take this form, the column keeps its strings' UTF-8 bytes;
 * - `SLUICE_INT32` (int, date), `SLUICE_FLOAT`, `SLUICE_DOUBLE`: the number;
 * - `SLUICE_INT64`: the bigint;
 * - `SLUICE_TIMESTAMP_MILLIS`: the milliseconds as a number (the physical value is a bigint);
 * - `SLUICE_DECIMAL_<n>`: the unscaled bigint (the physical value is n bytes of big-endian two's
 *   complement).
 */
export const SLUICE_TYPES = {
  utf8: 'SLUICE_UTF8',
  int32: 'SLUICE_INT32',
  int64: 'SLUICE_INT64',
  float: 'SLUICE_FLOAT',
  double: 'SLUICE_DOUBLE',
  timestampMillis: 'SLUICE_TIMESTAMP_MILLIS',
} as const;

/** The name of the `SLUICE_DECIMAL_<n>` type of a decimal of `byteLength` bytes. */
function decimalTypeName(byteLength: number): string {
  return `SLUICE_DECIMAL_${byteLength}`;
}

/** n bytes of big-endian two's complement of `value` (which the writer checked fits). */
function twosComplement(value: bigint, byteLength: number): Buffer {
  const buf = Buffer.alloc(byteLength);
  let v = BigInt.asUintN(byteLength * 8, value);
  for (let i = byteLength - 1; i >= 0; i -= 1) {
    buf[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return buf;
}

/**
 * Adds Sluice's types to parquetjs-lite's type table (once). The table is parquetjs-lite's own
 * extension point: its schema looks a field's type up there and its statistics encoding converts
 * values with the entry's `toPrimitive`. Only new `SLUICE_*` keys are added; parquetjs-lite's own
 * types are left as they are.
 */
function registerSluiceTypes(): void {
  const table = parquetTypes.PARQUET_LOGICAL_TYPES;
  if (SLUICE_TYPES.utf8 in table) return;
  const identity = (value: never): unknown => value;
  table[SLUICE_TYPES.utf8] = {
    primitiveType: 'BYTE_ARRAY',
    originalType: SLUICE_TYPES.utf8,
    toPrimitive: (value: string) => Buffer.from(value, 'latin1'),
  };
  table[SLUICE_TYPES.int32] = {
    primitiveType: 'INT32',
    originalType: SLUICE_TYPES.int32,
    toPrimitive: identity,
  };
  table[SLUICE_TYPES.int64] = {
    primitiveType: 'INT64',
    originalType: SLUICE_TYPES.int64,
    toPrimitive: identity,
  };
  table[SLUICE_TYPES.float] = {
    primitiveType: 'FLOAT',
    originalType: SLUICE_TYPES.float,
    toPrimitive: identity,
  };
  table[SLUICE_TYPES.double] = {
    primitiveType: 'DOUBLE',
    originalType: SLUICE_TYPES.double,
    toPrimitive: identity,
  };
  table[SLUICE_TYPES.timestampMillis] = {
    primitiveType: 'INT64',
    originalType: SLUICE_TYPES.timestampMillis,
    toPrimitive: (value: number) => BigInt(value),
  };
  for (let n = 1; n <= decimalByteLength(MAX_DECIMAL_PRECISION); n += 1) {
    table[decimalTypeName(n)] = {
      primitiveType: 'FIXED_LEN_BYTE_ARRAY',
      originalType: decimalTypeName(n),
      typeLength: n,
      toPrimitive: (value: bigint) => twosComplement(value, n),
    };
  }
}

/** What a leaf or group is in the footer, beyond what parquetjs-lite's field knows. */
interface Annotation {
  convertedType?: ParquetConvertedType;
  precision?: number;
  scale?: number;
}

/** Builds parquetjs-lite's field definitions, and the footer annotations by path. */
class DefinitionBuilder {
  readonly annotations = new Map<string, Annotation>();
  leafCount = 0;

  constructor(private readonly compression: ParquetCompression) {}

  fields(
    columns: readonly Column[],
    path: readonly string[],
  ): Record<string, ParquetFieldDefinition> {
    const out: Record<string, ParquetFieldDefinition> = {};
    for (const column of columns) {
      const where = [...path, column.name].join('.');
      if (column.name === '')
        throw new ParquetSchemaError(`a column of "${path.join('.')}" has no name`);
      // parquetjs-lite keeps fields in plain objects, where this name sets the prototype.
      if (column.name === '__proto__') {
        throw new ParquetSchemaError(`column "${where}": the name __proto__ cannot be written`);
      }
      if (Object.hasOwn(out, column.name)) {
        throw new ParquetSchemaError(`column "${where}" is defined twice`);
      }
      out[column.name] = this.field(column.type, [...path, column.name], 'OPTIONAL');
    }
    return out;
  }

  private field(
    type: ColumnType,
    path: readonly string[],
    repetition: 'REQUIRED' | 'OPTIONAL',
  ): ParquetFieldDefinition {
    const optional = repetition === 'OPTIONAL';
    const annotate = (annotation: Annotation): void => {
      this.annotations.set(pathKey(path), annotation);
    };
    const leaf = (
      parquetType: string,
      annotation: Annotation = {},
      statistics = true,
    ): ParquetFieldDefinition => {
      this.leafCount += 1;
      annotate(annotation);
      return {
        type: parquetType,
        optional,
        encoding: 'PLAIN',
        compression: this.compression,
        ...(statistics ? {} : { statistics: false }),
      };
    };
    switch (type.kind) {
      case 'string':
        return leaf(SLUICE_TYPES.utf8, { convertedType: 'UTF8' });
      case 'int':
        return leaf(SLUICE_TYPES.int32);
      case 'bigint':
        return leaf(SLUICE_TYPES.int64);
      // No min/max for floating point: parquetjs-lite would order NaN into them, and Parquet
      // wants NaN left out and -0/+0 widened, which it cannot be told.
      case 'double':
        return leaf(SLUICE_TYPES.double, {}, false);
      case 'float':
        return leaf(SLUICE_TYPES.float, {}, false);
      case 'boolean':
        return leaf('BOOLEAN');
      case 'timestamp':
        return leaf(SLUICE_TYPES.timestampMillis, { convertedType: 'TIMESTAMP_MILLIS' });
      case 'date':
        return leaf(SLUICE_TYPES.int32, { convertedType: 'DATE' });
      case 'decimal': {
        const { precision, scale } = type;
        if (!Number.isInteger(precision) || precision < 1 || precision > MAX_DECIMAL_PRECISION) {
          throw new ParquetSchemaError(
            `column "${path.join('.')}": decimal precision ${precision} is not 1 to ${MAX_DECIMAL_PRECISION}`,
          );
        }
        if (!Number.isInteger(scale) || scale < 0 || scale > precision) {
          throw new ParquetSchemaError(
            `column "${path.join('.')}": decimal scale ${scale} is not 0 to ${precision}`,
          );
        }
        return leaf(decimalTypeName(decimalByteLength(precision)), {
          convertedType: 'DECIMAL',
          precision,
          scale,
        });
      }
      case 'array':
        annotate({ convertedType: 'LIST' });
        this.annotations.set(pathKey([...path, 'list']), {});
        return {
          type: 'LIST',
          optional,
          fields: {
            list: {
              repeated: true,
              fields: {
                element: this.field(type.element, [...path, 'list', 'element'], 'OPTIONAL'),
              },
            },
          },
        };
      case 'struct':
        if (type.fields.length === 0) {
          throw new ParquetSchemaError(`column "${path.join('.')}": a struct needs a field`);
        }
        annotate({});
        return { optional, fields: this.fields(type.fields, path) };
      case 'map':
        annotate({ convertedType: 'MAP' });
        this.annotations.set(pathKey([...path, 'key_value']), {});
        return {
          type: 'MAP',
          optional,
          fields: {
            key_value: {
              repeated: true,
              fields: {
                key: this.field(type.key, [...path, 'key_value', 'key'], 'REQUIRED'),
                value: this.field(type.value, [...path, 'key_value', 'value'], 'OPTIONAL'),
              },
            },
          },
        };
    }
  }
}

function pathKey(path: readonly string[]): string {
  return JSON.stringify(path);
}

/**
 * A table's Parquet schema: parquetjs-lite's, with `compression` on every column, and the
 * footer's schema elements.
 *
 * @throws {ParquetSchemaError} for a table that Parquet or parquetjs-lite cannot hold: no columns,
 *   an empty struct, a decimal out of 1 ≤ s ≤ p ≤ 38, a name that is empty, repeated or
 *   `__proto__`, or names whose paths parquetjs-lite would confuse (it keys columns by their path
 *   joined with commas).
 */
export function toParquetSchema(
  table: TableSchema,
  options: { compression: ParquetCompression },
): ParquetTableSchema {
  registerSluiceTypes();
  if (table.columns.length === 0) throw new ParquetSchemaError('a table needs a column');
  const builder = new DefinitionBuilder(options.compression);
  const schema = new parquetjs.ParquetSchema(builder.fields(table.columns, []));

  const seen = new Set<string>();
  const elements = schema.fieldList.map((field): ParquetSchemaElement => {
    const commaKey = field.path.join(',');
    if (seen.has(commaKey)) {
      throw new ParquetSchemaError(
        `column "${field.path.join('.')}": another column has the same path`,
      );
    }
    seen.add(commaKey);
    const annotation = builder.annotations.get(pathKey(field.path)) ?? {};
    const element: ParquetSchemaElement = { name: field.name, repetition: field.repetitionType };
    if (field.isNested) {
      element.numChildren = field.fieldCount ?? 0;
    } else {
      element.type = field.primitiveType;
      if (field.primitiveType === 'FIXED_LEN_BYTE_ARRAY') element.typeLength = field.typeLength;
    }
    return { ...element, ...annotation };
  });
  if (schema.fieldList.length !== builder.annotations.size) {
    throw new ParquetSchemaError('the Parquet schema does not match the table');
  }
  return {
    schema,
    elements,
    rootChildren: table.columns.length,
    leafCount: builder.leafCount,
  };
}
