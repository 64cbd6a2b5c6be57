import type { Column, ColumnType, Row, RowValue, TableSchema } from './table-schema.js';
import {
  compileTimestampParser,
  parseDefaultTimestamp,
  type TimestampParser,
} from './timestamp-parsing.js';

/**
 * JSON records to table rows, as Firehose's deserializers read them before serializing to
 * Parquet: the OpenX JSON SerDe (case-insensitive keys by default, dots in keys to underscores,
 * columns mapped to other JSON keys) or the Hive JSON SerDe (timestamp formats). A record may
 * hold several JSON objects one after another (each is a row); a top-level array or scalar is
 * refused, as Firehose refuses it. Values are converted to the column's type where the SerDe
 * would (a numeric string into a number column, a number into a string column); anything else
 * fails the record with a message that names the column and the value.
 */

/** `InputFormatConfiguration.Deserializer`, resolved. */
export type DeserializerOptions =
  | {
      kind: 'openx';
      /** `CaseInsensitive` (Firehose's default: true). */
      caseInsensitive: boolean;
      /** `ConvertDotsInJsonKeysToUnderscores` (default false). */
      dotsToUnderscores: boolean;
      /** `ColumnToJsonKeyMappings`: column name → JSON key. */
      columnToJsonKey: Readonly<Record<string, string>>;
    }
  | {
      kind: 'hive';
      /** `TimestampFormats`: Joda patterns, or `millis`; empty: the default formats. */
      timestampFormats: readonly string[];
    };

/** Codes of a record that cannot be converted. */
export type ConversionErrorCode =
  'DataFormatConversion.ParseError' | 'DataFormatConversion.MalformedData';

/** A record's rows, or why it has none. */
export type Conversion = { rows: Row[] } | { code: ConversionErrorCode; message: string };

/**
 * A value that does not fit its column. It is thrown where the value is, without the path to it,
 * which each enclosing object, array and map adds on the way out (paths are built only for
 * values that fail).
 */
class MismatchError extends Error {
  /** The path to the value, outermost first: `a`, `.b`, `[2]`, `["k"]`, ` key "k"`. */
  readonly #segments: string[] = [];

  constructor(readonly what: string) {
    super(what);
  }

  /** `error`, the value being in `segment` of the enclosing value. */
  static within(error: unknown, segment: string): unknown {
    if (error instanceof MismatchError) error.#segments.unshift(segment);
    return error;
  }

  /** The message, naming the column by its path. */
  describe(): string {
    return `Column ${this.#segments.join('')} is ${this.what}`;
  }
}

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MS_PER_DAY = 86_400_000;
/** Epoch numbers at or above this are milliseconds, below it seconds (1e11 s is year 5138). */
const EPOCH_MILLIS_FROM = 1e11;
/** Longest value quoted in a message. */
const MAX_QUOTED = 100;

/** Most keys whose folded form a converter keeps (a record's keys recur in the next ones). */
const MAX_FOLDED_KEYS = 4096;

/** How a record's keys are matched to columns and fields. */
interface KeyRules {
  /** A key as a column name matches it (dots to underscores, lower case); none: as it is. */
  fold: ((key: string) => string) | undefined;
  columnToJsonKey: Readonly<Record<string, string>>;
  timestamp: TimestampParser;
}

/** The folding of keys `caseInsensitive` and `dotsToUnderscores` ask for, remembered by key. */
function keyFolding(caseInsensitive: boolean, dotsToUnderscores: boolean): KeyRules['fold'] {
  if (!caseInsensitive && !dotsToUnderscores) return undefined;
  const folded = new Map<string, string>();
  return (key) => {
    let name = folded.get(key);
    if (name === undefined) {
      name = dotsToUnderscores ? key.replaceAll('.', '_') : key;
      if (caseInsensitive) name = name.toLowerCase();
      if (folded.size >= MAX_FOLDED_KEYS) folded.clear();
      folded.set(key, name);
    }
    return name;
  };
}

/** A converter of records for `table`, read as `options` say. */
export function compileConverter(
  table: TableSchema,
  options: DeserializerOptions,
): (text: string) => Conversion {
  const rules: KeyRules =
    options.kind === 'openx'
      ? {
          fold: keyFolding(options.caseInsensitive, options.dotsToUnderscores),
          columnToJsonKey: options.columnToJsonKey,
          timestamp: parseDefaultTimestamp,
        }
      : {
          fold: keyFolding(true, false),
          columnToJsonKey: {},
          timestamp:
            options.timestampFormats.length === 0
              ? parseDefaultTimestamp
              : compileTimestampParser(options.timestampFormats),
        };
  return (text) => {
    const objects = jsonObjects(text);
    if ('message' in objects)
      return { code: 'DataFormatConversion.ParseError', message: objects.message };
    const rows: Row[] = [];
    for (const object of objects.values) {
      try {
        rows.push(convertObject(object, table.columns, rules, true));
      } catch (error) {
        if (!(error instanceof MismatchError)) throw error;
        return { code: 'DataFormatConversion.MalformedData', message: error.describe() };
      }
    }
    return { rows };
  };
}

