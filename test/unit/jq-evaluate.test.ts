import { describe, expect, it } from 'vitest';

import { compileJq, JqRuntimeError } from '../../src/processors/jq/index.js';
import { compareValues, formatNumber, type JqValue } from '../../src/processors/jq/values.js';

function evaluate(query: string, input: unknown = null): unknown {
  return compileJq(query).evaluate(input);
}

/** The message of the JqRuntimeError that evaluating `query` on `input` throws. */
function runtimeError(query: string, input: unknown = null): string {
  try {
    evaluate(query, input);
  } catch (error) {
    if (error instanceof JqRuntimeError) return error.message;
    throw error;
  }
  throw new Error(`${query} did not fail`);
}

const RECORD = {
  customer_id: 'c-17',
  tableName: 'orders',
  event_timestamp: 1425599621,
  ts: 1425599621123,
  device: { id: 'dev-9' },
  y: 2015,
  m: '03',
  type: 'CLICK',
  a: { b: [10, 20] },
  amount: 12.5,
  meta: { region: 'eu-west-1' },
  tags: ['A', 'b'],
};

describe('jq evaluation: the queries users write for partitioning', () => {
  it.each([
    ['{customer_id: .customer_id}', { customer_id: 'c-17' }],
    ['{s3Prefix: .tableName}', { s3Prefix: 'orders' }],
    [
      '{year: .event_timestamp | strftime("%Y"), month: .event_timestamp | strftime("%m")}',
      { year: '2015', month: '03' },
    ],
    ['{device: .device.id, day: "\\(.y)-\\(.m)"}', { device: 'dev-9', day: '2015-03' }],
    ['{type: (.type // "unknown") | ascii_downcase}', { type: 'click' }],
    ['{k: .a.b[0]}', { k: 10 }],
    ['{k: .event_timestamp | todate | .[0:10]}', { k: '2015-03-05' }],
    ['{k: (.amount | tostring)}', { k: '12.5' }],
    ['{region: .meta["region"]}', { region: 'eu-west-1' }],
    ['{hour: (.ts / 1000 | floor | strftime("%H"))}', { hour: '23' }],
    ['{k: .tags | map(ascii_downcase) | join("-")}', { k: 'a-b' }],
  ])('%s', (query, expected) => {
    expect(evaluate(query, RECORD)).toEqual(expected);
  });
});

describe('jq evaluation: paths', () => {
  it('propagates null and fails on scalars as jq does', () => {
    expect(evaluate('.missing.deeper[0]', {})).toBeNull();
    expect(evaluate('.a.b', { a: null })).toBeNull();
    expect(runtimeError('.a.b', { a: 1 })).toBe('Cannot index number with string "b"');
    expect(runtimeError('.a[0]', { a: 'str' })).toBe('Cannot index string with number');
    expect(runtimeError('.[0]', {})).toBe('Cannot index object with number');
  });

  it('indexes arrays with negative, fractional and out-of-range indexes', () => {
    expect(evaluate('[.[-1], .[-4], .[1.7], .[9]]', [1, 2, 3])).toEqual([3, null, null, null]);
  });

  it('slices arrays and strings by code point', () => {
    expect(evaluate('.[1:]', [1, 2, 3])).toEqual([2, 3]);
    expect(evaluate('.[:-1]', [1, 2, 3])).toEqual([1, 2]);
    expect(evaluate('.[1:3]', 'h😀llo')).toBe('😀l');
    expect(evaluate('.[1.2:2.5]', [1, 2, 3, 4])).toEqual([2, 3]);
    expect(evaluate('.[2:1]', 'abc')).toBe('');
  });

  it('treats __proto__ and inherited names as ordinary keys', () => {
    expect(evaluate('[.constructor, .__proto__, .toString]', {})).toEqual([null, null, null]);
    const out = evaluate('{"__proto__": .x}', { x: 1 }) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });
});

