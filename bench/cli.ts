import { cleanUpAll } from '../devtools/children.js';
import { FlagError } from './cli-flags.js';
import { say } from './progress.js';

/**
 * The entry and exit handling of the bench's commands (`npm run bench`, `npm run oracle`): the
 * command line, `--help`, Ctrl-C and the exit code, so each command's own file holds only what
 * it runs.
 */

/** A failure that its message explains fully: printed without a stack trace, exit code 1. */
export class CliFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliFailure';
  }
}

/** One command, for {@link runCli}. */
export interface Cli<T> {
  /** Starts its error lines, e.g. `bench`. */
  name: string;
  /** Parses the arguments; `'help'` when `--help` was given; throws `FlagError` on bad ones. */
  parse: (argv: readonly string[]) => T | 'help';
  /** The `--help` text. */
  help: () => string;
  /** What the progress line on the first Ctrl-C says it does, e.g. `stopping and cleaning up`. */
  stopping: string;
  /**
   * Runs the command; `signal` aborts on the first SIGINT or SIGTERM (the second exits at once).
   *
   * @returns the exit code.
   */
  run: (options: T, signal: AbortSignal) => Promise<number>;
}

async function main<T>(cli: Cli<T>): Promise<number> {
  let options: T;
  try {
    const parsed = cli.parse(process.argv.slice(2));
    if (parsed === 'help') {
      process.stdout.write(`${cli.help()}\n`);
      return 0;
    }
    options = parsed;
  } catch (error) {
    if (error instanceof FlagError) {
      process.stderr.write(`${cli.name}: ${error.message}\n`);
      return 2;
    }
    throw error;
  }

  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts += 1;
    if (interrupts > 1) {
      // The exit hook in children.ts still SIGKILLs children and deletes temporary directories.
      say(`${signal} again: exiting now`);
      process.exit(130);
    }
    say(`${signal}: ${cli.stopping} (again to exit at once)`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return cli.run(options, controller.signal);
}

/**
 * Runs `cli` as this process's command and exits with its code: 0 after `--help`, 2 on bad
 * arguments, else what `run` returns. An error `run` throws exits 1 after every child process
 * and temporary directory is cleaned up; its stack is printed unless it is a
 * {@link CliFailure}.
 */
export function runCli<T>(cli: Cli<T>): void {
  main(cli).then(
    (code) => process.exit(code),
    async (error: unknown) => {
      const text =
        error instanceof CliFailure
          ? error.message
          : error instanceof Error
            ? (error.stack ?? error.message)
            : String(error);
      process.stderr.write(`${cli.name}: ${text}\n`);
      await cleanUpAll();
      process.exit(1);
    },
  );
}
