/**
 * The fast path of JSON 'auto' (copy-rows.ts's `jsonRows`): a record that is one JSON object
 * is read byte by byte and its members named like the columns are copied straight into the
 * COPY text row, without decoding the record into a string, parsing it into objects or
 * building the row as a string. It writes exactly the bytes `jsonRows` makes for the same
 * record; wherever that is not plainly so — several objects, a number `String(Number(x))`
 * would write otherwise (an exponent, 16 digits or more, `-0`, a tiny fraction), a nested
 * value `JSON.stringify` would reformat (whitespace, `\/` or `\u` escapes, integer-like or
 * repeated keys), an escaped member name, a lone surrogate, anything invalid — it declines
 * and the caller converts the record the general way. So the general path stays the one
 * definition of the format, and this one only makes its common case cheap.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const TAB = 0x09;
const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const SPACE = 0x20;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const LETTER_N = 0x6e;
const LETTER_R = 0x72;
const LETTER_T = 0x74;
const LETTER_B = 0x62;
const LETTER_F = 0x66;
const LETTER_U = 0x75;
const LETTER_E = 0x65;
const CAPITAL_E = 0x45;
const SLASH = 0x2f;

/** What a column's slot holds after a record is read. */
const Slot = {
  /** Missing or JSON null: `\N`. */
  Null: 0,
  /** Bytes copied as they are: a string without escapes (its inside), a number, a boolean. */
  Verbatim: 1,
  /** A string with escapes (its inside), decoded as it is written. */
  Escaped: 2,
  /** A nested object or array, already compact: its text with backslashes doubled. */
  Nested: 3,
} as const;
type Slot = (typeof Slot)[keyof typeof Slot];

/** Deepest nesting the fast path follows; deeper values go the general way. */
const MAX_DEPTH = 64;
/** Most members of a nested object checked for repeated names; larger ones go the general way. */
const MAX_NESTED_KEYS = 64;
/** 16 digits in a row send `jsonRows` to its exact scanner, whose output differs: decline. */
const LONG_DIGIT_RUN = 16;

/** The bytes `\N`, a NULL field of COPY's text format. */
const NULL_BYTES = [BACKSLASH, 0x4e] as const;

/**
 * A row writer compiled once for a column list: {@link write} appends one record's row.
 * Not reentrant (it keeps the record being read in fields); one per converter.
 */
export class JsonRowWriter {
  /** Column names' UTF-8 bytes (lower-cased with ignorecase), grouped by length. */
  readonly #byLength: { bytes: Uint8Array; index: number }[][] = [];
  readonly #columns: number;
  readonly #ignoreCase: boolean;
  readonly #kind: Uint8Array;
  /** Columns a member was read into (ignorecase: two spellings of a name may meet). */
  readonly #seen: Uint8Array;
  readonly #start: Int32Array;
  readonly #end: Int32Array;
  /** Keys of the nested objects being read (start, end pairs), a stack. */
  #keys = new Int32Array(2 * MAX_NESTED_KEYS * 4);
  #src: Uint8Array = new Uint8Array(0);
  #limit = 0;
  /** Whether the last string read had escapes. */
  #escaped = false;
  /** Whether the last string read had an escape `JSON.stringify` never writes (`\/`, `\u`). */
  #unusualEscape = false;
  /** Where the last number read ends as `String(Number(x))` writes it (trailing zeros cut). */
  #numberEnd = 0;
  /** Whether the last number read is written by `String(Number(x))` as its first digits. */
  #plainNumber = false;

