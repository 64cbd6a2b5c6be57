import { afterAll, describe, expect, it } from 'vitest';

import type { LoadFormat } from '../../src/destinations/redshift/copy-options.js';
import { recordRows } from '../../src/destinations/redshift/copy-rows.js';
import { JsonRowWriter } from '../../src/destinations/redshift/json-row-writer.js';
import { frameRecords } from '../../src/destinations/redshift/record-runs.js';
import {
  closeRowConversionPool,
  convertOnWorker,
} from '../../src/destinations/redshift/row-conversion-pool.js';
import {
  countLines,
  RowConverterCore,
  type ConvertedRows,
} from '../../src/destinations/redshift/row-conversion.js';
import { convertRun, type RowTask } from '../../src/destinations/redshift/row-worker.js';

/**
 * Row conversion many records at a time (row-conversion.ts), its JSON fast path
 * (json-row-writer.ts) and the conversion worker (row-worker.ts on the worker pool): each must
 * make exactly the rows, line counts and failures `recordRows` makes record by record, which
 * defines the format.
 */

afterAll(() => closeRowConversionPool());

/** A small seeded generator (mulberry32), so a failure names the records that made it. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COLUMNS = ['id', 'name', 'amount', 'payload', 'flag', 'Mixed'];

/** Member values as written, the ordinary and the ones only the general path converts. */
const VALUES = [
  '1',
  '-17',
  '0',
  '-0',
  '-0.0',
  '123456789012345',
  '1234567890123456',
  '12345678901234567890.50',
  '3.14',
  '2.50',
  '7.000',
  '0.000001',
  '0.0000001',
  '1e3',
  '-2.5E-3',
  '1.234567890123456',
  'true',
  'false',
  'null',
  '"plain text"',
  '""',
  '"tab\\there\\nnew\\\\line \\"quoted\\" \\/ \\b\\f\\r"',
  '"caf\\u00e9 \\u0009 \\u005c \\u000A \\u0000 end"',
  '"pair \\ud834\\udd1e"',
  '"lone \\ud834 x"',
  '"lone low \\udd1e"',
  '"ünïcødé 𝄞 raw"',
  '"digits 1234567890123456 in a string"',
  '"\\u12345678901234567"',
  '{"a":[1,2,{"b":null}],"c":"x"}',
  '{ "a" : [1, 2] }',
  '{"a":1,"a":2}',
  '{"b":1,"2":2}',
  '{"s":"x\\"y\\\\z\\n"}',
  '{"s":"a\\/b"}',
  '{"s":"\\u00e9"}',
  '{"n":1.50}',
  '{"n":-0}',
  '[]',
  '{}',
  '[1,"two",[3,{"four":4}],true,null]',
  '[1e5]',
];
const KEYS = ['id', 'name', 'amount', 'payload', 'flag', 'Mixed', 'mixed', 'MIXED', 'ID', 'other'];

function randomObject(next: () => number): string {
  const members: string[] = [];
  const count = Math.floor(next() * 6);
  for (let k = 0; k < count; k += 1) {
    const key = KEYS[Math.floor(next() * KEYS.length)] as string;
    const value = VALUES[Math.floor(next() * VALUES.length)] as string;
    const space = next() < 0.2 ? ' ' : '';
    members.push(`${space}"${key}"${space}:${space}${value}`);
  }
  return `{${members.join(',')}}`;
}

/** Varied records: mostly one object, some several, some broken or not UTF-8. */
function randomRecords(seed: number, count: number): Buffer[] {
  const next = random(seed);
  return Array.from({ length: count }, () => {
    const roll = next();
    if (roll < 0.7) return Buffer.from(`${randomObject(next)}${next() < 0.5 ? '\n' : ''}`);
    if (roll < 0.78) return Buffer.from(`${randomObject(next)}\n${randomObject(next)}`);
    if (roll < 0.84) return Buffer.from(randomObject(next).slice(0, -1));
    if (roll < 0.88)
      return Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]);
    if (roll < 0.91) return Buffer.from(`  ${randomObject(next)}  \r\n`);
    if (roll < 0.94) return Buffer.from('[1,2]');
    if (roll < 0.97) return Buffer.from('   ');
    return Buffer.from(`{"name":"raw\tcontrol"}`);
  });
}

