import { describe, expect, it } from 'vitest';

import { parseTableFile } from '../../src/formats/parquet/table-catalog.js';
import {
  compileConverter,
  type DeserializerOptions,
} from '../../src/formats/parquet/record-converter.js';
import {
  compileTimestampParser,
  parseDefaultTimestamp,
} from '../../src/formats/parquet/timestamp-parsing.js';

/** JSON records to table rows, as Firehose's OpenX and Hive JSON SerDes read them. */

const OPENX: DeserializerOptions = {
  kind: 'openx',
  caseInsensitive: true,
  dotsToUnderscores: false,
  columnToJsonKey: {},
};

function table(columns: Record<string, string>) {
  return parseTableFile(
    JSON.stringify({ columns: Object.entries(columns).map(([name, type]) => ({ name, type })) }),
    't',
  );
}

const ALL = table({
  s: 'string',
  i: 'int',
  b: 'bigint',
  d: 'double',
  f: 'float',
  ok: 'boolean',
  at: 'timestamp',
  day: 'date',
  price: 'decimal(7,2)',
  tags: 'array<string>',
  user: 'struct<id:int,name:string>',
  attrs: 'map<string,int>',
});

describe('compileConverter', () => {
  const convert = compileConverter(ALL, OPENX);

  it('converts every type, missing columns to null', () => {
    expect(
      convert(
        JSON.stringify({
          s: 'x',
          i: -7,
          b: '9223372036854775807',
          d: 1.5,
          f: '2.25',
          ok: 'TRUE',
          at: '2024-05-01 13:45:30.123',
          day: '1969-12-31',
          price: 12345.675,
          tags: ['a', 'b'],
          user: { ID: 3, Name: 'Zoë' },
          attrs: { x: 1, y: '2' },
        }),
      ),
    ).toEqual({
      rows: [
        {
          s: 'x',
          i: -7,
          b: 9223372036854775807n,
          d: 1.5,
          f: 2.25,
          ok: true,
          at: Date.UTC(2024, 4, 1, 13, 45, 30, 123),
          day: -1,
          price: 1234568n,
          tags: ['a', 'b'],
          user: { id: 3, name: 'Zoë' },
          attrs: [
            ['x', 1],
            ['y', 2],
          ],
        },
      ],
    });
    expect(convert('{}')).toEqual({
      rows: [
        {
          s: null,
          i: null,
          b: null,
          d: null,
          f: null,
          ok: null,
          at: null,
          day: null,
          price: null,
          tags: null,
          user: null,
          attrs: null,
        },
      ],
    });
  });

  it('writes numbers, booleans and objects into string columns as their JSON', () => {
    const toString = compileConverter(table({ s: 'string' }), OPENX);
    expect(toString('{"s":12.5}')).toEqual({ rows: [{ s: '12.5' }] });
    expect(toString('{"s":{"a":[1,true]}}')).toEqual({ rows: [{ s: '{"a":[1,true]}' }] });
  });

  it('reads epoch seconds, milliseconds, fractional seconds and ISO 8601 into timestamps', () => {
    const at = compileConverter(table({ at: 'timestamp' }), OPENX);
    const ms = Date.UTC(2018, 1, 7, 19, 58, 48, 123);
    for (const value of [
      1518033528.123,
      1518033528123,
      '1518033528123',
      '2018-02-07T19:58:48.123Z',
      '2018-02-07T21:58:48.123+02:00',
    ]) {
      expect(at(JSON.stringify({ at: value }))).toEqual({ rows: [{ at: ms }] });
    }
    expect(at(JSON.stringify({ at: 1518033528 }))).toEqual({ rows: [{ at: ms - 123 }] });
  });

  it('rounds decimals half up to the scale and refuses too many digits', () => {
    const dec = compileConverter(table({ p: 'decimal(5,2)' }), OPENX);
    expect(dec('{"p":"-1.005"}')).toEqual({ rows: [{ p: -101n }] });
    expect(dec('{"p":999.994}')).toEqual({ rows: [{ p: 99999n }] });
    expect(dec('{"p":"1000"}')).toMatchObject({
      code: 'DataFormatConversion.MalformedData',
      message:
        'Column p is decimal(5,2), but the record has the string "1000" (more than 3 digits before the point).',
    });
  });

  it.each([
    ['{"i":"seven"}', 'Column i is int, but the record has the string "seven".'],
    [
      '{"i":2147483648}',
      'Column i is int, but the record has the number 2147483648 (out of range).',
    ],
    ['{"i":1.5}', 'Column i is int, but the record has the number 1.5.'],
    [
      '{"b":9007199254740993}',
      'Column b is bigint, but the record has the number 9007199254740992 (beyond 2^53, send it as a string).',
    ],
    ['{"ok":"yes"}', 'Column ok is boolean, but the record has the string "yes".'],
    ['{"at":"yesterday"}', 'Column at is timestamp, but the record has the string "yesterday".'],
    [
      '{"day":"2024-02-30"}',
      'Column day is date, but the record has the string "2024-02-30" (expected yyyy-MM-dd).',
    ],
    ['{"tags":"a"}', 'Column tags is array, but the record has the string "a".'],
    ['{"user":{"id":"x"}}', 'Column user.id is int, but the record has the string "x".'],
    ['{"tags":["a",{"b":1}]}', null],
    ['{"attrs":{"k":[1]}}', 'Column attrs["k"] is int, but the record has an array [1].'],
  ])('fails %s with a message naming the column', (record, message) => {
    const result = convert(record);
    if (message === null) {
      expect(result).toEqual({ rows: [expect.objectContaining({ tags: ['a', '{"b":1}'] })] });
    } else {
      expect(result).toEqual({ code: 'DataFormatConversion.MalformedData', message });
    }
  });

  it('keeps messages short for a huge record or value', () => {
    const huge = JSON.stringify({ i: 'x'.repeat(900_000), tags: ['a'] });
    const result = convert(huge);
    expect(result).toMatchObject({ code: 'DataFormatConversion.MalformedData' });
    expect('message' in result && result.message.length).toBeLessThan(200);
    const broken = compileConverter(table({ n: 'int' }), OPENX)(`{"n":${'1'.repeat(500_000)}`);
    expect(broken).toMatchObject({ code: 'DataFormatConversion.ParseError' });
    expect('message' in broken && broken.message.length).toBeLessThan(200);
  });

  it('keeps the last of map keys that convert to the same key', () => {
    const map = compileConverter(table({ m: 'map<int,string>' }), OPENX);
    expect(map('{"m":{"1":"a","01":"b","2":"c"}}')).toEqual({
      rows: [
        {
          m: [
            [1, 'b'],
            [2, 'c'],
          ],
        },
      ],
    });
  });

  it('takes several objects in one record, and refuses what is not objects', () => {
    const one = compileConverter(table({ n: 'int' }), OPENX);
    expect(one('{"n":1} {"n":2}\n{"n":"3"}')).toEqual({ rows: [{ n: 1 }, { n: 2 }, { n: 3 }] });
    expect(one('[{"n":1}]')).toMatchObject({
      code: 'DataFormatConversion.ParseError',
      message:
        'The record holds an array [{"n":1}], not a JSON object: each record must be one or more JSON objects.',
    });
    expect(one('{"n":1} x')).toMatchObject({ code: 'DataFormatConversion.ParseError' });
    expect(one('{"n":')).toMatchObject({ code: 'DataFormatConversion.ParseError' });
    expect(one('')).toMatchObject({ code: 'DataFormatConversion.ParseError' });
  });

  it('honours OpenX options: case sensitivity, dots to underscores, column mappings', () => {
    const columns = table({ user_id: 'int', ts: 'string' });
    const sensitive = compileConverter(columns, { ...OPENX, caseInsensitive: false });
    expect(sensitive('{"USER_ID":1,"user_id":2}')).toEqual({ rows: [{ user_id: 2, ts: null }] });
    const dots = compileConverter(columns, { ...OPENX, dotsToUnderscores: true });
    expect(dots('{"user.id":5}')).toEqual({ rows: [{ user_id: 5, ts: null }] });
    const mapped = compileConverter(columns, { ...OPENX, columnToJsonKey: { ts: 'timestamp' } });
    expect(mapped('{"timestamp":"now","ts":"not this"}')).toEqual({
      rows: [{ user_id: null, ts: 'now' }],
    });
  });

  it('names the path through arrays, structs and map keys of a value that does not fit', () => {
    const nested = compileConverter(
      table({ xs: 'array<struct<n:int>>', m: 'map<int,array<int>>' }),
      OPENX,
    );
    expect(nested('{"xs":[{"n":1},{"N":"x"}]}')).toEqual({
      code: 'DataFormatConversion.MalformedData',
      message: 'Column xs[1].n is int, but the record has the string "x".',
    });
    expect(nested('{"m":{"k":[1]}}')).toEqual({
      code: 'DataFormatConversion.MalformedData',
      message: 'Column m key "k" is int, but the record has the string "k".',
    });
    expect(nested('{"m":{"7":[1,2,"three"]}}')).toEqual({
      code: 'DataFormatConversion.MalformedData',
      message: 'Column m["7"][2] is int, but the record has the string "three".',
    });
  });

  it('matches keys case-insensitively record after record, the first of keys alike winning', () => {
    const columns = table({ user_id: 'int', user: 'struct<id:int>' });
    const insensitive = compileConverter(columns, OPENX);
    expect(insensitive('{"user_id":1,"user":{"id":2}}')).toEqual({
      rows: [{ user_id: 1, user: { id: 2 } }],
    });
    expect(insensitive('{"User_ID":3,"user_id":4,"USER":{"Id":5,"id":6}}')).toEqual({
      rows: [{ user_id: 3, user: { id: 5 } }],
    });
    expect(insensitive('{"user_id":7,"toString":8,"user":{"constructor":9}}')).toEqual({
      rows: [{ user_id: 7, user: { id: null } }],
    });
    const both = compileConverter(columns, { ...OPENX, dotsToUnderscores: true });
    expect(both('{"USER.ID":10,"user_id":11}')).toEqual({ rows: [{ user_id: 10, user: null }] });
  });

  it('reads timestamps in the Hive SerDe formats given, in order', () => {
    const hive = compileConverter(table({ at: 'timestamp' }), {
      kind: 'hive',
      timestampFormats: ['dd/MMM/yyyy:HH:mm:ss Z', 'millis', "yyyy-MM-dd'T'HH:mm:ss.SSSZZ"],
    });
    expect(hive('{"at":"10/Oct/2000:13:55:36 -0700"}')).toEqual({
      rows: [{ at: Date.UTC(2000, 9, 10, 20, 55, 36) }],
    });
    expect(hive('{"at":"1518033528123"}')).toEqual({ rows: [{ at: 1518033528123 }] });
    expect(hive('{"at":"2018-02-07T19:58:48.123+00:00"}')).toEqual({
      rows: [{ at: Date.UTC(2018, 1, 7, 19, 58, 48, 123) }],
    });
  });
});

