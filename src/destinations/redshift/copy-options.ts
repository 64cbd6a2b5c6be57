/**
 * `CopyCommand.CopyOptions`: the options a Redshift user writes after `COPY … FROM …`, read by
 * a real tokenizer (keywords in any case, single-quoted strings with `''` for a quote inside,
 * numbers) and mapped to what each load path does with them.
 *
 * - The direct path (`jdbc:postgresql://`) loads with PostgreSQL's `COPY … FROM STDIN`: each
 *   option either maps to how records become rows (`JSON 'auto'`, `CSV`, `DELIMITER`, …), is
 *   accepted with no effect (`TIMEFORMAT 'auto'`, `GZIP`, `COMPUPDATE`), or is refused with
 *   the reason, when the destination is configured.
 * - The staged path (`jdbc:redshift://`) hands the options to Redshift as written; only those
 *   Firehose itself adds (`MANIFEST`, credentials), Sluice's own `FORMAT AS RAW`, and those
 *   that can never fit the staged objects (another compression, encryption, Parquet or ORC,
 *   `NOLOAD`) are refused.
 */

/** How records become rows on the direct path. */
export type LoadFormat =
  | {
      /** `JSON 'auto'`: each record holds JSON objects; values are taken by column name. */
      kind: 'json';
      /** `'auto ignorecase'`: keys match column names whatever their case. */
      ignoreCase: boolean;
    }
  | {
      /** `CSV`: each record holds CSV lines, loaded by PostgreSQL's CSV rules. */
      kind: 'csv';
      delimiter: string;
      quote: string;
      /** `NULL AS`; PostgreSQL's default: an empty unquoted field. */
      nullAs: string;
    }
  | {
      /** Delimited text (Redshift's default format): lines of fields split by `delimiter`. */
      kind: 'text';
      delimiter: string;
      /** A field equal to this is NULL (Redshift's default `\N`). */
      nullAs: string;
      /** `ESCAPE`: a backslash makes the next character literal. */
      escape: boolean;
    }
  | {
      /** `FORMAT AS RAW` (Sluice only): each record, as its bytes, is one row of one column. */
      kind: 'raw';
    };

/** What a destination's CopyOptions mean. */
export interface CopyOptions {
  /** How records become rows (used by the direct path). */
  format: LoadFormat;
  /** Whether `GZIP` is given (then the staged objects must be GZIP, and only then). */
  gzip: boolean;
  /** The options as written, for the staged path's COPY (empty when none). */
  text: string;
}

/** Which load path the options are for. */
export type LoadPath = 'postgresql' | 'redshift';

/** Thrown for options that do not parse or cannot be used; the message says why. */
export class CopyOptionsError extends Error {
  override name = 'CopyOptionsError';
}

/** One token of CopyOptions. */
export type Token =
  | { type: 'word'; value: string; at: number }
  | { type: 'string'; value: string; at: number }
  | { type: 'number'; value: number; at: number };

/**
 * Splits CopyOptions into tokens: words (upper-cased), single-quoted strings (a doubled `''`
 * is one quote; backslashes are kept as written), whole numbers. Commas between options are
 * allowed and ignored.
 *
 * @throws CopyOptionsError for an unclosed string or a character that starts no token.
 */
export function tokenizeCopyOptions(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < text.length) {
    const c = text[at] as string;
    if (/\s|,/u.test(c)) {
      at += 1;
    } else if (c === "'") {
      let value = '';
      let end = at + 1;
      for (;;) {
        const quote = text.indexOf("'", end);
        if (quote < 0) {
          throw new CopyOptionsError(
            `the quoted string opened at character ${at + 1} is not closed`,
          );
        }
        value += text.slice(end, quote);
        if (text[quote + 1] === "'") {
          value += "'";
          end = quote + 2;
          continue;
        }
        tokens.push({ type: 'string', value, at });
        at = quote + 1;
        break;
      }
    } else if (/[A-Za-z_]/u.test(c)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/u.exec(text.slice(at))?.[0] ?? c;
      tokens.push({ type: 'word', value: word.toUpperCase(), at });
      at += word.length;
    } else if (/[0-9]/u.test(c)) {
      const digits = /^[0-9]+/u.exec(text.slice(at))?.[0] ?? c;
      tokens.push({ type: 'number', value: Number(digits), at });
      at += digits.length;
    } else {
      throw new CopyOptionsError(
        `unexpected ${JSON.stringify(c)} at character ${at + 1}; options are words, 'quoted strings' and numbers`,
      );
    }
  }
  return tokens;
}

