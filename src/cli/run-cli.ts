import { Redactor, urlCredentials } from '../telemetry/redact.js';
import { renderRows, wantsHelp } from './args.js';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './cli-error.js';
import type { CliCommand, CliIo } from './command.js';
import { COMMANDS } from './commands.js';
import { DEFAULT_ENDPOINT } from './endpoint.js';
import { DEFAULT_REGION } from './request-signer.js';

export type { CliIo, TextSink } from './command.js';

/**
 * The `sluice` command line: picks the subcommand from the command table, prints help, and turns
 * failures into a message on stderr and an exit code. Everything the process provides comes in
 * through {@link CliIo}, so tests run the CLI in-process exactly as `main.ts` does.
 */

/**
 * Runs `sluice` with `argv` (the arguments after the program name).
 *
 * @returns the exit code: 0 done, 1 the work failed (the server answered an error, or could not
 *   be reached), 2 the command line is wrong (unknown subcommand or option, missing or bad value).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  // Messages may quote a URL or a server's answer: the secret key, a session token and the
  // password of an endpoint URL never reach the terminal.
  const redactor = new Redactor(secretsIn(argv, io.env));
  const fail = (text: string) => io.stderr.write(redactor.redact(text));
  const [name, ...rest] = argv;

  if (name === undefined) {
    fail(mainHelp());
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h') {
    io.stdout.write(mainHelp());
    return EXIT_OK;
  }
  if (name === 'help') return help(rest[0], io, fail);
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    const what = name.startsWith('-')
      ? `unknown option ${name} (options go after the command)`
      : `unknown command ${JSON.stringify(name)}`;
    fail(
      `sluice: ${what}. Commands: ${COMMANDS.map((c) => c.name).join(', ')}.\nRun 'sluice --help' for usage.\n`,
    );
    return EXIT_USAGE;
  }
  if (wantsHelp(rest)) {
    io.stdout.write(command.help());
    return EXIT_OK;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      fail(`sluice ${name}: ${err.message}\nRun 'sluice ${name} --help' for usage.\n`);
      return err.exitCode;
    }
    if (err instanceof CliError) {
      fail(`sluice ${name}: ${err.message}\n`);
      return err.exitCode;
    }
    // A bug, not a condition the CLI knows: the stack is what a bug report needs.
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    fail(`sluice ${name}: unexpected error: ${detail}\n`);
    return EXIT_FAILURE;
  }
}

/** `sluice help [command]`. */
function help(topic: string | undefined, io: CliIo, fail: (text: string) => unknown): number {
  if (topic === undefined) {
    io.stdout.write(mainHelp());
    return EXIT_OK;
  }
  const command: CliCommand | undefined = COMMANDS.find((c) => c.name === topic);
  if (command === undefined) {
    fail(
      `sluice help: unknown command ${JSON.stringify(topic)}. Commands: ${COMMANDS.map((c) => c.name).join(', ')}.\n`,
    );
    return EXIT_USAGE;
  }
  io.stdout.write(command.help());
  return EXIT_OK;
}

/** `sluice --help`: the commands from the command table and the environment they read. */
function mainHelp(): string {
  return [
    'Usage: sluice <command> [options]',
    '',
    'Works with a running Sluice through its Firehose and admin APIs; `transform test` and `catalog infer` run locally.',
    '',
    'Commands:',
    ...renderRows(COMMANDS.map((c) => [c.name, c.summary])),
    '',
    "Run 'sluice <command> --help' for a command's options.",
    '',
    'Environment:',
    ...renderRows([
      [
        'SLUICE_ENDPOINT',
        `Sluice's address when --endpoint is not given. Default: ${DEFAULT_ENDPOINT}.`,
      ],
      [
        'AWS_ACCESS_KEY_ID',
        'With AWS_SECRET_ACCESS_KEY: requests are signed with these keys (AWS Signature Version 4), as a Sluice with SLUICE_ACCESS_KEYS requires. Unset: unsigned.',
      ],
      ['AWS_SECRET_ACCESS_KEY', 'See AWS_ACCESS_KEY_ID.'],
      ['AWS_SESSION_TOKEN', 'Sent with the signature when set.'],
      [
        'AWS_REGION',
        `Region signed for when --region is not given; else AWS_DEFAULT_REGION, else SLUICE_REGION, else ${DEFAULT_REGION}.`,
      ],
    ]),
    '',
    'Exit codes: 0 done, 1 failed, 2 wrong command line.',
    '',
  ].join('\n');
}

/** Values no message may show: secret keys, and passwords in endpoint URLs. */
function secretsIn(argv: readonly string[], env: CliIo['env']): string[] {
  const secrets: string[] = [];
  for (const name of ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
    const value = env[name]?.trim();
    if (value) secrets.push(value);
  }
  secrets.push(...urlCredentials(env.SLUICE_ENDPOINT ?? ''));
  for (const arg of argv) secrets.push(...urlCredentials(arg));
  return secrets;
}
