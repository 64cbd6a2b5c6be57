import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  DuckDBInstance,
  type DuckDBConnection,
  type DuckDBDateValue,
  type DuckDBDecimalValue,
  type DuckDBListValue,
  type DuckDBMapValue,
  type DuckDBStructValue,
  type DuckDBTimestampValue,
  type DuckDBValue,
} from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ParquetSchemaError } from '../../src/formats/parquet/parquet-schema.js';
import {
  ParquetValueError,
  writeParquet,
  writeParquetToBuffer,
  type ParquetWriterOptions,
} from '../../src/formats/parquet/parquet-writer.js';
import type {
  ColumnType,
  Row,
  RowValue,
  TableSchema,
} from '../../src/formats/parquet/table-schema.js';
import { cleanupAfterAll, tempDir } from '../support/e2e.js';

/**
 * Sluice's Parquet writer, read back by DuckDB (an independent reader): every column type, with
 * nulls, empty and nested values and edge values, in every compression; min/max statistics that
 * DuckDB prunes row groups by; row groups and pages cut by the byte sizes; the streamed pieces.
 */

const suite = cleanupAfterAll();
let dir: string;
let instance: DuckDBInstance;
let db: DuckDBConnection;

beforeAll(async () => {
  dir = await tempDir(suite, 'sluice-parquet-');
  instance = await DuckDBInstance.create(':memory:');
  db = await instance.connect();
});
afterAll(() => {
  db.closeSync();
  instance.closeSync();
});

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

/** Every Glue type, nested to some depth. */
const ALL_TYPES = table({
  id: t.int,
  s: t.string,
  i: t.int,
  b: t.bigint,
  d: t.double,
  f: t.float,
  bo: t.boolean,
  ts: t.timestamp,
  dt: t.date,
  dec: t.decimal(10, 2),
  dec_wide: t.decimal(38, 10),
  dec_frac: t.decimal(3, 3),
  dec_int: t.decimal(18, 0),
  ints: t.array(t.int),
  strs: t.array(t.string),
  matrix: t.array(t.array(t.bigint)),
  st: t.struct({ a: t.int, b: t.string, inner: t.struct({ x: t.double, day: t.date }) }),
  m: t.map(t.string, t.int),
  by_day: t.map(t.date, t.array(t.string)),
  deep: t.map(
    t.string,
    t.array(
      t.struct({
        name: t.string,
        tags: t.array(t.string),
        amounts: t.map(t.int, t.decimal(9, 3)),
      }),
    ),
  ),
});

const MS = Date.UTC;
const DAY = 86_400_000;
const days = (ms: number): number => Math.floor(ms / DAY);

