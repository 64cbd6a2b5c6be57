/**
 * The two ways a command fails, told apart by their exit code: a wrong command line (2, as
 * most Unix tools do, so scripts can tell "I called it wrong" from "it did not work") and a
 * failure while doing the work (1).
 */

/** Exit code of a run that did its work. */
export const EXIT_OK = 0;
/** Exit code of a run that failed while doing its work (server error, unreachable, …). */
export const EXIT_FAILURE = 1;
/** Exit code of a wrong command line: unknown subcommand or option, missing or bad value. */
export const EXIT_USAGE = 2;

/** A failure whose message is meant for the user as is; exits with {@link EXIT_FAILURE}. */
export class CliError extends Error {
  /** The process exit code this failure ends with. */
  readonly exitCode: number = EXIT_FAILURE;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** A wrong command line; the message says what is wrong. Exits with {@link EXIT_USAGE}. */
export class UsageError extends CliError {
  override readonly exitCode: number = EXIT_USAGE;

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
