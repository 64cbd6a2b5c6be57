/**
 * jq 1.6's date functions as Debian's jq 1.6 runs them on glibc in UTC: `gmtime`, `mktime`,
 * `strftime(fmt)` and `strptime(fmt)` over jq's "broken down time" arrays
 * `[year, month 0-11, day 1-31, hours, minutes, seconds, weekday 0-6, day of year 0-365]`.
 *
 * The quirks are jq's and glibc's, kept on purpose: `gmtime` keeps the fraction of the seconds
 * (`1.5 | gmtime` has seconds 1.5), `strftime` truncates it, reads weekday and day of year from
 * the array instead of computing them, prints `?` for names out of range, fails on an empty
 * result; `mktime` fails for exactly -1 (glibc's error value); `strptime` leaves day 0 and
 * derives weekday / day of year the way glibc does. Time zone: UTC (`%Z` is `UTC`, `%z` `+0000`).
 */

import { JqRuntimeError } from './errors.js';
import { type JqValue, utf8Bytes } from './values.js';

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTH_NAMES = [
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
];

/** Thrown by the format compilers for a directive Sluice does not implement. */
export class UnsupportedDirectiveError extends Error {
  /** Where in the format string the directive starts. */
  readonly index: number;
  constructor(message: string, index: number) {
    super(message);
    this.index = index;
  }
}

// ---- calendar arithmetic (proleptic Gregorian, any year a double can hold exactly)

/** Days from 1970-01-01 to the given date (month 1-12); out-of-range days roll over. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/** The date of a day count from 1970-01-01: [year, month 1-12, day]. */
function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36524) -
      Math.floor(dayOfEra / 146096)) /
      365,
  );
  const dayOfYear =
    dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Seconds since the epoch of broken-down UTC fields, normalised as timegm() does. */
function timegm(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
): number {
  const y = year + Math.floor(month / 12);
  const m = month - Math.floor(month / 12) * 12;
  const days = daysFromCivil(y, m + 1, 1) + day - 1;
  return days * 86400 + hour * 3600 + minute * 60 + second;
}

/** C's conversion of a double to int: toward zero. */
function toInt(n: number): number {
  return Math.trunc(n);
}

// ---- gmtime / mktime

/** Broken-down UTC time of seconds since the epoch (truncated toward zero, as C converts them). */
function tmFromSeconds(input: number): Tm {
  const seconds = Math.trunc(input);
  const days = Math.floor(seconds / 86400);
  const rest = seconds - days * 86400;
  const [year, month, day] = civilFromDays(days);
  // glibc's gmtime_r fails when the year does not fit an int.
  if (!Number.isFinite(input) || year - 1900 > 2147483647 || year - 1900 < -2147483648) {
    throw new JqRuntimeError('errror converting number of seconds since epoch to datetime');
  }
  return {
    year,
    month: month - 1,
    day,
    hour: Math.floor(rest / 3600),
    minute: Math.floor((rest % 3600) / 60),
    second: rest % 60,
    weekday: (((days + 4) % 7) + 7) % 7,
    yearDay: days - daysFromCivil(year, 1, 1),
  };
}

/** `gmtime`: seconds since the epoch to a broken-down time, keeping the fraction of the seconds. */
export function gmtime(input: JqValue): number[] {
  if (typeof input !== 'number') throw new JqRuntimeError('gmtime() requires numeric inputs');
  const tm = tmFromSeconds(input);
  const second = tm.second + (input - Math.floor(input));
  return [tm.year, tm.month, tm.day, tm.hour, tm.minute, second, tm.weekday, tm.yearDay];
}

/** jq 1.6's jv2tm: the eight leading numbers of a broken-down time, truncated, or undefined. */
function brokenDown(value: JqValue): number[] | undefined {
  if (!Array.isArray(value) || value.length < 8) return undefined;
  const fields: number[] = [];
  for (let i = 0; i < 8; i++) {
    const field = value[i];
    if (typeof field !== 'number') return undefined;
    fields.push(toInt(field));
  }
  return fields;
}

