/**
 * jq 1.6's builtin functions that take values (not closures): what each returns and the error it
 * raises, following jq 1.6's C code (`src/builtin.c`, `src/jv*.c`) and its jq-coded definitions
 * (`src/builtin.jq`). Closure-taking builtins (`map`, `select`, `sort_by`, ...) are in
 * `compile.ts`, because they need compiled closures.
 */

import { JqRuntimeError } from './errors.js';
import { index, iterate, minus, plus, slice, splitString } from './operators.js';
import { gmtime, mktime, compileStrftime, compileStrptime } from './strftime.js';
import {
  EMPTY,
  codePointLength,
  codePoints,
  compareValues,
  dumpJson,
  fromUtf8,
  getMember,
  hasMember,
  isObject,
  isTruthy,
  kindOf,
  setMember,
  sortedKeys,
  toText,
  truncatedDump,
  typeError,
  typeError2,
  utf8Bytes,
  valuesEqual,
  type JqObject,
  type JqResult,
  type JqValue,
} from './values.js';

/** A builtin whose arguments are evaluated to values before it runs. */
export interface ValueBuiltin {
  /**
   * The order jq evaluates the arguments in, which decides which error wins and the order of
   * outputs when arguments give several: C builtins evaluate the last argument first, builtins
   * defined in jq with `$params` the first.
   */
  order: 'last-first' | 'first-first';
  apply: (input: JqValue, a: JqValue, b: JqValue) => JqResult;
}

function cfn(apply: ValueBuiltin['apply']): ValueBuiltin {
  return { order: 'last-first', apply };
}

function jqfn(apply: ValueBuiltin['apply']): ValueBuiltin {
  return { order: 'first-first', apply };
}

/** A libm function of one number, as jq 1.6 wraps it. */
function math1(f: (x: number) => number): ValueBuiltin {
  return cfn((input) => {
    if (typeof input !== 'number') throw typeError(input, 'number required');
    return f(input);
  });
}

/** A libm function of two numbers. */
function math2(f: (x: number, y: number) => number): ValueBuiltin {
  return cfn((_input, a, b) => {
    if (typeof a !== 'number') throw typeError(a, 'number required');
    if (typeof b !== 'number') throw typeError(b, 'number required');
    return f(a, b);
  });
}

/** C's round(): halves away from zero. */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** C's rint()/nearbyint() in the default mode: halves to even. */
function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const floor = Math.floor(x);
  const diff = x - floor;
  let result = diff < 0.5 ? floor : diff > 0.5 ? floor + 1 : floor % 2 === 0 ? floor : floor + 1;
  if (result === 0 && (x < 0 || Object.is(x, -0))) result = -0;
  return result;
}

function fmin(a: number, b: number): number {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return Math.min(a, b);
}

function fmax(a: number, b: number): number {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return Math.max(a, b);
}

function length(input: JqValue): JqValue {
  if (Array.isArray(input)) return input.length;
  if (isObject(input)) return Object.keys(input).length;
  if (typeof input === 'string') return codePointLength(input);
  if (typeof input === 'number') return Math.abs(input);
  if (input === null) return 0;
  throw typeError(input, 'has no length');
}

function keys(input: JqValue, sorted: boolean): JqValue {
  if (Array.isArray(input)) return input.map((_, i) => i);
  if (isObject(input)) return sorted ? sortedKeys(input) : Object.keys(input);
  throw typeError(input, 'has no keys');
}

function has(input: JqValue, key: JqValue): JqValue {
  if (input === null) return false;
  if (isObject(input) && typeof key === 'string') return hasMember(input, key);
  if (Array.isArray(input) && typeof key === 'number') {
    const at = Math.trunc(key);
    return at >= 0 && at < input.length;
  }
  throw new JqRuntimeError(`Cannot check whether ${kindOf(input)} has a ${kindOf(key)} key`);
}

// jq compares kinds for containment with true and false as different kinds.
function containmentKind(value: JqValue): string {
  return typeof value === 'boolean' ? String(value) : kindOf(value);
}

function containsValue(a: JqValue, b: JqValue): boolean {
  if (containmentKind(a) !== containmentKind(b)) return false;
  if (isObject(a)) {
    const right = b as JqObject;
    return Object.keys(right).every(
      (key) => hasMember(a, key) && containsValue(getMember(a, key), getMember(right, key)),
    );
  }
  if (Array.isArray(a)) return (b as JqValue[]).every((y) => a.some((x) => containsValue(x, y)));
  if (typeof a === 'string') return a.includes(b as string);
  return valuesEqual(a, b);
}

