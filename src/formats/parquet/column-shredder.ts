/**
 * Rows ({@link Row}) shredded into Parquet's columns — per leaf column, the repetition and
 * definition levels and the values (Dremel's record shredding) — by writers compiled once per
 * table, checking every value against its column's type on the way.
 *
 * This replaces parquetjs-lite's `shredRecord`, which walks its schema generically for every
 * row and allocates a `Set` and three arrays per column per row: here a row costs a few stores
 * per value into typed arrays and one array per leaf column. The columns are the same: the
 * levels follow parquetjs-lite's schema (`dLevelMax` / `rLevelMax` of its fields), a value is
 * kept in the raw form of its `SLUICE_*` type (`parquet-schema.ts`), and strings are written as
 * PLAIN BYTE_ARRAY bytes at once, with no latin1 round trip.
 */

import type { ParquetField, ParquetSchema } from 'parquetjs-lite';

import type { ColumnType, Row, RowValue, TableSchema } from './table-schema.js';
import { compareUtf8, wellFormed } from './utf8-order.js';

/** A value that does not fit its column's type. */
export class ParquetValueError extends Error {
  override name = 'ParquetValueError';
}

/** A leaf's value until its page is encoded: what its `SLUICE_*` type takes. */
export type RawValue = string | number | bigint | boolean;

/** The PLAIN bytes of a value of each fixed-size physical type. */
const PLAIN_WIDTH: Readonly<Record<string, number>> = {
  BOOLEAN: 0.125,
  INT32: 4,
  INT64: 8,
  FLOAT: 4,
  DOUBLE: 8,
};

const INITIAL_LEVELS = 1024;
const INITIAL_BYTES = 16 * 1024;

/**
 * One leaf column's open page: its levels, its values, and (BYTE_ARRAY) their PLAIN bytes and
 * min/max. A row that fails half-way is taken back to the last {@link LeafColumn.commit}.
 */
export class LeafColumn {
  readonly field: ParquetField;
  /** PLAIN bytes of one value; 0 for BYTE_ARRAY, whose bytes are counted as written. */
  readonly width: number;
  /** The definition level of a value that is there. */
  readonly defined: number;
  /** Levels [0, levelCount) of the page. */
  rlevels = new Uint16Array(INITIAL_LEVELS);
  dlevels = new Uint16Array(INITIAL_LEVELS);
  levelCount = 0;
  /** The page's non-null values of a fixed-size type, in order (strings are not kept). */
  values: RawValue[] = [];
  /** BYTE_ARRAY: the values' PLAIN encoding (length, then UTF-8 bytes), [0, byteLength). */
  bytes: Buffer;
  byteLength = 0;
  /** BYTE_ARRAY: the page's strings, their least and greatest (well-formed, in UTF-8 order). */
  stringCount = 0;
  #min = '';
  #max = '';
  /** Whether a string beyond ASCII came, after which `<` is not UTF-8 order. */
  #nonAscii = false;
  /** Whether min/max may be of a row taken back. */
  #stale = false;
  /** Where the last whole row ended. */
  #levelMark = 0;
  #valueMark = 0;
  #byteMark = 0;

  constructor(field: ParquetField) {
    this.field = field;
    this.defined = field.dLevelMax;
    const type = field.primitiveType ?? 'BYTE_ARRAY';
    this.width =
      type === 'FIXED_LEN_BYTE_ARRAY' ? (field.typeLength ?? 0) : (PLAIN_WIDTH[type] ?? 0);
    this.bytes = Buffer.allocUnsafeSlow(this.width === 0 ? INITIAL_BYTES : 0);
  }

  /** The page's non-null values. */
  get valueCount(): number {
    return this.width === 0 ? this.stringCount : this.values.length;
  }

  /** The page's PLAIN-encoded values, in bytes (levels not counted). */
  get valueBytes(): number {
    return this.width === 0 ? this.byteLength : this.values.length * this.width;
  }

