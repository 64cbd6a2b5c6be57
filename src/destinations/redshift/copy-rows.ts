import { isUtf8 } from 'node:buffer';
import type { LoadFormat } from './copy-options.js';

/**
 * The direct path's record encoder: one record → the lines PostgreSQL's `COPY … FROM STDIN`
 * reads. JSON and delimited text become COPY's text format (fields split by tabs, `\N` for
 * NULL, backslash escapes for `\`, tab, newline and carriage return); CSV records are passed
 * as they are to a CSV-format COPY; RAW records become one `bytea` value each. A record that
 * cannot become rows (not JSON objects, not UTF-8) is an error with the reason, and goes to
 * the error output without being sent.
 */

/** One record's rows, or why it has none. */
export type RecordRows = { rows: Buffer } | { error: string };

const NEWLINE = 0x0a;
const NULL_FIELD = '\\N';

/**
 * The rows of `record` under `format`. `columns` are the columns loaded, in order (JSON
 * takes each value by its column's name).
 */
export function recordRows(
  record: Buffer,
  format: LoadFormat,
  columns: readonly string[],
): RecordRows {
  switch (format.kind) {
    case 'raw':
      return { rows: Buffer.from(`\\\\x${record.toString('hex')}\n`, 'latin1') };
    case 'csv':
      if (record.length === 0) return { rows: record };
      return record[record.length - 1] === NEWLINE
        ? { rows: record }
        : { rows: Buffer.concat([record, Buffer.of(NEWLINE)]) };
    case 'json':
    case 'text': {
      if (!isUtf8(record)) return { error: 'The record is not valid UTF-8 text.' };
      const text = record.toString('utf8');
      return format.kind === 'json'
        ? jsonRows(text, columns, format.ignoreCase)
        : textRows(text, format.delimiter, format.nullAs, format.escape);
    }
  }
}

/** One field in COPY text format: backslash, tab, newline and carriage return escaped. */
export function copyTextField(value: string): string {
  return /[\\\t\n\r]/u.test(value)
    ? value.replace(/[\\\t\n\r]/gu, (c) =>
        c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
      )
    : value;
}

/**
 * JSON 'auto': the record holds one or more JSON objects (one per line, or one after another);
 * each is a row whose fields are its members named like the columns (exactly, or whatever the
 * case with `ignoreCase`). A missing member or JSON null is NULL; strings are loaded as their
 * text; numbers, `true` and `false` as written (so no precision is lost); nested objects and
 * arrays as their JSON text.
 */
export function jsonRows(
  text: string,
  columns: readonly string[],
  ignoreCase: boolean,
): RecordRows {
  const fast = LONG_NUMBER.test(text) ? undefined : parsedRow(text, columns, ignoreCase);
  if (fast !== undefined) return { rows: Buffer.from(fast, 'utf8') };
  const scanner = new JsonScanner(text);
  const lines: string[] = [];
  const wanted = new Map(columns.map((c, i) => [ignoreCase ? c.toLowerCase() : c, i]));
  try {
    scanner.space();
    if (scanner.done) return { error: 'The record holds no JSON object.' };
    while (!scanner.done) {
      const fields: (string | undefined)[] = new Array<string | undefined>(columns.length);
      scanner.object((key, value) => {
        const index = wanted.get(ignoreCase ? key.toLowerCase() : key);
        if (index !== undefined) fields[index] = value;
      });
      let line = '';
      for (let i = 0; i < fields.length; i += 1) {
        if (i > 0) line += '\t';
        const value = fields[i];
        line += value === undefined ? NULL_FIELD : copyTextField(value);
      }
      lines.push(line);
      scanner.space();
    }
  } catch (error) {
    return { error: `The record is not JSON objects: ${(error as Error).message}.` };
  }
  return { rows: Buffer.from(`${lines.join('\n')}\n`, 'utf8') };
}

/**
 * Sixteen digits in a row: a number a double may not hold exactly (or a long digit string,
 * which only costs the slower path).
 */
const LONG_NUMBER = /[0-9]{16}/u;

/**
 * The fast path of {@link jsonRows}: a record that is one JSON object, read by the engine's
 * own parser. Exact where the record has no number of 16 digits or more (any shorter one
 * converts to a double and back to the same value), so the caller checks that first.
 *
 * @returns the row with its newline, or undefined where the scanner must read the record
 *   (several objects, or not an object: it says why).
 */
function parsedRow(
  text: string,
  columns: readonly string[],
  ignoreCase: boolean,
): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  let members = value as Record<string, unknown>;
  if (ignoreCase) {
    members = Object.create(null) as Record<string, unknown>;
    for (const [key, member] of Object.entries(value)) members[key.toLowerCase()] = member;
  }
  let line = '';
  for (let i = 0; i < columns.length; i += 1) {
    if (i > 0) line += '\t';
    const column = columns[i] as string;
    const member = Object.hasOwn(members, ignoreCase ? column.toLowerCase() : column)
      ? members[ignoreCase ? column.toLowerCase() : column]
      : null;
    if (member === null || member === undefined) line += NULL_FIELD;
    else if (typeof member === 'string') line += copyTextField(member);
    else if (typeof member === 'number' || typeof member === 'boolean') line += String(member);
    else line += copyTextField(JSON.stringify(member));
  }
  return `${line}\n`;
}

/** A JSON number, `true`, `false` or `null` at `lastIndex` (sticky: no copy of the text). */
const LITERAL = /true|false|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/** Thrown by the scanner with where the JSON goes wrong. */
class JsonSyntaxError extends Error {}