describe('jq evaluation: operators', () => {
  it.each([
    ['.a + .b', { a: 1, b: 2 }, 3],
    ['.a + .b', { a: 'x', b: 'y' }, 'xy'],
    ['.a + .b', { a: [1], b: [2] }, [1, 2]],
    ['.a + .b', { a: { x: 1, y: 1 }, b: { x: 2 } }, { x: 2, y: 1 }],
    ['.a + .b', { b: 5 }, 5],
    ['.a - .b', { a: [1, 2, 1, 3], b: [1] }, [2, 3]],
    ['.a * .b', { a: 'ab', b: 3 }, 'ababab'],
    ['.a * .b', { a: 'ab', b: 0 }, null],
    ['.a * .b', { a: { x: { y: 1 } }, b: { x: { z: 2 } } }, { x: { y: 1, z: 2 } }],
    ['.a / .b', { a: 'a,b', b: ',' }, ['a', 'b']],
    ['.a % .b', { a: -5, b: 2 }, -1],
    ['.a % .b', { a: 5.9, b: 2.1 }, 1],
  ])('%s on %j', (query, input, expected) => {
    expect(evaluate(query, input)).toEqual(expected);
  });

  it('raises jq 1.6 errors for impossible arithmetic', () => {
    expect(runtimeError('.a + .b', { a: 1, b: 'a' })).toBe(
      'number (1) and string ("a") cannot be added',
    );
    expect(runtimeError('.a / .b', { a: 1, b: 0 })).toBe(
      'number (1) and number (0) cannot be divided because the divisor is zero',
    );
    expect(runtimeError('.a % .b', { a: 1, b: 0.5 })).toBe(
      'number (1) and number (0.5) cannot be divided (remainder) because the divisor is zero',
    );
    expect(runtimeError('-.', 'abcdefghijklmnop')).toBe(
      'string ("abcdefghij...) cannot be negated',
    );
  });

  it('orders values across kinds as jq does', () => {
    const ordered: JqValue[] = [
      null,
      false,
      true,
      -1,
      0,
      2,
      'A',
      'a',
      'é',
      '😀',
      [],
      [0],
      {},
      { a: 1 },
      { b: 0 },
    ];
    const shuffled = [...ordered].reverse();
    expect(shuffled.sort(compareValues)).toEqual(ordered);
    expect(evaluate('[. < 1, . > "a", . == 1.0]', 1)).toEqual([false, false, true]);
  });

  it('takes the right alternative for false, null and no output, not for errors', () => {
    expect(evaluate('.a // "d"', { a: false })).toBe('d');
    expect(evaluate('(.a | select(. > 1)) // "d"', { a: 0 })).toBe('d');
    expect(evaluate('.a // "d"', { a: 0 })).toBe(0);
    expect(runtimeError('(.a.b) // "d"', { a: 'x' })).toBe('Cannot index string with string "b"');
  });

  it('evaluates and/or/not with jq truthiness', () => {
    expect(evaluate('[.[] | (. and true), (. or false), not]', [0, null])).toEqual([
      true,
      true,
      false,
      false,
      false,
      true,
    ]);
  });

  it('evaluates if/elif/else', () => {
    const query = 'if . > 10 then "big" elif . > 5 then "mid" else "small" end';
    expect([12, 7, 1].map((n) => evaluate(query, n))).toEqual(['big', 'mid', 'small']);
  });
});

describe('jq evaluation: try, ? and no output', () => {
  it('turns errors into no output with ? and into values with catch', () => {
    expect(runtimeError('.a?', 'str')).toBe('the query gave no output');
    expect(evaluate('[.[] | .a?]', [{ a: 1 }, 'x'])).toEqual([1]);
    expect(evaluate('try error("boom") catch .')).toBe('boom');
    expect(evaluate('try error({code: 1}) catch .code')).toBe(1);
    expect(evaluate('(.a.b)? // "d"', { a: 'x' })).toBe('d');
  });

  it("keeps jq 1.6's try catching errors raised after its output", () => {
    expect(runtimeError('(1?) | error("x")')).toBe('the query gave no output');
    expect(runtimeError('{a: ((.x)?), b: .y.z}', { y: 's' })).toBe('the query gave no output');
    // `.a?` is an optional index, not a try: later errors still surface.
    expect(runtimeError('.a? | error("x")')).toBe('x');
  });

  it('gives no output for empty and failed selects', () => {
    expect(runtimeError('empty')).toBe('the query gave no output');
    expect(runtimeError('select(.a)', {})).toBe('the query gave no output');
    expect(evaluate('select(.a) | .b', { a: true, b: 2 })).toBe(2);
  });

  it('reports error values that are not strings', () => {
    const error = (() => {
      try {
        evaluate('error({a: 1})');
      } catch (e) {
        return e as JqRuntimeError;
      }
      throw new Error('no error');
    })();
    expect(error.value).toEqual({ a: 1 });
    expect(error.message).toBe('{"a":1} (not a string)');
  });
});

