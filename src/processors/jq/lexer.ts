/**
 * The tokens of a jq 1.6 program, cut as jq 1.6's flex lexer cuts them (`src/lexer.l`): the same
 * longest-match rules and ties (so `.e1` is an invalid number literal, as in jq 1.6), `\r` is not
 * whitespace, and string literals come as start / text / interpolation / end tokens.
 */

import { JqCompileError } from './errors.js';

/** What a token is. */
export type TokenKind =
  | 'ident' // a name: `length`, `true`, `a::b`
  | 'keyword' // `if`, `as`, `reduce`, ...
  | 'field' // `.name`
  | 'number'
  | 'format' // `@base64`
  | 'op' // punctuation and operators, `text` says which
  | 'str-start'
  | 'str-text'
  | 'interp-start' // `\(` inside a string
  | 'interp-end' // the `)` that closes it
  | 'str-end'
  | 'eof';

/** One token, with where it is in the query. */
export interface Token {
  kind: TokenKind;
  /** The token's text in the query (for `str-text`, the decoded text). */
  text: string;
  /** Decoded value: the number of a `number`, the name of `field`/`format`. */
  value?: number | string;
  offset: number;
  end: number;
}

const KEYWORDS = new Set([
  'as',
  'import',
  'include',
  'module',
  'def',
  'if',
  'then',
  'else',
  'elif',
  'and',
  'or',
  'end',
  'reduce',
  'foreach',
  'try',
  'catch',
  'label',
  'break',
  '__loc__',
]);

// Longest operators first, so that `//=` wins over `//` and `?//` over `?`.
const OPERATORS = [
  '?//',
  '//=',
  '!=',
  '==',
  '//',
  '|=',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '<=',
  '>=',
  '..',
  '.',
  '?',
  '=',
  ';',
  ',',
  ':',
  '|',
  '+',
  '-',
  '*',
  '/',
  '%',
  '$',
  '<',
  '>',
];