/** `mktime`: a broken-down UTC time to seconds since the epoch. */
export function mktime(input: JqValue): number {
  if (!Array.isArray(input)) throw new JqRuntimeError('mktime requires array inputs');
  if (input.length < 6) throw new JqRuntimeError('mktime requires parsed datetime inputs');
  const tm = brokenDown(input);
  if (tm === undefined) throw new JqRuntimeError('mktime requires parsed datetime inputs');
  const [year, month, day, hour, minute, second] = tm as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const t = timegm(year, month, day, hour, minute, second);
  // -1 is mktime()'s error value, so jq refuses 1969-12-31T23:59:59.
  if (t === -1) throw new JqRuntimeError('invalid gmtime representation');
  return t;
}

// ---- strftime

interface Tm {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
  yearDay: number;
}

interface Directive {
  flag: string;
  width: number;
}

type Piece = string | ((tm: Tm) => string);

/** A number as glibc pads it: `digits` wide with zeros by default, the flags and width applied. */
function padNumber(
  value: number,
  digits: number,
  directive: Directive,
  defaultPad: '0' | ' ' = '0',
): string {
  const negative = value < 0;
  const text = String(Math.abs(value));
  let pad: string = defaultPad;
  let width = digits;
  if (directive.flag === '-') {
    pad = ' ';
    width = directive.width;
  } else if (directive.flag === '_') {
    pad = ' ';
  } else if (directive.flag === '0' || directive.flag === '+') {
    pad = '0';
  }
  if (directive.width > 0 && directive.flag !== '-') width = directive.width;
  const body = negative ? `-${text}` : text;
  if (body.length >= width) return body;
  if (pad === ' ') return body.padStart(width, ' ');
  return negative ? `-${text.padStart(width - 1, '0')}` : text.padStart(width, '0');
}

/** Text as glibc pads it: spaces (zeros with the `0` flag) on the left up to the width. */
function padText(
  text: string,
  directive: Directive,
  changeCase: 'upper' | 'lower' | 'none' = 'none',
): string {
  let out = text;
  if (directive.flag === '^' || changeCase === 'upper') out = out.toUpperCase();
  else if (changeCase === 'lower') out = out.toLowerCase();
  if (out.length >= directive.width) return out;
  return out.padStart(directive.width, directive.flag === '0' ? '0' : ' ');
}

function name(names: string[], index: number, abbreviated: boolean): string {
  const full = index >= 0 && index < names.length ? (names[index] as string) : undefined;
  if (full === undefined) return '?';
  return abbreviated ? full.slice(0, 3) : full;
}

// glibc's iso_week_days: days since the start of the ISO week-based year's first week.
function isoWeekDays(yearDay: number, weekday: number): number {
  const bigEnoughMultipleOf7 = (Math.floor(366 / 7) + 2) * 7;
  return yearDay - ((yearDay - weekday + 4 + bigEnoughMultipleOf7) % 7) + 4 - 1;
}

function isoWeek(tm: Tm): { yearAdjust: number; days: number } {
  let days = isoWeekDays(tm.yearDay, tm.weekday);
  let yearAdjust = 0;
  if (days < 0) {
    yearAdjust = -1;
    days = isoWeekDays(tm.yearDay + (365 + (isLeap(tm.year - 1) ? 1 : 0)), tm.weekday);
  } else {
    const next = isoWeekDays(tm.yearDay - (365 + (isLeap(tm.year) ? 1 : 0)), tm.weekday);
    if (next >= 0) {
      yearAdjust = 1;
      days = next;
    }
  }
  return { yearAdjust, days };
}

function twoDigitYear(year: number): number {
  const yy = year % 100;
  return yy < 0 ? yy + 100 : yy;
}