/** Options whose reason for refusal is the same on both paths. */
const REFUSED_EVERYWHERE: Readonly<Record<string, string>> = {
  MANIFEST:
    'Firehose writes the manifest of each batch itself and adds MANIFEST to the COPY it issues; leave it out',
  CREDENTIALS:
    'the COPY is authorized by the destination’s RoleARN, as Firehose does; leave it out',
  IAM_ROLE: 'the COPY is authorized by the destination’s RoleARN, as Firehose does; leave it out',
  ACCESS_KEY_ID:
    'the COPY is authorized by the destination’s RoleARN, as Firehose does; leave it out',
  SECRET_ACCESS_KEY:
    'the COPY is authorized by the destination’s RoleARN, as Firehose does; leave it out',
  SESSION_TOKEN:
    'the COPY is authorized by the destination’s RoleARN, as Firehose does; leave it out',
};

/** Reasons for options the direct path cannot map, where a specific one helps. */
const REFUSED_DIRECT: Readonly<Record<string, string>> = {
  REGION:
    'the direct PostgreSQL path (jdbc:postgresql://) reads no S3 object, so there is no bucket region to name',
  ACCEPTINVCHARS:
    'PostgreSQL has no equivalent; a row with invalid UTF-8 is rejected on its own and goes to the error output (redshift-failed)',
  MAXERROR:
    'on the direct path every row PostgreSQL rejects goes to the error output (redshift-failed) and the rest is loaded, so there is no error budget to set',
  IGNOREALLERRORS:
    'on the direct path every row PostgreSQL rejects goes to the error output (redshift-failed) and the rest is loaded',
  IGNOREHEADER:
    'Firehose writes no header line: skipping lines would drop the first records of every batch',
  NOLOAD: 'a destination that loads nothing would drop every record',
  BZIP2: 'Firehose never writes BZIP2 objects; only GZIP is possible',
  LZOP: 'Firehose never writes LZOP objects; only GZIP is possible',
  ZSTD: 'Firehose never writes ZSTD objects for Redshift; only GZIP is possible',
  ENCRYPTED: 'Firehose never writes client-side encrypted objects',
  MASTER_SYMMETRIC_KEY: 'Firehose never writes client-side encrypted objects',
  FIXEDWIDTH: 'only JSON, CSV and delimited text map to PostgreSQL’s COPY',
  AVRO: 'only JSON, CSV and delimited text map to PostgreSQL’s COPY',
  PARQUET: 'only JSON, CSV and delimited text map to PostgreSQL’s COPY',
  ORC: 'only JSON, CSV and delimited text map to PostgreSQL’s COPY',
  SHAPEFILE: 'only JSON, CSV and delimited text map to PostgreSQL’s COPY',
};

/**
 * Options the staged path refuses although Redshift knows them: they can never be right for
 * the objects Firehose stages (concatenated records, GZIP or uncompressed, not encrypted), or
 * they would load nothing.
 */
