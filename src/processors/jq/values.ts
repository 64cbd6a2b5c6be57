/**
 * jq 1.6's data model over JavaScript JSON values: kinds, ordering, equality, printing (numbers
 * exactly as jq 1.6 prints them) and the messages of its type errors.
 *
 * Values are what `JSON.parse` gives: null, booleans, numbers, strings, arrays and plain objects.
 * Objects are only read through {@link getMember} and written through {@link setMember} so that
 * keys such as `__proto__` or `constructor` are ordinary keys, as in jq.
 */

import { JqRuntimeError } from './errors.js';

/** A JSON value. */
export type JqValue = null | boolean | number | string | JqValue[] | JqObject;

/** A JSON object. */
export interface JqObject {
  [key: string]: JqValue;
}

/** jq's kind names, as its messages spell them. */
export type JqKind = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';

/** The largest double: jq 1.6 prints infinities as ±DBL_MAX. */
const DBL_MAX = Number.MAX_VALUE;

/** The kind of a value, as jq names it. */
export function kindOf(value: JqValue): JqKind {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return 'number';
    case 'string':
      return 'string';
    default:
      return Array.isArray(value) ? 'array' : 'object';
  }
}

/** Whether jq treats the value as true: everything but `false` and `null`. */
export function isTruthy(value: JqValue): boolean {
  return value !== false && value !== null && value !== undefined;
}

/** Whether the value is a JSON object (not null, not an array). */
export function isObject(value: JqValue): value is JqObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An object's member, or null when it has none (never an inherited property). */
export function getMember(object: JqObject, key: string): JqValue {
  const value = object[key];
  if (value === undefined) return null;
  // Own data values are never functions; `__proto__` is the one inherited non-function.
  if (typeof value === 'function' || key === '__proto__') {
    return Object.hasOwn(object, key) ? value : null;
  }
  return value;
}

/** Whether an object has the member as its own. */
export function hasMember(object: JqObject, key: string): boolean {
  return Object.hasOwn(object, key);
}

/** Sets a member; `__proto__` becomes an ordinary key instead of changing the prototype. */
export function setMember(object: JqObject, key: string, value: JqValue): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    object[key] = value;
  }
}

/** A shallow copy of an object. */
export function copyObject(object: JqObject): JqObject {
  const copy: JqObject = {};
  for (const key of Object.keys(object)) setMember(copy, key, getMember(object, key));
  return copy;
}

// Kinds in jq's order: null < false < true < numbers < strings < arrays < objects.
function kindRank(value: JqValue): number {
  if (value === null || value === undefined) return 1;
  switch (typeof value) {
    case 'boolean':
      return value ? 3 : 2;
    case 'number':
      return 4;
    case 'string':
      return 5;
    default:
      return Array.isArray(value) ? 6 : 7;
  }
}

/**
 * Maps a UTF-16 code unit so that comparing mapped units orders strings by code point, which is
 * jq's order (it compares UTF-8 bytes).
 */
function codePointOrderUnit(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** Orders strings as jq does: by code point, a prefix first. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointOrderUnit(x) - codePointOrderUnit(y);
  }
  return a.length - b.length;
}

/** An object's keys in jq's order (`keys`). */
export function sortedKeys(object: JqObject): string[] {
  return Object.keys(object).sort(compareStrings);
}

/** jq's total order of values (`sort`, `<`, `min`): negative, zero or positive. */
export function compareValues(a: JqValue, b: JqValue): number {
  const rankA = kindRank(a);
  const rankB = kindRank(b);
  if (rankA !== rankB) return rankA - rankB;
  switch (rankA) {
    case 4: {
      // jq 1.6 orders NaN as though it were null: below every number.
      const x = a as number;
      const y = b as number;
      if (Number.isNaN(x)) return -1;
      if (Number.isNaN(y)) return 1;
      return x < y ? -1 : x === y ? 0 : 1;
    }
    case 5:
      return compareStrings(a as string, b as string);
    case 6: {
      const x = a as JqValue[];
      const y = b as JqValue[];
      const length = Math.min(x.length, y.length);
      for (let i = 0; i < length; i++) {
        const r = compareValues(x[i] as JqValue, y[i] as JqValue);
        if (r !== 0) return r;
      }
      return x.length - y.length;
    }
    case 7: {
      const x = a as JqObject;
      const y = b as JqObject;
      const keysX = sortedKeys(x);
      const keysY = sortedKeys(y);
      const r = compareValues(keysX, keysY);
      if (r !== 0) return r;
      for (const key of keysX) {
        const s = compareValues(getMember(x, key), getMember(y, key));
        if (s !== 0) return s;
      }
      return 0;
    }
    default:
      return 0;
  }
}

/** jq's equality (`==`): numbers by value (so NaN is unequal to itself), the rest structurally. */
export function valuesEqual(a: JqValue, b: JqValue): boolean {
  if (a === b) return true;
  const kind = kindOf(a);
  if (kind !== kindOf(b)) return false;
  if (kind === 'array') {
    const x = a as JqValue[];
    const y = b as JqValue[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++)
      if (!valuesEqual(x[i] as JqValue, y[i] as JqValue)) return false;
    return true;
  }
  if (kind === 'object') {
    const x = a as JqObject;
    const y = b as JqObject;
    const keys = Object.keys(x);
    if (keys.length !== Object.keys(y).length) return false;
    for (const key of keys) {
      if (!hasMember(y, key) || !valuesEqual(getMember(x, key), getMember(y, key))) return false;
    }
    return true;
  }
  // Numbers that differ by identity only (NaN) and different strings or booleans.
  return false;
}

