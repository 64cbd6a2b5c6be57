import parquetjs from 'parquetjs-lite';
import parquetTypes from 'parquetjs-lite/lib/types.js';
import { describe, expect, it } from 'vitest';

import {
  ColumnShredder,
  ParquetValueError,
  type LeafColumn,
} from '../../src/formats/parquet/column-shredder.js';
import { toParquetSchema } from '../../src/formats/parquet/parquet-schema.js';
import type {
  ColumnType,
  Row,
  RowValue,
  TableSchema,
} from '../../src/formats/parquet/table-schema.js';

/**
 * Sluice's column shredder against parquetjs-lite's own `shredRecord` (the Dremel shredding it
 * replaces), on the same parquetjs-lite schema: for random rows nested several deep, with nulls
 * and empty lists and maps at every level, every leaf column's repetition levels, definition
 * levels and values must be the same; a row refused half-way must leave nothing behind.
 */

const { ParquetShredder } = parquetjs as unknown as {
  ParquetShredder: {
    shredRecord(schema: unknown, record: unknown, buffer: ShreddedBuffer): void;
  };
};
interface ShreddedBuffer {
  rowCount?: number;
  columnData?: Record<string, { rlevels: number[]; dlevels: number[]; values: unknown[] }>;
}

const t = {
  string: { kind: 'string' },
  int: { kind: 'int' },
  bigint: { kind: 'bigint' },
  double: { kind: 'double' },
  float: { kind: 'float' },
  boolean: { kind: 'boolean' },
  timestamp: { kind: 'timestamp' },
  date: { kind: 'date' },
  decimal: (precision: number, scale: number) => ({ kind: 'decimal', precision, scale }) as const,
  array: (element: ColumnType) => ({ kind: 'array', element }) as const,
  struct: (fields: Record<string, ColumnType>) =>
    ({
      kind: 'struct',
      fields: Object.entries(fields).map(([name, type]) => ({ name, type })),
    }) as const,
  map: (key: ColumnType, value: ColumnType) => ({ kind: 'map', key, value }) as const,
} as const;

function table(columns: Record<string, ColumnType>): TableSchema {
  return { columns: Object.entries(columns).map(([name, type]) => ({ name, type })) };
}

/** Every type, and nesting four and five deep: lists of lists, maps of lists of structs. */
const TABLE = table({
  s: t.string,
  i: t.int,
  b: t.bigint,
  d: t.double,
  f: t.float,
  bo: t.boolean,
  ts: t.timestamp,
  dt: t.date,
  dec: t.decimal(10, 2),
  wide: t.decimal(38, 4),
  ints: t.array(t.int),
  cube: t.array(t.array(t.array(t.string))),
  st: t.struct({ a: t.int, inner: t.struct({ x: t.double, tags: t.array(t.string) }) }),
  m: t.map(t.string, t.int),
  deep: t.map(
    t.date,
    t.array(
      t.struct({
        name: t.string,
        scores: t.map(t.int, t.array(t.decimal(9, 3))),
        flags: t.array(t.boolean),
      }),
    ),
  ),
});

/** A deterministic pseudo-random sequence (xorshift32). */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

/** A random value of `type`: null a quarter of the time, lists and maps often empty. */
function valueOf(type: ColumnType, next: () => number): RowValue {
  if (next() < 0.25) return null;
  const int = (): number => Math.floor(next() * 2 ** 32) - 2 ** 31;
  const length = (): number => Math.floor(next() * 4);
  switch (type.kind) {
    case 'string': {
      const alphabet = ['a', 'é', '日', '😀', '\uFFFF', ' ', 'Z', '\uD800'];
      return Array.from(
        { length: length() * 2 },
        () => alphabet[Math.floor(next() * alphabet.length)],
      ).join('');
    }
    case 'int':
    case 'date':
      return int();
    case 'bigint':
      return BigInt.asIntN(64, (BigInt(int()) << 32n) ^ BigInt(int() >>> 0));
    case 'double':
    case 'float':
      return (next() - 0.5) * 1e6;
    case 'boolean':
      return next() < 0.5;
    case 'timestamp':
      return Math.floor((next() - 0.5) * 4e12);
    case 'decimal':
      return BigInt(Math.floor((next() - 0.5) * 10 ** Math.min(type.precision, 15)));
    case 'array':
      return Array.from({ length: length() }, () => valueOf(type.element, next));
    case 'struct':
      return Object.fromEntries(type.fields.map((f) => [f.name, valueOf(f.type, next)]));
    case 'map':
      return Array.from({ length: length() }, (_, k) => {
        const key = valueOf(type.key, next);
        return [key ?? (type.key.kind === 'string' ? `k${k}` : k), valueOf(type.value, next)];
      });
  }
}

