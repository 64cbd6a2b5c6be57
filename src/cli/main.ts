#!/usr/bin/env node
import { runCli } from './run-cli.js';

/**
 * Entry of the `sluice` command (package.json `bin`): runs the CLI with this process's
 * arguments, streams and environment, and exits with its code.
 */

// A closed pipe (`sluice dead --stream s1 | head -1`) is a normal end for a command-line tool.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  // `isTTY` is absent, not false, on a stream that is no terminal.
  isTTY: process.stderr.isTTY === true,
  stdin: process.stdin,
});
