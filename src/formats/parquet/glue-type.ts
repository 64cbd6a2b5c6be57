import type { Column, ColumnType } from './table-schema.js';

/**
 * Glue (Hive) column type strings, parsed: `string`, `int`, `bigint`, `double`, `float`,
 * `boolean`, `timestamp`, `date`, `decimal(p,s)` (`decimal` alone is Hive's `decimal(10,0)`),
 * `array<T>`, `struct<name:T,…>` and `map<K,V>` (K a primitive type), nested to any depth,
 * case-insensitive, spaces allowed between tokens. Anything else is refused with the position
 * and what was expected there.
 */

/** A type string that is not one Sluice can convert to. */
export class GlueTypeError extends Error {
  override name = 'GlueTypeError';
}

const PRIMITIVES: Readonly<Record<string, ColumnType>> = {
  string: { kind: 'string' },
  int: { kind: 'int' },
  bigint: { kind: 'bigint' },
  double: { kind: 'double' },
  float: { kind: 'float' },
  boolean: { kind: 'boolean' },
  timestamp: { kind: 'timestamp' },
  date: { kind: 'date' },
};

/** Glue types Sluice does not convert to, with what to use instead. */
const REFUSED: Readonly<Record<string, string>> = {
  tinyint: 'int',
  smallint: 'int',
  integer: 'int',
  varchar: 'string',
  char: 'string',
  binary: 'string (base64)',
  uniontype: 'struct',
  interval: 'bigint',
};

/** Hive's decimal without precision and scale. */
const DEFAULT_DECIMAL = { precision: 10, scale: 0 };
/** Parquet's DECIMAL holds at most 38 digits, as Hive's does. */
const MAX_DECIMAL_PRECISION = 38;

/** Parses a Glue column type string. @throws GlueTypeError saying where and why. */
export function parseGlueType(text: string): ColumnType {
  const parser = new TypeParser(text);
  const type = parser.type();
  parser.end();
  return type;
}

/** The canonical spelling of a type (lower case, no spaces), as Glue shows it. */
export function formatGlueType(type: ColumnType): string {
  switch (type.kind) {
    case 'decimal':
      return `decimal(${type.precision},${type.scale})`;
    case 'array':
      return `array<${formatGlueType(type.element)}>`;
    case 'struct':
      return `struct<${type.fields.map((f) => `${f.name}:${formatGlueType(f.type)}`).join(',')}>`;
    case 'map':
      return `map<${formatGlueType(type.key)},${formatGlueType(type.value)}>`;
    default:
      return type.kind;
  }
}

class TypeParser {
  #at = 0;

  constructor(private readonly text: string) {}

  type(): ColumnType {
    const start = this.#at;
    const name = this.#word('a type');
    switch (name) {
      case 'array': {
        this.#expect('<');
        const element = this.type();
        this.#expect('>');
        return { kind: 'array', element };
      }
      case 'map': {
        this.#expect('<');
        const keyAt = this.#at;
        const key = this.type();
        if (key.kind === 'array' || key.kind === 'struct' || key.kind === 'map') {
          throw this.#error(`a map's key must be a primitive type, not ${key.kind}`, keyAt);
        }
        this.#expect(',');
        const value = this.type();
        this.#expect('>');
        return { kind: 'map', key, value };
      }
      case 'struct': {
        this.#expect('<');
        const fields: Column[] = [];
        const seen = new Set<string>();
        do {
          const fieldAt = this.#at;
          const field = this.#word('a field name');
          if (seen.has(field)) throw this.#error(`field ${field} appears twice`, fieldAt);
          seen.add(field);
          this.#expect(':');
          fields.push({ name: field, type: this.type() });
        } while (this.#accept(','));
        this.#expect('>');
        return { kind: 'struct', fields };
      }
      case 'decimal':
        return { kind: 'decimal', ...this.#decimalArguments() };
      default: {
        const primitive = PRIMITIVES[name];
        if (primitive !== undefined) return primitive;
        const instead = REFUSED[name];
        throw this.#error(
          instead === undefined
            ? `unknown type ${name}`
            : `type ${name} is not supported; use ${instead}`,
          start,
        );
      }
    }
  }

  end(): void {
    this.#space();
    if (this.#at < this.text.length) throw this.#error('unexpected text after the type');
  }

  #decimalArguments(): { precision: number; scale: number } {
    if (!this.#accept('(')) return DEFAULT_DECIMAL;
    const precisionAt = this.#at;
    const precision = this.#integer('the precision');
    let scale = 0;
    if (this.#accept(',')) scale = this.#integer('the scale');
    this.#expect(')');
    if (precision < 1 || precision > MAX_DECIMAL_PRECISION) {
      throw this.#error(`decimal precision must be 1 to ${MAX_DECIMAL_PRECISION}`, precisionAt);
    }
    if (scale > precision) {
      throw this.#error(
        `decimal scale ${scale} is larger than its precision ${precision}`,
        precisionAt,
      );
    }
    return { precision, scale };
  }

  #space(): void {
    while (this.#at < this.text.length && /\s/.test(this.text[this.#at] as string)) this.#at += 1;
  }

  #word(what: string): string {
    this.#space();
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.#at));
    if (match === null) throw this.#error(`expected ${what}`);
    this.#at += match[0].length;
    return match[0].toLowerCase();
  }

  #integer(what: string): number {
    this.#space();
    const match = /^\d{1,3}/.exec(this.text.slice(this.#at));
    if (match === null) throw this.#error(`expected ${what} (a number)`);
    this.#at += match[0].length;
    return Number(match[0]);
  }

  #accept(token: string): boolean {
    this.#space();
    if (this.text[this.#at] !== token) return false;
    this.#at += 1;
    return true;
  }

  #expect(token: string): void {
    if (!this.#accept(token)) throw this.#error(`expected '${token}'`);
  }

  #error(message: string, at = this.#at): GlueTypeError {
    const shown = this.text.length > 200 ? `${this.text.slice(0, 200)}…` : this.text;
    return new GlueTypeError(`${message} at character ${at + 1} of '${shown}'`);
  }
}