/** What `recordRows` makes of each record, in the shape of one run. */
function expected(records: readonly Buffer[], format: LoadFormat, columns: readonly string[]) {
  const rows: Buffer[] = [];
  const indexes: number[] = [];
  const lines: number[] = [];
  const failed: { index: number; message: string }[] = [];
  records.forEach((record, index) => {
    const converted = recordRows(record, format, columns);
    if ('error' in converted) failed.push({ index, message: converted.error });
    else if (converted.rows.length > 0) {
      rows.push(converted.rows);
      indexes.push(index);
      lines.push(countLines(converted.rows));
    }
  });
  return { rows: Buffer.concat(rows), indexes, lines, failed, perRecord: rows };
}

function comparable(run: ConvertedRows) {
  return {
    rows: Buffer.from(run.rows),
    indexes: [...run.indexes],
    lines: [...run.lines],
    failed: run.failed,
  };
}

function onMainThread(records: readonly Buffer[], format: LoadFormat, columns: readonly string[]) {
  const core = new RowConverterCore(format, columns, 16);
  records.forEach((record, index) => core.add(record, 0, record.length, index));
  return core.take();
}

function taskOf(records: readonly Buffer[], format: LoadFormat, columns: readonly string[]) {
  const run = frameRecords(records.map((data, position) => ({ position, data })));
  return { format, columns, run: run.buffer as ArrayBuffer, firstIndex: 0 } satisfies RowTask;
}

const JSON_EXACT: LoadFormat = { kind: 'json', ignoreCase: false };
const JSON_ANY_CASE: LoadFormat = { kind: 'json', ignoreCase: true };