/** The JSON objects of a record: one, or several one after another. */
function jsonObjects(text: string): { values: Record<string, unknown>[] } | { message: string } {
  let values: unknown[];
  try {
    values = [JSON.parse(text)];
  } catch {
    const pieces = splitConcatenated(text);
    if (pieces === undefined) return { message: malformed(text) };
    try {
      values = pieces.map((piece) => JSON.parse(piece) as unknown);
    } catch {
      return { message: malformed(text) };
    }
  }
  if (values.length === 0) return { message: 'The record holds no JSON object.' };
  for (const value of values) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return {
        message: `The record holds ${describe(value)}, not a JSON object: each record must be one or more JSON objects.`,
      };
    }
  }
  return { values: values as Record<string, unknown>[] };
}

function malformed(text: string): string {
  return `Encountered malformed JSON: the record is not one or more JSON objects (${quote(text)}).`;
}

/**
 * Top-level `{…}` spans of `text`, whitespace between them allowed; undefined when anything
 * else is there.
 */
function splitConcatenated(text: string): string[] | undefined {
  const pieces: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      if (depth === 0) return undefined;
      inString = true;
    } else if (c === '{' || c === '[') {
      if (depth === 0) {
        if (c === '[') return undefined;
        start = i;
      }
      depth += 1;
    } else if (c === '}' || c === ']') {
      depth -= 1;
      if (depth < 0) return undefined;
      if (depth === 0) pieces.push(text.slice(start, i + 1));
    } else if (depth === 0 && !/\s/.test(c as string)) {
      return undefined;
    }
  }
  return depth === 0 ? pieces : undefined;
}

/** An object's values for `columns` (a row, or a struct's fields). */
function convertObject(
  object: Record<string, unknown>,
  columns: readonly Column[],
  rules: KeyRules,
  topLevel: boolean,
): { [field: string]: RowValue } {
  const byKey = keysFolded(object, rules) ? undefined : foldedKeys(object, rules);
  const result: { [field: string]: RowValue } = {};
  for (const column of columns) {
    const { name } = column;
    const mapped = topLevel ? rules.columnToJsonKey[name] : undefined;
    const value =
      mapped !== undefined
        ? object[mapped]
        : byKey !== undefined
          ? byKey.get(name)
          : Object.hasOwn(object, name)
            ? object[name]
            : undefined;
    try {
      result[name] = convertValue(value, column.type, rules);
    } catch (error) {
      throw MismatchError.within(error, topLevel ? name : `.${name}`);
    }
  }
  return result;
}

/**
 * Whether every key of `object` is its own folded form, as in most records: then no two keys
 * fold together and a column's value is the key of its name, looked up directly.
 */
function keysFolded(object: Record<string, unknown>, rules: KeyRules): boolean {
  if (rules.fold === undefined) return true;
  for (const key in object) {
    if (rules.fold(key) !== key) return false;
  }
  return true;
}

/** `object`'s values by folded key. */
function foldedKeys(object: Record<string, unknown>, rules: KeyRules): Map<string, unknown> {
  const byKey = new Map<string, unknown>();
  for (const [key, value] of Object.entries(object)) {
    const name = rules.fold === undefined ? key : rules.fold(key);
    // The first of keys that fold together wins, as Jackson's first match does.
    if (!byKey.has(name)) byKey.set(name, value);
  }
  return byKey;
}

function convertValue(value: unknown, type: ColumnType, rules: KeyRules): RowValue {
  if (value === undefined || value === null) return null;
  switch (type.kind) {
    case 'string':
      if (typeof value === 'string') return value;
      // JSON values only (JSON.parse made them): numbers and booleans as their JSON text.
      return JSON.stringify(value);
    case 'int': {
      const n = integerOf(value, 'int');
      if (n < INT32_MIN || n > INT32_MAX) throw mismatch('int', value, 'out of range');
      return n;
    }
    case 'bigint': {
      const n = bigintOf(value);
      if (n < INT64_MIN || n > INT64_MAX) throw mismatch('bigint', value, 'out of range');
      return n;
    }
    case 'double':
    case 'float':
      return floatOf(value, type.kind);
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) {
        return value.toLowerCase() === 'true';
      }
      throw mismatch('boolean', value);
    case 'timestamp': {
      const ms = timestampOf(value, rules.timestamp);
      if (ms === undefined) throw mismatch('timestamp', value);
      return ms;
    }
    case 'date': {
      const days = dateOf(value);
      if (days === undefined) throw mismatch('date', value, 'expected yyyy-MM-dd');
      return days;
    }
    case 'decimal':
      return decimalOf(value, type.precision, type.scale);
    case 'array':
      if (!Array.isArray(value)) throw mismatch('array', value);
      return value.map((element, i) => {
        try {
          return convertValue(element, type.element, rules);
        } catch (error) {
          throw MismatchError.within(error, `[${i}]`);
        }
      });
    case 'struct':
      if (typeof value !== 'object' || Array.isArray(value)) throw mismatch('struct', value);
      return convertObject(value as Record<string, unknown>, type.fields, rules, false);
    case 'map': {
      if (typeof value !== 'object' || Array.isArray(value)) throw mismatch('map', value);
      // Keys that convert to the same value ("1" and "01" for int keys) keep the last one's
      // value: readers refuse a map with a key twice.
      const entries = new Map<unknown, readonly [RowValue, RowValue]>();
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        let mapKey: RowValue;
        try {
          mapKey = convertValue(key, type.key, rules);
        } catch (error) {
          throw MismatchError.within(error, ` key ${JSON.stringify(key)}`);
        }
        if (mapKey === null) throw mismatch('map', value, 'a key is null');
        let mapValue: RowValue;
        try {
          mapValue = convertValue(item, type.value, rules);
        } catch (error) {
          throw MismatchError.within(error, `[${JSON.stringify(key)}]`);
        }
        entries.set(typeof mapKey === 'bigint' ? `${mapKey}n` : mapKey, [mapKey, mapValue]);
      }
      return [...entries.values()];
    }
  }
}

