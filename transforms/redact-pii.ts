/**
 * Redact personal data from JSON records before it is stored.
 *
 * Every string in the record, at any depth (objects and arrays), is scanned and
 *   - e-mail addresses become `[email]`,
 *   - payment card numbers become `[card ****1234]` (the last four digits kept, as PCI DSS
 *     allows): 13 to 19 digits, optionally grouped by single spaces or dashes, that pass the
 *     Luhn check and start with 2–6, the first digit of the major card networks' numbers
 *     (which keeps 13-digit epoch-millisecond timestamps, starting with 1, from being taken
 *     for cards),
 *   - phone numbers become `[phone]`: international numbers written with a leading `+`
 *     (8 to 15 digits, E.164's range) and North American ones written `555-123-4567`,
 *     `555.123.4567` or `(555) 123-4567` (optionally after `1-`). Bare runs of digits are left alone: they are far more
 *     often ids and timestamps than phone numbers.
 * The value of every member named in {@link REDACTED_FIELDS} (whatever its type, including
 * objects) becomes `[redacted]`. Names match case-insensitively and ignoring `_` and `-`, so
 * `apiKey`, `api_key` and `API-KEY` are one name. Numbers, booleans and member names are not
 * scanned. Records that are not JSON fail (`processing-failed`), and so do records nested
 * deeper than {@link MAX_DEPTH}.
 *
 * Wire it to a stream with `"LambdaArn": "sluice:transform:redact-pii"`.
 */
import { defineTransform, failed } from 'sluice';

/** Members whose whole value is replaced. Edit this list for your data. */
const REDACTED_FIELDS: readonly string[] = [
  'password',
  'passwd',
  'secret',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'authorization',
  'cookie',
  'ssn',
  'cvv',
  'dateOfBirth',
];

/** Real events nest a few levels; a record far deeper is malformed, not data to walk. */
const MAX_DEPTH = 64;

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
/** 13–19 digits, each optionally preceded by one space or dash, not inside a longer number. */
const CARD_CANDIDATE = /(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)/g;
/** `+` then digits with the separators people write; the digit count is checked after. */
const INTERNATIONAL_PHONE = /(?<![\w+])\+\d[\d ().-]{5,22}\d(?!\w)/g;
/** `555-123-4567`, `555.123.4567`, `(555) 123-4567`, with an optional leading `1-` or `1 `. */
const NORTH_AMERICAN_PHONE =
  /(?<![\w+(.-])(?:1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[.-])\d{3}[.-]\d{4}(?![\w-])/g;

const normalizeName = (name: string): string => name.replace(/[-_]/g, '').toLowerCase();
const REDACTED_NAMES: ReadonlySet<string> = new Set(REDACTED_FIELDS.map(normalizeName));

/** The Luhn check that every payment card number passes. */
function passesLuhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

function maskCard(candidate: string): string {
  const digits = candidate.replace(/[ -]/g, '');
  if (!/^[2-6]/.test(digits) || !passesLuhn(digits)) return candidate;
  return `[card ****${digits.slice(-4)}]`;
}

function maskInternationalPhone(candidate: string): string {
  const digitCount = candidate.replace(/\D/g, '').length;
  return digitCount >= 8 && digitCount <= 15 ? '[phone]' : candidate;
}

/** `text` with e-mail addresses, card numbers and phone numbers masked. */
function redactText(text: string): string {
  // Cards before phones: a grouped card number contains phone-shaped pieces.
  return text
    .replace(EMAIL, '[email]')
    .replace(CARD_CANDIDATE, maskCard)
    .replace(INTERNATIONAL_PHONE, maskInternationalPhone)
    .replace(NORTH_AMERICAN_PHONE, '[phone]');
}

/** A JSON value, as JSON.parse makes it. */
type Json = string | number | boolean | null | Json[] | { [name: string]: Json };

/** Thrown by {@link redact} for a record nested deeper than {@link MAX_DEPTH}. */
class TooDeepError extends Error {}

/** A copy of `value` with personal data masked (see the module's comment). */
function redact(value: Json, depth: number): Json {
  if (depth > MAX_DEPTH) throw new TooDeepError();
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (typeof value === 'object' && value !== null) {
    // fromEntries defines members, so one named `__proto__` stays a member, as JSON.parse made it.
    return Object.fromEntries(
      Object.entries(value).map(([name, member]) => [
        name,
        REDACTED_NAMES.has(normalizeName(name)) ? '[redacted]' : redact(member, depth + 1),
      ]),
    );
  }
  return value;
}

/** Masks e-mails, card numbers, phone numbers and the listed fields, at any depth. */
export default defineTransform<Json>({
  decode: 'json',
  record(input) {
    try {
      return redact(input, 0);
    } catch (error) {
      if (error instanceof TooDeepError) {
        return failed(`JSON nested deeper than ${MAX_DEPTH} levels`);
      }
      throw error;
    }
  },
});
