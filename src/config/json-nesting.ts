import { FirehoseError } from '../errors/catalogue.js';
import { JSON_BYTE } from './json-bytes.js';

/**
 * Deepest nesting of JSON objects and lists a request may have; the body itself is level 1.
 *
 * The deepest Firehose request (a CreateDeliveryStream with data format conversion or a
 * processing configuration) nests about 8 levels, so 64 refuses no real request. The bound
 * exists because several steps walk a request recursively (null-member removal, the type
 * check, `JSON.stringify` when a definition is stored); a body nested 100,000 levels would
 * overflow their stack. It is checked on the bytes before `JSON.parse`, so such a body never
 * becomes a hundred thousand objects either.
 */
export const MAX_NESTING_DEPTH = 64;

/**
 * Whether JSON text nests objects and lists deeper than `max` levels, found without parsing
 * it: brackets are counted outside strings, and strings are skipped with native `indexOf`,
 * so a body of a few long base64 strings costs a handful of steps.
 *
 * Exact for valid JSON. For invalid JSON the answer does not matter: `JSON.parse` refuses it
 * with a SerializationException either way. UTF-8 never uses the bytes looked at here inside
 * a multi-byte character, so the bytes need no decoding.
 */
export function nestsDeeperThan(json: Buffer, max: number): boolean {
  let depth = 0;
  for (let at = 0; at < json.length; at++) {
    const byte = json[at];
    if (byte === JSON_BYTE.QUOTE) {
      at = closingQuote(json, at + 1);
      if (at === -1) return false;
    } else if (byte === JSON_BYTE.OPEN_BRACE || byte === JSON_BYTE.OPEN_BRACKET) {
      depth++;
      if (depth > max) return true;
    } else if (byte === JSON_BYTE.CLOSE_BRACE || byte === JSON_BYTE.CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/** Position of the quote that ends the string whose content starts at `from`, or -1. */
function closingQuote(json: Buffer, from: number): number {
  let searchFrom = from;
  for (;;) {
    const quote = json.indexOf(JSON_BYTE.QUOTE, searchFrom);
    if (quote === -1) return -1;
    // A quote preceded by an odd run of backslashes is escaped and does not end the string.
    let backslashes = 0;
    for (let i = quote - 1; i >= searchFrom && json[i] === JSON_BYTE.BACKSLASH; i--) backslashes++;
    if (backslashes % 2 === 0) return quote;
    searchFrom = quote + 1;
  }
}

/** The SerializationException for a body nested deeper than {@link MAX_NESTING_DEPTH}. */
export function nestingTooDeepError(): FirehoseError {
  return new FirehoseError(
    'SerializationException',
    `Request body nests objects and lists deeper than ${MAX_NESTING_DEPTH} levels`,
  );
}
