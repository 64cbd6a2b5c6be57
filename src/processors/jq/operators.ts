/**
 * jq 1.6's operators on values: arithmetic (`_plus`, `_minus`, ...), indexing (`jv_get`),
 * slicing and iteration, with jq's results and error messages.
 */

import { JqRuntimeError } from './errors.js';
import {
  codePointLength,
  compareValues,
  copyObject,
  getMember,
  isObject,
  kindOf,
  setMember,
  sliceCodePoints,
  truncatedDump,
  typeError2,
  valuesEqual,
  type JqObject,
  type JqValue,
} from './values.js';

/** `a + b`: null is the identity; numbers add; strings, arrays concatenate; objects merge. */
export function plus(a: JqValue, b: JqValue): JqValue {
  if (a === null) return b;
  if (b === null) return a;
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (typeof a === 'string' && typeof b === 'string') return a + b;
  if (Array.isArray(a) && Array.isArray(b)) return a.concat(b);
  if (isObject(a) && isObject(b)) {
    const merged = copyObject(a);
    for (const key of Object.keys(b)) setMember(merged, key, getMember(b, key));
    return merged;
  }
  throw typeError2(a, b, 'cannot be added');
}

/** `a - b`: numbers subtract; arrays lose every element equal to one of `b`'s. */
export function minus(a: JqValue, b: JqValue): JqValue {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (Array.isArray(a) && Array.isArray(b))
    return a.filter((x) => !b.some((y) => valuesEqual(x, y)));
  throw typeError2(a, b, 'cannot be subtracted');
}

function mergeDeep(a: JqObject, b: JqObject): JqObject {
  const merged = copyObject(a);
  for (const key of Object.keys(b)) {
    const left = getMember(merged, key);
    const right = getMember(b, key);
    setMember(merged, key, isObject(left) && isObject(right) ? mergeDeep(left, right) : right);
  }
  return merged;
}

/** Longest string `*` may build. */
const REPEAT_LIMIT = 64 * 1024 * 1024;

/** `a * b`: numbers multiply; a string times n repeats it (null for n <= 0); objects merge deeply. */
export function times(a: JqValue, b: JqValue): JqValue {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  if (
    (typeof a === 'string' && typeof b === 'number') ||
    (typeof a === 'number' && typeof b === 'string')
  ) {
    const text = typeof a === 'string' ? a : (b as string);
    const count = typeof a === 'number' ? a : (b as number);
    // jq 1.6: n = (int)(count - 1) further copies, and null when that is negative.
    const extra = Math.trunc(count - 1);
    if (Number.isNaN(extra) || extra < 0) return null;
    // jq has no limit; a worker must not exhaust its memory on one record.
    if (text.length * (extra + 1) > REPEAT_LIMIT) {
      throw new JqRuntimeError(
        `string repetition longer than ${REPEAT_LIMIT} characters (Sluice's limit)`,
      );
    }
    return text.repeat(extra + 1);
  }
  if (isObject(a) && isObject(b)) return mergeDeep(a, b);
  throw typeError2(a, b, 'cannot be multiplied');
}

/** A string split at a separator as jq does: `""` gives `[]`, `""` as separator splits code points. */
export function splitString(text: string, separator: string): string[] {
  if (text === '') return [];
  if (separator === '') return Array.from(text);
  return text.split(separator);
}

/** `a / b`: numbers divide (zero divisor is an error); a string divided by a string splits it. */
export function divide(a: JqValue, b: JqValue): JqValue {
  if (typeof a === 'number' && typeof b === 'number') {
    if (b === 0) throw typeError2(a, b, 'cannot be divided because the divisor is zero');
    return a / b;
  }
  if (typeof a === 'string' && typeof b === 'string') return splitString(a, b);
  throw typeError2(a, b, 'cannot be divided');
}

/** C's conversion of a double to intmax_t, as jq 1.6's `%` does it. */
function toIntMax(n: number): number {
  if (Number.isNaN(n)) return 0;
  return Math.trunc(n);
}

/** `a % b`: both truncated to integers; the sign follows `a`, as in C. */
export function modulo(a: JqValue, b: JqValue): JqValue {
  if (typeof a === 'number' && typeof b === 'number') {
    const divisor = toIntMax(b);
    if (divisor === 0)
      throw typeError2(a, b, 'cannot be divided (remainder) because the divisor is zero');
    const result = toIntMax(a) % divisor;
    // C's % never gives -0.
    return result === 0 ? 0 : result;
  }
  throw typeError2(a, b, 'cannot be divided (remainder)');
}

/** `-a`. */
export function negate(a: JqValue): JqValue {
  if (typeof a !== 'number') {
    throw new JqRuntimeError(`${kindOf(a)} (${truncatedDump(a)}) cannot be negated`);
  }
  return -a;
}