function rowsOf(count: number, seed: number): Row[] {
  const next = random(seed);
  return Array.from({ length: count }, () =>
    Object.fromEntries(TABLE.columns.map((c) => [c.name, valueOf(c.type, next)])),
  );
}

/**
 * A row as parquetjs-lite's record for the same schema: a list as `{ list: [{ element }] }`, a
 * map as `{ key_value: [{ key, value }] }`, a string as its UTF-8 bytes in a latin1 string (the
 * raw value of Sluice's `SLUICE_UTF8` type).
 */
function recordOf(type: ColumnType, value: RowValue): unknown {
  if (value === null) return null;
  switch (type.kind) {
    case 'string':
      return Buffer.from(value as string, 'utf8').toString('latin1');
    case 'array':
      return { list: (value as RowValue[]).map((v) => ({ element: recordOf(type.element, v) })) };
    case 'struct': {
      const struct = value as Record<string, RowValue>;
      return Object.fromEntries(
        type.fields.map((f) => [f.name, recordOf(f.type, struct[f.name] ?? null)]),
      );
    }
    case 'map':
      return {
        key_value: (value as [RowValue, RowValue][]).map(([k, v]) => ({
          key: recordOf(type.key, k),
          value: recordOf(type.value, v),
        })),
      };
    default:
      return value;
  }
}

/** parquetjs-lite's shredding of `rows`: per leaf path, the levels and physical values. */
function shredWithParquetjs(rows: Row[]): ShreddedBuffer {
  const { schema } = toParquetSchema(TABLE, { compression: 'UNCOMPRESSED' });
  const buffer: ShreddedBuffer = {};
  for (const row of rows) {
    const record = Object.fromEntries(
      TABLE.columns.map((c) => [c.name, recordOf(c.type, row[c.name] ?? null)]),
    );
    ParquetShredder.shredRecord(schema, record, buffer);
  }
  return buffer;
}

/** The leaf's values as parquetjs-lite's physical values. */
function physicalValues(leaf: LeafColumn): unknown[] {
  const type = leaf.field.originalType ?? leaf.field.primitiveType ?? '';
  if (leaf.width === 0) {
    const values: unknown[] = [];
    for (let at = 0, i = 0; i < leaf.stringCount; i += 1) {
      const length = leaf.bytes.readUInt32LE(at);
      values.push(Buffer.from(leaf.bytes.subarray(at + 4, at + 4 + length)));
      at += 4 + length;
    }
    return values;
  }
  return leaf.values.map((v) => parquetTypes.toPrimitive(type, v as never));
}

function expectSameColumns(shredder: ColumnShredder, rows: Row[]): void {
  const expected = shredWithParquetjs(rows);
  for (const leaf of shredder.leaves) {
    const key = leaf.field.path.join(',');
    const column = expected.columnData?.[key];
    expect(column, key).toBeDefined();
    if (column === undefined) continue;
    expect(Array.from(leaf.rlevels.subarray(0, leaf.levelCount)), `${key} rlevels`).toEqual(
      column.rlevels,
    );
    expect(Array.from(leaf.dlevels.subarray(0, leaf.levelCount)), `${key} dlevels`).toEqual(
      column.dlevels,
    );
    expect(physicalValues(leaf), `${key} values`).toEqual(column.values);
    if (leaf.width === 0) {
      // min/max: the least and greatest UTF-8 bytes.
      const sorted = (column.values as Buffer[]).slice().sort((a, b) => Buffer.compare(a, b));
      const range = leaf.stringRange();
      expect(range && Buffer.from(range.min, 'utf8'), `${key} min`).toEqual(sorted[0]);
      expect(range && Buffer.from(range.max, 'utf8'), `${key} max`).toEqual(sorted.at(-1));
    }
  }
}