function integerOf(value: unknown, kind: string): number {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value)
        ? Number(value)
        : Number.NaN;
  if (!Number.isInteger(n)) throw mismatch(kind, value);
  return n;
}

function bigintOf(value: unknown): bigint {
  if (typeof value === 'number') {
    // JSON.parse has already rounded integers beyond 2^53: only exact ones are taken.
    if (!Number.isSafeInteger(value)) {
      throw mismatch(
        'bigint',
        value,
        Number.isInteger(value) ? 'beyond 2^53, send it as a string' : undefined,
      );
    }
    return BigInt(value);
  }
  if (typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value)) return BigInt(value.trim());
  throw mismatch('bigint', value);
}

function floatOf(value: unknown, kind: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (/^(NaN|[-+]?Infinity)$/.test(trimmed)) return Number(trimmed);
    if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(trimmed)) return Number(trimmed);
  }
  throw mismatch(kind, value);
}

/** Epoch numbers (seconds, milliseconds, fractional seconds) and strings the parser reads. */
function timestampOf(value: unknown, parse: TimestampParser): number | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    return Math.abs(value) >= EPOCH_MILLIS_FROM ? Math.trunc(value) : Math.round(value * 1000);
  }
  if (typeof value !== 'string') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return timestampOf(Number(value), parse);
  return parse(value.trim());
}

/** `yyyy-MM-dd` (also `yyyy-M-d`), or a whole number of days since 1970-01-01. */
function dateOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(-?\d{4,})-(\d{1,2})-(\d{1,2})\s*$/.exec(value);
  if (m === null) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(year, month - 1, day);
  const back = new Date(ms);
  if (back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day) return undefined;
  return Math.round(ms / MS_PER_DAY);
}

/** The unscaled value of a decimal, rounded half up to `scale` digits, within `precision`. */
function decimalOf(value: unknown, precision: number, scale: number): bigint {
  const text =
    typeof value === 'number' && Number.isFinite(value)
      ? plainNumberText(value)
      : typeof value === 'string'
        ? value.trim()
        : undefined;
  const m = text === undefined ? null : /^([-+])?(\d*)(?:\.(\d*))?$/.exec(text);
  if (m === null || `${m[2] ?? ''}${m[3] ?? ''}` === '') {
    throw mismatch(`decimal(${precision},${scale})`, value);
  }
  const negative = m[1] === '-';
  const whole = m[2] ?? '';
  const fraction = m[3] ?? '';
  let unscaled = BigInt(`${whole || '0'}${fraction.slice(0, scale).padEnd(scale, '0')}`);
  if ((fraction[scale] ?? '0') >= '5') unscaled += 1n;
  if (unscaled >= 10n ** BigInt(precision)) {
    throw mismatch(
      `decimal(${precision},${scale})`,
      value,
      `more than ${precision - scale} digits before the point`,
    );
  }
  return negative ? -unscaled : unscaled;
}

/** A number without exponent notation. */
function plainNumberText(n: number): string {
  const text = String(n);
  if (!/e/i.test(text)) return text;
  return n.toFixed(20).replace(/\.?0+$/, '');
}

function mismatch(type: string, value: unknown, why?: string): MismatchError {
  return new MismatchError(
    `${type}, but the record has ${describe(value)}${why === undefined ? '' : ` (${why})`}.`,
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array ${quote(JSON.stringify(value))}`;
  switch (typeof value) {
    case 'string':
      return `the string ${quote(JSON.stringify(value))}`;
    case 'object':
      return `an object ${quote(JSON.stringify(value))}`;
    default:
      return `the ${typeof value} ${quote(JSON.stringify(value) ?? typeof value)}`;
  }
}

function quote(text: string): string {
  return text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text;
}