function contains(a: JqValue, b: JqValue): JqValue {
  if (containmentKind(a) !== containmentKind(b))
    throw typeError2(a, b, 'cannot have their containment checked');
  return containsValue(a, b);
}

function startsWith(input: JqValue, prefix: JqValue): boolean {
  if (typeof input !== 'string' || typeof prefix !== 'string') {
    throw new JqRuntimeError('startswith() requires string inputs');
  }
  return input.startsWith(prefix);
}

function endsWith(input: JqValue, suffix: JqValue): boolean {
  if (typeof input !== 'string' || typeof suffix !== 'string') {
    throw new JqRuntimeError('endswith() requires string inputs');
  }
  return input.endsWith(suffix);
}

const JSON_NUMBER = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

/** `tonumber` on a string, as jq 1.6's JSON parser reads it (leading `+`, `01`, `1.`, `.5` pass). */
function parseNumber(text: string): number {
  const trimmed = text.replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, '');
  if (JSON_NUMBER.test(trimmed)) return Number(trimmed);
  if (trimmed === '') throw new JqRuntimeError(`Expected JSON value (while parsing '${text}')`);
  try {
    JSON.parse(trimmed);
  } catch {
    // jq's parser checks words starting like true, false, null (and nan) as literals.
    const what = /^[tfn]/.test(trimmed) ? 'Invalid literal' : 'Invalid numeric literal';
    if (/[ \t\n\r]/.test(trimmed))
      throw new JqRuntimeError(`Unexpected extra JSON values (while parsing '${text}')`);
    throw new JqRuntimeError(
      `${what} at EOF at line 1, column ${text.length} (while parsing '${text}')`,
    );
  }
  throw typeError(text, 'cannot be parsed as a number');
}

function fromJson(input: JqValue): JqValue {
  if (typeof input !== 'string') throw typeError(input, 'only strings can be parsed');
  try {
    return JSON.parse(input) as JqValue;
  } catch (error) {
    throw new JqRuntimeError(`${(error as Error).message} (while parsing '${input}')`);
  }
}

function explode(input: JqValue): number[] {
  if (typeof input !== 'string') throw new JqRuntimeError('explode input must be a string');
  return codePoints(input);
}

function implode(input: JqValue): string {
  if (!Array.isArray(input)) throw new JqRuntimeError('implode input must be an array');
  let out = '';
  for (const point of input) {
    if (typeof point !== 'number') throw new JqRuntimeError('Unicode codepoint must be numeric');
    const code = Math.trunc(point);
    out +=
      code >= 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)
        ? String.fromCodePoint(code)
        : '\ufffd';
  }
  return out;
}

function asciiCase(input: JqValue, upper: boolean): string {
  if (typeof input !== 'string') throw new JqRuntimeError('explode input must be a string');
  const pattern = upper ? /[a-z]+/g : /[A-Z]+/g;
  // Only ASCII letters change: toUpperCase/toLowerCase on the whole string would change é too.
  return input.replace(pattern, (run) => (upper ? run.toUpperCase() : run.toLowerCase()));
}

function minMax(input: JqValue, isMin: boolean): JqValue {
  if (!Array.isArray(input)) throw typeError2(input, input, 'cannot be iterated over');
  if (input.length === 0) return null;
  let best = input[0] as JqValue;
  for (let i = 1; i < input.length; i++) {
    const item = input[i] as JqValue;
    const cmp = compareValues(item, best);
    // min keeps the first of equals, max the last, as jq 1.6's minmax_by does.
    if (cmp < 0 === isMin) best = item;
  }
  return best;
}

function sortArray(input: JqValue): JqValue {
  if (!Array.isArray(input)) throw typeError(input, 'cannot be sorted, as it is not an array');
  return [...input].sort(compareValues);
}

/** `group_by(f)` given each element's key: groups of equal keys, in key order. */
export function groupByKeys(input: JqValue, keys: JqValue[]): JqValue[][] {
  if (!Array.isArray(input) || input.length !== keys.length) {
    throw typeError2(input, keys, 'cannot be sorted, as they are not both arrays');
  }
  const order = input
    .map((_, i) => i)
    .sort((x, y) => compareValues(keys[x] as JqValue, keys[y] as JqValue) || x - y);
  const groups: JqValue[][] = [];
  let currentKey: JqValue = null;
  for (const i of order) {
    const key = keys[i] as JqValue;
    const last = groups[groups.length - 1];
    if (last !== undefined && valuesEqual(currentKey, key)) last.push(input[i] as JqValue);
    else groups.push([input[i] as JqValue]);
    currentKey = key;
  }
  return groups;
}