/** Hand-made rows: nulls everywhere, ordinary values, and the edges of every type. */
const EDGE_ROWS: Row[] = [
  { id: 0 },
  {
    id: 1,
    s: 'hello',
    i: 42,
    b: 1234567890123n,
    d: 3.141592653589793,
    f: 1.1,
    bo: true,
    ts: MS(2024, 4, 1, 13, 45, 30, 123),
    dt: days(MS(2024, 1, 29)),
    dec: 12345n,
    dec_wide: 123456789012345678901234567890n,
    dec_frac: 5n,
    dec_int: 999999999999999999n,
    ints: [1, 2, 3],
    strs: ['a', 'b'],
    matrix: [[1n, 2n], [3n]],
    st: { a: 1, b: 'x', inner: { x: 0.5, day: 0 } },
    m: [
      ['one', 1],
      ['two', 2],
    ],
    by_day: [[days(MS(2000, 0, 1)), ['y2k']]],
    deep: [
      [
        'k1',
        [
          {
            name: 'first',
            tags: ['t1', 't2'],
            amounts: [
              [1, 1000n],
              [2, -1n],
            ],
          },
        ],
      ],
    ],
  },
  {
    id: 2,
    s: '',
    i: -2147483648,
    b: -9223372036854775808n,
    d: Number.NaN,
    f: Number.POSITIVE_INFINITY,
    bo: false,
    ts: -1,
    dt: -719162, // 0001-01-01
    dec: -9999999999n,
    dec_wide: -(10n ** 38n - 1n),
    dec_frac: -999n,
    dec_int: -999999999999999999n,
    ints: [],
    strs: [],
    matrix: [[], null, [-9223372036854775808n, 9223372036854775807n]],
    st: { a: null, b: '', inner: null },
    m: [],
    by_day: [[-1, []]],
    deep: [
      ['empty', []],
      ['nothing', null],
    ],
  },
  {
    id: 3,
    s: 'héllo wörld ✓ 日本語 ｆｕｌｌｗｉｄｔｈ \uFFFF 😀 𝄞 \u0000 end',
    i: 2147483647,
    b: 9223372036854775807n,
    d: Number.NEGATIVE_INFINITY,
    f: Number.NaN,
    bo: null,
    ts: MS(1900, 0, 1, 0, 0, 0, 1),
    dt: days(MS(1900, 0, 1)),
    dec: 9999999999n,
    dec_wide: 10n ** 38n - 1n,
    dec_frac: 999n,
    dec_int: 0n,
    ints: [null, 0, null],
    strs: [null, '', 'ß'],
    matrix: [],
    st: { a: 7, b: null, inner: { x: null, day: null } },
    m: [
      ['null value', null],
      ['', 0],
    ],
    by_day: [],
    deep: [
      [
        'k',
        [
          null,
          { name: null, tags: null, amounts: null },
          { name: 'x', tags: [], amounts: [] },
          { name: 'y', tags: [null], amounts: [[0, null]] },
        ],
      ],
    ],
  },
  {
    id: 4,
    s: 'Ω',
    i: -1,
    b: -1n,
    d: -0,
    f: -0,
    bo: true,
    ts: MS(9999, 11, 31, 23, 59, 59, 999),
    dt: days(MS(9999, 11, 31)),
    dec: -1n,
    dec_wide: -1n,
    dec_frac: 0n,
    dec_int: -1n,
    ints: [-2147483648, 2147483647],
    strs: ['😀'],
    matrix: null,
    st: null,
    m: null,
    by_day: null,
    deep: null,
  },
  {
    id: 5,
    d: Number.MAX_VALUE,
    f: 3.4028234663852886e38,
    ts: MS(1969, 6, 20, 20, 17, 40, 5),
    dt: -1,
    d_ignored: 'a key of no column',
  },
];

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

/** Rows of every type from a pseudo-random sequence, about a fifth of the values null. */
function generatedRows(count: number, firstId: number): Row[] {
  const next = random(firstId + 17);
  const maybe = <T extends RowValue>(make: () => T): T | null => (next() < 0.2 ? null : make());
  const int = (): number => Math.floor(next() * 2 ** 32) - 2 ** 31;
  const big = (): bigint => BigInt.asIntN(64, (BigInt(int()) << 32n) ^ BigInt(int() >>> 0));
  const word = (): string => {
    const alphabet = ['a', 'é', '日', '😀', 'Z', ' ', '\uFF41', '0'];
    return Array.from(
      { length: Math.floor(next() * 12) },
      () => alphabet[Math.floor(next() * alphabet.length)],
    ).join('');
  };
  const list = <T extends RowValue>(make: () => T, max = 4): T[] =>
    Array.from({ length: Math.floor(next() * max) }, make);
  return Array.from({ length: count }, (_, n) => ({
    id: firstId + n,
    s: maybe(word),
    i: maybe(int),
    b: maybe(big),
    d: maybe(() => (next() - 0.5) * 1e12),
    f: maybe(() => (next() - 0.5) * 1e6),
    bo: maybe(() => next() < 0.5),
    ts: maybe(() => Math.floor((next() - 0.5) * 4e12)),
    dt: maybe(() => Math.floor((next() - 0.5) * 100_000)),
    dec: maybe(() => BigInt(Math.floor((next() - 0.5) * 2e10))),
    dec_wide: maybe(() => big() * big()),
    dec_frac: maybe(() => BigInt(Math.floor((next() - 0.5) * 1998))),
    dec_int: maybe(() => big() % 10n ** 18n),
    ints: maybe(() => list(() => maybe(int))),
    strs: maybe(() => list(() => maybe(word))),
    matrix: maybe(() => list(() => maybe(() => list(() => maybe(big))))),
    st: maybe(() => ({
      a: maybe(int),
      b: maybe(word),
      inner: maybe(() => ({ x: maybe(next), day: maybe(() => Math.floor(next() * 1000)) })),
    })),
    m: maybe(() => Array.from({ length: Math.floor(next() * 4) }, (_, k) => [`k${k}`, maybe(int)])),
    by_day: maybe(() =>
      Array.from({ length: Math.floor(next() * 3) }, (_, k) => [k - 1, list(word)]),
    ),
    deep: maybe(() =>
      Array.from({ length: Math.floor(next() * 3) }, (_, k) => [
        `key ${k}`,
        maybe(() =>
          list(() =>
            maybe(() => ({
              name: maybe(word),
              tags: maybe(() => list(() => maybe(word))),
              amounts: maybe(() =>
                Array.from({ length: Math.floor(next() * 3) }, (_, a) => [
                  a,
                  maybe(() => BigInt(Math.floor((next() - 0.5) * 1e9))),
                ]),
              ),
            })),
          ),
        ),
      ]),
    ),
  }));
}