/** Composite directives, spelled as glibc's C locale spells them. */
const COMPOSITES: Record<string, string> = {
  c: '%a %b %e %H:%M:%S %Y',
  D: '%m/%d/%y',
  F: '%Y-%m-%d',
  r: '%I:%M:%S %p',
  R: '%H:%M',
  T: '%H:%M:%S',
  x: '%m/%d/%y',
  X: '%H:%M:%S',
};

function conversion(letter: string, d: Directive): ((tm: Tm) => string) | undefined {
  const composite = COMPOSITES[letter];
  if (composite !== undefined) {
    const inner = compilePieces(composite);
    return (tm) => padText(render(inner, tm), d);
  }
  switch (letter) {
    case 'a':
      return (tm) =>
        padText(name(DAY_NAMES, tm.weekday, true), d, d.flag === '#' ? 'upper' : 'none');
    case 'A':
      return (tm) =>
        padText(name(DAY_NAMES, tm.weekday, false), d, d.flag === '#' ? 'upper' : 'none');
    case 'b':
    case 'h':
      return (tm) =>
        padText(name(MONTH_NAMES, tm.month, true), d, d.flag === '#' ? 'upper' : 'none');
    case 'B':
      return (tm) =>
        padText(name(MONTH_NAMES, tm.month, false), d, d.flag === '#' ? 'upper' : 'none');
    case 'C':
      return (tm) => padNumber(Math.floor(tm.year / 100), 1, d);
    case 'd':
      return (tm) => padNumber(tm.day, 2, d);
    case 'e':
      return (tm) => padNumber(tm.day, 2, d, ' ');
    case 'g':
      return (tm) => padNumber(twoDigitYear(tm.year + isoWeek(tm).yearAdjust), 2, d);
    case 'G':
      return (tm) => padNumber(tm.year + isoWeek(tm).yearAdjust, 1, d);
    case 'H':
      return (tm) => padNumber(tm.hour, 2, d);
    case 'I':
      return (tm) => padNumber(hour12(tm.hour), 2, d);
    case 'j':
      return (tm) => padNumber(tm.yearDay + 1, 3, d);
    case 'k':
      return (tm) => padNumber(tm.hour, 2, d, ' ');
    case 'l':
      return (tm) => padNumber(hour12(tm.hour), 2, d, ' ');
    case 'm':
      return (tm) => padNumber(tm.month + 1, 2, d);
    case 'M':
      return (tm) => padNumber(tm.minute, 2, d);
    case 'n':
      return () => padText('\n', d);
    case 'p':
      return (tm) => padText(tm.hour > 11 ? 'PM' : 'AM', d, d.flag === '#' ? 'lower' : 'none');
    case 'P':
      return (tm) => padText(tm.hour > 11 ? 'pm' : 'am', d);
    case 's':
      return (tm) =>
        padNumber(timegm(tm.year, tm.month, tm.day, tm.hour, tm.minute, tm.second), 1, d);
    case 'S':
      return (tm) => padNumber(tm.second, 2, d);
    case 't':
      return () => padText('\t', d);
    case 'u':
      return (tm) => padNumber(((tm.weekday - 1 + 7) % 7) + 1, 1, d);
    case 'U':
      return (tm) => padNumber(Math.trunc((tm.yearDay - tm.weekday + 7) / 7), 2, d);
    case 'V':
      return (tm) => padNumber(Math.trunc(isoWeek(tm).days / 7) + 1, 2, d);
    case 'w':
      return (tm) => padNumber(tm.weekday, 1, d);
    case 'W':
      return (tm) => padNumber(Math.trunc((tm.yearDay - ((tm.weekday - 1 + 7) % 7) + 7) / 7), 2, d);
    case 'y':
      return (tm) => padNumber(twoDigitYear(tm.year), 2, d);
    case 'Y':
      return (tm) => padNumber(tm.year, 1, d);
    case 'z':
      return () => padText('+0000', d);
    case 'Z':
      return () => padText('UTC', d, d.flag === '#' ? 'lower' : 'none');
    case '%':
      return () => padText('%', d);
    default:
      return undefined;
  }
}