  /** An absent value (this leaf or an ancestor null, or an empty list or map). */
  level(r: number, d: number): void {
    if (this.levelCount === this.dlevels.length) this.#growLevels();
    this.rlevels[this.levelCount] = r;
    this.dlevels[this.levelCount] = d;
    this.levelCount += 1;
  }

  /** A value of a fixed-size type. */
  value(value: RawValue, r: number): void {
    this.level(r, this.defined);
    this.values.push(value);
  }

  /** A string, written at once as PLAIN BYTE_ARRAY. */
  string(value: string, r: number): void {
    this.level(r, this.defined);
    // A UTF-16 code unit is at most 3 bytes of UTF-8 (a surrogate pair 4 for 2).
    const room = 4 + 3 * value.length;
    if (this.byteLength + room > this.bytes.length) this.#growBytes(room);
    const at = this.byteLength;
    const written = this.bytes.write(value, at + 4);
    this.bytes.writeUInt32LE(written, at);
    this.byteLength = at + 4 + written;
    this.#order(written === value.length ? value : this.#beyondAscii(value));
  }

  /** The page's least and greatest string, in UTF-8 order; undefined without one. */
  stringRange(): { min: string; max: string } | undefined {
    if (this.stringCount === 0) return undefined;
    if (this.#stale) this.#reorder();
    return { min: this.#min, max: this.#max };
  }

  /** The row written so far is whole. */
  commit(): void {
    this.#levelMark = this.levelCount;
    this.#valueMark = this.valueCount;
    this.#byteMark = this.byteLength;
  }

  /** Takes back what was written since the last {@link commit}. */
  rollback(): void {
    this.levelCount = this.#levelMark;
    if (this.width === 0) {
      if (this.stringCount !== this.#valueMark) this.#stale = true;
      this.stringCount = this.#valueMark;
    } else {
      this.values.length = this.#valueMark;
    }
    this.byteLength = this.#byteMark;
  }

  /** Empties the page (after it is encoded). */
  reset(): void {
    this.levelCount = 0;
    this.values = [];
    this.byteLength = 0;
    this.stringCount = 0;
    this.#nonAscii = false;
    this.#stale = false;
    this.commit();
  }

  #beyondAscii(value: string): string {
    this.#nonAscii = true;
    return wellFormed(value);
  }

  /** Counts a (well-formed) string into min/max. */
  #order(value: string): void {
    if (this.stringCount === 0) {
      this.#min = value;
      this.#max = value;
    } else if (this.#nonAscii) {
      if (compareUtf8(value, this.#min) < 0) this.#min = value;
      else if (compareUtf8(value, this.#max) > 0) this.#max = value;
    } else if (value < this.#min) {
      this.#min = value;
    } else if (value > this.#max) {
      this.#max = value;
    }
    this.stringCount += 1;
  }

  /** Min/max again from the page's bytes, after a row was taken back. */
  #reorder(): void {
    const count = this.stringCount;
    this.stringCount = 0;
    this.#nonAscii = true;
    let at = 0;
    for (let i = 0; i < count; i += 1) {
      const length = this.bytes.readUInt32LE(at);
      this.#order(this.bytes.toString('utf8', at + 4, at + 4 + length));
      at += 4 + length;
    }
    this.#stale = false;
  }

  #growLevels(): void {
    const size = this.dlevels.length * 2;
    const r = new Uint16Array(size);
    r.set(this.rlevels);
    this.rlevels = r;
    const d = new Uint16Array(size);
    d.set(this.dlevels);
    this.dlevels = d;
  }

  #growBytes(room: number): void {
    const bytes = Buffer.allocUnsafeSlow(Math.max(this.bytes.length * 2, this.byteLength + room));
    this.bytes.copy(bytes, 0, 0, this.byteLength);
    this.bytes = bytes;
  }
}

/** Writes a value (or null) of a node of the schema at repetition level `r`. */
type Write = (value: RowValue, r: number) => void;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
/** The deepest level a {@link LeafColumn} holds. */
const MAX_LEVEL = 0xffff;

/** A table's rows shredded into its leaf columns. */
export class ColumnShredder {
  /** The leaf columns, in the order of the schema's `fieldList`. */
  readonly leaves: readonly LeafColumn[];
  readonly #columns: { name: string; write: Write }[];

  /** @param schema - `table`'s parquetjs-lite schema (`toParquetSchema`). */
  constructor(table: TableSchema, schema: ParquetSchema) {
    const leaves = new Map<ParquetField, LeafColumn>();
    this.#columns = table.columns.map((column) => {
      const field = schema.fields[column.name];
      if (field === undefined) throw new Error('the Parquet schema does not match the table');
      return { name: column.name, write: compile(column.type, field, column.name, leaves) };
    });
    this.leaves = schema.fieldList
      .filter((f) => !f.isNested)
      .map((f) => {
        const leaf = leaves.get(f);
        if (leaf === undefined) throw new Error('the Parquet schema does not match the table');
        return leaf;
      });
  }

