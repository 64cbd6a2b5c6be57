import { describe, expect, it } from 'vitest';
import {
  DEAGGREGATION_EMPTY,
  DEAGGREGATION_INVALID_JSON,
  DEAGGREGATION_TOO_MANY,
  MAX_SUB_RECORDS,
  deaggregateDelimited,
  deaggregateJson,
  parseDelimiterParameter,
} from '../../src/processors/builtin/deaggregation.js';
import { ProcessorFailure } from '../../src/processors/builtin/processor-failure.js';

const JSON_ADVICE =
  'RecordDeAggregation (JSON) takes objects one after another, as {"a":1}{"a":2} or one per line.';

function failureOf(run: () => unknown): ProcessorFailure {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ProcessorFailure);
    return error as ProcessorFailure;
  }
  throw new Error('expected a ProcessorFailure, nothing was thrown');
}

function texts(records: Buffer[]): string[] {
  return records.map((record) => record.toString('utf8'));
}

/** The problem an invalid-JSON failure names, between its fixed start and end. */
function jsonProblem(input: string | Buffer): string {
  const failure = failureOf(() => deaggregateJson(Buffer.from(input)));
  expect(failure.code).toBe(DEAGGREGATION_INVALID_JSON);
  expect(failure.outputType).toBe('processing-failed');
  const start = 'The record is not a sequence of JSON objects: ';
  expect(failure.message.startsWith(start)).toBe(true);
  expect(failure.message.endsWith(`. ${JSON_ADVICE}`)).toBe(true);
  return failure.message.slice(start.length, -`. ${JSON_ADVICE}`.length);
}