function hour12(hour: number): number {
  if (hour > 12) return hour - 12;
  return hour === 0 ? 12 : hour;
}

const DIRECTIVE = /%([_\-0^#+]*)([0-9]*)([EO]?)(.?)/y;

function compilePieces(format: string): Piece[] {
  const pieces: Piece[] = [];
  let literal = '';
  let at = 0;
  while (at < format.length) {
    const percent = format.indexOf('%', at);
    if (percent < 0) {
      literal += format.slice(at);
      break;
    }
    literal += format.slice(at, percent);
    DIRECTIVE.lastIndex = percent;
    const match = DIRECTIVE.exec(format) as RegExpExecArray;
    const [text, flags = '', widthText = '', , letter = ''] = match;
    const directive: Directive = {
      flag: flags.slice(-1),
      width: widthText === '' ? 0 : Number(widthText),
    };
    const convert = letter === '' ? undefined : conversion(letter, directive);
    if (convert === undefined) {
      // glibc copies an unknown directive as it is, padded to its width.
      literal += text.padStart(directive.width, ' ');
    } else {
      if (literal !== '') pieces.push(literal);
      literal = '';
      pieces.push(convert);
    }
    at = percent + text.length;
  }
  if (literal !== '') pieces.push(literal);
  return pieces;
}

function render(pieces: Piece[], tm: Tm): string {
  let out = '';
  for (const piece of pieces) out += typeof piece === 'string' ? piece : piece(tm);
  return out;
}

/**
 * `strftime(format)` for a constant format: takes seconds since the epoch or a broken-down time.
 * Every directive glibc knows is formatted; an unknown one is copied as glibc copies it.
 */
export function compileStrftime(format: string): (input: JqValue) => string {
  const pieces = compilePieces(format);
  // glibc's buffer: strftime() fails when the result does not fit in strlen(fmt) + 100 bytes.
  const limit = utf8Bytes(format).length + 100;
  return (input) => {
    let tm: Tm;
    if (typeof input === 'number') {
      // gmtime's fraction of a second is truncated again by jv2tm: whole seconds only.
      tm = tmFromSeconds(input);
    } else {
      const fields = brokenDown(input);
      if (fields === undefined)
        throw new JqRuntimeError('strftime/1 requires parsed datetime inputs');
      const [year, month, day, hour, minute, second, weekday, yearDay] = fields as [
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      tm = { year, month, day, hour, minute, second, weekday, yearDay };
    }
    const out = render(pieces, tm);
    if (out === '' || (out.length * 3 + 1 > limit && utf8Bytes(out).length + 1 > limit)) {
      throw new JqRuntimeError('strftime/1: unknown system failure');
    }
    return out;
  };
}

// ---- strptime

interface ParseState {
  text: string;
  at: number;
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
  yearDay: number;
  haveWeekday: boolean;
  haveYearDay: boolean;
  haveMonth: boolean;
  haveDay: boolean;
  wantDerived: boolean;
}

type Step = (state: ParseState) => boolean;

function skipSpaces(state: ParseState): void {
  while (state.at < state.text.length && /\s/.test(state.text[state.at] as string)) state.at++;
}

/** glibc's get_number: skip spaces, read up to `digits` digits while the value stays in range. */
function readNumber(
  state: ParseState,
  from: number,
  to: number,
  digits: number,
): number | undefined {
  skipSpaces(state);
  const first = state.text.charCodeAt(state.at);
  if (!(first >= 48 && first <= 57)) return undefined;
  let value = 0;
  let left = digits;
  do {
    value = value * 10 + (state.text.charCodeAt(state.at) - 48);
    state.at++;
    left--;
  } while (
    left > 0 &&
    value * 10 <= to &&
    state.text.charCodeAt(state.at) >= 48 &&
    state.text.charCodeAt(state.at) <= 57
  );
  return value < from || value > to ? undefined : value;
}

function readName(state: ParseState, names: string[]): number | undefined {
  const rest = state.text.slice(state.at).toLowerCase();
  for (const abbreviated of [false, true]) {
    for (let i = 0; i < names.length; i++) {
      const candidate = (
        abbreviated ? (names[i] as string).slice(0, 3) : (names[i] as string)
      ).toLowerCase();
      if (rest.startsWith(candidate)) {
        state.at += candidate.length;
        return i;
      }
    }
  }
  return undefined;
}

function numberStep(
  from: number,
  to: number,
  digits: number,
  assign: (state: ParseState, value: number) => void,
): Step {
  return (state) => {
    const value = readNumber(state, from, to, digits);
    if (value === undefined) return false;
    assign(state, value);
    return true;
  };
}

function parseStep(letter: string, index: number): Step[] {
  switch (letter) {
    case 'Y':
      return [
        numberStep(0, 9999, 4, (s, v) => {
          s.year = v;
          s.wantDerived = true;
        }),
      ];
    case 'y':
      return [
        numberStep(0, 99, 2, (s, v) => {
          s.year = v >= 69 ? 1900 + v : 2000 + v;
          s.wantDerived = true;
        }),
      ];
    case 'm':
      return [
        numberStep(1, 12, 2, (s, v) => {
          s.month = v - 1;
          s.haveMonth = true;
          s.wantDerived = true;
        }),
      ];
    case 'd':
    case 'e':
      return [
        numberStep(1, 31, 2, (s, v) => {
          s.day = v;
          s.haveDay = true;
          s.wantDerived = true;
        }),
      ];
    case 'H':
      return [numberStep(0, 23, 2, (s, v) => (s.hour = v))];
    case 'M':
      return [numberStep(0, 59, 2, (s, v) => (s.minute = v))];
    case 'S':
      return [numberStep(0, 61, 2, (s, v) => (s.second = v))];
    case 'j':
      return [
        numberStep(1, 366, 3, (s, v) => {
          s.yearDay = v - 1;
          s.haveYearDay = true;
          s.wantDerived = true;
        }),
      ];
    case 'b':
    case 'B':
    case 'h':
      return [
        (s) => {
          const month = readName(s, MONTH_NAMES);
          if (month === undefined) return false;
          s.month = month;
          s.haveMonth = true;
          s.wantDerived = true;
          return true;
        },
      ];
    case 'a':
    case 'A':
      return [
        (s) => {
          const weekday = readName(s, DAY_NAMES);
          if (weekday === undefined) return false;
          s.weekday = weekday;
          s.haveWeekday = true;
          return true;
        },
      ];
    case 's':
      return [
        (s) => {
          const match = /^\s*-?[0-9]+/.exec(s.text.slice(s.at));
          if (match === null) return false;
          s.at += match[0].length;
          const tm = gmtime(Number(match[0]));
          [s.year, s.month, s.day, s.hour, s.minute, s.second, s.weekday, s.yearDay] = tm as [
            number,
            number,
            number,
            number,
            number,
            number,
            number,
            number,
          ];
          s.haveWeekday = true;
          s.haveYearDay = true;
          return true;
        },
      ];
    case 'z':
      // Parsed and dropped: jq 1.6's broken-down time has no offset field.
      return [
        (s) => {
          skipSpaces(s);
          const match = /^(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)/.exec(s.text.slice(s.at));
          if (match === null) return false;
          s.at += match[0].length;
          return true;
        },
      ];
    case 'Z':
      return [
        (s) => {
          while (s.at < s.text.length && !/\s/.test(s.text[s.at] as string)) s.at++;
          return true;
        },
      ];
    case 'n':
    case 't':
      return [
        (s) => {
          skipSpaces(s);
          return true;
        },
      ];
    case '%':
      return [literalStep('%')];
    case 'T':
      return [
        ...parseStep('H', index),
        literalStep(':'),
        ...parseStep('M', index),
        literalStep(':'),
        ...parseStep('S', index),
      ];
    case 'R':
      return [...parseStep('H', index), literalStep(':'), ...parseStep('M', index)];
    case 'D':
      return [
        ...parseStep('m', index),
        literalStep('/'),
        ...parseStep('d', index),
        literalStep('/'),
        ...parseStep('y', index),
      ];
    case 'F':
      return [
        ...parseStep('Y', index),
        literalStep('-'),
        ...parseStep('m', index),
        literalStep('-'),
        ...parseStep('d', index),
      ];
    default:
      throw new UnsupportedDirectiveError(
        `strptime directive '%${letter}' is not supported (supported: %Y %y %m %d %e %H %M %S %j %b %B %h %a %A %s %z %Z %T %R %D %F %n %t %%)`,
        index,
      );
  }
}

function literalStep(ch: string): Step {
  return (state) => {
    if (state.text[state.at] !== ch) return false;
    state.at++;
    return true;
  };
}

/**
 * `strptime(format)` for a constant format, as glibc parses: whitespace in the format matches
 * any run of whitespace, numbers may have leading spaces and fewer digits, names match in any
 * case. Trailing whitespace left in the input is appended to the result, as jq 1.6 does.
 */
export function compileStrptime(format: string): (input: JqValue) => JqValue[] {
  const steps: Step[] = [];
  for (let i = 0; i < format.length; i++) {
    const ch = format[i] as string;
    if (/\s/.test(ch)) {
      steps.push((state) => {
        skipSpaces(state);
        return true;
      });
    } else if (ch === '%') {
      let letter = format[i + 1] ?? '';
      let skip = 1;
      if ((letter === 'E' || letter === 'O') && i + 2 < format.length) {
        letter = format[i + 2] as string;
        skip = 2;
      }
      if (letter === '')
        throw new UnsupportedDirectiveError("strptime format ends with a lone '%'", i);
      steps.push(...parseStep(letter, i));
      i += skip;
    } else {
      steps.push(literalStep(ch));
    }
  }
  return (input) => {
    if (typeof input !== 'string') {
      throw new JqRuntimeError('strptime/1 requires string inputs and arguments');
    }
    const state: ParseState = {
      text: input,
      at: 0,
      year: 1900,
      month: 0,
      day: 0,
      hour: 0,
      minute: 0,
      second: 0,
      weekday: 8,
      yearDay: 367,
      haveWeekday: false,
      haveYearDay: false,
      haveMonth: false,
      haveDay: false,
      wantDerived: false,
    };
    const fail = (): never => {
      throw new JqRuntimeError(`date "${input}" does not match format "${format}"`);
    };
    for (const step of steps) if (!step(state)) fail();
    if (state.at < input.length && !/\s/.test(input[state.at] as string)) fail();
    deriveDays(state);
    const result: JqValue[] = [
      state.year,
      state.month,
      state.day,
      state.hour,
      state.minute,
      state.second,
      state.weekday,
      state.yearDay,
    ];
    if (state.at < input.length) result.push(input.slice(state.at));
    return result;
  };
}

/** glibc's end of strptime: weekday and day of year from the date fields it read. */
function deriveDays(state: ParseState): void {
  if (!state.wantDerived) return;
  if (!state.haveWeekday) {
    if (!(state.haveMonth && state.haveDay) && state.haveYearDay) {
      const [, month, day] = civilFromDays(daysFromCivil(state.year, 1, 1) + state.yearDay);
      if (!state.haveMonth) state.month = month - 1;
      if (!state.haveDay) state.day = day;
    }
    const days = daysFromCivil(state.year, state.month + 1, 1) + state.day - 1;
    state.weekday = (((days + 4) % 7) + 7) % 7;
  }
  if (!state.haveYearDay) {
    state.yearDay =
      daysFromCivil(state.year, state.month + 1, 1) +
      state.day -
      1 -
      daysFromCivil(state.year, 1, 1);
  }
}