/** The comparison operators, by jq's total order and equality. */
export const COMPARISONS = {
  '==': (a: JqValue, b: JqValue): JqValue => valuesEqual(a, b),
  '!=': (a: JqValue, b: JqValue): JqValue => !valuesEqual(a, b),
  '<': (a: JqValue, b: JqValue): JqValue => compareValues(a, b) < 0,
  '<=': (a: JqValue, b: JqValue): JqValue => compareValues(a, b) <= 0,
  '>': (a: JqValue, b: JqValue): JqValue => compareValues(a, b) > 0,
  '>=': (a: JqValue, b: JqValue): JqValue => compareValues(a, b) >= 0,
} as const;

/** The arithmetic operators. */
export const ARITHMETIC = { '+': plus, '-': minus, '*': times, '/': divide, '%': modulo } as const;

function indexError(target: JqValue, key: JqValue): JqRuntimeError {
  if (typeof key === 'string' && new TextEncoder().encode(key).length < 30) {
    return new JqRuntimeError(`Cannot index ${kindOf(target)} with string "${key}"`);
  }
  return new JqRuntimeError(`Cannot index ${kindOf(target)} with ${kindOf(key)}`);
}

/** `.[key]` by a string: objects give the member or null, null gives null. */
export function indexByName(target: JqValue, key: string): JqValue {
  if (isObject(target)) return getMember(target, key);
  if (target === null) return null;
  throw indexError(target, key);
}

/** Where a slice starts and ends, as jq 1.6's parse_slice computes it, or undefined if not numbers. */
function sliceBounds(length: number, from: JqValue, to: JqValue): [number, number] | undefined {
  const start = from === null ? 0 : from;
  const end = to === null ? length : to;
  if (typeof start !== 'number' || typeof end !== 'number') return undefined;
  let dstart = start < 0 ? start + length : start;
  const dend = end < 0 ? end + length : end;
  if (dstart < 0) dstart = 0;
  if (dstart > length) dstart = length;
  const first = Math.trunc(dstart);
  let last = dend > length ? length : Math.trunc(dend);
  // An exclusive end of 1.5 means up to 2.
  if (last < dend) last += 1;
  if (last > length) last = length;
  if (last < first) last = first;
  return [first, last];
}

/** `.[from:to]` on arrays, strings (by code point) and null. */
export function slice(target: JqValue, from: JqValue, to: JqValue): JqValue {
  if (target === null) return null;
  if (Array.isArray(target)) {
    const bounds = sliceBounds(target.length, from, to);
    if (bounds === undefined)
      throw new JqRuntimeError('Start and end indices of an array slice must be numbers');
    return target.slice(bounds[0], bounds[1]);
  }
  if (typeof target === 'string') {
    const bounds = sliceBounds(codePointLength(target), from, to);
    if (bounds === undefined)
      throw new JqRuntimeError('Start and end indices of an string slice must be numbers');
    return sliceCodePoints(target, bounds[0], bounds[1]);
  }
  throw new JqRuntimeError(`Cannot index ${kindOf(target)} with object`);
}

/** Where `needle` occurs as a contiguous part of `haystack` (jq's `jv_array_indexes`). */
function arrayIndexes(haystack: JqValue[], needle: JqValue[]): JqValue {
  const out: number[] = [];
  if (needle.length === 0) return out;
  for (let i = 0; i < haystack.length; i++) {
    let match = true;
    for (let j = 0; j < needle.length && match; j++) {
      match =
        i + j < haystack.length && valuesEqual(haystack[i + j] as JqValue, needle[j] as JqValue);
    }
    if (match) out.push(i);
  }
  return out;
}

/** `.[key]` for any key, as jq 1.6's `jv_get`. */
export function index(target: JqValue, key: JqValue): JqValue {
  if (typeof key === 'string') return indexByName(target, key);
  if (Array.isArray(target) && typeof key === 'number') {
    if (!Number.isInteger(key)) return null;
    const at = key < 0 ? key + target.length : key;
    const value = target[at];
    return value === undefined ? null : value;
  }
  if (target === null && (typeof key === 'number' || isObject(key))) return null;
  if (isObject(key) && (Array.isArray(target) || typeof target === 'string')) {
    return slice(target, getMember(key, 'start'), getMember(key, 'end'));
  }
  if (Array.isArray(target) && Array.isArray(key)) return arrayIndexes(target, key);
  throw indexError(target, key);
}

/** The values `.[]` gives, or an error for scalars (`Cannot iterate over number (1)`). */
export function iterate(target: JqValue): JqValue[] {
  if (Array.isArray(target)) return target;
  if (isObject(target)) return Object.keys(target).map((key) => getMember(target, key));
  throw new JqRuntimeError(`Cannot iterate over ${kindOf(target)} (${truncatedDump(target)})`);
}
