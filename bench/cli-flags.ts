/**
 * Command-line flags of the bench tools: `--<name> <value>` or `--<name>=<value>`, numeric ones
 * described by a table that drives their parsing, range checks and `--help` rows. Each tool keeps
 * its own table, defaults and other flags; this file only reads and checks them.
 */

/** Thrown for a bad flag or value; the message says which and what is allowed. */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

/** One numeric flag: the option it sets, its name, default, allowed range and help line. */
export interface NumericFlag<K extends string = string> {
  /** Property of the parsed options it sets. */
  key: K;
  /** Its name, without the leading `--`. */
  flag: string;
  default: number;
  min: number;
  max: number;
  /** Only whole numbers are allowed. */
  integer: boolean;
  /** Its line in `--help`. */
  doc: string;
}

/** Column widths of a tool's `--help` rows. */
export interface HelpLayout {
  /** Width of a flag's name (after `--`). */
  flagWidth: number;
  /** Width of its default, right-aligned. */
  defaultWidth: number;
}

/**
 * Reads `argv` (without node and the script) into flag name → value text, as given.
 *
 * @param known - the tool's flags, without `--`.
 * @returns the given flags, or `'help'` when `--help` or `-h` was given.
 * @throws FlagError on an argument that is not a flag, a flag without a value or an unknown flag.
 */
export function readFlags(
  argv: readonly string[],
  known: readonly string[],
): Map<string, string> | 'help' {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') return 'help';
    if (!arg.startsWith('--')) throw new FlagError(`unexpected argument ${arg}; see --help`);
    const eq = arg.indexOf('=');
    if (eq > 0) {
      given.set(arg.slice(2, eq), arg.slice(eq + 1));
    } else {
      const value = argv[i + 1];
      if (value === undefined) throw new FlagError(`${arg} needs a value; see --help`);
      given.set(arg.slice(2), value);
      i += 1;
    }
  }
  for (const flag of given.keys()) {
    if (!known.includes(flag)) throw new FlagError(`unknown option --${flag}; see --help`);
  }
  return given;
}

/** A flag's value text, trimmed; `undefined` when it was not given or is blank. */
export function flagText(value: string | undefined): string | undefined {
  const text = value?.trim();
  return text === undefined || text === '' ? undefined : text;
}

/**
 * Parses the numeric flags of `specs`; one that is not given (or blank) takes its default.
 *
 * @param given - a flag's value text, or `undefined` when it was not given.
 * @param name - how error messages name a flag; `--<flag>` unless the tool says more (such as
 *   the environment variable that can also set it).
 * @throws FlagError when a value is not a number in its flag's range, or not a whole number
 *   where one is required.
 */
export function parseNumericFlags<K extends string>(
  specs: readonly NumericFlag<K>[],
  given: (flag: string) => string | undefined,
  name: (flag: string) => string = (flag) => `--${flag}`,
): Record<K, number> {
  const values = {} as Record<K, number>;
  for (const spec of specs) {
    const text = flagText(given(spec.flag));
    const value = text === undefined ? spec.default : Number(text);
    if (
      !Number.isFinite(value) ||
      value < spec.min ||
      value > spec.max ||
      (spec.integer && !Number.isInteger(value))
    ) {
      throw new FlagError(
        `${name(spec.flag)} must be ${spec.integer ? 'a whole number' : 'a number'} from ${spec.min} to ${spec.max}, got ${JSON.stringify(text)}`,
      );
    }
    values[spec.key] = value;
  }
  return values;
}

/** A `--help` row of a flag that is not numeric: its name, its default as shown, its line. */
export type HelpRow = readonly [flag: string, defaultText: string, doc: string];

/**
 * Renders a tool's `--help` text: the `intro` lines, a blank line, then one row a flag in the
 * layout's columns, `  --<flag> <default>  <doc>`: first the numeric flags, then the `others`.
 */
export function renderHelp(
  intro: readonly string[],
  layout: HelpLayout,
  numeric: readonly NumericFlag[],
  others: readonly HelpRow[],
): string {
  const rows: HelpRow[] = [
    ...numeric.map((spec): HelpRow => [spec.flag, String(spec.default), spec.doc]),
    ...others,
  ];
  return [
    ...intro,
    '',
    ...rows.map(
      ([flag, defaultText, doc]) =>
        `  --${flag.padEnd(layout.flagWidth)} ${defaultText.padStart(layout.defaultWidth)}  ${doc}`,
    ),
  ].join('\n');
}