function shredderFor(): ColumnShredder {
  return new ColumnShredder(TABLE, toParquetSchema(TABLE, { compression: 'SNAPPY' }).schema);
}

describe('ColumnShredder against parquetjs-lite shredRecord', () => {
  it.each([1, 2, 3, 4, 5])('fills the same columns for random nested rows (seed %i)', (seed) => {
    const rows = rowsOf(400, seed);
    const shredder = shredderFor();
    for (const row of rows) shredder.shred(row);
    expectSameColumns(shredder, rows);
  });

  it('fills the same columns for nulls and empties at every level', () => {
    const rows: Row[] = [
      {},
      { ints: [], cube: [], st: {}, m: [], deep: [] },
      { ints: [null], cube: [null, [], [null], [[]], [[null, '']]], st: { inner: {} } },
      { st: { a: 1, inner: { x: null, tags: [] } }, m: [['', null]] },
      { deep: [[0, null]] },
      { deep: [[0, []]] },
      { deep: [[0, [null]]] },
      { deep: [[0, [{}]]] },
      { deep: [[0, [{ name: null, scores: [], flags: [] }]]] },
      { deep: [[0, [{ scores: [[1, null]], flags: [null] }]]] },
      { deep: [[0, [{ scores: [[1, []]] }]]] },
      { deep: [[0, [{ scores: [[1, [null]]] }]]] },
      { deep: [[0, [{ scores: [[1, [5n, null, 6n]]], flags: [true, null, false] }]]] },
      {
        deep: [
          [1, [null, { name: 'x' }]],
          [2, []],
          [3, null],
        ],
      },
    ];
    const shredder = shredderFor();
    for (const row of rows) shredder.shred(row);
    expectSameColumns(shredder, rows);
  });

  it('takes back a row refused half-way, leaving the columns as if it never came', () => {
    const rows = rowsOf(400, 11);
    const bad: Row[] = [
      { s: 'fine', i: 1, b: 2n, deep: [[0, [{ name: 'n', scores: [[1, ['no']]] }]]] },
      { s: 'x', ints: [1, 2, 2 ** 31] },
      { s: 'y', st: { a: 1, inner: { x: 1, tags: ['a', 7] } } },
      {
        m: [
          ['k', 1],
          [null, 2],
        ],
      },
      { cube: [[['a']], [['b', 'c', 1]]] },
      { s: '\u0000 the least string of all', dec: 10n ** 10n },
      { s: '\uDBFF\uDFFF the greatest', ints: [1, 'x'] },
    ];
    const shredder = shredderFor();
    const kept: Row[] = [];
    rows.forEach((row, n) => {
      const refused = bad[n % 50 === 0 ? (n / 50) % bad.length : -1];
      if (refused !== undefined) {
        expect(() => shredder.shred(refused)).toThrow(ParquetValueError);
      }
      shredder.shred(row);
      kept.push(row);
    });
    expectSameColumns(shredder, kept);
  });

  it('orders strings by their UTF-8 bytes for min/max, lone surrogates as U+FFFD', () => {
    const strings = ['a', 'zz', '\uFFFF', '😀', '\uFF41', 'é', '', '\uD800', '\uDBFF\uDFFF', 'Z'];
    const next = random(3);
    const schema = table({ s: t.string });
    for (let round = 0; round < 50; round += 1) {
      const shredder = new ColumnShredder(
        schema,
        toParquetSchema(schema, { compression: 'SNAPPY' }).schema,
      );
      const picked = Array.from(
        { length: 1 + Math.floor(next() * 8) },
        () => strings[Math.floor(next() * strings.length)] as string,
      );
      for (const s of picked) shredder.shred({ s });
      const bytes = picked.map((s) => Buffer.from(s, 'utf8')).sort((a, b) => Buffer.compare(a, b));
      const range = shredder.leaves[0]?.stringRange();
      expect(Buffer.from(range?.min ?? '', 'utf8'), picked.join('|')).toEqual(bytes[0]);
      expect(Buffer.from(range?.max ?? '', 'utf8'), picked.join('|')).toEqual(bytes.at(-1));
    }
  });
});
