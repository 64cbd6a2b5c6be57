import { parseDefaultTimestamp } from './timestamp-parsing.js';
import type { Column, ColumnType, TableSchema } from './table-schema.js';

/**
 * A table proposed from sample records (`sluice catalog infer`): every key seen becomes a
 * column, typed by every value seen for it. Firehose has no inference (its users hand-write
 * Glue tables); the proposal is a start to edit, and says where it had to guess.
 *
 * Types, widened as values disagree: whole numbers are `int`, or `bigint` beyond 32 bits, and
 * `double` once a fraction is seen; strings are `timestamp` or `date` when every one reads as
 * such, else `string`; objects are `struct`s of every field seen; arrays are `array`s of their
 * elements' type. Values of different kinds (a number here, a string there) make `string`, and
 * a key only ever null or in empty arrays is `string` too.
 */

/** A type being inferred: `unknown` until a value other than null is seen. */
type Inferred =
  | { kind: 'unknown' }
  | { kind: 'int' | 'bigint' | 'double' | 'boolean' | 'timestamp' | 'date' | 'string' }
  | { kind: 'array'; element: Inferred }
  | { kind: 'struct'; fields: Map<string, Inferred> };

/** A proposed table, and what the user should look at. */
export interface InferredTable {
  table: TableSchema;
  /** Records read (objects), and lines or values that were not JSON objects. */
  records: number;
  skipped: number;
  /** Keys renamed to be column names: the OpenX SerDe's ColumnToJsonKeyMappings for them. */
  mappings: Record<string, string>;
  /** Where the proposal guessed: a column name and why. */
  notes: string[];
}

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const UNKNOWN: Inferred = { kind: 'unknown' };

function inferValue(value: unknown): Inferred {
  if (value === null || value === undefined) return UNKNOWN;
  switch (typeof value) {
    case 'boolean':
      return { kind: 'boolean' };
    case 'number':
      if (!Number.isInteger(value)) return { kind: 'double' };
      return { kind: value < INT32_MIN || value > INT32_MAX ? 'bigint' : 'int' };
    case 'string':
      if (DATE.test(value)) return { kind: 'date' };
      return { kind: parseDefaultTimestamp(value) === undefined ? 'string' : 'timestamp' };
    case 'object': {
      if (Array.isArray(value)) {
        return { kind: 'array', element: value.map(inferValue).reduce(merge, UNKNOWN) };
      }
      const fields = new Map<string, Inferred>();
      for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
        const name = key.toLowerCase();
        fields.set(name, merge(fields.get(name) ?? UNKNOWN, inferValue(field)));
      }
      return { kind: 'struct', fields };
    }
    default:
      return { kind: 'string' };
  }
}

const NUMERIC = ['int', 'bigint', 'double'];

/** The narrowest type both `a`'s and `b`'s values fit. */
function merge(a: Inferred, b: Inferred): Inferred {
  if (a.kind === 'unknown') return b;
  if (b.kind === 'unknown') return a;
  if (a.kind === 'struct' && b.kind === 'struct') {
    const fields = new Map(a.fields);
    for (const [name, type] of b.fields) fields.set(name, merge(fields.get(name) ?? UNKNOWN, type));
    return { kind: 'struct', fields };
  }
  if (a.kind === 'array' && b.kind === 'array') {
    return { kind: 'array', element: merge(a.element, b.element) };
  }
  if (a.kind === b.kind) return a;
  if (NUMERIC.includes(a.kind) && NUMERIC.includes(b.kind)) {
    return {
      kind: NUMERIC[Math.max(NUMERIC.indexOf(a.kind), NUMERIC.indexOf(b.kind))] as 'double',
    };
  }
  // Dates and timestamps mixed with each other or other strings, or kinds that disagree.
  return { kind: 'string' };
}

/** A column name for a key: lower case, anything but letters, digits and `_` made `_`. */
function columnNameOf(key: string): string {
  const name = key.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return /^[a-z_]/.test(name) ? name : `_${name}`;
}

function finish(type: Inferred, path: string, notes: string[]): ColumnType {
  switch (type.kind) {
    case 'unknown':
      notes.push(`${path}: only null or empty values were seen; it is proposed as string`);
      return { kind: 'string' };
    case 'array':
      return { kind: 'array', element: finish(type.element, `${path}[]`, notes) };
    case 'struct': {
      const fields: Column[] = [];
      for (const [name, field] of type.fields) {
        const column = columnNameOf(name);
        if (column !== name) {
          notes.push(
            `${path}.${name}: not a field name Glue takes; proposed as ${column}, which the record's key will not match`,
          );
        }
        fields.push({ name: column, type: finish(field, `${path}.${column}`, notes) });
      }
      if (fields.length === 0) {
        notes.push(`${path}: only empty objects were seen; it is proposed as string`);
        return { kind: 'string' };
      }
      return { kind: 'struct', fields };
    }
    default:
      return { kind: type.kind };
  }
}

/** A table for `values` (parsed JSON; anything but an object is skipped). */
export function inferTable(values: readonly unknown[]): InferredTable {
  const top = new Map<string, { key: string; type: Inferred }>();
  let records = 0;
  let skipped = 0;
  for (const value of values) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      skipped += 1;
      continue;
    }
    records += 1;
    for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
      const name = columnNameOf(key);
      const seen = top.get(name);
      top.set(name, {
        key: seen?.key ?? key,
        type: merge(seen?.type ?? UNKNOWN, inferValue(field)),
      });
    }
  }
  const notes: string[] = [];
  const mappings: Record<string, string> = {};
  const columns: Column[] = [];
  for (const [name, { key, type }] of top) {
    if (name !== key.toLowerCase()) mappings[name] = key;
    columns.push({ name, type: finish(type, name, notes) });
  }
  return { table: { columns }, records, skipped, mappings, notes };
}