/**
 * A small validating JSON scanner that reads top-level objects member by member and hands
 * back each value as the text to load: a string's decoded text, anything else as written
 * (numbers keep their digits; nested values their JSON text), null as undefined.
 */
class JsonScanner {
  private at = 0;
  constructor(private readonly text: string) {}

  get done(): boolean {
    return this.at >= this.text.length;
  }

  space(): void {
    while (this.at < this.text.length) {
      const c = this.text.charCodeAt(this.at);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.at += 1;
    }
  }

  private fail(what: string): never {
    const found = this.done ? 'the end' : JSON.stringify(this.text[this.at]);
    throw new JsonSyntaxError(`expected ${what} at character ${this.at + 1}, found ${found}`);
  }

  /** A top-level object, each member reported with its value (undefined: JSON null). */
  object(member: (key: string, value: string | undefined) => void): void {
    if (this.text[this.at] !== '{') this.fail('a JSON object');
    this.at += 1;
    this.space();
    if (this.text[this.at] === '}') {
      this.at += 1;
      return;
    }
    for (;;) {
      this.space();
      if (this.text[this.at] !== '"') this.fail('a member name');
      const key = this.string();
      this.space();
      if (this.text[this.at] !== ':') this.fail('":"');
      this.at += 1;
      this.space();
      const start = this.at;
      const c = this.text[this.at];
      if (c === '"') member(key, this.string());
      else {
        this.value();
        const raw = this.text.slice(start, this.at);
        member(key, raw === 'null' ? undefined : raw);
      }
      this.space();
      if (this.text[this.at] === ',') {
        this.at += 1;
        continue;
      }
      if (this.text[this.at] === '}') {
        this.at += 1;
        return;
      }
      this.fail('"," or "}"');
    }
  }

  /** A string at the cursor, decoded. */
  private string(): string {
    const start = this.at;
    this.at += 1;
    let escaped = false;
    for (;;) {
      const end = this.text.indexOf('"', this.at);
      if (end < 0) {
        this.at = this.text.length;
        this.fail('the end of a string');
      }
      const slice = this.text.slice(this.at, end);
      if (slice.includes('\\')) escaped = true;
      // A quote preceded by an odd number of backslashes is inside the string.
      let backslashes = 0;
      for (let i = end - 1; i > start && this.text[i] === '\\'; i -= 1) backslashes += 1;
      this.at = end + 1;
      if (backslashes % 2 === 0) break;
    }
    const raw = this.text.slice(start, this.at);
    if (!escaped && !hasControlCharacter(raw)) return raw.slice(1, -1);
    try {
      return JSON.parse(raw) as string;
    } catch {
      this.at = start;
      return this.fail('a valid string');
    }
  }

  /** Skips any value at the cursor, checking its syntax. */
  private value(): void {
    const c = this.text[this.at];
    if (c === '"') {
      this.string();
      return;
    }
    if (c === '{' || c === '[') {
      this.container();
      return;
    }
    LITERAL.lastIndex = this.at;
    const literal = LITERAL.exec(this.text);
    if (literal === null || literal[0] === '') this.fail('a JSON value');
    this.at += literal[0].length;
  }

  /** Skips a nested object or array, checking its syntax. */
  private container(): void {
    const close = this.text[this.at] === '{' ? '}' : ']';
    const isObject = close === '}';
    this.at += 1;
    this.space();
    if (this.text[this.at] === close) {
      this.at += 1;
      return;
    }
    for (;;) {
      this.space();
      if (isObject) {
        if (this.text[this.at] !== '"') this.fail('a member name');
        this.string();
        this.space();
        if (this.text[this.at] !== ':') this.fail('":"');
        this.at += 1;
        this.space();
      }
      this.value();
      this.space();
      if (this.text[this.at] === ',') {
        this.at += 1;
        continue;
      }
      if (this.text[this.at] === close) {
        this.at += 1;
        return;
      }
      this.fail(`"," or "${close}"`);
    }
  }
}

/**
 * Delimited text (Redshift's default format): lines of fields split by `delimiter`; a field
 * equal to `nullAs` is NULL; with `escape`, a backslash makes the next character (a delimiter,
 * a newline, a backslash) part of the field. Without it backslashes are data, as in Redshift.
 */
export function textRows(
  text: string,
  delimiter: string,
  nullAs: string,
  escape: boolean,
): RecordRows {
  if (text.length === 0) return { rows: Buffer.alloc(0) };
  let out = '';
  let field = '';
  let fieldEscaped = false;
  const endField = () => {
    out += !fieldEscaped && field === nullAs ? NULL_FIELD : copyTextField(field);
    field = '';
    fieldEscaped = false;
  };
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i] as string;
    if (escape && c === '\\' && i + 1 < text.length) {
      field += text[i + 1];
      fieldEscaped = true;
      i += 1;
    } else if (c === delimiter) {
      endField();
      out += '\t';
    } else if (c === '\n') {
      endField();
      out += '\n';
    } else {
      field += c;
    }
  }
  if (text[text.length - 1] !== '\n' || field !== '') {
    endField();
    out += '\n';
  }
  return { rows: Buffer.from(out, 'utf8') };
}

/** Whether `text` holds a character JSON strings must escape (U+0000 to U+001F). */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) if (text.charCodeAt(i) < 0x20) return true;
  return false;
}