/** DuckDB's name of a Glue type read from Sluice's Parquet. */
function duckType(type: ColumnType): string {
  switch (type.kind) {
    case 'string':
      return 'VARCHAR';
    case 'int':
      return 'INTEGER';
    case 'bigint':
      return 'BIGINT';
    case 'double':
      return 'DOUBLE';
    case 'float':
      return 'FLOAT';
    case 'boolean':
      return 'BOOLEAN';
    case 'timestamp':
      return 'TIMESTAMP';
    case 'date':
      return 'DATE';
    case 'decimal':
      return `DECIMAL(${type.precision},${type.scale})`;
    case 'array':
      return `${duckType(type.element)}[]`;
    case 'struct':
      return `STRUCT(${type.fields.map((f) => `${f.name} ${duckType(f.type)}`).join(', ')})`;
    case 'map':
      return `MAP(${duckType(type.key)}, ${duckType(type.value)})`;
  }
}

/** What DuckDB read, in the writer's value representation (see `table-schema.ts`). */
function fromDuck(value: DuckDBValue, type: ColumnType): RowValue {
  if (value === null) return null;
  switch (type.kind) {
    case 'string':
    case 'int':
    case 'bigint':
    case 'double':
    case 'float':
    case 'boolean':
      return value as RowValue;
    case 'timestamp': {
      const micros = (value as DuckDBTimestampValue).micros;
      expect(micros % 1000n).toBe(0n);
      return Number(micros / 1000n);
    }
    case 'date':
      return (value as DuckDBDateValue).days;
    case 'decimal': {
      const decimal = value as DuckDBDecimalValue;
      expect([decimal.width, decimal.scale]).toEqual([type.precision, type.scale]);
      return decimal.value;
    }
    case 'array':
      return (value as DuckDBListValue).items.map((item) => fromDuck(item, type.element));
    case 'struct': {
      const entries = (value as DuckDBStructValue).entries;
      return Object.fromEntries(
        type.fields.map((f) => [f.name, fromDuck(entries[f.name] ?? null, f.type)]),
      );
    }
    case 'map':
      return (value as DuckDBMapValue).entries.map(
        ({ key, value: v }) => [fromDuck(key, type.key), fromDuck(v, type.value)] as const,
      );
  }
}

/** A written value as it should read back: absent is null, a float is rounded to 32 bits. */
function expected(value: RowValue | undefined, type: ColumnType): RowValue {
  if (value === undefined || value === null) return null;
  switch (type.kind) {
    case 'float':
      return Math.fround(value as number);
    case 'array':
      return (value as RowValue[]).map((v) => expected(v, type.element));
    case 'struct': {
      const struct = value as Record<string, RowValue>;
      return Object.fromEntries(type.fields.map((f) => [f.name, expected(struct[f.name], f.type)]));
    }
    case 'map':
      return (value as [RowValue, RowValue][]).map(
        ([k, v]) => [expected(k, type.key), expected(v, type.value)] as const,
      );
    default:
      return value;
  }
}

