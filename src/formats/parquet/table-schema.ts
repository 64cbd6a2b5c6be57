/**
 * A table's columns, as the local table catalog describes them (Glue's column types), and the
 * row values conversion makes of a JSON record for them. The catalog parses type strings into
 * {@link ColumnType}; the converter makes {@link RowValue}s; the Parquet writer writes them.
 */

/** A Glue column type. */
export type ColumnType =
  | { kind: 'string' }
  | { kind: 'int' }
  | { kind: 'bigint' }
  | { kind: 'double' }
  | { kind: 'float' }
  | { kind: 'boolean' }
  | { kind: 'timestamp' }
  | { kind: 'date' }
  | { kind: 'decimal'; precision: number; scale: number }
  | { kind: 'array'; element: ColumnType }
  | { kind: 'struct'; fields: readonly Column[] }
  | { kind: 'map'; key: ColumnType; value: ColumnType };

/** A column (or a struct's field): its name, lower case as Glue keeps it, and its type. */
export interface Column {
  name: string;
  type: ColumnType;
}

/** A table of the catalog. */
export interface TableSchema {
  columns: readonly Column[];
}

/**
 * A converted value, by column type. Every column and field may be null (Glue columns are
 * nullable):
 *
 * - string: `string`; int: `number` (32-bit); bigint: `bigint` (64-bit); double, float: `number`;
 *   boolean: `boolean`;
 * - timestamp: `number`, milliseconds since the epoch (UTC);
 * - date: `number`, days since 1970-01-01;
 * - decimal(p, s): `bigint`, the unscaled value (123.45 in decimal(5,2) is 12345n);
 * - array: an array of its element's values; struct: an object keyed by field name;
 * - map: an array of `[key, value]` pairs (keys are never null).
 */
export type RowValue =
  | null
  | string
  | number
  | bigint
  | boolean
  | readonly RowValue[]
  | readonly (readonly [RowValue, RowValue])[]
  | { readonly [field: string]: RowValue };

/** A converted record: a value (or null) for every column, by column name. */
export type Row = Record<string, RowValue>;
