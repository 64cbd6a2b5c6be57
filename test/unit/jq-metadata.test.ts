import { describe, expect, it } from 'vitest';

import {
  compileMetadataExtractionQuery,
  JqCompileError,
  JqRuntimeError,
  MAX_PARTITION_KEYS,
} from '../../src/processors/jq/index.js';

function compileError(query: string): JqCompileError {
  try {
    compileMetadataExtractionQuery(query);
  } catch (error) {
    if (error instanceof JqCompileError) return error;
    throw error;
  }
  throw new Error(`${query} compiled`);
}

function runtimeError(query: string, record: unknown): string {
  try {
    compileMetadataExtractionQuery(query).evaluate(record);
  } catch (error) {
    if (error instanceof JqRuntimeError) return error.message;
    throw error;
  }
  throw new Error(`${query} did not fail`);
}

describe('compileMetadataExtractionQuery', () => {
  it('gives the partition key names in query order', () => {
    const query = compileMetadataExtractionQuery(
      '{customer_id: .customer_id, "year": .y, "a b": 1, if: 2} ',
    );
    expect(query.keys).toEqual(['customer_id', 'year', 'a b', 'if']);
  });

  it('evaluates each key to text as jq -r prints it', () => {
    const query = compileMetadataExtractionQuery(
      '{s: .s, i: .i, f: .f, big: .big, small: .small, neg0: .neg0, t: .t, f2: .f2, day: (.ts | strftime("%Y/%m/%d"))}',
    );
    expect(
      query.evaluate({
        s: 'eu/1',
        i: 1.0,
        f: 3.14,
        big: 1e17,
        small: 1e-7,
        neg0: -0,
        t: true,
        f2: false,
        ts: 1425599621,
      }),
    ).toEqual({
      s: 'eu/1',
      i: '1',
      f: '3.14',
      big: '1e+17',
      small: '1e-07',
      neg0: '-0',
      t: 'true',
      f2: 'false',
      day: '2015/03/05',
    });
  });

  it('accepts parentheses around the object', () => {
    expect(compileMetadataExtractionQuery('(({k: .a}))').evaluate({ a: 'x' })).toEqual({ k: 'x' });
  });

  it('names the key whose value is null, an object or an array', () => {
    expect(runtimeError('{customer_id: .customer_id}', {})).toBe(
      "partition key 'customer_id' evaluated to null",
    );
    expect(runtimeError('{a: .a, b: .b}', { a: 'x', b: { c: 1 } })).toBe(
      `partition key 'b' evaluated to an object ({"c":1})`,
    );
    expect(runtimeError('{a: .a}', { a: [1, 2] })).toBe(
      "partition key 'a' evaluated to an array ([1,2])",
    );
    expect(runtimeError('{a: (.a | tonumber)}', { a: 'nan' })).toContain('Invalid literal');
  });

  it('passes jq errors on and reports a query that gives no output', () => {
    expect(runtimeError('{a: .a.b}', { a: 'x' })).toBe('Cannot index string with string "b"');
    expect(runtimeError('{a: (.a | select(. > 1))}', { a: 0 })).toBe('the query gave no output');
    expect(runtimeError('{a: ((.a.b)?), b: .b}', { a: 'x', b: 'y' })).toBe(
      'the query gave no output',
    );
    expect(
      compileMetadataExtractionQuery('{a: ((.a.b)?), b: .b}').evaluate({ a: { b: 1 }, b: 'y' }),
    ).toEqual({
      a: '1',
      b: 'y',
    });
  });

  it('refuses queries that are not an object constructor', () => {
    for (const query of [
      '.customer_id',
      '[.a]',
      '{a: .a} | .a',
      'if . then {a: 1} else {a: 2} end',
      '"x"',
    ]) {
      const error = compileError(query);
      expect(error.message).toContain(
        'Firehose requires the MetadataExtractionQuery to build a JSON object of partition keys',
      );
      expect(error.offset).toBe(0);
    }
  });

  it('refuses more than 50 keys, pointing at the 51st', () => {
    const names = Array.from({ length: MAX_PARTITION_KEYS + 1 }, (_, i) => `k${i}: .v`);
    const fifty = compileMetadataExtractionQuery(
      `{${names.slice(0, MAX_PARTITION_KEYS).join(', ')}}`,
    );
    expect(fifty.keys).toHaveLength(50);
    const query = `{${names.join(', ')}}`;
    const error = compileError(query);
    expect(error.message).toContain('gives 51 partition keys; Firehose allows at most 50');
    expect(error.offset).toBe(query.indexOf('k50'));
  });

  it('refuses duplicate, empty, computed and missing key names', () => {
    const duplicate = compileError('{a: .x, "a": .y}');
    expect(duplicate.message).toContain("the partition key 'a' is given twice");
    expect(duplicate.offset).toBe(8);
    expect(compileError('{"": .x}').message).toContain('must not be empty');
    expect(compileError('{(.k): .v}').message).toContain('must be fixed');
    expect(compileError('{"k\\(.x)": .v}').message).toContain('must be fixed');
    expect(compileError('{}').message).toContain('gives no partition keys');
  });

  it('refuses what compileJq refuses', () => {
    expect(compileError('{a: .a, b: .b[]}').message).toContain('several outputs');
    expect(compileError('{a: .a | test("x")}').message).toContain('regular expressions');
    expect(compileError('{a: .a + 1}').message).toContain('syntax error');
  });
});