describe('jq evaluation: constructors, variables and collectors', () => {
  it('builds objects with every key form', () => {
    expect(
      evaluate('. as $v | {a, "b": 2, "c\\(.k)": 3, (.k): 4, $v, "k"}', { a: 1, k: 'x' }),
    ).toEqual({
      a: 1,
      b: 2,
      cx: 3,
      x: 4,
      v: { a: 1, k: 'x' },
      k: 'x',
    });
    expect(runtimeError('{(.k): 1}', { k: 1 })).toBe('Cannot use number (1) as object key');
  });

  it('interpolates with formats', () => {
    expect(evaluate('"\\(.a)/\\(.b)"', { a: 1.0, b: [1, { c: null }] })).toBe('1/[1,{"c":null}]');
    expect(evaluate('@base64 "x\\(.)y"', 'é')).toBe('xw6k=y');
    expect(evaluate('@uri "q=\\(.)"', 'a b/é')).toBe('q=a%20b%2F%C3%A9');
  });

  it('binds variables, also in nested and repeated scopes', () => {
    expect(evaluate('.a as $x | .b as $y | [$x, $y, $x + $y]', { a: 1, b: 2 })).toEqual([1, 2, 3]);
    expect(evaluate('[.[] as $x | $x * 2]', [1, 2])).toEqual([2, 4]);
    expect(evaluate('1 as $x | [(2 as $x | $x), $x]')).toEqual([2, 1]);
    // The body of `as` reaches to the end: both $x here are the inner one, as in jq.
    expect(evaluate('1 as $x | [2 as $x | $x, $x]')).toEqual([2, 2]);
    expect(evaluate('[recurse(if . < 3 then . + 1 else empty end) as $n | $n]', 0)).toEqual([
      0, 1, 2, 3,
    ]);
  });

  it('reduces', () => {
    expect(evaluate('reduce .[] as $x (0; . + $x)', [1, 2, 3])).toBe(6);
    expect(evaluate('reduce .[] as $x (0; empty)', [1])).toBeNull();
  });

  it('runs the closure builtins', () => {
    expect(evaluate('map(select(. > 1) | . * 10)', [1, 2, 3])).toEqual([20, 30]);
    expect(evaluate('[[limit(2; .[])], first(.[]), last(.[]), nth(1; .[])]', [4, 5, 6])).toEqual([
      [4, 5],
      4,
      6,
      5,
    ]);
    expect(evaluate('[[range(3)], [range(1; 7; 2)]]')).toEqual([
      [0, 1, 2],
      [1, 3, 5],
    ]);
    expect(evaluate('sort_by(.a) | map(.a)', [{ a: 2 }, { a: 1 }])).toEqual([1, 2]);
    expect(evaluate('group_by(. % 2)', [1, 2, 3])).toEqual([[2], [1, 3]]);
    expect(evaluate('unique_by(length)', ['a', 'bb', 'c'])).toEqual(['a', 'bb']);
    expect(evaluate('[min_by(.a), max_by(.a)]', [{ a: 2 }, { a: 1 }])).toEqual([
      { a: 1 },
      { a: 2 },
    ]);
    expect(evaluate('with_entries({key: (.key + "!"), value})', { a: 1 })).toEqual({ 'a!': 1 });
    expect(evaluate('[any(. > 2), all(. > 0), isempty(.[])]', [1, 2, 3])).toEqual([
      true,
      true,
      false,
    ]);
    expect(evaluate('[IN(2), IN(.[]; 2, 5)]', [1, 2])).toEqual([false, true]);
  });

  it('stops a range that would run away', () => {
    expect(runtimeError('[range(1e18)] | length')).toContain('range would give more than');
  });
});