const REFUSED_STAGED: Readonly<Record<string, string>> = {
  BZIP2:
    'the staged objects are GZIP or uncompressed (S3Configuration.CompressionFormat), never BZIP2',
  LZOP: 'the staged objects are GZIP or uncompressed (S3Configuration.CompressionFormat), never LZOP',
  ZSTD: 'the staged objects are GZIP or uncompressed (S3Configuration.CompressionFormat), never ZSTD',
  ENCRYPTED: 'the staged objects are not client-side encrypted',
  MASTER_SYMMETRIC_KEY: 'the staged objects are not client-side encrypted',
  NOLOAD: 'a COPY that loads nothing would drop every record of every batch',
  PARQUET:
    'a staged object is the batch’s records concatenated, which is never one Parquet or ORC file',
  ORC: 'a staged object is the batch’s records concatenated, which is never one Parquet or ORC file',
};

/** Redshift-only tuning options: no effect on what is loaded, accepted and ignored on the direct path. */
const TUNING = new Set(['COMPUPDATE', 'STATUPDATE']);
const TUNING_VALUES = new Set(['ON', 'OFF', 'TRUE', 'FALSE', 'PRESET']);

/** A cursor over the tokens, for the direct path's grammar. */
class Tokens {
  private next = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  get done(): boolean {
    return this.next >= this.tokens.length;
  }

  take(): Token {
    const token = this.tokens[this.next];
    if (token === undefined)
      throw new CopyOptionsError('the options end where a value is expected');
    this.next += 1;
    return token;
  }

  peekWord(): string | undefined {
    const token = this.tokens[this.next];
    return token?.type === 'word' ? token.value : undefined;
  }

  /** Skips an optional `AS`. */
  optionalAs(): void {
    if (this.peekWord() === 'AS') this.next += 1;
  }

  /** The quoted string `option` takes. */
  string(option: string): string {
    const token = this.take();
    if (token.type !== 'string') {
      throw new CopyOptionsError(
        `${option} takes a 'quoted' value, found ${describeToken(token)} at character ${token.at + 1}`,
      );
    }
    return token.value;
  }
}

function describeToken(token: Token): string {
  return token.type === 'string' ? `'${token.value}'` : String(token.value);
}

/**
 * Reads CopyOptions for `path`.
 *
 * @throws CopyOptionsError naming the option that does not parse or cannot be used, and why.
 */
export function parseCopyOptions(text: string | undefined, path: LoadPath): CopyOptions {
  const source = (text ?? '').trim();
  const tokens = tokenizeCopyOptions(source);
  const words = tokens.filter((t) => t.type === 'word').map((t) => t.value);
  for (const word of words) {
    const reason = REFUSED_EVERYWHERE[word];
    if (reason !== undefined) throw new CopyOptionsError(`${word} cannot be used: ${reason}.`);
  }
  if (path === 'redshift') {
    if (hasRawFormat(tokens)) {
      throw new CopyOptionsError(
        'FORMAT AS RAW is Sluice’s own option of the direct PostgreSQL path (jdbc:postgresql://); Redshift has no such format.',
      );
    }
    for (const word of words) {
      const reason = REFUSED_STAGED[word];
      if (reason !== undefined) {
        throw new CopyOptionsError(
          `${word} cannot be used on the staged Redshift path (jdbc:redshift://): ${reason}.`,
        );
      }
    }
    // Redshift parses the rest itself: an option it refuses fails the COPY with its message.
    return {
      format: { kind: 'text', delimiter: '|', nullAs: '\\N', escape: false },
      gzip: words.includes('GZIP'),
      text: source,
    };
  }
  return { ...parseDirect(new Tokens(tokens)), text: source };
}

function hasRawFormat(tokens: readonly Token[]): boolean {
  return tokens.some(
    (t, i) =>
      t.type === 'word' &&
      t.value === 'RAW' &&
      i > 0 &&
      ['FORMAT', 'AS'].includes((tokens[i - 1] as Token).value as string),
  );
}

