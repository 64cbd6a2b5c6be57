import { describe, expect, it } from 'vitest';

import { VALUE_BUILTINS } from '../../src/processors/jq/builtins.js';
import { CLOSURE_BUILTINS } from '../../src/processors/jq/compile.js';
import { compileJq, JQ_SUBSET_SUMMARY, JqCompileError } from '../../src/processors/jq/index.js';

/** The JqCompileError that compiling `query` throws. */
function compileError(query: string): JqCompileError {
  try {
    compileJq(query);
  } catch (error) {
    if (error instanceof JqCompileError) return error;
    throw error;
  }
  throw new Error(`${query} compiled`);
}

function evaluate(query: string, input: unknown = null): unknown {
  return compileJq(query).evaluate(input);
}

describe('jq parser: syntax errors', () => {
  it('gives the offset and a caret excerpt', () => {
    const error = compileError('{a: .b + 1}');
    expect(error.offset).toBe(7);
    expect(error.message).toBe(
      "syntax error: unexpected '+' in an object value; jq 1.6 allows only a term, '-' or '|' there, so put the value in parentheses: {k: (...)} (at offset 7)\n" +
        '  {a: .b + 1}\n' +
        '         ^',
    );
  });

  it('cuts long queries around the offset', () => {
    const query = `{a: .x, ${'b: .y, '.repeat(20)}c: .z +}`;
    const error = compileError(query);
    const [, excerpt, caret] = error.message.split('\n') as [string, string, string];
    expect(excerpt.length).toBeLessThanOrEqual(2 + 60 + 2);
    expect(excerpt.startsWith('  …')).toBe(true);
    // The caret stands under the '+' that an object value cannot have in jq 1.6.
    expect(excerpt[caret.indexOf('^')]).toBe('+');
    expect(error.offset).toBe(query.indexOf('+'));
  });

  it.each([
    ['{a: .b // 1}', 7, "unexpected '//' in an object value"],
    ['{a: if . then 1 else 2 end}', 4, "unexpected 'if' in an object value"],
    ['{a: (.x)?}', 8, "unexpected '?' in an object value"],
    ['if . then 1 end', 12, "jq 1.6 requires an 'else' branch"],
    ['.a.[0]', 3, "jq 1.6 has no '.a.[0]'"],
    ['. foo', 2, 'try .["field"] instead of .field'],
    ['{if}', 3, "unexpected '}', expecting ':'"],
    ['{,}', 1, "unexpected ','"],
    ['{1: 2}', 1, 'as an object key'],
    ['{(1): 2}', 1, 'Cannot use number (1) as object key'],
    ['{(null): 2}', 1, 'Cannot use null (null) as object key'],
    ['1 / 0', 2, 'Division by zero?'],
    ['.e1', 0, "invalid numeric literal '.e1'"],
    ['1.2.3', 0, "invalid numeric literal '1.2.3'"],
    ['"\\q"', 1, "invalid escape '\\q'"],
    ['"abc', 4, 'unterminated string literal'],
    ['"\\(1;2)"', 4, "unexpected ';'"],
    ['[1, 2', 5, "unclosed '['"],
    ['(1]', 2, "unmatched ']'"],
    ['1 == 2 == 3', 7, "unexpected '=='"],
    ['.a |', 4, 'unexpected end of query'],
    ['', 0, 'the query is empty'],
    ['.a\r', 2, 'invalid character "\\r"'],
    ['.a ?// 1', 3, "unexpected '?//'"],
  ])('refuses %s at offset %i', (query, offset, text) => {
    const error = compileError(query);
    expect(error.offset).toBe(offset);
    expect(error.message).toContain(text);
  });

  it('accepts what jq 1.6 accepts', () => {
    expect(evaluate('{a:1,}')).toEqual({ a: 1 });
    expect(evaluate('{if: 1, then: 2, reduce: 3}')).toEqual({ if: 1, then: 2, reduce: 3 });
    expect(evaluate('# a comment\n.a # another\n', { a: 1 })).toBe(1);
    expect(evaluate('. as $ x | $ x', 2)).toBe(2);
    expect(evaluate('.5 + 1.')).toBe(1.5);
    expect(evaluate('0 / 0')).toBeNaN();
  });
});