/** `sort_by(f)` given each element's key. */
export function sortByKeys(input: JqValue, keys: JqValue[]): JqValue[] {
  if (!Array.isArray(input) || input.length !== keys.length) {
    throw typeError2(input, keys, 'cannot be sorted, as they are not both arrays');
  }
  const order = input
    .map((_, i) => i)
    .sort((x, y) => compareValues(keys[x] as JqValue, keys[y] as JqValue) || x - y);
  return order.map((i) => input[i] as JqValue);
}

/** `min_by(f)` / `max_by(f)` given each element's key. */
export function minMaxByKeys(input: JqValue, keys: JqValue[], isMin: boolean): JqValue {
  if (!Array.isArray(input)) throw typeError2(input, keys, 'cannot be iterated over');
  if (input.length !== keys.length) throw typeError2(input, keys, 'have wrong length');
  if (input.length === 0) return null;
  let best = 0;
  for (let i = 1; i < input.length; i++) {
    const cmp = compareValues(keys[i] as JqValue, keys[best] as JqValue);
    if (cmp < 0 === isMin) best = i;
  }
  return input[best] as JqValue;
}

function unique(input: JqValue): JqValue {
  // group_by(.) | map(.[0]), where group_by's keys are map([.]).
  const keys = iterate(input).map((item) => [item]);
  return groupByKeys(input, keys).map((group) => group[0] as JqValue);
}

function add(input: JqValue): JqValue {
  let sum: JqValue = null;
  for (const item of iterate(input)) sum = plus(sum, item);
  return sum;
}

function reverse(input: JqValue): JqValue {
  // jq 1.6: [.[length - 1 - range(0; length)]].
  const n = length(input) as number;
  if (Array.isArray(input)) return [...input].reverse();
  const out: JqValue[] = [];
  for (let i = 0; i < n; i++) out.push(index(input, n - 1 - i));
  return out;
}

function join(input: JqValue, separator: JqValue): JqValue {
  let result: JqValue = null;
  for (const item of iterate(input)) {
    const left = result === null ? '' : plus(result, separator);
    const right =
      typeof item === 'boolean' || typeof item === 'number'
        ? toText(item)
        : isTruthy(item)
          ? item
          : '';
    result = plus(left, right);
  }
  return isTruthy(result) ? result : '';
}

/** jq 1.6's `_flatten($x)`: arrays inside are spliced in while the depth is not 0. */
function flattenDepth(input: JqValue, depth: JqValue): JqValue[] {
  const out: JqValue[] = [];
  for (const item of iterate(input)) {
    if (Array.isArray(item) && !valuesEqual(depth, 0))
      out.push(...flattenDepth(item, minus(depth, 1)));
    else out.push(item);
  }
  return out;
}

function flatten(input: JqValue, depth: JqValue): JqValue {
  if (compareValues(depth, 0) < 0) throw new JqRuntimeError('flatten depth must not be negative');
  return flattenDepth(input, depth);
}

/** `to_entries`: `[{key, value}]` for an object's members or an array's elements. */
export function toEntries(input: JqValue): JqValue {
  if (Array.isArray(input)) return input.map((value, key) => ({ key, value }));
  if (!isObject(input)) throw typeError(input, 'has no keys');
  return Object.keys(input).map((key) => {
    const entry: JqObject = {};
    setMember(entry, 'key', key);
    setMember(entry, 'value', getMember(input, key));
    return entry;
  });
}

/** `from_entries`: an object from `{key|Key|name|Name, value|Value}` entries. */
export function fromEntries(input: JqValue): JqValue {
  let result: JqValue = null;
  for (const entry of iterate(input)) {
    // {(.key // .Key // .name // .Name): (if has("value") then .value else .Value end)}
    let key: JqValue = null;
    for (const name of ['key', 'Key', 'name', 'Name']) {
      key = index(entry, name);
      if (isTruthy(key)) break;
    }
    const value = has(entry, 'value') === true ? index(entry, 'value') : index(entry, 'Value');
    if (typeof key !== 'string')
      throw new JqRuntimeError(`Cannot use ${kindOf(key)} (${truncatedDump(key)}) as object key`);
    const object: JqObject = {};
    setMember(object, key, value);
    result = plus(result, object);
  }
  return isTruthy(result) ? result : {};
}