const NUMBER_TEXT = /[0-9.]+(?:[eE][+-]?[0-9]+)?/y;
const VALID_NUMBER = /^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const FIELD_TEXT = /\.[a-zA-Z_][a-zA-Z_0-9]*/y;
const IDENT_TEXT = /(?:[a-zA-Z_][a-zA-Z_0-9]*::)*[a-zA-Z_][a-zA-Z_0-9]*/y;
const FORMAT_TEXT = /@[a-zA-Z0-9_]+/y;
const WHITESPACE = /[ \n\t]+/y;
const COMMENT = /#[^\r\n]*/y;
// Inside a string: a run of escapes (handed to the JSON decoder) or of plain characters.
const ESCAPES = /(?:\\[^u(]|\\u[a-zA-Z0-9]{0,4})+/y;
const PLAIN = /[^\\"]+/y;

type Nesting = '(' | '[' | '{' | 'interp';

function matchAt(pattern: RegExp, source: string, at: number): string | undefined {
  pattern.lastIndex = at;
  return pattern.exec(source)?.[0];
}

/** Splits a jq program into tokens, ending with an `eof` token. */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  // The open brackets, as jq's lexer tracks them to know which `)` ends an interpolation.
  const nesting: Nesting[] = [];
  let inString = false;
  let at = 0;
  const fail = (problem: string, offset: number): never => {
    throw new JqCompileError(problem, source, offset);
  };

  while (at < source.length) {
    if (inString) {
      const c = source[at];
      if (c === '"') {
        tokens.push({ kind: 'str-end', text: '"', offset: at, end: at + 1 });
        inString = false;
        at += 1;
        continue;
      }
      if (source.startsWith('\\(', at)) {
        tokens.push({ kind: 'interp-start', text: '\\(', offset: at, end: at + 2 });
        nesting.push('interp');
        inString = false;
        at += 2;
        continue;
      }
      const escapes = matchAt(ESCAPES, source, at);
      if (escapes !== undefined) {
        tokens.push({
          kind: 'str-text',
          text: decodeEscapes(escapes, source, at),
          offset: at,
          end: at + escapes.length,
        });
        at += escapes.length;
        continue;
      }
      const plain = matchAt(PLAIN, source, at);
      if (plain !== undefined) {
        tokens.push({ kind: 'str-text', text: plain, offset: at, end: at + plain.length });
        at += plain.length;
        continue;
      }
      fail(`invalid character ${JSON.stringify(c)} in a string literal`, at);
    }

    const skipped = matchAt(WHITESPACE, source, at) ?? matchAt(COMMENT, source, at);
    if (skipped !== undefined) {
      at += skipped.length;
      continue;
    }
    const c = source[at] as string;
    if (c === '"') {
      tokens.push({ kind: 'str-start', text: '"', offset: at, end: at + 1 });
      inString = true;
      at += 1;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') {
      nesting.push(c);
      tokens.push({ kind: 'op', text: c, offset: at, end: at + 1 });
      at += 1;
      continue;
    }
    if (c === ')' || c === ']' || c === '}') {
      const open = nesting.pop();
      if (open === 'interp' && c === ')') {
        tokens.push({ kind: 'interp-end', text: ')', offset: at, end: at + 1 });
        inString = true;
      } else if (open === undefined || { '(': ')', '[': ']', '{': '}' }[open as '('] !== c) {
        fail(`unmatched '${c}'`, at);
      } else {
        tokens.push({ kind: 'op', text: c, offset: at, end: at + 1 });
      }
      at += 1;
      continue;
    }
    if (c === '@') {
      const format = matchAt(FORMAT_TEXT, source, at);
      if (format === undefined) fail(`invalid character '@'`, at);
      const text = format as string;
      tokens.push({
        kind: 'format',
        text,
        value: text.slice(1),
        offset: at,
        end: at + text.length,
      });
      at += text.length;
      continue;
    }

    // `.`, `..`, numbers and `.name` compete: the longest wins, ties go to the rule listed
    // first in jq's lexer (operators, then number literals, then fields).
    const number = matchAt(NUMBER_TEXT, source, at);
    const field = c === '.' ? matchAt(FIELD_TEXT, source, at) : undefined;
    const operator = OPERATORS.find((op) => source.startsWith(op, at));
    const opLength = operator?.length ?? 0;
    const numberLength = number?.length ?? 0;
    const fieldLength = field?.length ?? 0;
    if (fieldLength > numberLength && fieldLength > opLength) {
      const text = field as string;
      tokens.push({ kind: 'field', text, value: text.slice(1), offset: at, end: at + text.length });
      at += text.length;
      continue;
    }
    if (numberLength > opLength) {
      const text = number as string;
      if (!VALID_NUMBER.test(text)) fail(`invalid numeric literal '${text}'`, at);
      tokens.push({ kind: 'number', text, value: Number(text), offset: at, end: at + text.length });
      at += text.length;
      continue;
    }
    if (operator !== undefined) {
      tokens.push({ kind: 'op', text: operator, offset: at, end: at + opLength });
      at += opLength;
      continue;
    }
    const ident = matchAt(IDENT_TEXT, source, at);
    if (ident !== undefined) {
      tokens.push({
        kind: KEYWORDS.has(ident) ? 'keyword' : 'ident',
        text: ident,
        offset: at,
        end: at + ident.length,
      });
      at += ident.length;
      continue;
    }
    fail(`invalid character ${JSON.stringify(c)}`, at);
  }
  if (inString) fail('unterminated string literal', source.length);
  const open = nesting.pop();
  if (open !== undefined) {
    fail(
      open === 'interp' ? 'unterminated string interpolation \\(' : `unclosed '${open}'`,
      source.length,
    );
  }
  tokens.push({ kind: 'eof', text: '', offset: source.length, end: source.length });
  return tokens;
}

/** Decodes a run of JSON escapes as jq does (it hands them to its JSON parser). */
function decodeEscapes(run: string, source: string, offset: number): string {
  let out = '';
  for (let i = 0; i < run.length; i += 2) {
    const letter = run[i + 1] as string;
    const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }[
      letter
    ];
    if (simple !== undefined) {
      out += simple;
      continue;
    }
    if (letter !== 'u') {
      throw new JqCompileError(
        `invalid escape '\\${letter}' in a string literal`,
        source,
        offset + i,
      );
    }
    const hex = run.slice(i + 2, i + 6);
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
      throw new JqCompileError(`invalid \\uXXXX escape in a string literal`, source, offset + i);
    }
    const unit = parseInt(hex, 16);
    i += 4;
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const low = /^\\u([dD][c-fC-F][0-9a-fA-F]{2})/.exec(run.slice(i + 2));
      if (low === null) {
        throw new JqCompileError(
          `invalid \\uXXXX\\uXXXX surrogate pair escape`,
          source,
          offset + i - 4,
        );
      }
      out += String.fromCharCode(unit, parseInt(low[1] as string, 16));
      i += 6;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      out += '\ufffd';
    } else {
      out += String.fromCharCode(unit);
    }
  }
  return out;
}