describe('jq parser: precedence and associativity as in jq 1.6', () => {
  it.each([
    ['1 + 2 * 3', 7],
    ['10 - 2 - 3', 5],
    ['-2 * 3 + 1', -5],
    ['- 1 + 2', 1],
    ['1 < 2 and 2 < 1 or true', true],
    ['false and true or true', true],
    ['null // false // 3', 3],
    ['1 as $x | $x + 1 | . * 10', 20],
    ['1 + 2 as $x | $x * 10', 21],
    ['[1, 2 | . * 10]', [10, 20]],
    ['try error("x") catch . + "y"', 'xy'],
    ['if true then 1 else 2 end + 10', 11],
    ['reduce (1, 2) as $x (0; . + $x) * 2', 6],
    ['"a" + "b" | length', 2],
  ])('%s', (query, expected) => {
    expect(evaluate(query)).toEqual(expected);
  });
});

describe('jq parser: features outside the subset', () => {
  it.each([
    ['def f: 1; f', 0, 'defining functions (def)'],
    ['foreach .[] as $x (0; 1)', 0, 'foreach'],
    ['label $out | 1', 0, 'label/break'],
    ['import "a" as a; 1', 0, 'modules'],
    ['.a = 1', 3, "assignment operator '='"],
    ['.a |= 1', 3, "assignment operator '|='"],
    ['.a += 1', 3, "assignment operator '+='"],
    ['. as [$a] | $a', 5, 'destructuring'],
    ['$__loc__', 1, '$__loc__'],
    ['$ENV.HOME', 0, '$ENV'],
    ['env.HOME', 0, 'env/0'],
    ['input', 0, 'input/0'],
    ['test("a")', 0, 'test/1 (regular expressions'],
    ['split("a"; "g")', 0, 'split/2'],
    ['[paths]', 1, 'paths/0 (path expressions)'],
    ['path(.a)', 0, 'path/1'],
    ['localtime', 0, "the host's time zone"],
    ['debug', 0, 'debug/0'],
    ['walk(.)', 0, 'walk/1'],
    ['lgamma', 0, 'lgamma/0'],
    ['"x" | @base32', 6, '@base32 is not a jq 1.6 format'],
    ['strftime(.f)', 9, 'strftime with a format that is not a string literal'],
    ['strptime("%U")', 9, "strptime directive '%U'"],
  ])('refuses %s at offset %i naming it', (query, offset, feature) => {
    const error = compileError(query);
    expect(error.offset).toBe(offset);
    expect(error.message).toContain(feature);
    if (!error.message.includes('jq 1.6 format')) {
      expect(error.message).toContain(`Supported: ${JQ_SUBSET_SUMMARY}`);
    }
  });

  it('says "not defined" for names jq 1.6 does not have', () => {
    expect(compileError('ascii').message).toMatch(/^ascii\/0 is not defined/);
    expect(compileError('length(1)').message).toMatch(/^length\/1 is not defined/);
    expect(compileError('$x').message).toMatch(/^\$x is not defined/);
    expect(compileError('.a as $x | $y').offset).toBe(11);
  });

  it('refuses queries that can give several outputs, pointing at the generator', () => {
    expect(compileError('.a, .b').offset).toBe(2);
    expect(compileError('.[]').message).toContain('collect several outputs in an array');
    expect(compileError('{a: .[]}').offset).toBe(4);
    expect(compileError('..').offset).toBe(0);
    expect(compileError('range(3)').offset).toBe(0);
    expect(compileError('.x | recurse').offset).toBe(5);
    expect(compileError('1 + (2, 3)').offset).toBe(6);
  });

  it('accepts generators where their outputs are collected', () => {
    expect(evaluate('[.[] | . + 1]', [1, 2])).toEqual([2, 3]);
    expect(evaluate('first(.[])', [5, 6])).toBe(5);
    expect(evaluate('reduce .[] as $x (0; . + $x)', [1, 2])).toBe(3);
    expect(evaluate('map(.a, .b)', [{ a: 1, b: 2 }])).toEqual([1, 2]);
    expect(evaluate('[..] | length', { a: [1] })).toBe(3);
  });

  it('keeps the subset summary to one line', () => {
    expect(JQ_SUBSET_SUMMARY).not.toContain('\n');
    expect(JQ_SUBSET_SUMMARY).toContain('Not supported');
  });
});

describe('jq builtins table', () => {
  it('compiles every supported builtin with its arity', () => {
    for (const signature of [...VALUE_BUILTINS.keys(), ...CLOSURE_BUILTINS]) {
      const [name, arity] = signature.split('/') as [string, string];
      const args = Array.from({ length: Number(arity) }, () => '"%Y"');
      const query = `[${name}${args.length > 0 ? `(${args.join('; ')})` : ''}]`;
      expect(() => compileJq(query), query).not.toThrow();
    }
  });
});
