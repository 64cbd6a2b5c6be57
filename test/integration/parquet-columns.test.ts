import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  DuckDBInstance,
  type DuckDBConnection,
  type DuckDBListValue,
  type DuckDBMapValue,
  type DuckDBStructValue,
  type DuckDBValue,
} from '@duckdb/node-api';
import thrift from 'parquetjs-lite/gen-nodejs/parquet_types.js';
import parquetUtil from 'parquetjs-lite/lib/util.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  PAGE_ROW_LIMIT,
  ParquetValueError,
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
 * What the writer's directly filled columns must get right, read back by DuckDB: nesting several
 * deep with a null, an empty list or map at every level; pages and row groups cut mid-batch
 * where the byte sizes and the 20,000-row page limit say (the pages walked in the file); rows
 * refused half-way leaving nothing behind, not even in the statistics; and the statistics
 * written (min/max and null counts, no distinct count).
 */

const suite = cleanupAfterAll();
let dir: string;
let instance: DuckDBInstance;
let db: DuckDBConnection;

beforeAll(async () => {
  dir = await tempDir(suite, 'sluice-parquet-columns-');
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
  boolean: { kind: 'boolean' },
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

async function save(name: string, bytes: Buffer): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, bytes);
  return file;
}

async function query(sql: string): Promise<Record<string, DuckDBValue>[]> {
  return (await db.runAndReadAll(sql)).getRowObjects();
}

/** What DuckDB read, in the writer's value representation. */
function fromDuck(value: DuckDBValue, type: ColumnType): RowValue {
  if (value === null) return null;
  switch (type.kind) {
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
    default:
      return value as RowValue;
  }
}