  constructor(columns: readonly string[], ignoreCase: boolean) {
    this.#columns = columns.length;
    this.#ignoreCase = ignoreCase;
    this.#kind = new Uint8Array(columns.length);
    this.#seen = new Uint8Array(columns.length);
    this.#start = new Int32Array(columns.length);
    this.#end = new Int32Array(columns.length);
    columns.forEach((column, index) => {
      const bytes = Buffer.from(ignoreCase ? column.toLowerCase() : column, 'utf8');
      (this.#byLength[bytes.length] ??= []).push({ bytes, index });
    });
  }

  /** Most bytes {@link write} may add for a record of `length` bytes. */
  maxRowBytes(length: number): number {
    // Escapes at most double a value (`\\` → `\\\\`, `\u005c` → `\\`); `\N` and tabs per column.
    return 2 * length + 3 * this.#columns + 1;
  }

  /**
   * Writes the row of `src[from, to)` into `out` at `at` (room for {@link maxRowBytes}).
   *
   * @returns where the row ends (after its newline), or -1 when the record must be converted
   *   the general way (nothing meaningful was written).
   */
  write(src: Uint8Array, from: number, to: number, out: Uint8Array, at: number): number {
    this.#src = src;
    this.#limit = to;
    this.#kind.fill(Slot.Null);
    if (this.#ignoreCase) this.#seen.fill(0);
    if (!this.#readObject(from)) return -1;
    let w = at;
    for (let i = 0; i < this.#columns; i += 1) {
      if (i > 0) out[w++] = TAB;
      const start = this.#start[i] as number;
      const end = this.#end[i] as number;
      switch (this.#kind[i]) {
        case Slot.Null:
          out[w++] = NULL_BYTES[0];
          out[w++] = NULL_BYTES[1];
          break;
        case Slot.Verbatim:
          if (end - start < 32) for (let p = start; p < end; p += 1) out[w++] = src[p] as number;
          else {
            out.set(src.subarray(start, end), w);
            w += end - start;
          }
          break;
        case Slot.Escaped:
          w = decodeString(src, start, end, out, w);
          break;
        default:
          for (let p = start; p < end; p += 1) {
            const c = src[p] as number;
            if (c === BACKSLASH) out[w++] = BACKSLASH;
            out[w++] = c;
          }
      }
    }
    out[w++] = NEWLINE;
    return w;
  }

  #space(p: number): number {
    const src = this.#src;
    while (p < this.#limit) {
      const c = src[p] as number;
      if (c !== SPACE && c !== NEWLINE && c !== CARRIAGE_RETURN && c !== TAB) return p;
      p += 1;
    }
    return p;
  }

  /** Reads the record's one object into the column slots; false: go the general way. */
  #readObject(from: number): boolean {
    const src = this.#src;
    let p = this.#space(from);
    if (src[p] !== OPEN_BRACE || p >= this.#limit) return false;
    p = this.#space(p + 1);
    if (src[p] === CLOSE_BRACE && p < this.#limit) return this.#space(p + 1) === this.#limit;
    for (;;) {
      if (p >= this.#limit || src[p] !== QUOTE) return false;
      const keyEnd = this.#string(p);
      if (keyEnd < 0 || this.#escaped) return false;
      const column = this.#column(p + 1, keyEnd - 1);
      if (column === -2) return false;
      p = this.#space(keyEnd);
      if (p >= this.#limit || src[p] !== COLON) return false;
      p = this.#space(p + 1);
      if (p >= this.#limit) return false;
      let end: number;
      if (column < 0) end = this.#skip(p, 0);
      else {
        // With ignorecase two spellings of a name may meet; JSON.parse's order then decides.
        if (this.#ignoreCase) {
          if (this.#seen[column] !== 0) return false;
          this.#seen[column] = 1;
        }
        end = this.#value(p, column);
      }
      if (end < 0) return false;
      p = this.#space(end);
      if (p >= this.#limit) return false;
      const c = src[p];
      if (c === COMMA) {
        p = this.#space(p + 1);
        continue;
      }
      if (c !== CLOSE_BRACE) return false;
      return this.#space(p + 1) === this.#limit;
    }
  }

  /**
   * The column named by the key `src[start, end)`: its index, -1 for none, -2 when the fast
   * path cannot tell (a non-ASCII name with ignorecase).
   */
  #column(start: number, end: number): number {
    const candidates = this.#byLength[end - start];
    const src = this.#src;
    if (this.#ignoreCase) {
      for (let p = start; p < end; p += 1) if ((src[p] as number) >= 0x80) return -2;
    }
    if (candidates === undefined) return -1;
    for (const { bytes, index } of candidates) {
      let same = true;
      for (let k = 0; k < bytes.length; k += 1) {
        let c = src[start + k] as number;
        if (this.#ignoreCase && c >= 0x41 && c <= 0x5a) c += 0x20;
        if (c !== bytes[k]) {
          same = false;
          break;
        }
      }
      // A repeated name: the last one counts, as with JSON.parse.
      if (same) return index;
    }
    return -1;
  }

  /** A member's value into `column`'s slot; returns where it ends, or -1. */
  #value(p: number, column: number): number {
    const src = this.#src;
    const c = src[p] as number;
    let end: number;
    let kind: Slot;
    let start = p;
    let stop: number;
    if (c === QUOTE) {
      end = this.#string(p);
      if (end < 0) return -1;
      kind = this.#escaped ? Slot.Escaped : Slot.Verbatim;
      start = p + 1;
      stop = end - 1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      end = this.#nested(p, 0, 0);
      kind = Slot.Nested;
      stop = end;
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      end = this.#number(p);
      if (end < 0 || !this.#plainNumber) return -1;
      kind = Slot.Verbatim;
      stop = this.#numberEnd;
    } else {
      end = this.#literal(p);
      if (end < 0) return -1;
      kind = c === LETTER_N ? Slot.Null : Slot.Verbatim;
      stop = end;
    }
    if (end < 0) return -1;
    this.#kind[column] = kind;
    this.#start[column] = start;
    this.#end[column] = stop;
    return end;
  }

  /**
   * A string at `p` (its opening quote): where it ends (after the closing quote), or -1 when
   * invalid, holding a lone surrogate, or 16 digits in a row. Sets whether it had escapes.
   */
  #string(p: number): number {
    const src = this.#src;
    const limit = this.#limit;
    let run = 0;
    this.#escaped = false;
    this.#unusualEscape = false;
    p += 1;
    for (;;) {
      if (p >= limit) return -1;
      const c = src[p] as number;
      if (c === QUOTE) return p + 1;
      if (c === BACKSLASH) {
        this.#escaped = true;
        run = 0;
        const e = src[p + 1];
        if (e === LETTER_U) {
          this.#unusualEscape = true;
          if (p + 6 > limit) return -1;
          const unit = hex4(src, p + 2);
          if (unit < 0) return -1;
          for (let k = p + 2; k < p + 6; k += 1) {
            const d = src[k] as number;
            if (d >= ZERO && d <= NINE) {
              if (++run >= LONG_DIGIT_RUN) return -1;
            } else run = 0;
          }
          p += 6;
          if (unit >= 0xdc00 && unit <= 0xdfff) return -1;
          if (unit >= 0xd800 && unit <= 0xdbff) {
            // Only a pair: a lone surrogate is left to the general path.
            if (src[p] !== BACKSLASH || src[p + 1] !== LETTER_U || p + 6 > limit) return -1;
            const low = hex4(src, p + 2);
            if (low < 0xdc00 || low > 0xdfff) return -1;
            run = 0;
            for (let k = p + 2; k < p + 6; k += 1) {
              const d = src[k] as number;
              if (d >= ZERO && d <= NINE) {
                if (++run >= LONG_DIGIT_RUN) return -1;
              } else run = 0;
            }
            p += 6;
          }
          continue;
        }
        if (e === SLASH) this.#unusualEscape = true;
        if (
          e === QUOTE ||
          e === BACKSLASH ||
          e === SLASH ||
          e === LETTER_B ||
          e === LETTER_F ||
          e === LETTER_N ||
          e === LETTER_R ||
          e === LETTER_T
        ) {
          p += 2;
          continue;
        }
        return -1;
      }
      if (c < SPACE) return -1;
      if (c >= ZERO && c <= NINE) {
        if (++run >= LONG_DIGIT_RUN) return -1;
      } else run = 0;
      p += 1;
    }
  }

  /**
   * A number at `p`: where it ends, or -1 when not JSON or with 16 digits in a row. Sets
   * whether `String(Number(x))` writes it as its digits up to {@link #numberEnd}: at most 15
   * digits, no exponent, not `-0`, not below 1e-6 (trailing zeros of a fraction, and a fraction
   * of zeros, are cut as it cuts them).
   */
  #number(p: number): number {
    const src = this.#src;
    const limit = this.#limit;
    let negative = false;
    if (src[p] === MINUS) {
      negative = true;
      p += 1;
    }
    const intStart = p;
    if (p >= limit) return -1;
    const first = src[p] as number;
    if (first === ZERO) p += 1;
    else if (first > ZERO && first <= NINE) {
      while (p < limit && (src[p] as number) >= ZERO && (src[p] as number) <= NINE) p += 1;
    } else return -1;
    const intDigits = p - intStart;
    if (intDigits >= LONG_DIGIT_RUN) return -1;
    let plain = true;
    let end = p;
    let digits = intDigits;
    if (p < limit && src[p] === DOT) {
      const dot = p;
      p += 1;
      const fracStart = p;
      while (p < limit && (src[p] as number) >= ZERO && (src[p] as number) <= NINE) p += 1;
      const fracDigits = p - fracStart;
      if (fracDigits === 0) return -1;
      if (fracDigits >= LONG_DIGIT_RUN) return -1;
      digits += fracDigits;
      let last = p - 1;
      while (last >= fracStart && src[last] === ZERO) last -= 1;
      if (last < fracStart) end = dot;
      else {
        end = last + 1;
        if (first === ZERO) {
          let zeros = 0;
          while (src[fracStart + zeros] === ZERO) zeros += 1;
          // Below 1e-6 String() writes an exponent.
          if (zeros >= 6) plain = false;
        }
      }
    }
    if (p < limit && (src[p] === LETTER_E || src[p] === CAPITAL_E)) {
      plain = false;
      p += 1;
      if (p < limit && (src[p] === 0x2b || src[p] === MINUS)) p += 1;
      const expStart = p;
      while (p < limit && (src[p] as number) >= ZERO && (src[p] as number) <= NINE) p += 1;
      if (p === expStart || p - expStart >= LONG_DIGIT_RUN) return -1;
    }
    if (digits > 15) plain = false;
    // -0 and -0.000 are written 0.
    if (negative && first === ZERO && end === intStart + 1) plain = false;
    this.#plainNumber = plain;
    this.#numberEnd = end;
    return p;
  }

  /** `true`, `false` or `null` at `p`: where it ends, or -1. */
  #literal(p: number): number {
    const src = this.#src;
    const c = src[p];
    const word = c === LETTER_T ? TRUE : c === LETTER_F ? FALSE : c === LETTER_N ? NULL : undefined;
    if (word === undefined || p + word.length > this.#limit) return -1;
    for (let k = 1; k < word.length; k += 1) if (src[p + k] !== word[k]) return -1;
    return p + word.length;
  }

  /**
   * A nested object or array at `p` that `JSON.stringify(JSON.parse(text))` writes back as it
   * is: no whitespace, numbers as String() writes them, escapes only those it writes, member
   * names plain, not integer-like and not repeated. Returns where it ends, or -1.
   */
  #nested(p: number, depth: number, keyBase: number): number {
    if (depth >= MAX_DEPTH) return -1;
    const src = this.#src;
    const limit = this.#limit;
    const isObject = src[p] === OPEN_BRACE;
    const close = isObject ? CLOSE_BRACE : CLOSE_BRACKET;
    p += 1;
    if (p < limit && src[p] === close) return p + 1;
    let keys = 0;
    for (;;) {
      if (p >= limit) return -1;
      if (isObject) {
        if (src[p] !== QUOTE) return -1;
        const keyEnd = this.#string(p);
        if (keyEnd < 0 || this.#escaped) return -1;
        if (!this.#newKey(p + 1, keyEnd - 1, keyBase, keys)) return -1;
        keys += 1;
        p = keyEnd;
        if (p >= limit || src[p] !== COLON) return -1;
        p += 1;
        if (p >= limit) return -1;
      }
      const c = src[p] as number;
      if (c === QUOTE) {
        p = this.#string(p);
        if (p < 0 || this.#unusualEscape) return -1;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        p = this.#nested(p, depth + 1, keyBase + keys);
      } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
        p = this.#number(p);
        if (p < 0 || !this.#plainNumber || this.#numberEnd !== p) return -1;
      } else p = this.#literal(p);
      if (p < 0 || p >= limit) return -1;
      if (src[p] === COMMA) {
        p += 1;
        continue;
      }
      if (src[p] === close) return p + 1;
      return -1;
    }
  }

  /**
   * Records the key `src[start, end)` as the `count`-th of the object whose keys start at
   * `base` on the stack; false when it is integer-like (JSON.parse moves those first), repeated,
   * or past what the stack holds.
   */
  #newKey(start: number, end: number, base: number, count: number): boolean {
    const src = this.#src;
    const length = end - start;
    if (length > 0) {
      let digits = true;
      for (let p = start; p < end; p += 1) {
        const c = src[p] as number;
        if (c < ZERO || c > NINE) {
          digits = false;
          break;
        }
      }
      if (digits) return false;
    }
    const slot = base + count;
    if (count >= MAX_NESTED_KEYS || 2 * slot + 2 > this.#keys.length) return false;
    const keys = this.#keys;
    for (let k = base; k < slot; k += 1) {
      const s = keys[2 * k] as number;
      if ((keys[2 * k + 1] as number) - s !== length) continue;
      let same = true;
      for (let i = 0; i < length; i += 1) {
        if (src[s + i] !== src[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return false;
    }
    keys[2 * slot] = start;
    keys[2 * slot + 1] = end;
    return true;
  }

  /** Skips any valid value at `p` (a member no column takes): where it ends, or -1. */
  #skip(p: number, depth: number): number {
    if (depth >= MAX_DEPTH) return -1;
    const src = this.#src;
    const c = src[p] as number;
    if (c === QUOTE) return this.#string(p);
    if (c === MINUS || (c >= ZERO && c <= NINE)) return this.#number(p);
    if (c !== OPEN_BRACE && c !== OPEN_BRACKET) return this.#literal(p);
    const isObject = c === OPEN_BRACE;
    const close = isObject ? CLOSE_BRACE : CLOSE_BRACKET;
    p = this.#space(p + 1);
    if (p < this.#limit && src[p] === close) return p + 1;
    for (;;) {
      if (p >= this.#limit) return -1;
      if (isObject) {
        if (src[p] !== QUOTE) return -1;
        p = this.#string(p);
        if (p < 0) return -1;
        p = this.#space(p);
        if (p >= this.#limit || src[p] !== COLON) return -1;
        p = this.#space(p + 1);
        if (p >= this.#limit) return -1;
      }
      p = this.#skip(p, depth + 1);
      if (p < 0) return -1;
      p = this.#space(p);
      if (p >= this.#limit) return -1;
      if (src[p] === COMMA) {
        p = this.#space(p + 1);
        continue;
      }
      if (src[p] === close) return p + 1;
      return -1;
    }
  }
}

const TRUE = Uint8Array.from([0x74, 0x72, 0x75, 0x65]);
const FALSE = Uint8Array.from([0x66, 0x61, 0x6c, 0x73, 0x65]);
const NULL = Uint8Array.from([0x6e, 0x75, 0x6c, 0x6c]);

/** The value of four hex digits at `p`, or -1. */
function hex4(src: Uint8Array, p: number): number {
  let value = 0;
  for (let k = p; k < p + 4; k += 1) {
    const c = src[k] as number;
    let d: number;
    if (c >= ZERO && c <= NINE) d = c - ZERO;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
    else return -1;
    value = (value << 4) | d;
  }
  return value;
}

/**
 * The text of the string inside `src[start, end)` (escapes and all, validated) as one COPY
 * text field: JSON's escapes decoded, then `\`, tab, newline and carriage return escaped for
 * COPY (so `\t`, `\n`, `\r` keep their two bytes and `\\` becomes four).
 */
function decodeString(
  src: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  w: number,
): number {
  for (let p = start; p < end;) {
    const c = src[p] as number;
    if (c !== BACKSLASH) {
      out[w++] = c;
      p += 1;
      continue;
    }
    const e = src[p + 1] as number;
    p += 2;
    switch (e) {
      case QUOTE:
        out[w++] = QUOTE;
        break;
      case BACKSLASH:
        out[w++] = BACKSLASH;
        out[w++] = BACKSLASH;
        break;
      case SLASH:
        out[w++] = SLASH;
        break;
      case LETTER_B:
        out[w++] = 0x08;
        break;
      case LETTER_F:
        out[w++] = 0x0c;
        break;
      case LETTER_N:
      case LETTER_R:
      case LETTER_T:
        out[w++] = BACKSLASH;
        out[w++] = e;
        break;
      default: {
        let code = hex4(src, p);
        p += 4;
        if (code >= 0xd800 && code <= 0xdbff) {
          code = 0x10000 + ((code - 0xd800) << 10) + (hex4(src, p + 2) - 0xdc00);
          p += 6;
        }
        w = writeCodePoint(code, out, w);
      }
    }
  }
  return w;
}

/** A code point as COPY text: UTF-8, with `\`, tab, newline and carriage return escaped. */
function writeCodePoint(code: number, out: Uint8Array, w: number): number {
  if (code < 0x80) {
    if (code === BACKSLASH) {
      out[w++] = BACKSLASH;
      out[w++] = BACKSLASH;
    } else if (code === TAB) {
      out[w++] = BACKSLASH;
      out[w++] = LETTER_T;
    } else if (code === NEWLINE) {
      out[w++] = BACKSLASH;
      out[w++] = LETTER_N;
    } else if (code === CARRIAGE_RETURN) {
      out[w++] = BACKSLASH;
      out[w++] = LETTER_R;
    } else out[w++] = code;
  } else if (code < 0x800) {
    out[w++] = 0xc0 | (code >> 6);
    out[w++] = 0x80 | (code & 0x3f);
  } else if (code < 0x10000) {
    out[w++] = 0xe0 | (code >> 12);
    out[w++] = 0x80 | ((code >> 6) & 0x3f);
    out[w++] = 0x80 | (code & 0x3f);
  } else {
    out[w++] = 0xf0 | (code >> 18);
    out[w++] = 0x80 | ((code >> 12) & 0x3f);
    out[w++] = 0x80 | ((code >> 6) & 0x3f);
    out[w++] = 0x80 | (code & 0x3f);
  }
  return w;
}
