import { parseArgs } from 'node:util';
import { UsageError } from './cli-error.js';

/**
 * Command-line options of a subcommand, described once: the table drives parsing (with
 * `node:util` parseArgs), the checks and the `--help` text, so the three cannot drift apart.
 */

/** One option, `--<name>` where the name is its key in an {@link OptionSpecs} table. */
export interface OptionSpec {
  /** `string` takes a value (`--stream s1` or `--stream=s1`); `boolean` is a switch. */
  readonly type: 'string' | 'boolean';
  /** How `--help` shows the value, such as `<name>`; string options only. */
  readonly value?: string;
  /** A string option that must be given. */
  readonly required?: boolean;
  /** Its text in `--help`. */
  readonly doc: string;
}

/** A subcommand's options by name (without `--`). */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** Parsed values, typed from the table: switches are booleans, required options strings. */
export type OptionValues<T extends OptionSpecs> = {
  readonly [K in keyof T]: T[K]['type'] extends 'boolean'
    ? boolean
    : T[K] extends { readonly required: true }
      ? string
      : string | undefined;
};

/** What `--help` of a subcommand shows besides its options. */
export interface HelpText {
  /** The synopsis after `Usage: `, such as `sluice dead --stream <name> [options]`. */
  readonly usage: string;
  /** Paragraphs between the synopsis and the options. */
  readonly description: readonly string[];
  readonly options: OptionSpecs;
  /** Whole example command lines. */
  readonly examples: readonly string[];
}

/** Width `--help` text is wrapped to: fits a default 80-column terminal. */
const HELP_WIDTH = 80;

/** True when `argv` asks for help (`--help` or `-h` anywhere before a `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

/**
 * Parses `argv` (the arguments after the subcommand) against `specs`.
 *
 * Parsing runs parseArgs in its lenient mode and checks the tokens here, because its strict
 * mode's messages are about parseArgs ("To specify a positional argument starting with a '-'…")
 * rather than about this tool.
 *
 * @throws UsageError on an unknown option, a stray argument, a missing or empty value, a value
 *   given to a switch, a string option given twice, or a required option that is missing.
 */
export function parseOptions<T extends OptionSpecs>(
  specs: T,
  argv: readonly string[],
): OptionValues<T> {
  const { tokens } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(
      Object.entries(specs).map(([name, spec]) => [name, { type: spec.type }]),
    ),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, string | boolean> = {};
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.type === 'boolean') values[name] = false;
  }
  for (const token of tokens) {
    if (token.kind === 'positional') {
      throw new UsageError(`unexpected argument ${JSON.stringify(token.value)}`);
    }
    if (token.kind === 'option-terminator') continue;
    const spec = Object.hasOwn(specs, token.name) ? specs[token.name] : undefined;
    if (spec === undefined || token.rawName !== `--${token.name}`) {
      throw new UsageError(`unknown option ${token.rawName}`);
    }
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`${token.rawName} takes no value`);
      values[token.name] = true;
      continue;
    }
    const shown = `${token.rawName} ${spec.value ?? '<value>'}`;
    // Lenient parsing takes the next argument as the value even when it is another option
    // (`--stream --json`): almost always a forgotten value, so it is reported as one.
    if (
      token.value === undefined ||
      token.value === '' ||
      (!token.inlineValue && token.value.startsWith('--'))
    ) {
      throw new UsageError(`${token.rawName} needs a value: ${shown}`);
    }
    if (Object.hasOwn(values, token.name)) {
      throw new UsageError(`${token.rawName} is given more than once`);
    }
    values[token.name] = token.value;
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.required === true && !Object.hasOwn(values, name)) {
      throw new UsageError(`missing --${name} ${spec.value ?? '<value>'}`);
    }
  }
  return values as OptionValues<T>;
}

/** The `--help` text of a subcommand: usage, description, options (plus `--help`), examples. */
export function renderHelp(help: HelpText): string {
  const rows: [string, string][] = Object.entries(help.options).map(([name, spec]) => [
    spec.type === 'string' ? `--${name} ${spec.value ?? '<value>'}` : `--${name}`,
    spec.required === true ? `${spec.doc} Required.` : spec.doc,
  ]);
  rows.push(['-h, --help', 'Show this help.']);
  const lines = [`Usage: ${help.usage}`, ''];
  for (const paragraph of help.description) lines.push(...wrap(paragraph, HELP_WIDTH), '');
  lines.push('Options:', ...renderRows(rows));
  if (help.examples.length > 0) {
    lines.push('', 'Examples:', ...help.examples.map((example) => `  ${example}`));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Two-column rows, `  <term>  <text>`, the text wrapped and its continuation lines indented
 * under it; a term too long for the column gets its text on the next line.
 */
export function renderRows(rows: readonly (readonly [string, string])[]): string[] {
  const termWidth = Math.min(Math.max(...rows.map(([term]) => term.length)), 26);
  const indent = ' '.repeat(termWidth + 4);
  const lines: string[] = [];
  for (const [term, text] of rows) {
    const wrapped = wrap(text, HELP_WIDTH - indent.length);
    if (term.length > termWidth) {
      lines.push(`  ${term}`, ...wrapped.map((line) => indent + line));
    } else {
      const [first = '', ...rest] = wrapped;
      lines.push(`  ${term.padEnd(termWidth)}  ${first}`, ...rest.map((line) => indent + line));
    }
  }
  return lines;
}

/** `text` broken at spaces into lines of at most `width` characters (longer words stay whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