/**
 * A number as jq 1.6 prints it (`tojson`, `tostring`, `jq -c`): the shortest digits that read
 * back to the same double, in plain notation unless the decimal point is four or more places
 * left of the first digit or more than fifteen places right of the last one, where it uses
 * `d.ddde±XX` with at least two exponent digits. NaN prints as `null`, infinities as ±DBL_MAX,
 * negative zero as `-0`.
 */
export function formatNumber(n: number): string {
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const magnitude = Math.abs(n);
  // Within this range jq's plain notation and JavaScript's agree digit for digit.
  if (magnitude >= 1e-4 && magnitude < 1e16) return String(n);
  if (Number.isNaN(n)) return 'null';
  const finite = magnitude > DBL_MAX ? DBL_MAX : magnitude;
  const [mantissa = '', exponentText = ''] = finite.toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const decimalPoint = Number(exponentText) + 1;
  const sign = n < 0 ? '-' : '';
  if (decimalPoint <= -4 || decimalPoint > digits.length + 15) {
    const exponent = decimalPoint - 1;
    const exponentDigits = String(Math.abs(exponent)).padStart(2, '0');
    const fraction = digits.length > 1 ? `.${digits.slice(1)}` : '';
    return `${sign}${digits[0]}${fraction}e${exponent < 0 ? '-' : '+'}${exponentDigits}`;
  }
  if (decimalPoint <= 0) return `${sign}0.${'0'.repeat(-decimalPoint)}${digits}`;
  if (decimalPoint >= digits.length)
    return `${sign}${digits}${'0'.repeat(decimalPoint - digits.length)}`;
  return `${sign}${digits.slice(0, decimalPoint)}.${digits.slice(decimalPoint)}`;
}

// jq escapes control characters and DEL; everything else non-ASCII is written as is.
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f]/;

function quoteString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c >= 0x20 && c !== 0x7f) out += s[i];
    else if (c === 0x08) out += '\\b';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0d) out += '\\r';
    else out += `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

/** A value as compact JSON, exactly as jq 1.6's `tojson` writes it. */
export function dumpJson(value: JqValue): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return formatNumber(value);
    case 'string':
      return quoteString(value);
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += dumpJson(value[i] as JqValue);
    }
    return `${out}]`;
  }
  let out = '{';
  let first = true;
  for (const key of Object.keys(value)) {
    if (!first) out += ',';
    first = false;
    out += `${quoteString(key)}:${dumpJson(getMember(value, key))}`;
  }
  return `${out}}`;
}

/** `tostring`: strings as they are, everything else as its JSON. */
export function toText(value: JqValue): string {
  return typeof value === 'string' ? value : dumpJson(value);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A string's UTF-8 bytes. */
export function utf8Bytes(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Bytes read as UTF-8, invalid sequences replaced by U+FFFD as jq does. */
export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/**
 * A value's JSON cut to the 14 bytes jq 1.6 fits in its error messages: longer ones keep 11 bytes
 * and end with `...`.
 */
export function truncatedDump(value: JqValue): string {
  const json = dumpJson(value);
  if (json.length <= 14 && !/[^\x20-\x7e]/.test(json)) return json;
  const bytes = utf8Bytes(json);
  if (bytes.length <= 14) return json;
  return `${fromUtf8(bytes.subarray(0, 11))}...`;
}

/** `number (1) cannot be negated`: jq's message for one operand of the wrong kind. */
export function typeError(value: JqValue, what: string): JqRuntimeError {
  return new JqRuntimeError(`${kindOf(value)} (${truncatedDump(value)}) ${what}`);
}

/** `number (1) and string ("a") cannot be added`: jq's message for two operands. */
export function typeError2(a: JqValue, b: JqValue, what: string): JqRuntimeError {
  return new JqRuntimeError(
    `${kindOf(a)} (${truncatedDump(a)}) and ${kindOf(b)} (${truncatedDump(b)}) ${what}`,
  );
}

// Whether a string has UTF-16 surrogates, i.e. code points that take two units.
const SURROGATE = /[\ud800-\udfff]/;
const SURROGATE_PAIR = /[\ud800-\udbff][\udc00-\udfff]/g;

/** A string's length in code points (`length`). */
export function codePointLength(s: string): number {
  if (!SURROGATE.test(s)) return s.length;
  return s.length - (s.match(SURROGATE_PAIR)?.length ?? 0);
}

/** A string's code points (`explode`). */
export function codePoints(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0) as number);
  return out;
}

/** Code points `start` to `end` (exclusive) of a string. */
export function sliceCodePoints(s: string, start: number, end: number): string {
  if (!SURROGATE.test(s)) return s.slice(start, end);
  return Array.from(s).slice(start, end).join('');
}

/** The result of an expression that gives no output (`empty`, a failed `select`, `.a?` on error). */
export const EMPTY: unique symbol = Symbol('empty');

/** A value or no value. */
export type JqResult = JqValue | typeof EMPTY;
