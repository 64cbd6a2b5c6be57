import {
  parseOptions,
  renderHelp,
  type HelpText,
  type OptionSpecs,
  type OptionValues,
} from './args.js';

/** Where text goes: `process.stdout`/`process.stderr`, or a buffer in tests. */
export interface TextSink {
  write(text: string): unknown;
}

/** The process around a CLI run, passed in so that tests can run the CLI in-process. */
export interface CliIo {
  /** Results: summaries, tables, JSON. */
  readonly stdout: TextSink;
  /** Errors and the progress bar. */
  readonly stderr: TextSink;
  /** Environment variables (endpoint, credentials, region). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether stderr is a terminal: the progress bar is drawn only then. */
  readonly isTTY: boolean;
  /**
   * Standard input, for commands that read records from it (`sluice put`); `undefined` in
   * callers that give none, and then `process.stdin` is read.
   */
  readonly stdin?: AsyncIterable<Buffer | string> | Iterable<Buffer | string> | undefined;
}

/** A subcommand as the dispatcher sees it: a name, a help text and a run. */
export interface CliCommand {
  /** What the user types after `sluice`. */
  readonly name: string;
  /** Its line in `sluice --help`. */
  readonly summary: string;
  /** Its `--help` text. */
  help(): string;
  /**
   * Runs it with the arguments after its name.
   *
   * @returns the exit code.
   * @throws CliError (a UsageError for a wrong command line) with a message for the user.
   */
  run(argv: readonly string[], io: CliIo): Promise<number>;
}

/** A subcommand as its file writes it: its options table, its help text and what it does. */
export interface CommandDefinition<T extends OptionSpecs> extends HelpText {
  readonly name: string;
  readonly summary: string;
  readonly options: T;
  /** Does the work with the parsed options; returns the exit code. */
  run(options: OptionValues<T>, io: CliIo): Promise<number>;
}

/**
 * Makes a {@link CliCommand} from a definition: its arguments are parsed and checked against its
 * options table before `run` sees them, and its help is rendered from the same table.
 */
export function defineCommand<T extends OptionSpecs>(definition: CommandDefinition<T>): CliCommand {
  return {
    name: definition.name,
    summary: definition.summary,
    help: () => renderHelp(definition),
    run: (argv, io) => definition.run(parseOptions(definition.options, argv), io),
  };
}