describe('jq evaluation: builtins', () => {
  it.each([
    ['length', 'héllo', 5],
    ['utf8bytelength', 'héllo', 6],
    ['keys', { b: 1, a: 2 }, ['a', 'b']],
    ['has("a")', { a: null }, true],
    ['type', [], 'array'],
    ['tostring', 1e17, '1e+17'],
    ['tonumber', ' 12 ', 12],
    ['tojson', { a: [1, 'x'] }, '{"a":[1,"x"]}'],
    ['fromjson', '{"a":1}', { a: 1 }],
    ['ascii_downcase', 'ÀBC', 'Àbc'],
    ['ltrimstr("a")', 'abc', 'bc'],
    ['rtrimstr("c")', 'abc', 'ab'],
    ['startswith("ab")', 'abc', true],
    ['endswith("x")', 'abc', false],
    ['split(",")', 'a,,b', ['a', '', 'b']],
    ['join("-")', ['a', 1, null, true], 'a-1--true'],
    ['explode | implode', 'a😀', 'a😀'],
    ['add', [1, 2, 3], 6],
    ['[min, max]', [3, 1, 2], [1, 3]],
    ['sort', [3, 'a', null, 1], [null, 1, 3, 'a']],
    ['unique', [2, 1, 2], [1, 2]],
    ['reverse', [1, 2], [2, 1]],
    ['[first, last]', [1, 2, 3], [1, 3]],
    ['flatten', [1, [2, [3]]], [1, 2, 3]],
    ['to_entries', { a: 1 }, [{ key: 'a', value: 1 }]],
    ['from_entries', [{ name: 'a', value: 1 }], { a: 1 }],
    ['[index(","), rindex(","), indices(",")]', 'a,b,c', [1, 3, [1, 3]]],
    ['contains({a: [1]})', { a: [1, 2] }, true],
    ['inside("abc")', 'b', true],
    ['getpath(["a", 0])', { a: [7] }, 7],
    ['[.[] | numbers]', [1, 'a'], [1]],
    ['[floor, ceil, round, fabs, sqrt]', 2.25, [2, 3, 2, 2.25, 1.5]],
    ['pow(2; 10)', null, 1024],
    ['@csv', [1, 'a"b', null], '1,"a""b",'],
    ['@html', '<a href="x">', '&lt;a href=&quot;x&quot;&gt;'],
    ['@sh', ['a b', 1], "'a b' 1"],
    ['@base64d', 'aGk=', 'hi'],
    ['todate', 0, '1970-01-01T00:00:00Z'],
    ['fromdate', '2015-03-05T23:51:47Z', 1425599507],
    ['gmtime', 1.5, [1970, 0, 1, 0, 0, 1.5, 4, 0]],
    ['mktime', [2015, 2, 5, 23, 51, 47, 4, 63], 1425599507],
    ['strftime("%A, %B %e %Y %j %U %V %G")', 1425599621, 'Thursday, March  5 2015 064 09 10 2015'],
    [
      'strptime("%d/%b/%Y:%H:%M:%S %z")',
      '05/Mar/2015:23:51:47 +0100',
      [2015, 2, 5, 23, 51, 47, 4, 63],
    ],
  ])('%s on %j', (query, input, expected) => {
    expect(evaluate(query, input)).toEqual(expected);
  });

  it('raises the errors jq 1.6 raises', () => {
    expect(runtimeError('strftime("%Y")', 'x')).toBe('strftime/1 requires parsed datetime inputs');
    expect(runtimeError('keys', 1)).toBe('number (1) has no keys');
    expect(runtimeError('length', true)).toBe('boolean (true) has no length');
    expect(runtimeError('startswith(1)', 'a')).toBe('startswith() requires string inputs');
    expect(runtimeError('[.[]]', 5)).toBe('Cannot iterate over number (5)');
    expect(runtimeError('ascii_downcase', 1)).toBe('explode input must be a string');
    expect(runtimeError('mktime', [1969, 11, 31, 23, 59, 59, 0, 0])).toBe(
      'invalid gmtime representation',
    );
  });
});

describe('jq evaluation: numbers print as jq 1.6 prints them', () => {
  it.each([
    [1.0, '1'],
    [1e3, '1000'],
    [3.14, '3.14'],
    [0.1 + 0.2, '0.30000000000000004'],
    [-0, '-0'],
    [1e-7, '1e-07'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [1e15, '1000000000000000'],
    [1e16, '1e+16'],
    [1e17, '1e+17'],
    [1.2345678901234568e17, '123456789012345680'],
    [100000000000000000000, '1e+20'],
    [1.5e300, '1.5e+300'],
    [5e-324, '5e-324'],
    [Infinity, '1.7976931348623157e+308'],
    [-Infinity, '-1.7976931348623157e+308'],
    [NaN, 'null'],
  ])('%d prints as %s', (n, text) => {
    expect(formatNumber(n)).toBe(text);
    expect(evaluate('tostring', n)).toBe(text);
  });
});