describe('RecordDeAggregation JSON', () => {
  it("splits the documentation's examples: concatenated and newline-delimited objects", () => {
    expect(texts(deaggregateJson(Buffer.from('{"a":1}{"a":2}')))).toEqual(['{"a":1}', '{"a":2}']);
    expect(texts(deaggregateJson(Buffer.from('{"a":1}\n{"a":2}')))).toEqual(['{"a":1}', '{"a":2}']);
  });

  it('drops whitespace of every kind before, between and after objects', () => {
    const input = ' \t\r\n{"a":1}\r\n\r\n{"b":2} \t {"c":3}\n\n';
    expect(texts(deaggregateJson(Buffer.from(input)))).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  it("keeps each object's exact bytes: inner whitespace, key order, number spelling", () => {
    const first = '{ "b" : 1.50e+2 ,\n  "a":[ 1, 2 ] }';
    const second = '{"z":-0,"y":true,"x":null}';
    expect(texts(deaggregateJson(Buffer.from(first + second)))).toEqual([first, second]);
  });

  it('returns views of the record, not copies', () => {
    const data = Buffer.from('{"a":1}{"b":2}');
    const [first] = deaggregateJson(data);
    data[2] = 'A'.charCodeAt(0);
    expect(first!.toString()).toBe('{"A":1}');
  });

  it('ignores braces, brackets and escaped quotes inside strings', () => {
    const objects = [
      '{"s":"}{"}',
      '{"s":"[[[","t":"]]]"}',
      '{"s":"say \\"hi\\" {to} me"}',
      '{"s":"ends with a backslash \\\\"}',
      '{"s":"\\\\\\"}\\\\"}',
      '{"k}":"v{","\\"}":1}',
      '{"u":"\\u007d\\u005b"}',
    ];
    expect(texts(deaggregateJson(Buffer.from(objects.join(''))))).toEqual(objects);
    for (const object of objects) expect(() => JSON.parse(object) as unknown).not.toThrow();
  });

  it('finds string ends in short and long strings full of quotes, backslashes and braces', () => {
    // Deterministic pseudo-random strings of 0–300 characters, around and far past the length
    // where the scan changes method, escaped by JSON.stringify as any producer would.
    const alphabet = ['a', '"', '\\', '{', '}', '[', ']', 'é', '🚀', ' ', '\n'];
    let seed = 7;
    const next = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648);
    const objects = Array.from({ length: 400 }, (_, index) => {
      const length = index < 300 ? index : next() % 3000;
      const text = Array.from({ length }, () => alphabet[next() % alphabet.length]).join('');
      return JSON.stringify({ [text.slice(0, 5)]: text, n: index });
    });
    for (let start = 0; start < objects.length; start += 100) {
      const batch = objects.slice(start, start + 100);
      expect(texts(deaggregateJson(Buffer.from(batch.join(''))))).toEqual(batch);
    }
  });

  it('finds the end of nested objects and arrays', () => {
    const nested = '{"a":{"b":{"c":[{"d":[1,[2,{"e":{}}]]}]}},"f":[]}';
    const deep = '{"x":' + '['.repeat(1000) + ']'.repeat(1000) + '}';
    expect(texts(deaggregateJson(Buffer.from(`${nested}\n${deep}\n{}`)))).toEqual([
      nested,
      deep,
      '{}',
    ]);
  });

  it('passes multi-byte UTF-8 through untouched', () => {
    const objects = ['{"msg":"héllo 日本 🚀"}', '{"🔑":"}"}'];
    const records = deaggregateJson(Buffer.from(objects.join('\n')));
    expect(texts(records)).toEqual(objects);
    expect(records[0]!.length).toBe(Buffer.byteLength(objects[0]!));
  });

  it('refuses a top-level array, naming where it is', () => {
    expect(jsonProblem('[{"a":1},{"a":2}]')).toBe(
      "at byte offset 0 there is '[', a JSON array (send its objects one after another instead) where a JSON object ('{') must start",
    );
    expect(jsonProblem('{"a":1}\n[{"a":2}]')).toBe(
      "at byte offset 8 there is '[', a JSON array (send its objects one after another instead) where a JSON object ('{') must start",
    );
  });

  it('refuses scalars, commas and other bytes between objects', () => {
    expect(jsonProblem('42')).toBe(
      "at byte offset 0 there is '4' where a JSON object ('{') must start",
    );
    expect(jsonProblem('"text"')).toBe(
      `at byte offset 0 there is '"' where a JSON object ('{') must start`,
    );
    expect(jsonProblem('{"a":1},{"a":2}')).toBe(
      "at byte offset 7 there is ',' where a JSON object ('{') must start",
    );
    expect(jsonProblem('{"a":1} x {"a":2}')).toBe(
      "at byte offset 8 there is 'x' where a JSON object ('{') must start",
    );
    expect(jsonProblem(Buffer.from([0x7b, 0x7d, 0x00]))).toBe(
      "at byte offset 2 there is the byte 0x00 where a JSON object ('{') must start",
    );
    expect(jsonProblem(Buffer.from('\u00a0{}'))).toBe(
      "at byte offset 0 there is the byte 0xc2 where a JSON object ('{') must start",
    );
  });

  it('refuses unbalanced braces and brackets', () => {
    expect(jsonProblem('{"a":1}}')).toBe(
      "at byte offset 7 there is '}' where a JSON object ('{') must start",
    );
    expect(jsonProblem('{"a":[1}')).toBe(
      "at byte offset 7, '}' closes the '[' opened at byte offset 5",
    );
    expect(jsonProblem('{"a":{"b":1]}')).toBe(
      "at byte offset 11, ']' closes the '{' opened at byte offset 5",
    );
    expect(jsonProblem('{"a":1}{"b":2')).toBe(
      'the JSON object that starts at byte offset 7 is not closed before the record ends at byte offset 13',
    );
    expect(jsonProblem('{"a":{"b":[1,2')).toBe(
      'the JSON object that starts at byte offset 0 is not closed before the record ends at byte offset 14; the innermost unclosed one opens at byte offset 10',
    );
  });

  it('refuses a string that is never closed, an escaped quote not counting', () => {
    expect(jsonProblem('{"a":"open}')).toBe(
      'the string that starts at byte offset 5 is not closed before the record ends at byte offset 11',
    );
    expect(jsonProblem('{"a":"escaped\\"}')).toBe(
      'the string that starts at byte offset 5 is not closed before the record ends at byte offset 16',
    );
  });

  it('refuses an empty or blank record: it holds no object', () => {
    const empty = failureOf(() => deaggregateJson(Buffer.alloc(0)));
    expect(empty.code).toBe(DEAGGREGATION_EMPTY);
    expect(empty.outputType).toBe('processing-failed');
    expect(empty.message).toBe(
      'The record holds no JSON object: it is empty. RecordDeAggregation (JSON) needs at least one object per record.',
    );
    expect(failureOf(() => deaggregateJson(Buffer.from(' \n\t\r'))).message).toBe(
      'The record holds no JSON object: it is only whitespace. RecordDeAggregation (JSON) needs at least one object per record.',
    );
  });

  it('takes 500 objects and refuses 501, naming where the 501st starts', () => {
    expect(MAX_SUB_RECORDS).toBe(500);
    const object = '{"n":1}\n';
    expect(deaggregateJson(Buffer.from(object.repeat(500)))).toHaveLength(500);
    const failure = failureOf(() => deaggregateJson(Buffer.from(object.repeat(501))));
    expect(failure.code).toBe(DEAGGREGATION_TOO_MANY);
    expect(failure.outputType).toBe('processing-failed');
    expect(failure.message).toBe(
      'The record holds more than 500 JSON objects (the 501st starts at byte offset 4000); Firehose de-aggregates at most 500 per record. Pack fewer into each record.',
    );
  });
});

describe('RecordDeAggregation DELIMITED', () => {
  const hashes = Buffer.from('####');

  it('splits on the delimiter of the documentation (####, IyMjIw==)', () => {
    expect(texts(deaggregateDelimited(Buffer.from('a####bb####ccc'), hashes))).toEqual([
      'a',
      'bb',
      'ccc',
    ]);
  });

  it('drops empty pieces: delimiter at the start, at the end, side by side', () => {
    expect(texts(deaggregateDelimited(Buffer.from('a####'), hashes))).toEqual(['a']);
    expect(texts(deaggregateDelimited(Buffer.from('####a'), hashes))).toEqual(['a']);
    expect(texts(deaggregateDelimited(Buffer.from('####a########b####'), hashes))).toEqual([
      'a',
      'b',
    ]);
  });

  it('keeps a record without the delimiter whole, as one sub-record', () => {
    expect(texts(deaggregateDelimited(Buffer.from('no delimiter here ###'), hashes))).toEqual([
      'no delimiter here ###',
    ]);
  });

  it('splits left to right without overlap', () => {
    expect(texts(deaggregateDelimited(Buffer.from('a#####b'), hashes))).toEqual(['a', '#b']);
    expect(texts(deaggregateDelimited(Buffer.from('x||||y'), Buffer.from('||')))).toEqual([
      'x',
      'y',
    ]);
  });

  it('handles single-byte, multi-byte and binary delimiters', () => {
    expect(texts(deaggregateDelimited(Buffer.from('a\nb\n'), Buffer.from('\n')))).toEqual([
      'a',
      'b',
    ]);
    expect(texts(deaggregateDelimited(Buffer.from('α§β§γ'), Buffer.from('§')))).toEqual([
      'α',
      'β',
      'γ',
    ]);
    expect(texts(deaggregateDelimited(Buffer.from('one🚀two🚀'), Buffer.from('🚀')))).toEqual([
      'one',
      'two',
    ]);
    const binary = Buffer.from([1, 0, 0xff, 2, 0, 0xff, 3]);
    expect(deaggregateDelimited(binary, Buffer.from([0, 0xff]))).toEqual([
      Buffer.from([1]),
      Buffer.from([2]),
      Buffer.from([3]),
    ]);
  });

  it('returns views of the record, not copies', () => {
    const data = Buffer.from('ab####cd');
    const [first] = deaggregateDelimited(data, hashes);
    data[0] = 'z'.charCodeAt(0);
    expect(first!.toString()).toBe('zb');
  });

  it('refuses a record that is empty or only delimiters', () => {
    const empty = failureOf(() => deaggregateDelimited(Buffer.alloc(0), hashes));
    expect(empty.code).toBe(DEAGGREGATION_EMPTY);
    expect(empty.outputType).toBe('processing-failed');
    expect(empty.message).toBe(
      'The record holds no data between its delimiters: it is empty. RecordDeAggregation (DELIMITED) needs at least one non-empty piece per record.',
    );
    expect(
      failureOf(() => deaggregateDelimited(Buffer.from('########'), hashes)).message,
    ).toContain('it is only delimiters.');
  });

  it('takes 500 pieces and refuses 501, empty pieces not counting', () => {
    const five = Array.from({ length: 500 }, (_, i) => `r${i}`).join('####');
    expect(deaggregateDelimited(Buffer.from(`####${five}########`), hashes)).toHaveLength(500);
    const data = Buffer.from(`${'x####'.repeat(500)}last`);
    const failure = failureOf(() => deaggregateDelimited(data, hashes));
    expect(failure.code).toBe(DEAGGREGATION_TOO_MANY);
    expect(failure.outputType).toBe('processing-failed');
    expect(failure.message).toBe(
      'The record holds more than 500 delimited pieces (the 501st starts at byte offset 2500); Firehose de-aggregates at most 500 per record. Pack fewer into each record.',
    );
  });

  it('rejects an empty delimiter as a defect in the caller', () => {
    expect(() => deaggregateDelimited(Buffer.from('abc'), Buffer.alloc(0))).toThrow(RangeError);
  });
});

describe('parseDelimiterParameter', () => {
  it("decodes the documentation's example and other base64, padded or not", () => {
    expect(parseDelimiterParameter('IyMjIw==').toString()).toBe('####');
    expect(parseDelimiterParameter('IyMjIw').toString()).toBe('####');
    expect(parseDelimiterParameter('Cg==')).toEqual(Buffer.from('\n'));
    expect(parseDelimiterParameter('fHx8')).toEqual(Buffer.from('|||'));
    expect(parseDelimiterParameter(Buffer.from('🚀').toString('base64'))).toEqual(
      Buffer.from('🚀'),
    );
    expect(parseDelimiterParameter('AP8=')).toEqual(Buffer.from([0, 0xff]));
  });

  it('refuses an empty value', () => {
    expect(() => parseDelimiterParameter('')).toThrow(
      new Error(
        "the value is empty; give the delimiter's bytes in base64 (e.g. IyMjIw== for ####).",
      ),
    );
  });

  it('refuses what is not base64', () => {
    for (const bad of [
      '####',
      'IyMj Iw==',
      'IyMjIw=',
      'IyMj=',
      'IyMjI',
      'Iy-_',
      'IyMjIw===',
      '=IyM',
      '==',
    ]) {
      expect(() => parseDelimiterParameter(bad), bad).toThrow(
        new Error(
          `${JSON.stringify(bad)} is not base64: use the characters A-Z, a-z, 0-9, + and /, padded with = to a multiple of 4 characters (e.g. IyMjIw== for ####).`,
        ),
      );
    }
  });
});