  /**
   * Adds `row` to the leaves' open pages.
   *
   * @throws {ParquetValueError} for a row that does not fit the table; the leaves are left as
   *   they were before it.
   */
  shred(row: Row): void {
    try {
      for (const column of this.#columns) column.write(fieldOf(row, column.name), 0);
    } catch (err) {
      for (const leaf of this.leaves) leaf.rollback();
      throw err;
    }
    for (const leaf of this.leaves) leaf.commit();
  }
}

/** A field of a row or struct value: its own property only (not "constructor" of Object). */
function fieldOf(object: { readonly [name: string]: RowValue }, name: string): RowValue {
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

/** The leaves under `field` (itself if a leaf), created as found. */
function leavesOf(field: ParquetField, leaves: Map<ParquetField, LeafColumn>): LeafColumn[] {
  if (!field.isNested) {
    let leaf = leaves.get(field);
    if (leaf === undefined) {
      if (field.dLevelMax > MAX_LEVEL) {
        throw new Error(`column "${field.path.join('.')}" is nested too deeply`);
      }
      leaf = new LeafColumn(field);
      leaves.set(field, leaf);
    }
    return [leaf];
  }
  return Object.values(field.fields ?? {}).flatMap((child) => leavesOf(child, leaves));
}

function child(field: ParquetField, name: string): ParquetField {
  const found = field.fields?.[name];
  if (found === undefined) throw new Error('the Parquet schema does not match the table');
  return found;
}

/**
 * The writer of a column (or field) of `type`, whose Parquet field is `field`. A null writes
 * the level of the field's parent's definition to every leaf below; a value, its own.
 */
function compile(
  type: ColumnType,
  field: ParquetField,
  path: string,
  leaves: Map<ParquetField, LeafColumn>,
): Write {
  const fail = (value: RowValue, expected: string): never => {
    throw new ParquetValueError(`column "${path}": expected ${expected}, got ${describe(value)}`);
  };
  const below = leavesOf(field, leaves);
  // The definition level of an absent value: the parent's (a required field is never absent).
  const absent = field.repetitionType === 'OPTIONAL' ? field.dLevelMax - 1 : field.dLevelMax;
  const writeNull = (r: number): void => {
    if (field.repetitionType === 'REQUIRED') fail(null, 'a value');
    for (const leaf of below) leaf.level(r, absent);
  };
  const leaf = below[0] as LeafColumn;

  switch (type.kind) {
    case 'string':
      return (value, r) => {
        if (value === null) return writeNull(r);
        if (typeof value !== 'string') return fail(value, 'a string');
        leaf.string(value, r);
      };
    case 'int':
    case 'date': {
      const what = type.kind === 'int' ? 'a 32-bit integer' : 'a day number (32-bit integer)';
      return (value, r) => {
        if (value === null) return writeNull(r);
        if (typeof value !== 'number' || !Number.isInteger(value)) return fail(value, what);
        if (value < INT32_MIN || value > INT32_MAX) return fail(value, what);
        leaf.value(value, r);
      };
    }
    case 'bigint':
      return (value, r) => {
        if (value === null) return writeNull(r);
        if (typeof value !== 'bigint' || BigInt.asIntN(64, value) !== value) {
          return fail(value, 'a 64-bit bigint');
        }
        leaf.value(value, r);
      };
    case 'double':
    case 'float':
      return (value, r) => {
        if (value === null) return writeNull(r);
        if (typeof value !== 'number') return fail(value, 'a number');
        leaf.value(value, r);
      };
    case 'boolean':
      return (value, r) => {
        if (value === null) return writeNull(r);
        if (typeof value !== 'boolean') return fail(value, 'a boolean');
        leaf.value(value, r);
      };
    case 'timestamp':
      return (value, r) => {
        if (value === null) return writeNull(r);
        if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
          return fail(value, 'epoch milliseconds (an integer)');
        }
        leaf.value(value, r);
      };
    case 'decimal': {
      const limit = 10n ** BigInt(type.precision);
      const what = `an unscaled bigint of at most ${type.precision} digits`;
      return (value, r) => {
        if (value === null) return writeNull(r);
        if (typeof value !== 'bigint' || value >= limit || value <= -limit) {
          return fail(value, what);
        }
        leaf.value(value, r);
      };
    }
    case 'array': {
      // group (LIST) { repeated group list { optional element } }
      const list = child(field, 'list');
      const element = compile(type.element, child(list, 'element'), `${path}[]`, leaves);
      const repeat = list.rLevelMax;
      return (value, r) => {
        if (value === null) return writeNull(r);
        if (!Array.isArray(value)) return fail(value, 'an array');
        const items = value as readonly RowValue[];
        if (items.length === 0) {
          // The list is there, with no element.
          for (const l of below) l.level(r, field.dLevelMax);
          return;
        }
        element(items[0] as RowValue, r);
        for (let i = 1; i < items.length; i += 1) element(items[i] as RowValue, repeat);
      };
    }
    case 'struct': {
      const fields = type.fields.map((f) => ({
        name: f.name,
        write: compile(f.type, child(field, f.name), `${path}.${f.name}`, leaves),
      }));
      return (value, r) => {
        if (value === null) return writeNull(r);
        if (typeof value !== 'object' || Array.isArray(value)) return fail(value, 'an object');
        const struct = value as { readonly [name: string]: RowValue };
        for (const f of fields) f.write(fieldOf(struct, f.name), r);
      };
    }
    case 'map': {
      // group (MAP) { repeated group key_value { required key; optional value } }
      const keyValue = child(field, 'key_value');
      const key = compile(type.key, child(keyValue, 'key'), `${path}{key}`, leaves);
      const mapValue = compile(type.value, child(keyValue, 'value'), `${path}{value}`, leaves);
      const repeat = keyValue.rLevelMax;
      return (value, r) => {
        if (value === null) return writeNull(r);
        if (!Array.isArray(value)) return fail(value, 'an array of [key, value] pairs');
        const pairs = value as readonly RowValue[];
        if (pairs.length === 0) {
          for (const l of below) l.level(r, field.dLevelMax);
          return;
        }
        for (let i = 0; i < pairs.length; i += 1) {
          const pair = pairs[i] as RowValue;
          if (!Array.isArray(pair) || pair.length !== 2) return fail(pair, 'a [key, value] pair');
          const [k, v] = pair as unknown as readonly [RowValue, RowValue];
          if (k === null) {
            throw new ParquetValueError(`column "${path}{key}": a map key cannot be null`);
          }
          key(k, i === 0 ? r : repeat);
          mapValue(v, i === 0 ? r : repeat);
        }
      };
    }
  }
}
