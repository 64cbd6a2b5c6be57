/**
 * Reading timestamps out of JSON records for timestamp columns, as Firehose's deserializers do:
 * by default `yyyy-[M]M-[d]d HH:mm:ss[.fraction]` (Java's `Timestamp.valueOf`, read as UTC)
 * and ISO 8601 with a `T` and a zone; with the Hive JSON SerDe's `TimestampFormats`, the Joda
 * patterns given (or `millis`), tried in order. Fractions beyond milliseconds are dropped.
 */

/** A timestamp's text to epoch milliseconds (UTC), or undefined when it does not match. */
export type TimestampParser = (text: string) => number | undefined;

/** A `TimestampFormats` entry Sluice cannot read. */
export class TimestampFormatError extends Error {
  override name = 'TimestampFormatError';
}

const DEFAULT_FORMAT =
  /^(-?\d{4,})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * `yyyy-MM-ddTHH:mm:ss.SSSZ`, as `Date.prototype.toISOString` writes it: the commonest timestamp
 * of JSON records, which {@link parseDefaultTimestamp} reads by position instead of by
 * {@link DEFAULT_FORMAT} (which reads it the same).
 */
const ISO_MILLIS_LENGTH = 24;
/** Each position's character of {@link ISO_MILLIS_LENGTH}'s form: `d` a digit. */
const ISO_MILLIS = 'dddd-dd-ddTdd:dd:dd.dddZ';
const CHAR_0 = 48;

function isIsoMillis(text: string): boolean {
  for (let i = 0; i < ISO_MILLIS_LENGTH; i += 1) {
    const c = text.charCodeAt(i);
    const want = ISO_MILLIS.charCodeAt(i);
    if (want === 0x64 /* d */) {
      if (c < CHAR_0 || c > CHAR_0 + 9) return false;
    } else if (c !== want && !(want === 0x54 /* T */ && (c === 0x74 || c === 0x20))) {
      // T may be t or a space; Z may be z.
      if (!(want === 0x5a /* Z */ && c === 0x7a)) return false;
    }
  }
  return true;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** Epoch ms of the parts, or undefined when a part is out of range. */
function epochOf(parts: {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  fraction: string;
  offsetMinutes: number;
}): number | undefined {
  const { year, month, day, hour, minute, second } = parts;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return undefined;
  }
  const ms = Number(parts.fraction.slice(0, 3).padEnd(3, '0'));
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  // Date.UTC rolls 31 April into May: refuse such days.
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return undefined;
  return utc - parts.offsetMinutes * 60_000;
}

/** `Z`, `+hh`, `+hhmm` or `+hh:mm` as minutes east of UTC. */
function offsetOf(text: string | undefined): number {
  if (text === undefined || text.toUpperCase() === 'Z') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(text);
  if (m === null) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return m[1] === '-' ? -minutes : minutes;
}

/** The default formats (see the module comment). */
export function parseDefaultTimestamp(text: string): number | undefined {
  if (text.length === ISO_MILLIS_LENGTH && isIsoMillis(text)) {
    const digits = (from: number, to: number): number => {
      let n = 0;
      for (let i = from; i < to; i += 1) n = n * 10 + text.charCodeAt(i) - CHAR_0;
      return n;
    };
    return epochOf({
      year: digits(0, 4),
      month: digits(5, 7),
      day: digits(8, 10),
      hour: digits(11, 13),
      minute: digits(14, 16),
      second: digits(17, 19),
      fraction: text.slice(20, 23),
      offsetMinutes: 0,
    });
  }
  const m = DEFAULT_FORMAT.exec(text);
  if (m === null) return undefined;
  return epochOf({
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4]),
    minute: Number(m[5]),
    second: Number(m[6] ?? 0),
    fraction: m[7] ?? '',
    offsetMinutes: offsetOf(m[8]),
  });
}

type Field =
  | 'year'
  | 'month'
  | 'monthName'
  | 'day'
  | 'hour'
  | 'hour12'
  | 'ampm'
  | 'minute'
  | 'second'
  | 'fraction'
  | 'offset';