/** The direct path's grammar: every option is one it maps, ignores, or refuses with why. */
function parseDirect(tokens: Tokens): Omit<CopyOptions, 'text'> {
  let format: 'json' | 'csv' | 'raw' | undefined;
  let ignoreCase = false;
  let delimiter: string | undefined;
  let quote: string | undefined;
  let nullAs: string | undefined;
  let escape = false;
  let gzip = false;
  const seen = new Set<string>();
  const once = (option: string) => {
    if (seen.has(option)) throw new CopyOptionsError(`${option} is given more than once.`);
    seen.add(option);
  };
  const setFormat = (next: 'json' | 'csv' | 'raw', option: string) => {
    if (format !== undefined) {
      throw new CopyOptionsError(
        `${option} conflicts with the ${format.toUpperCase()} format already given; give one format.`,
      );
    }
    format = next;
  };
  while (!tokens.done) {
    const token = tokens.take();
    if (token.type !== 'word') {
      throw new CopyOptionsError(
        `expected an option name at character ${token.at + 1}, found ${describeToken(token)}.`,
      );
    }
    const option = token.value;
    switch (option) {
      case 'FORMAT': {
        tokens.optionalAs();
        const kind = tokens.take();
        const name = kind.type === 'word' ? kind.value : describeToken(kind);
        if (name === 'JSON') ignoreCase = readJson(tokens);
        else if (name === 'CSV') quote = readCsvQuote(tokens, quote);
        else if (name !== 'RAW') {
          throw new CopyOptionsError(
            `FORMAT AS ${name} cannot be used: ${REFUSED_DIRECT[name] ?? 'only JSON, CSV, delimited text and RAW are formats of the direct path'}.`,
          );
        }
        setFormat(name === 'JSON' ? 'json' : name === 'CSV' ? 'csv' : 'raw', `FORMAT AS ${name}`);
        break;
      }
      case 'JSON':
        ignoreCase = readJson(tokens);
        setFormat('json', 'JSON');
        break;
      case 'CSV':
        quote = readCsvQuote(tokens, quote);
        setFormat('csv', 'CSV');
        break;
      case 'QUOTE':
        once('QUOTE');
        tokens.optionalAs();
        quote = singleCharacter('QUOTE', tokens.string('QUOTE'));
        break;
      case 'DELIMITER':
        once('DELIMITER');
        tokens.optionalAs();
        delimiter = singleCharacter('DELIMITER', tokens.string('DELIMITER'));
        break;
      case 'NULL':
        once('NULL AS');
        tokens.optionalAs();
        nullAs = tokens.string('NULL AS');
        if (/[\r\n]/u.test(nullAs))
          throw new CopyOptionsError('NULL AS cannot contain a newline or carriage return.');
        break;
      case 'ESCAPE':
        once('ESCAPE');
        escape = true;
        break;
      case 'TIMEFORMAT':
      case 'DATEFORMAT': {
        once(option);
        tokens.optionalAs();
        const value = tokens.string(option);
        if (value.toLowerCase() !== 'auto') {
          throw new CopyOptionsError(
            `${option} '${value}' cannot be used on the direct path: PostgreSQL reads dates and times in its own formats (ISO 8601 and the like), which is what ${option} 'auto' means there; give 'auto' or leave it out.`,
          );
        }
        break;
      }
      case 'GZIP':
        once('GZIP');
        gzip = true;
        break;
      case 'COMPROWS': {
        const count = tokens.take();
        if (count.type !== 'number') throw new CopyOptionsError('COMPROWS takes a number.');
        break;
      }
      default:
        if (TUNING.has(option)) {
          const value = tokens.peekWord();
          if (value !== undefined && TUNING_VALUES.has(value)) tokens.take();
          break;
        }
        throw new CopyOptionsError(
          `${option} cannot be used on the direct PostgreSQL path (jdbc:postgresql://): ${REFUSED_DIRECT[option] ?? 'it has no PostgreSQL equivalent; with jdbc:redshift:// Redshift itself applies it'}.`,
        );
    }
  }
  return { format: loadFormat(format, ignoreCase, delimiter, quote, nullAs, escape), gzip };
}

