/**
 * Formatting of Java `DateTimeFormatter` patterns, as Firehose users write them inside
 * `!{timestamp:<pattern>}` prefix expressions.
 *
 * Firehose evaluates these patterns with Java's formatter, so the rules here follow
 * `DateTimeFormatterBuilder.appendPattern` for the letters we support: the same letter-count
 * limits, the same padding and sign rules, quoted literals with `''` for a quote, `[`/`]`
 * optional sections and the reserved characters `#`, `{`, `}`. Text fields use English, the
 * locale Firehose formats with. Unsupported letters fail at compile time, so a stream
 * definition is rejected up front instead of producing odd keys at delivery.
 */

/** A wall-clock reading of one instant in one time zone (proleptic Gregorian calendar). */
interface WallClock {
  /** Proleptic year: 0 is 1 BC, -1 is 2 BC. */
  year: number;
  /** 1–12. */
  month: number;
  /** 1–31. */
  day: number;
  /** 1–366. */
  dayOfYear: number;
  /** ISO day of week: 1 = Monday … 7 = Sunday. */
  dayOfWeek: number;
  /** 0–23. */
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

type Printer = (clock: WallClock) => string;

/** A compiled pattern: formats an epoch-millisecond instant as wall-clock time in an IANA zone. */
export type TimestampFormatter = (epochMs: number, timeZone: string) => string;

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;

// Indexed by ISO day of week minus one.
const DAYS = [
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
  'Sunday',
] as const;

/**
 * Highest letter count Java accepts per supported letter. `y`/`u` allow up to 19 because
 * Java's minimum width for a value field is 19.
 */
const MAX_COUNT: Readonly<Record<string, number>> = {
  y: 19,
  u: 19,
  M: 5,
  L: 5,
  d: 2,
  D: 3,
  H: 2,
  h: 2,
  k: 2,
  K: 2,
  m: 2,
  s: 2,
  S: 9,
  a: 1,
  E: 5,
};

const SUPPORTED_LETTERS = Object.keys(MAX_COUNT).join(' ');

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/**
 * Java's year printing: two letters print the last two digits; fewer than four letters print
 * a sign only for negative years; four or more also print `+` when the value outgrows the
 * width (SignStyle.EXCEEDS_PAD), which only matters past year 9999.
 */
function printYear(value: number, count: number): string {
  const abs = Math.abs(value);
  if (count === 2) return pad(abs % 100, 2);
  if (value < 0) return `-${pad(abs, count)}`;
  const digits = pad(value, count);
  return count >= 4 && digits.length > count ? `+${digits}` : digits;
}

/** Numeric field: one letter prints the bare value, two (or three for `D`) zero-pad. */
function numeric(get: (c: WallClock) => number, count: number): Printer {
  return count === 1 ? (c) => String(get(c)) : (c) => pad(get(c), count);
}

function text(names: readonly string[], count: number, index: (c: WallClock) => number): Printer {
  // 1–3 letters: short text, 4: full text, 5: narrow (first letter), as Java's English locale.
  return (c) => {
    const name = names[index(c)] ?? '';
    if (count === 4) return name;
    if (count === 5) return name.slice(0, 1);
    return name.slice(0, 3);
  };
}

function fieldPrinter(letter: string, count: number): Printer {
  switch (letter) {
    case 'y':
      // Year of era: 1 BC is year 1 of the BC era, so the value never goes negative.
      return (c) => printYear(c.year > 0 ? c.year : 1 - c.year, count);
    case 'u':
      return (c) => printYear(c.year, count);
    case 'M':
    case 'L':
      // Standalone (`L`) and format (`M`) month names are the same in English.
      return count <= 2 ? numeric((c) => c.month, count) : text(MONTHS, count, (c) => c.month - 1);
    case 'd':
      return numeric((c) => c.day, count);
    case 'D':
      return numeric((c) => c.dayOfYear, count);
    case 'H':
      return numeric((c) => c.hour, count);
    case 'h':
      return numeric((c) => (c.hour % 12 === 0 ? 12 : c.hour % 12), count);
    case 'k':
      return numeric((c) => (c.hour === 0 ? 24 : c.hour), count);
    case 'K':
      return numeric((c) => c.hour % 12, count);
    case 'm':
      return numeric((c) => c.minute, count);
    case 's':
      return numeric((c) => c.second, count);
    case 'S':
      // Fraction of second, truncated (not rounded) to `count` digits; the instant only has
      // millisecond precision, so digits past the third are zero.
      return (c) => `${pad(c.millisecond, 3)}000000`.slice(0, count);
    case 'a':
      return (c) => (c.hour < 12 ? 'AM' : 'PM');
    case 'E':
      return text(DAYS, count, (c) => c.dayOfWeek - 1);
    default:
      throw new Error(`Unexpected pattern letter '${letter}'`);
  }
}

function isAsciiLetter(ch: string): boolean {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

function literal(value: string): Printer {
  return () => value;
}

/**
 * Compiles a Java `DateTimeFormatter` pattern into a formatter.
 *
 * Supported letters: `y`/`u` (year; `yy` = last two digits), `M`/`L` (month; `MMM` short name,
 * `MMMM` full name, `MMMMM` first letter), `d`, `D` (day of year), `H`, `h`, `k`, `K`, `m`,
 * `s`, `S` (fraction of second), `a` (AM/PM), `E` (`EEE` short day name, `EEEE` full).
 * Text in single quotes is literal (`''` is one quote); other non-letter characters are
 * literal; `[` and `]` delimit optional sections, which always print because every supported
 * field is always available.
 *
 * @param pattern - The pattern, e.g. `yyyy/MM/dd/HH`.
 * @returns A function formatting an epoch-millisecond instant in an IANA time zone.
 * @throws Error naming the offending letter or character and its zero-based position when the
 *   pattern uses an unsupported letter, too many of a letter, a reserved character, an
 *   unmatched `]` or an unterminated quote.
 */
export function compileTimestampPattern(pattern: string): TimestampFormatter {
  const printers: Printer[] = [];
  let optionalDepth = 0;
  let pos = 0;
  const where = (at: number): string => `at position ${at} in timestamp pattern "${pattern}"`;

  while (pos < pattern.length) {
    const ch = pattern.charAt(pos);
    if (isAsciiLetter(ch)) {
      let end = pos + 1;
      while (pattern.charAt(end) === ch) end++;
      const count = end - pos;
      const max = MAX_COUNT[ch];
      if (max === undefined) {
        throw new Error(
          `Unsupported pattern letter '${ch}' ${where(pos)}; supported letters are ${SUPPORTED_LETTERS} (quote literal text, e.g. 'T')`,
        );
      }
      if (count > max) {
        throw new Error(
          `Too many pattern letters '${ch.repeat(count)}' ${where(pos)}; '${ch}' may be repeated at most ${max} time${max === 1 ? '' : 's'}`,
        );
      }
      printers.push(fieldPrinter(ch, count));
      pos = end;
    } else if (ch === "'") {
      // Java's rule: the literal runs to the next quote that is not doubled; `''` inside
      // means one quote, and an empty literal (`''` on its own) also means one quote.
      let end = pos + 1;
      for (;;) {
        if (end >= pattern.length) {
          throw new Error(`Unterminated quoted literal starting ${where(pos)}`);
        }
        if (pattern.charAt(end) === "'") {
          if (pattern.charAt(end + 1) === "'") {
            end += 2;
            continue;
          }
          break;
        }
        end++;
      }
      const body = pattern.slice(pos + 1, end);
      printers.push(literal(body === '' ? "'" : body.replaceAll("''", "'")));
      pos = end + 1;
    } else if (ch === '[') {
      optionalDepth++;
      pos++;
    } else if (ch === ']') {
      if (optionalDepth === 0) {
        throw new Error(`Unmatched ']' ${where(pos)}; ']' must close an optional section '['`);
      }
      optionalDepth--;
      pos++;
    } else if (ch === '#' || ch === '{' || ch === '}') {
      throw new Error(
        `Reserved character '${ch}' ${where(pos)}; quote it to use it literally ('${ch}')`,
      );
    } else {
      printers.push(literal(ch));
      pos++;
    }
  }

  return (epochMs, timeZone) => {
    const clock = wallClock(epochMs, timeZone);
    let out = '';
    for (const print of printers) out += print(clock);
    return out;
  };
}

const zoneFormatters = new Map<string, Intl.DateTimeFormat>();

function zoneFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter = zoneFormatters.get(timeZone);
  if (formatter === undefined) {
    // Constructing an Intl.DateTimeFormat costs far more than formatting with one, and the set
    // of zones in use is small, so each zone's formatter is built once.
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    zoneFormatters.set(timeZone, formatter);
  }
  return formatter;
}

/**
 * Reads the wall clock of `epochMs` in `timeZone`. Intl only supplies the zone's local date and
 * time of day; everything else (day of week, day of year) is derived with UTC arithmetic on
 * that local reading, so no calendar logic depends on the ICU locale data.
 */
function wallClock(epochMs: number, timeZone: string): WallClock {
  if (!Number.isFinite(epochMs)) {
    throw new RangeError(`Cannot format a timestamp that is not a finite number: ${epochMs}`);
  }
  const instant = Math.floor(epochMs);
  const millisecond = ((instant % 1000) + 1000) % 1000;
  let local: Date;
  if (timeZone === 'UTC') {
    local = new Date(instant);
  } else {
    const parts: Record<string, string> = {};
    for (const part of zoneFormatter(timeZone).formatToParts(instant)) {
      parts[part.type] = part.value;
    }
    const eraYear = Number(parts.year);
    const year = parts.era === 'BC' ? 1 - eraYear : eraYear;
    local = new Date(0);
    // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999.
    local.setUTCFullYear(year, Number(parts.month) - 1, Number(parts.day));
    // Older ICU versions print midnight as hour 24 even with h23.
    local.setUTCHours(
      Number(parts.hour) % 24,
      Number(parts.minute),
      Number(parts.second),
      millisecond,
    );
  }
  const year = local.getUTCFullYear();
  const startOfYear = new Date(0);
  startOfYear.setUTCFullYear(year, 0, 1);
  const weekday = local.getUTCDay();
  return {
    year,
    month: local.getUTCMonth() + 1,
    day: local.getUTCDate(),
    dayOfYear: Math.floor((local.getTime() - millisecond - startOfYear.getTime()) / 86_400_000) + 1,
    dayOfWeek: weekday === 0 ? 7 : weekday,
    hour: local.getUTCHours(),
    minute: local.getUTCMinutes(),
    second: local.getUTCSeconds(),
    millisecond,
  };
}

/**
 * Whether `tz` is an IANA time zone name this runtime can format in (e.g. `UTC`,
 * `Asia/Tokyo`, `America/New_York`, or a link such as `US/Eastern`).
 *
 * Fixed UTC offsets (`+09:00`) are rejected although ICU accepts them: Firehose's
 * `CustomTimeZone` takes zone names. Matching is ICU's, which ignores case.
 *
 * @param tz - The candidate zone name.
 * @returns true when the name is usable as `timeZone` in a compiled formatter.
 */
export function isValidTimeZone(tz: string): boolean {
  if (tz === '' || tz.startsWith('+') || tz.startsWith('-')) return false;
  try {
    zoneFormatter(tz);
    return true;
  } catch {
    return false;
  }
}