async function save(name: string, bytes: Buffer): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, bytes);
  return file;
}

async function query(sql: string, values?: DuckDBValue[]): Promise<Record<string, DuckDBValue>[]> {
  const reader = await db.runAndReadAll(sql, values);
  return reader.getRowObjects();
}

/** Reads `file` with DuckDB and checks its column types and every value of `rows` (by `id`). */
async function expectReadsBack(file: string, schema: TableSchema, rows: Row[]): Promise<void> {
  const described = await query(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
  // DuckDB quotes field names that are keywords; the names are not what is checked.
  const unquoted = (name: DuckDBValue): string => String(name).replaceAll('"', '');
  expect(described.map((r) => [r.column_name, unquoted(r.column_type ?? null)])).toEqual(
    schema.columns.map((c) => [c.name, duckType(c.type)]),
  );

  const read = await query(`SELECT * FROM read_parquet('${file}') ORDER BY id`);
  expect(read).toHaveLength(rows.length);
  read.forEach((got, n) => {
    const want = rows[n] ?? {};
    for (const column of schema.columns) {
      const actual = fromDuck(got[column.name] ?? null, column.type);
      expect(actual, `row ${n}, column ${column.name}`).toEqual(
        expected(want[column.name], column.type),
      );
    }
  });
}

describe('Parquet writer, read back by DuckDB', () => {
  const COMPRESSIONS = ['UNCOMPRESSED', 'GZIP', 'SNAPPY'] as const;

  it.each(COMPRESSIONS)('writes every column type exactly (%s)', async (compression) => {
    const rows = [...EDGE_ROWS, ...generatedRows(300, EDGE_ROWS.length)];
    const file = await save(
      `all-${compression}.parquet`,
      await writeParquetToBuffer(ALL_TYPES, rows, { compression }),
    );
    await expectReadsBack(file, ALL_TYPES, rows);

    const [meta] = await query(
      `SELECT DISTINCT compression FROM parquet_metadata('${file}') ORDER BY 1`,
    );
    expect(meta?.compression).toBe(compression);
  });

  it.each(COMPRESSIONS)(
    'cuts many pages and row groups by their byte sizes and reads them back (%s)',
    async (compression) => {
      const rows = [...EDGE_ROWS, ...generatedRows(2_000, EDGE_ROWS.length)];
      const file = await save(
        `small-pages-${compression}.parquet`,
        await writeParquetToBuffer(ALL_TYPES, rows, {
          compression,
          pageSizeBytes: 2_048,
          blockSizeBytes: 64 * 1024,
        }),
      );
      const [groups] = await query(
        `SELECT count(DISTINCT row_group_id)::INTEGER AS n FROM parquet_metadata('${file}')`,
      );
      expect(groups?.n).toBeGreaterThan(3);
      await expectReadsBack(file, ALL_TYPES, rows);
    },
  );

  it('writes min/max statistics that DuckDB prunes row groups by correctly', async () => {
    const schema = table({
      id: t.int,
      s: t.string,
      b: t.bigint,
      ts: t.timestamp,
      dt: t.date,
      dec: t.decimal(12, 2),
      d: t.double,
    });
    // UTF-16 order and UTF-8 byte order disagree on '\uFFFF' against '😀': statistics in the
    // wrong order would make DuckDB skip row groups that hold the value.
    const strings = ['a', 'zz', '\uFFFF', '😀', '\uFF41', 'é', ''];
    const rows: Row[] = Array.from({ length: 700 }, (_, n) => ({
      id: n,
      s: strings[n % strings.length] ?? null,
      b: BigInt(n % 5 === 0 ? -(2n ** 62n) : n) * (n % 2 === 0 ? -1n : 1n),
      ts: (n - 350) * 1_000_003,
      dt: n % 3 === 0 ? null : -1000 + n,
      dec: BigInt(n - 350) * 101n,
      d: n % 7 === 0 ? Number.NaN : n - 350.5,
    }));
    const file = await save(
      'statistics.parquet',
      await writeParquetToBuffer(schema, rows, { compression: 'SNAPPY', blockSizeBytes: 4_000 }),
    );
    const [groups] = await query(
      `SELECT count(DISTINCT row_group_id)::INTEGER AS n FROM parquet_metadata('${file}')`,
    );
    expect(groups?.n).toBeGreaterThan(3);

    const [first] = await query(
      `SELECT stats_min_value AS lo, stats_max_value AS hi FROM parquet_metadata('${file}')
       WHERE row_group_id = 0 AND path_in_schema = 's'`,
    );
    expect([first?.lo, first?.hi]).toEqual(['', '😀']);

    const count = async (where: string, values: DuckDBValue[]): Promise<bigint> => {
      const [row] = await query(
        `SELECT count(*) AS n FROM read_parquet('${file}') WHERE ${where}`,
        values,
      );
      return row?.n as bigint;
    };
    const countIn = (predicate: (row: Row) => boolean): bigint =>
      BigInt(rows.filter(predicate).length);
    for (const s of strings) {
      expect(await count('s = $1', [s]), `s = ${JSON.stringify(s)}`).toBe(
        countIn((r) => r.s === s),
      );
    }
    expect(await count('s > $1', ['\uFFFF'])).toBe(countIn((r) => r.s === '😀'));
    expect(await count('b = $1', [-(2n ** 62n)])).toBe(countIn((r) => r.b === -(2n ** 62n)));
    expect(await count('b < 0', [])).toBe(countIn((r) => (r.b as bigint) < 0n));
    expect(await count('ts = make_timestamp($1::BIGINT)', [-349n * 1_000_003_000n])).toBe(1n);
    expect(await count('ts < make_timestamp(0)', [])).toBe(350n);
    expect(await count(`dt = DATE '1967-04-16'`, [])).toBe(
      countIn((r) => r.dt === days(MS(1967, 3, 16))),
    );
    expect(await count('dec = -3.03', [])).toBe(1n);
    expect(await count('dec < 0', [])).toBe(350n);
    expect(await count('isnan(d)', [])).toBe(countIn((r) => Number.isNaN(r.d)));
    // DuckDB orders NaN above every number.
    expect(await count('d > 300', [])).toBe(
      countIn((r) => Number.isNaN(r.d) || (r.d as number) > 300),
    );
  });

  it('writes a large table in several row groups', async () => {
    const schema = table({
      id: t.int,
      name: t.string,
      amount: t.decimal(12, 2),
      seen_at: t.timestamp,
      tags: t.array(t.string),
    });
    const total = 200_000;
    function* rows(): Generator<Row> {
      for (let id = 0; id < total; id += 1) {
        yield {
          id,
          name: `user-${id % 1000}`,
          amount: BigInt(id) * 7n - 50_000n,
          seen_at: 1_700_000_000_000 + id,
          tags: id % 10 === 0 ? [] : ['a', `t${id % 3}`],
        };
      }
    }
    const options: ParquetWriterOptions = {
      compression: 'SNAPPY',
      pageSizeBytes: 64 * 1024,
      blockSizeBytes: 1024 * 1024,
    };
    const pieces: Buffer[] = [];
    for await (const piece of writeParquet(schema, rows(), options)) pieces.push(piece);
    const file = await save('large.parquet', Buffer.concat(pieces));

    const groups = await query(
      `SELECT row_group_id, any_value(row_group_num_rows) AS n
       FROM parquet_metadata('${file}') GROUP BY row_group_id ORDER BY row_group_id`,
    );
    expect(groups.length).toBeGreaterThan(3);
    expect(groups.reduce((sum, g) => sum + (g.n as bigint), 0n)).toBe(BigInt(total));
    // The header, each row group as it ends, then the footer.
    expect(pieces[0]?.toString('latin1')).toBe('PAR1');
    expect(pieces).toHaveLength(groups.length + 2);

    const [summary] = await query(
      `SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(id) AS id_sum, sum(amount) AS amounts,
              min(seen_at) = make_timestamp(1700000000000000) AS first_at,
              sum(len(tags)) AS tag_count
       FROM read_parquet('${file}')`,
    );
    const n = BigInt(total);
    expect(summary?.n).toBe(n);
    expect(summary?.ids).toBe(n);
    expect(summary?.id_sum).toBe((n * (n - 1n)) / 2n);
    expect((summary?.amounts as DuckDBDecimalValue).value).toBe(
      7n * ((n * (n - 1n)) / 2n) - 50_000n * n,
    );
    expect(summary?.first_at).toBe(true);
    expect(summary?.tag_count).toBe(2n * (n - n / 10n));
  });

  it('streams the same bytes it writes in one buffer, and writes a table of no rows', async () => {
    const rows = generatedRows(50, 0);
    const whole = await writeParquetToBuffer(ALL_TYPES, rows, { compression: 'GZIP' });
    const pieces: Buffer[] = [];
    async function* slowly(): AsyncGenerator<Row> {
      for (const row of rows) {
        await Promise.resolve();
        yield row;
      }
    }
    for await (const piece of writeParquet(ALL_TYPES, slowly(), { compression: 'GZIP' })) {
      pieces.push(piece);
    }
    expect(Buffer.concat(pieces).equals(whole)).toBe(true);

    const empty = await save(
      'empty.parquet',
      await writeParquetToBuffer(ALL_TYPES, [], { compression: 'SNAPPY' }),
    );
    await expectReadsBack(empty, ALL_TYPES, []);
  });
});

describe('Parquet writer, refusals', () => {
  const schema = table({ id: t.int, n: t.int, m: t.map(t.string, t.int), dec: t.decimal(3, 1) });

  it('refuses a value that does not fit its column, naming the column', async () => {
    const bad: [Row, RegExp][] = [
      [{ id: 1, n: 2 ** 31 }, /column "n": expected a 32-bit integer, got 2147483648/],
      [{ id: 1, n: 1.5 }, /column "n"/],
      [{ id: 1, n: '1' }, /column "n"/],
      [{ id: 1, m: [[null, 1]] }, /column "m\{key\}"/],
      [{ id: 1, m: [['k', 'v']] }, /column "m\{value\}"/],
      [{ id: 1, dec: 1000n }, /column "dec": expected an unscaled bigint of at most 3 digits/],
    ];
    for (const [row, message] of bad) {
      await expect(writeParquetToBuffer(schema, [row], { compression: 'SNAPPY' })).rejects.toThrow(
        message,
      );
    }
  });

  it('leaves out a row that does not fit when told to, and writes the others', async () => {
    const refused: [Row, ParquetValueError][] = [];
    const rows: Row[] = [
      { id: 1, n: 1 },
      { id: 2, n: 'two' },
      { id: 3, dec: 999n },
    ];
    const file = await save(
      'refused.parquet',
      await writeParquetToBuffer(schema, rows, {
        compression: 'SNAPPY',
        onInvalidRow: (row, error) => refused.push([row, error]),
      }),
    );
    expect(refused.map(([row]) => row.id)).toEqual([2]);
    expect(refused[0]?.[1]).toBeInstanceOf(ParquetValueError);
    await expectReadsBack(file, schema, [rows[0] ?? {}, rows[2] ?? {}]);
  });

  it('refuses a schema Parquet cannot hold', async () => {
    const schemas: [TableSchema, RegExp][] = [
      [{ columns: [] }, /needs a column/],
      [table({ s: t.struct({}) }), /a struct needs a field/],
      [table({ d: t.decimal(39, 0) }), /precision 39/],
      [table({ d: t.decimal(5, 6) }), /scale 6/],
      [{ columns: [{ name: '__proto__', type: t.int }] }, /__proto__/],
      [
        {
          columns: [
            { name: 'a', type: t.int },
            { name: 'a', type: t.string },
          ],
        },
        /defined twice/,
      ],
      [table({ a: t.struct({ b: t.int }), 'a,b': t.int }), /same path/],
    ];
    for (const [bad, message] of schemas) {
      const write = writeParquetToBuffer(bad, [], { compression: 'SNAPPY' });
      await expect(write).rejects.toThrow(ParquetSchemaError);
      await expect(writeParquetToBuffer(bad, [], { compression: 'SNAPPY' })).rejects.toThrow(
        message,
      );
    }
    await expect(
      writeParquetToBuffer(schema, [], { compression: 'SNAPPY', pageSizeBytes: 0 }),
    ).rejects.toThrow(RangeError);
  });
});