/** A written value as it reads back: an absent field is null. */
function expected(value: RowValue | undefined, type: ColumnType): RowValue {
  if (value === undefined || value === null) return null;
  switch (type.kind) {
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

/** Reads `file` back (ordered by `id`) and checks every value of `rows`. */
async function expectReadsBack(file: string, schema: TableSchema, rows: Row[]): Promise<void> {
  const read = await query(`SELECT * FROM read_parquet('${file}') ORDER BY id`);
  expect(read).toHaveLength(rows.length);
  read.forEach((got, n) => {
    for (const column of schema.columns) {
      expect(fromDuck(got[column.name] ?? null, column.type), `row ${n}, ${column.name}`).toEqual(
        expected(rows[n]?.[column.name], column.type),
      );
    }
  });
}

/** Each column chunk's data pages, walked in the file: their value (level) counts. */
async function pagesOf(file: string): Promise<Map<string, number[][]>> {
  const bytes = await readFile(file);
  const chunks = await query(
    `SELECT row_group_id, path_in_schema, data_page_offset, total_compressed_size
     FROM parquet_metadata('${file}') ORDER BY row_group_id, column_id`,
  );
  const pages = new Map<string, number[][]>();
  for (const chunk of chunks) {
    let at = Number(chunk.data_page_offset);
    const end = at + Number(chunk.total_compressed_size);
    const counts: number[] = [];
    while (at < end) {
      const header = new thrift.PageHeader() as {
        compressed_page_size: number;
        data_page_header: { num_values: number };
      };
      at += (
        parquetUtil as unknown as { decodeThrift(o: object, b: Buffer, at: number): number }
      ).decodeThrift(header, bytes, at);
      counts.push(header.data_page_header.num_values);
      at += header.compressed_page_size;
    }
    expect(at).toBe(end);
    const path = String(chunk.path_in_schema);
    pages.set(path, [...(pages.get(path) ?? []), counts]);
  }
  return pages;
}

const DEEP = table({
  id: t.int,
  deep: t.array(
    t.struct({
      name: t.string,
      kids: t.array(t.map(t.string, t.array(t.int))),
      flag: t.boolean,
    }),
  ),
  mm: t.map(t.string, t.map(t.int, t.array(t.string))),
  cube: t.array(t.array(t.array(t.int))),
});

/** A null, an empty list or map, and a value, at every level of every nested column. */
const DEEP_ROWS: Row[] = (
  [
    { deep: null, mm: null, cube: null },
    { deep: [], mm: [], cube: [] },
    { deep: [null], mm: [['a', null]], cube: [null] },
    { deep: [{}], mm: [['a', []]], cube: [[]] },
    { deep: [{ name: null, kids: null, flag: null }], mm: [['a', [[1, null]]]], cube: [[null]] },
    { deep: [{ kids: [] }], mm: [['a', [[1, []]]]], cube: [[[]]] },
    { deep: [{ kids: [null] }], mm: [['a', [[1, [null]]]]], cube: [[[null]]] },
    { deep: [{ kids: [[]] }], mm: [['a', [[1, [null, 'x', '']]]]], cube: [[[1, null, 2]]] },
    { deep: [{ kids: [[['k', null]]] }], cube: [[[1], [], null, [null, 3]], [], null, [[4]]] },
    { deep: [{ kids: [[['k', []]]] }] },
    { deep: [{ kids: [[['k', [null]]]] }] },
    { deep: [{ kids: [[['k', [1, null, 2]]]] }] },
    {
      deep: [
        null,
        {
          name: 'x',
          kids: [
            [],
            null,
            [
              ['a', [1]],
              ['b', null],
              ['c', []],
            ],
          ],
          flag: true,
        },
        {},
        { name: '', kids: [], flag: false },
      ],
      mm: [
        [
          'a',
          [
            [1, ['p', null]],
            [2, []],
            [3, null],
          ],
        ],
        ['b', null],
        ['c', []],
      ],
      cube: [[[null, null], []], [[]], [null]],
    },
  ] as Row[]
).map((row, id) => ({ id, ...row }));

describe('Parquet writer: nested columns, read back by DuckDB', () => {
  it('writes a null, an empty and a value at every level of deep nesting', async () => {
    // Each row on its own and all in one page; also many rows repeating them, over pages.
    const file = await save(
      'deep.parquet',
      await writeParquetToBuffer(DEEP, DEEP_ROWS, { compression: 'SNAPPY' }),
    );
    await expectReadsBack(file, DEEP, DEEP_ROWS);

    const many = Array.from({ length: 3_000 }, (_, id) => ({
      ...(DEEP_ROWS[id % DEEP_ROWS.length] as Row),
      id,
    }));
    const paged = await save(
      'deep-paged.parquet',
      await writeParquetToBuffer(DEEP, many, {
        compression: 'GZIP',
        pageSizeBytes: 500,
        blockSizeBytes: 8_000,
      }),
    );
    await expectReadsBack(paged, DEEP, many);
    const pages = await pagesOf(paged);
    expect(pages.get('id')?.length).toBeGreaterThan(3);
    expect(pages.get('id')?.flat().length).toBeGreaterThan(20);
  });

  it('leaves out rows refused half-way, also from the statistics', async () => {
    const schema = table({ id: t.int, s: t.string, deep: DEEP.columns[1]?.type ?? t.int });
    const rows: Row[] = [];
    const refused: number[] = [];
    for (let id = 0; id < 500; id += 1) {
      rows.push({ id, s: `m${id % 97}`, deep: [{ name: 'n', kids: [[['k', [id]]]] }] });
    }
    // The least and greatest strings come only in refused rows, each failing deep in `deep`
    // after `id` and `s` were written.
    const bad = (id: number, s: string): Row => ({
      id,
      s,
      deep: [{ name: 'n', kids: [[['k', [1, 'two']]]] }],
    });
    const all = rows.flatMap((row, n) =>
      n % 100 === 50 ? [bad(-1, 'a'), row, bad(-2, 'z')] : [row],
    );
    const file = await save(
      'refused.parquet',
      await writeParquetToBuffer(schema, all, {
        compression: 'SNAPPY',
        onInvalidRow: (row, error) => {
          expect(error).toBeInstanceOf(ParquetValueError);
          refused.push(row.id as number);
        },
      }),
    );
    expect(refused).toEqual(Array.from({ length: 5 }, () => [-1, -2]).flat());
    await expectReadsBack(file, schema, rows);
    const [stats] = await query(
      `SELECT stats_min_value AS lo, stats_max_value AS hi FROM parquet_metadata('${file}')
       WHERE path_in_schema = 's'`,
    );
    expect([stats?.lo, stats?.hi]).toEqual(['m0', 'm96']);
  });
});

describe('Parquet writer: pages and row groups cut mid-batch', () => {
  /** The cuts the writer's rule makes for a flat table of fixed-size values (see (1), (2)). */
  function expectedCuts(
    rows: number,
    rowBytes: number[],
    options: Required<Pick<ParquetWriterOptions, 'pageSizeBytes' | 'blockSizeBytes'>>,
  ): number[][] {
    const groups: number[][] = [];
    let pages: number[] = [];
    let pageRows = 0;
    let groupBytes = 0;
    const pageBytes = rowBytes.map(() => 0);
    for (let n = 0; n < rows; n += 1) {
      pageRows += 1;
      let pageFull = pageRows >= PAGE_ROW_LIMIT;
      rowBytes.forEach((bytes, c) => {
        groupBytes += bytes;
        pageBytes[c] = (pageBytes[c] ?? 0) + bytes;
        if ((pageBytes[c] ?? 0) >= options.pageSizeBytes) pageFull = true;
      });
      const groupFull = groupBytes >= options.blockSizeBytes;
      if (pageFull || groupFull) {
        pages.push(pageRows);
        pageRows = 0;
        pageBytes.fill(0);
      }
      if (groupFull) {
        groups.push(pages);
        pages = [];
        groupBytes = 0;
      }
    }
    if (pageRows > 0) pages.push(pageRows);
    if (pages.length > 0) groups.push(pages);
    return groups;
  }

  it('ends pages at 20,000 rows and row groups by bytes, within a batch', async () => {
    const schema = table({ id: t.int, s: t.string });
    const total = 65_000;
    // 4 bytes of id, 4 + 6 of s: 14 a row.
    const rows: Row[] = Array.from({ length: total }, (_, id) => ({
      id,
      s: `s${String(id % 100_000).padStart(5, '0')}`,
    }));
    const options = { pageSizeBytes: 1024 * 1024, blockSizeBytes: 14 * 45_000 };
    const file = await save(
      'cut.parquet',
      await writeParquetToBuffer(schema, rows, { compression: 'UNCOMPRESSED', ...options }),
    );
    const cuts = expectedCuts(total, [4, 10], options);
    // Groups of 45,000 and 20,000 rows; pages of 20,000 rows at most.
    expect(cuts).toEqual([[20_000, 20_000, 5_000], [20_000]]);
    const pages = await pagesOf(file);
    expect(pages.get('id')).toEqual(cuts);
    expect(pages.get('s')).toEqual(cuts);
    const [check] = await query(
      `SELECT count(*) AS n, sum(id) AS ids,
              bool_and(s = 's' || lpad(id::VARCHAR, 5, '0')) AS strings
       FROM read_parquet('${file}')`,
    );
    expect(check).toEqual({
      n: BigInt(total),
      ids: BigInt((total * (total - 1)) / 2),
      strings: true,
    });
  });

  it('ends pages when a column reaches PageSizeBytes, for all columns at once', async () => {
    const schema = table({ id: t.int, s: t.string, flag: t.boolean });
    const total = 5_000;
    const rows: Row[] = Array.from({ length: total }, (_, id) => ({
      id,
      s: 'x'.repeat(16),
      flag: id % 3 === 0,
    }));
    const options = { pageSizeBytes: 4_000, blockSizeBytes: 50_000 };
    const file = await save(
      'cut-bytes.parquet',
      await writeParquetToBuffer(schema, rows, { compression: 'SNAPPY', ...options }),
    );
    const cuts = expectedCuts(total, [4, 20, 0.125], options);
    expect(cuts.length).toBeGreaterThan(2);
    const pages = await pagesOf(file);
    for (const column of ['id', 's', 'flag']) expect(pages.get(column), column).toEqual(cuts);
    await expectReadsBack(file, schema, rows);
  });

  it('writes min/max and null counts, and no distinct count', async () => {
    const schema = table({ id: t.int, s: t.string, xs: t.array(t.int) });
    const rows: Row[] = [
      { id: 0, s: 'b', xs: [3, null, -1] },
      { id: 1, s: null, xs: [] },
      { id: 2, s: 'é', xs: null },
      { id: 3, s: 'a', xs: [null] },
    ];
    const file = await save(
      'stats.parquet',
      await writeParquetToBuffer(schema, rows, { compression: 'SNAPPY' }),
    );
    const stats = await query(
      `SELECT path_in_schema AS path, stats_min_value AS lo, stats_max_value AS hi,
              stats_null_count AS nulls, stats_distinct_count AS distinct
       FROM parquet_metadata('${file}') ORDER BY column_id`,
    );
    expect(stats.map((s) => [String(s.path), s.lo, s.hi, s.nulls, s.distinct])).toEqual([
      ['id', '0', '3', 0n, null],
      ['s', 'a', 'é', 1n, null],
      // Levels without a value: the null element, the empty and the null list, [null].
      ['xs, list, element', '-1', '3', 4n, null],
    ]);
  });
});