/** The value of `JSON`: 'auto' or 'auto ignorecase'; true for ignorecase. */
function readJson(tokens: Tokens): boolean {
  tokens.optionalAs();
  const value = tokens.string('JSON');
  const normalized = value.trim().toLowerCase().replace(/\s+/gu, ' ');
  if (normalized === 'auto') return false;
  if (normalized === 'auto ignorecase') return true;
  if (/^s3:\/\//iu.test(value.trim())) {
    throw new CopyOptionsError(
      `JSON '${value}' names a JSONPaths file, which the direct PostgreSQL path cannot read; use JSON 'auto' (values are taken by column name) or jdbc:redshift://.`,
    );
  }
  throw new CopyOptionsError(
    `JSON '${value}' cannot be used on the direct path; give JSON 'auto' or JSON 'auto ignorecase'.`,
  );
}

/** CSV's optional `QUOTE [AS] 'c'` right after it. */
function readCsvQuote(tokens: Tokens, quote: string | undefined): string | undefined {
  if (tokens.peekWord() !== 'QUOTE') return quote;
  tokens.take();
  tokens.optionalAs();
  if (quote !== undefined) throw new CopyOptionsError('QUOTE is given more than once.');
  return singleCharacter('QUOTE', tokens.string('QUOTE'));
}

/**
 * A one-character value, with Redshift's escapes for characters hard to type: `'\t'` (tab)
 * and octal `'\NNN'` (e.g. `'\036'`).
 */
function singleCharacter(option: string, value: string): string {
  let char = value;
  if (value === '\\t') char = '\t';
  else if (/^\\[0-7]{3}$/u.test(value)) char = String.fromCharCode(parseInt(value.slice(1), 8));
  if ([...char].length !== 1) {
    throw new CopyOptionsError(`${option} '${value}' must be a single character.`);
  }
  if (char === '\n' || char === '\r') {
    throw new CopyOptionsError(`${option} cannot be a newline or carriage return.`);
  }
  return char;
}

/** The load format the options give, with the rules between them checked. */
function loadFormat(
  format: 'json' | 'csv' | 'raw' | undefined,
  ignoreCase: boolean,
  delimiter: string | undefined,
  quote: string | undefined,
  nullAs: string | undefined,
  escape: boolean,
): LoadFormat {
  if (quote !== undefined && format !== 'csv') {
    throw new CopyOptionsError("QUOTE applies only to CSV; give CSV QUOTE AS '…'.");
  }
  if (format === 'json' || format === 'raw') {
    const name = format === 'json' ? 'JSON' : 'FORMAT AS RAW';
    const extra = [
      ...(delimiter !== undefined ? ['DELIMITER'] : []),
      ...(nullAs !== undefined ? ['NULL AS'] : []),
      ...(escape ? ['ESCAPE'] : []),
    ];
    if (extra.length > 0) {
      throw new CopyOptionsError(
        `${extra.join(', ')} cannot be used with ${name}: ${format === 'json' ? 'fields are JSON members and JSON null is NULL' : 'each record is one value'}.`,
      );
    }
    return format === 'json' ? { kind: 'json', ignoreCase } : { kind: 'raw' };
  }
  if (format === 'csv') {
    if (escape)
      throw new CopyOptionsError(
        'ESCAPE cannot be used with CSV (as in Redshift): quote fields instead.',
      );
    const csv = {
      kind: 'csv' as const,
      delimiter: delimiter ?? ',',
      quote: quote ?? '"',
      nullAs: nullAs ?? '',
    };
    if (csv.delimiter === csv.quote) throw new CopyOptionsError('DELIMITER and QUOTE must differ.');
    if (csv.nullAs.includes(csv.delimiter) || csv.nullAs.includes(csv.quote)) {
      throw new CopyOptionsError('NULL AS cannot contain the delimiter or the quote character.');
    }
    return csv;
  }
  const text = {
    kind: 'text' as const,
    delimiter: delimiter ?? '|',
    nullAs: nullAs ?? '\\N',
    escape,
  };
  if (escape && text.delimiter === '\\')
    throw new CopyOptionsError('DELIMITER cannot be a backslash with ESCAPE.');
  return text;
}