describe('timestamp parsing', () => {
  it('reads toISOString text by position exactly as by the general pattern', () => {
    // The same instants in forms the general pattern reads: a comma before the fraction, an
    // explicit zero offset.
    const generalForms = (iso: string): string[] => [
      `${iso.slice(0, 19)},${iso.slice(20, 23)}Z`,
      `${iso.slice(0, 23)}+00:00`,
    ];
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const pad = (n: number, width: number): string => String(n).padStart(width, '0');
    const samples = [
      '2024-02-29T23:59:59.999Z',
      '2023-02-29T00:00:00.000Z',
      '0050-01-01T00:00:00.000Z',
    ];
    samples.push(
      '1970-01-01t00:00:00.000z',
      '1999-12-31 12:00:00.500Z',
      '2024-04-31T00:00:00.000Z',
    );
    samples.push(
      '2024-13-01T00:00:00.000Z',
      '2024-00-10T00:00:00.000Z',
      '2024-01-01T24:00:00.000Z',
    );
    samples.push(
      '2024-01-01T00:60:00.000Z',
      '2024-01-01T00:00:60.000Z',
      '2024-01-01T00:00:61.000Z',
    );
    for (let i = 0; i < 500; i += 1) {
      samples.push(
        `${pad(next(10_000), 4)}-${pad(next(14), 2)}-${pad(next(33), 2)}T${pad(next(25), 2)}:` +
          `${pad(next(61), 2)}:${pad(next(62), 2)}.${pad(next(1000), 3)}Z`,
      );
    }
    for (const iso of samples) {
      for (const general of generalForms(iso)) {
        expect(parseDefaultTimestamp(iso), `${iso} against ${general}`).toBe(
          parseDefaultTimestamp(general),
        );
      }
    }
    expect(parseDefaultTimestamp('2018-02-07T19:58:48.123Z')).toBe(
      Date.UTC(2018, 1, 7, 19, 58, 48, 123),
    );
    expect(parseDefaultTimestamp('2018-02-07X19:58:48.123Z')).toBeUndefined();
    expect(parseDefaultTimestamp('2018-02-07T19:58:48.12aZ')).toBeUndefined();
  });

  it('reads Timestamp.valueOf text as UTC, with up to nine fraction digits', () => {
    expect(parseDefaultTimestamp('2024-5-1 3:04:05.123456789')).toBe(
      Date.UTC(2024, 4, 1, 3, 4, 5, 123),
    );
    expect(parseDefaultTimestamp('2024-13-01 00:00:00')).toBeUndefined();
    expect(parseDefaultTimestamp('2024-04-31 00:00:00')).toBeUndefined();
  });

  it('reads 12-hour clocks, and refuses pattern letters it does not know', () => {
    const parse = compileTimestampParser(['MM/dd/yyyy hh:mm a']);
    expect(parse('02/07/2018 07:58 PM')).toBe(Date.UTC(2018, 1, 7, 19, 58));
    expect(parse('02/07/2018 12:00 AM')).toBe(Date.UTC(2018, 1, 7, 0, 0));
    expect(() => compileTimestampParser(['yyyy-ww'])).toThrow(
      /the pattern letter w is not supported/,
    );
  });
});