describe('JSON rows many records at a time', () => {
  it.each([
    [1, JSON_EXACT],
    [2, JSON_ANY_CASE],
    [3, JSON_EXACT],
    [4, JSON_ANY_CASE],
  ])('makes exactly what recordRows makes of each record (seed %i)', (seed, format) => {
    const records = randomRecords(seed, 3_000);
    const want = expected(records, format, COLUMNS);
    const run = onMainThread(records, format, COLUMNS);
    expect(comparable(run).failed).toEqual(want.failed);
    expect(comparable(run).indexes).toEqual(want.indexes);
    expect(comparable(run).lines).toEqual(want.lines);
    // Record by record, so a difference names its record.
    let start = 0;
    run.indexes.forEach((index, k) => {
      const end = run.ends[k] as number;
      const got = Buffer.from(run.rows.subarray(start, end)).toString('utf8');
      expect({ index, record: records[index]?.toString(), got }).toEqual({
        index,
        record: records[index]?.toString(),
        got: want.perRecord[k]?.toString('utf8'),
      });
      start = end;
    });
    expect(Buffer.from(run.rows).equals(want.rows)).toBe(true);
  });

  it('takes ordinary records the fast way, and leaves to the general path what it must', () => {
    const writer = new JsonRowWriter(['id', 'name', 'amount', 'at', 'tags'], false);
    const out = new Uint8Array(1024);
    const write = (text: string) => {
      const src = Buffer.from(text);
      const end = writer.write(src, 0, src.length, out, 0);
      return end < 0 ? undefined : Buffer.from(out.subarray(0, end)).toString('utf8');
    };
    expect(
      write(
        '{"id":7,"name":"customer 7\\twith a tab","amount":123.45,"at":"2026-12-01T00:00:00.000Z","tags":{"tier":1,"region":"us"}}\n',
      ),
    ).toBe(
      '7\tcustomer 7\\twith a tab\t123.45\t2026-12-01T00:00:00.000Z\t{"tier":1,"region":"us"}\n',
    );
    expect(write('{"amount":2.50,"id":-3,"other":[1e9, {"x":"\\u00e9"}]}')).toBe(
      '-3\t\\N\t2.5\t\\N\t\\N\n',
    );
    expect(write('{"name":"a\\\\b \\u00e9\\ud834\\udd1e"}')).toBe(
      '\\N\ta\\\\b é𝄞\t\\N\t\\N\t\\N\n',
    );
    expect(write('{"tags":{"s":"q\\"\\\\"}}')).toBe('\\N\t\\N\t\\N\t\\N\t{"s":"q\\\\"\\\\\\\\"}\n');
    for (const general of [
      '{"id":1e3}',
      '{"id":-0}',
      '{"id":1234567890123456}',
      '{"name":"1234567890123456"}',
      '{"name":"\\ud834"}',
      '{"tags":{ "a":1}}',
      '{"tags":{"b":1,"2":2}}',
      '{"tags":{"a":1,"a":2}}',
      '{"tags":"x","tags":{"s":"\\/"}}',
      '{"id":1}{"id":2}',
      '{"n\\u0061me":"x"}',
      '[1]',
      '{"id":1',
    ]) {
      expect(write(general)).toBeUndefined();
    }
  });

  it('converts every format the same as recordRows', () => {
    const records = [
      Buffer.from('a|\\N|c\\d\n|x\tz\n'),
      Buffer.from(''),
      Buffer.from('1,"a\nb"'),
      Buffer.from([0, 10, 255]),
      Buffer.from([0xff]),
    ];
    const formats: LoadFormat[] = [
      { kind: 'text', delimiter: '|', nullAs: '\\N', escape: true },
      { kind: 'csv', delimiter: ',', quote: '"', nullAs: '' },
      { kind: 'raw' },
    ];
    for (const format of formats) {
      const want = expected(records, format, ['a', 'b', 'c']);
      const got = comparable(onMainThread(records, format, ['a', 'b', 'c']));
      expect(got).toEqual({
        rows: want.rows,
        indexes: want.indexes,
        lines: want.lines,
        failed: want.failed,
      });
    }
  });
});

describe('the row conversion worker', () => {
  it('answers what the event loop makes, failures included', async () => {
    for (const [seed, format] of [
      [5, JSON_EXACT],
      [6, JSON_ANY_CASE],
    ] as const) {
      const records = randomRecords(seed, 2_000);
      const local = comparable(onMainThread(records, format, COLUMNS));
      const remote = await convertOnWorker(taskOf(records, format, COLUMNS));
      expect(comparable(remote)).toEqual(local);
      expect(local.failed.length).toBeGreaterThan(0);
    }
  });

  it('numbers records from the run’s first index', async () => {
    const records = [Buffer.from('{"id":1}'), Buffer.from('nope'), Buffer.from('{"id":3}')];
    const task = { ...taskOf(records, JSON_EXACT, ['id']), firstIndex: 40 };
    const run = await convertOnWorker(task);
    expect([...run.indexes]).toEqual([40, 42]);
    expect(run.failed).toHaveLength(1);
    expect(run.failed[0]?.index).toBe(41);
    expect(run.failed[0]?.message).toMatch(/not JSON objects/);
  });

  it('checks UTF-8 record by record where a character would straddle two records', () => {
    // Together the bytes are valid UTF-8 ("é" split across the records); apart, neither is.
    const records = [Buffer.from([0x7b, 0x7d, 0xc3]), Buffer.from([0xa9, 0x7b, 0x7d])];
    const run = convertRun(taskOf(records, JSON_EXACT, ['id']));
    expect(run.failed).toEqual([
      { index: 0, message: 'The record is not valid UTF-8 text.' },
      { index: 1, message: 'The record is not valid UTF-8 text.' },
    ]);
  });
});