function indices(input: JqValue, needle: JqValue): JqValue {
  if (Array.isArray(input)) return index(input, Array.isArray(needle) ? needle : [needle]);
  if (typeof input === 'string' && typeof needle === 'string') {
    if (needle === '') throw new JqRuntimeError('indices of "" never end in jq 1.6');
    // jq 1.6 gives byte offsets into the UTF-8 text, not code point offsets.
    const haystack = utf8Bytes(input);
    const pattern = utf8Bytes(needle);
    const out: number[] = [];
    for (let i = 0; i + pattern.length <= haystack.length;) {
      let match = true;
      for (let j = 0; j < pattern.length && match; j++) match = haystack[i + j] === pattern[j];
      if (match) {
        out.push(i);
        i += pattern.length;
      } else {
        i += 1;
      }
    }
    return out;
  }
  return index(input, needle);
}

function getPath(input: JqValue, path: JqValue): JqValue {
  if (path === null) return input;
  if (!Array.isArray(path)) throw new JqRuntimeError('Path must be specified as an array');
  let value = input;
  for (const key of path) value = index(value, key);
  return value;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function base64Decode(input: JqValue): string {
  const text = toText(input);
  const bytes = utf8Bytes(text);
  const out: number[] = [];
  let code = 0;
  let count = 0;
  for (const byte of bytes) {
    if (byte === 0x3d) break; // '='
    const digit = BASE64.indexOf(String.fromCharCode(byte));
    if (byte > 0x7f || digit < 0) throw typeError(text, 'is not valid base64 data');
    code = (code << 6) | digit;
    count++;
    if (count === 4) {
      out.push((code >> 16) & 0xff, (code >> 8) & 0xff, code & 0xff);
      code = 0;
      count = 0;
    }
  }
  if (count === 3) out.push((code >> 10) & 0xff, (code >> 2) & 0xff);
  else if (count === 2) out.push((code >> 4) & 0xff);
  else if (count === 1) throw typeError(text, 'trailing base64 byte found');
  return fromUtf8(Uint8Array.from(out));
}

function escapeEach(text: string, escapes: Record<string, string>): string {
  let out = '';
  for (const ch of text) out += escapes[ch] ?? ch;
  return out;
}

function csvLike(input: JqValue, csv: boolean): string {
  if (!Array.isArray(input))
    throw typeError(input, `cannot be ${csv ? 'csv' : 'tsv'}-formatted, only array`);
  return input
    .map((item) => {
      if (item === null) return '';
      if (typeof item === 'boolean') return String(item);
      if (typeof item === 'number') return Number.isNaN(item) ? '' : dumpJson(item);
      if (typeof item === 'string') {
        return csv
          ? `"${item.replace(/"/g, '""')}"`
          : escapeEach(item, { '\t': '\\t', '\r': '\\r', '\n': '\\n', '\\': '\\\\' });
      }
      throw typeError(item, 'is not valid in a csv row');
    })
    .join(csv ? ',' : '\t');
}

function shellQuote(input: JqValue): string {
  const items = Array.isArray(input) ? input : [input];
  return items
    .map((item) => {
      if (typeof item === 'string') return `'${item.replace(/'/g, "'\\''")}'`;
      if (Array.isArray(item) || isObject(item))
        throw typeError(item, 'can not be escaped for shell');
      return dumpJson(item);
    })
    .join(' ');
}

const URI_UNRESERVED = /^[A-Za-z0-9\-_.!~*'()]$/;

function uriEncode(input: JqValue): string {
  let out = '';
  for (const byte of utf8Bytes(toText(input))) {
    const ch = String.fromCharCode(byte);
    out +=
      byte < 0x80 && URI_UNRESERVED.test(ch)
        ? ch
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** jq 1.6's `@name` formats. */
export const FORMATS: Record<string, (input: JqValue) => JqValue> = {
  text: (input) => toText(input),
  json: (input) => dumpJson(input),
  csv: (input) => csvLike(input, true),
  tsv: (input) => csvLike(input, false),
  html: (input) =>
    escapeEach(toText(input), {
      '&': '&amp;',
      '<': '&lt;',
      '>': '&gt;',
      "'": '&apos;',
      '"': '&quot;',
    }),
  uri: uriEncode,
  sh: shellQuote,
  base64: (input) => Buffer.from(utf8Bytes(toText(input))).toString('base64'),
  base64d: base64Decode,
};

function format(input: JqValue, name: JqValue): JqValue {
  if (typeof name !== 'string') throw typeError(name, 'is not a valid format');
  const apply = Object.hasOwn(FORMATS, name) ? FORMATS[name] : undefined;
  if (apply === undefined) throw new JqRuntimeError(`${name} is not a valid format`);
  return apply(input);
}

function selectIf(test: (input: JqValue) => boolean): ValueBuiltin {
  return cfn((input) => (test(input) ? input : EMPTY));
}

function iterableTruth(input: JqValue, all: boolean): boolean {
  const items = iterate(input);
  return all ? items.every(isTruthy) : items.some(isTruthy);
}

const toIso = compileStrftime('%Y-%m-%dT%H:%M:%SZ');
const fromIso = compileStrptime('%Y-%m-%dT%H:%M:%SZ');

/** The value builtins, by `name/arity`. */
export const VALUE_BUILTINS: ReadonlyMap<string, ValueBuiltin> = new Map<string, ValueBuiltin>([
  ['length/0', cfn(length)],
  [
    'utf8bytelength/0',
    cfn((input) => {
      if (typeof input !== 'string') throw typeError(input, 'only strings have UTF-8 byte length');
      return utf8Bytes(input).length;
    }),
  ],
  ['not/0', cfn((input) => !isTruthy(input))],
  ['keys/0', cfn((input) => keys(input, true))],
  ['keys_unsorted/0', cfn((input) => keys(input, false))],
  ['has/1', cfn(has)],
  ['in/1', jqfn((input, object) => has(object, input))],
  ['contains/1', cfn(contains)],
  ['inside/1', jqfn((input, container) => contains(container, input))],
  ['type/0', cfn((input) => kindOf(input))],
  ['tostring/0', cfn((input) => toText(input))],
  ['tojson/0', cfn((input) => dumpJson(input))],
  ['fromjson/0', cfn(fromJson)],
  [
    'tonumber/0',
    cfn((input) => {
      if (typeof input === 'number') return input;
      if (typeof input === 'string') return parseNumber(input);
      throw typeError(input, 'cannot be parsed as a number');
    }),
  ],
  ['ascii_downcase/0', jqfn((input) => asciiCase(input, false))],
  ['ascii_upcase/0', jqfn((input) => asciiCase(input, true))],
  ['explode/0', cfn(explode)],
  ['implode/0', cfn(implode)],
  [
    'ltrimstr/1',
    cfn((input, prefix) =>
      typeof input === 'string' && typeof prefix === 'string' && input.startsWith(prefix)
        ? input.slice(prefix.length)
        : input,
    ),
  ],
  [
    'rtrimstr/1',
    cfn((input, suffix) =>
      typeof input === 'string' && typeof suffix === 'string' && input.endsWith(suffix)
        ? input.slice(0, input.length - suffix.length)
        : input,
    ),
  ],
  ['startswith/1', cfn(startsWith)],
  ['endswith/1', cfn(endsWith)],
  [
    'split/1',
    cfn((input, separator) => {
      if (typeof input !== 'string' || typeof separator !== 'string') {
        throw new JqRuntimeError('split input and separator must be strings');
      }
      return splitString(input, separator);
    }),
  ],
  ['join/1', jqfn(join)],
  ['indices/1', jqfn(indices)],
  ['index/1', jqfn((input, needle) => index(indices(input, needle), 0))],
  [
    'rindex/1',
    jqfn((input, needle) => {
      // indices($i) | .[-1:][0]
      return index(slice(indices(input, needle), -1, null), 0);
    }),
  ],
  ['min/0', cfn((input) => minMax(input, true))],
  ['max/0', cfn((input) => minMax(input, false))],
  ['add/0', jqfn(add)],
  ['any/0', jqfn((input) => iterableTruth(input, false))],
  ['all/0', jqfn((input) => iterableTruth(input, true))],
  ['reverse/0', jqfn(reverse)],
  ['sort/0', cfn(sortArray)],
  ['unique/0', jqfn(unique)],
  ['flatten/0', jqfn((input) => flattenDepth(input, -1))],
  ['flatten/1', jqfn(flatten)],
  ['first/0', jqfn((input) => index(input, 0))],
  ['last/0', jqfn((input) => index(input, -1))],
  ['nth/1', jqfn((input, n) => index(input, n))],
  ['to_entries/0', jqfn(toEntries)],
  ['from_entries/0', jqfn(fromEntries)],
  ['getpath/1', cfn(getPath)],
  [
    'error/0',
    cfn((input) => {
      throw new JqRuntimeError(input);
    }),
  ],
  [
    'error/1',
    cfn((_input, message) => {
      throw new JqRuntimeError(message);
    }),
  ],
  ['format/1', cfn(format)],
  ['arrays/0', selectIf((input) => Array.isArray(input))],
  ['objects/0', selectIf(isObject)],
  ['iterables/0', selectIf((input) => Array.isArray(input) || isObject(input))],
  ['booleans/0', selectIf((input) => typeof input === 'boolean')],
  ['numbers/0', selectIf((input) => typeof input === 'number')],
  ['strings/0', selectIf((input) => typeof input === 'string')],
  ['nulls/0', selectIf((input) => input === null)],
  ['values/0', selectIf((input) => input !== null)],
  ['scalars/0', selectIf((input) => !Array.isArray(input) && !isObject(input))],
  ['infinite/0', cfn(() => Infinity)],
  ['nan/0', cfn(() => NaN)],
  [
    'isinfinite/0',
    cfn((input) => {
      if (typeof input !== 'number') throw typeError(input, 'number required');
      return input === Infinity || input === -Infinity;
    }),
  ],
  [
    'isnan/0',
    cfn((input) => {
      if (typeof input !== 'number') throw typeError(input, 'number required');
      return Number.isNaN(input);
    }),
  ],
  [
    'isnormal/0',
    cfn((input) => {
      if (typeof input !== 'number') throw typeError(input, 'number required');
      return Number.isFinite(input) && Math.abs(input) >= 2.2250738585072014e-308;
    }),
  ],
  [
    'isfinite/0',
    jqfn((input) => typeof input === 'number' && input !== Infinity && input !== -Infinity),
  ],
  ['floor/0', math1(Math.floor)],
  ['ceil/0', math1(Math.ceil)],
  ['round/0', math1(roundHalfAway)],
  ['trunc/0', math1(Math.trunc)],
  ['rint/0', math1(roundHalfEven)],
  ['nearbyint/0', math1(roundHalfEven)],
  ['fabs/0', math1(Math.abs)],
  ['sqrt/0', math1(Math.sqrt)],
  ['cbrt/0', math1(Math.cbrt)],
  ['exp/0', math1(Math.exp)],
  ['exp2/0', math1((x) => 2 ** x)],
  ['expm1/0', math1(Math.expm1)],
  ['log/0', math1(Math.log)],
  ['log2/0', math1(Math.log2)],
  ['log10/0', math1(Math.log10)],
  ['log1p/0', math1(Math.log1p)],
  ['sin/0', math1(Math.sin)],
  ['cos/0', math1(Math.cos)],
  ['tan/0', math1(Math.tan)],
  ['asin/0', math1(Math.asin)],
  ['acos/0', math1(Math.acos)],
  ['atan/0', math1(Math.atan)],
  ['sinh/0', math1(Math.sinh)],
  ['cosh/0', math1(Math.cosh)],
  ['tanh/0', math1(Math.tanh)],
  ['asinh/0', math1(Math.asinh)],
  ['acosh/0', math1(Math.acosh)],
  ['atanh/0', math1(Math.atanh)],
  ['pow/2', math2((x, y) => x ** y)],
  ['atan2/2', math2(Math.atan2)],
  ['fmin/2', math2(fmin)],
  ['fmax/2', math2(fmax)],
  ['fmod/2', math2((x, y) => x % y)],
  ['copysign/2', math2((x, y) => (y < 0 || Object.is(y, -0) ? -Math.abs(x) : Math.abs(x)))],
  ['now/0', cfn(() => Date.now() / 1000)],
  ['gmtime/0', cfn(gmtime)],
  ['mktime/0', cfn(mktime)],
  ['todate/0', jqfn(toIso)],
  ['todateiso8601/0', jqfn(toIso)],
  ['fromdate/0', jqfn((input) => mktime(fromIso(input)))],
  ['fromdateiso8601/0', jqfn((input) => mktime(fromIso(input)))],
]);