/** One Joda pattern as a regular expression and the field of each group. */
function compilePattern(pattern: string): TimestampParser {
  let source = '';
  const fields: Field[] = [];
  for (let i = 0; i < pattern.length;) {
    const c = pattern[i] as string;
    if (c === "'") {
      const end = pattern.indexOf("'", i + 1);
      if (end === -1)
        throw new TimestampFormatError(
          `TimestampFormats ${JSON.stringify(pattern)}: a quote is not closed`,
        );
      const literal = end === i + 1 ? "'" : pattern.slice(i + 1, end);
      source += literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      i = end + 1;
      continue;
    }
    if (!/[A-Za-z]/.test(c)) {
      source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      i += 1;
      continue;
    }
    let n = 1;
    while (pattern[i + n] === c) n += 1;
    i += n;
    switch (c) {
      case 'y':
      case 'Y':
        source += n === 2 ? '(\\d{2})' : '(-?\\d{4,})';
        fields.push('year');
        break;
      case 'M':
        if (n >= 3) {
          source += '([A-Za-z]{3,9})';
          fields.push('monthName');
        } else {
          source += n === 2 ? '(\\d{2})' : '(\\d{1,2})';
          fields.push('month');
        }
        break;
      case 'd':
        source += n === 2 ? '(\\d{2})' : '(\\d{1,2})';
        fields.push('day');
        break;
      case 'H':
        source += n === 2 ? '(\\d{2})' : '(\\d{1,2})';
        fields.push('hour');
        break;
      case 'h':
        source += n === 2 ? '(\\d{2})' : '(\\d{1,2})';
        fields.push('hour12');
        break;
      case 'a':
        source += '([AaPp][Mm])';
        fields.push('ampm');
        break;
      case 'm':
        source += n === 2 ? '(\\d{2})' : '(\\d{1,2})';
        fields.push('minute');
        break;
      case 's':
        source += n === 2 ? '(\\d{2})' : '(\\d{1,2})';
        fields.push('second');
        break;
      case 'S':
        source += `(\\d{${n}})`;
        fields.push('fraction');
        break;
      case 'Z':
        source += n === 1 ? '(Z|[+-]\\d{4})' : '(Z|[+-]\\d{2}:\\d{2})';
        fields.push('offset');
        break;
      default:
        throw new TimestampFormatError(
          `TimestampFormats ${JSON.stringify(pattern)}: the pattern letter ${c} is not supported (supported: y M d H h a m s S Z, quoted text, punctuation)`,
        );
    }
  }
  const regex = new RegExp(`^${source}$`);
  return (text) => {
    const m = regex.exec(text);
    if (m === null) return undefined;
    const parts = {
      year: 1970,
      month: 1,
      day: 1,
      hour: 0,
      minute: 0,
      second: 0,
      fraction: '',
      offsetMinutes: 0,
    };
    let pm: boolean | undefined;
    let hour12: number | undefined;
    fields.forEach((field, g) => {
      const value = m[g + 1] as string;
      switch (field) {
        case 'year':
          parts.year = value.length === 2 ? 2000 + Number(value) : Number(value);
          break;
        case 'monthName':
          parts.month = MONTHS.indexOf(value.slice(0, 3).toLowerCase()) + 1;
          break;
        case 'hour12':
          hour12 = Number(value);
          break;
        case 'ampm':
          pm = value.toLowerCase() === 'pm';
          break;
        case 'fraction':
          parts.fraction = value;
          break;
        case 'offset':
          parts.offsetMinutes = offsetOf(value);
          break;
        default:
          parts[field] = Number(value);
      }
    });
    if (hour12 !== undefined) parts.hour = (hour12 % 12) + (pm === true ? 12 : 0);
    return epochOf(parts);
  };
}

/**
 * A parser trying `formats` in order: Joda patterns, or `millis` (epoch milliseconds as
 * digits).
 *
 * @throws TimestampFormatError for a pattern Sluice cannot read.
 */
export function compileTimestampParser(formats: readonly string[]): TimestampParser {
  const parsers = formats.map((format): TimestampParser =>
    format === 'millis'
      ? (text) => (/^-?\d+$/.test(text) ? Number(text) : undefined)
      : compilePattern(format),
  );
  return (text) => {
    for (const parse of parsers) {
      const ms = parse(text);
      if (ms !== undefined) return ms;
    }
    return undefined;
  };
}
