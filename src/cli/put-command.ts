import { CliError, EXIT_FAILURE, EXIT_OK, UsageError } from './cli-error.js';
import type { CliCommand } from './command.js';
import { renderHelp, type HelpText } from './args.js';
import { CONNECTION_OPTIONS } from './connection-options.js';
import { FirehoseApiError, withStreamHint } from './firehose-client.js';
import { connectFirehose } from './firehose-connection.js';
import { formatCount } from './format.js';
import { parseWithPositionals } from './positionals.js';
import { ProgressBar } from './progress-bar.js';
import { cutBatches } from './put-batches.js';
import { readInput, splitRecords } from './put-input.js';
import { DEFAULT_MAX_ATTEMPTS, sendBatch, type FailedRecord } from './put-sender.js';
import { renderPutJson, renderPutSummary, type PutReport } from './put-summary.js';
import { checkStreamName } from './stream-name.js';

/**
 * `sluice put --stream <name> [<file>]`: puts the lines of a file, or of standard input, into a
 * stream with PutRecordBatch, as a well-behaved Firehose producer does (limits kept, failed
 * entries sent again), and says what went in.
 */

/** The most `--max-attempts` takes. */
const MAX_ATTEMPTS_LIMIT = 20;

const OPTIONS = {
  stream: {
    type: 'string',
    value: '<name>',
    required: true,
    doc: 'Stream the records are put into.',
  },
  'no-newline': {
    type: 'boolean',
    doc: 'Send each line as it is, without adding a newline to the record.',
  },
  'max-attempts': {
    type: 'string',
    value: '<n>',
    doc: `Attempts per record before it counts as failed (1 to ${MAX_ATTEMPTS_LIMIT}; default ${DEFAULT_MAX_ATTEMPTS}).`,
  },
  json: { type: 'boolean', doc: 'Print the summary as JSON.' },
  ...CONNECTION_OPTIONS,
} as const;

const HELP: HelpText = {
  usage: 'sluice put --stream <name> [<file>] [options]',
  description: [
    'Puts records into a stream: one record a non-empty line of <file>, or of standard input when <file> is - or not given (NDJSON, or any text). The line break is not part of the record; a newline (\\n) is added to each record unless --no-newline is given, so delivered objects keep one record a line.',
    'All of the input is read and checked first: a record over 1,024,000 bytes (Firehose\'s limit, its newline included) stops the command before anything is sent. Records go in PutRecordBatch requests of at most 500 records and 4 MiB. Entries answered with an ErrorCode (such as "Slow down.") are sent again, only they, after a growing wait (0.2 s doubling up to 5 s), up to --max-attempts times. A progress bar is drawn on stderr when it is a terminal.',
    'Exit codes: 0 every record put; 1 some record not put (the summary names their lines), Sluice not reachable, no such stream, or an input without records; 2 wrong command line, or an input that cannot be read or holds a record over the limit (nothing sent).',
  ],
  options: OPTIONS,
  examples: [
    'sluice put --stream clicks events.ndjson',
    'printf \'{"page":"/a"}\\n{"page":"/b"}\\n\' | sluice put --stream clicks',
    'sluice put --stream raw --no-newline lines.txt --json',
  ],
};

/** `--max-attempts`, checked. */
function parseMaxAttempts(value: string | undefined): number {
  if (value === undefined) return DEFAULT_MAX_ATTEMPTS;
  const n = /^\d{1,3}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1 && n <= MAX_ATTEMPTS_LIMIT)) {
    throw new UsageError(
      `--max-attempts must be a whole number from 1 to ${MAX_ATTEMPTS_LIMIT}, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/** The `put` command. */
export const putCommand: CliCommand = {
  name: 'put',
  summary: 'Put records from a file or stdin (one a line) into a stream.',
  help: () => renderHelp(HELP),
  async run(argv, io) {
    const { positionals, options } = parseWithPositionals(OPTIONS, argv);
    if (positionals.length > 1) {
      throw new UsageError(`expected at most one file, got ${positionals.length}`);
    }
    const file = positionals[0];
    const stream = checkStreamName(options.stream, '--stream');
    const maxAttempts = parseMaxAttempts(options['max-attempts']);
    const { client } = connectFirehose(options, io);
    const stdin = io.stdin ?? process.stdin;
    const fromStdin = file === undefined || file === '-';
    // Waiting for typed records would look like a hang: a terminal is no input.
    if (fromStdin && stdin === process.stdin && process.stdin.isTTY === true) {
      throw new UsageError('no input: give a <file>, or pipe records into standard input');
    }
    const source = fromStdin ? 'standard input' : file;
    const records = splitRecords(await readInput(file, stdin), !options['no-newline'], source);
    if (records.length === 0) {
      throw new CliError(`${source} holds no records (no non-empty line); nothing was sent`);
    }

    const batches = cutBatches(records);
    const bar = new ProgressBar(
      io.stderr,
      io.isTTY,
      { records: records.length, items: batches.length },
      'request',
    );
    const done = { records: 0, items: 0 };
    let sent = 0;
    let requests = 0;
    let retried = 0;
    const failed: FailedRecord[] = [];
    let stop: { line: number; error: unknown } | undefined;
    bar.update(done);
    try {
      for (const batch of batches) {
        try {
          const outcome = await sendBatch(batch, {
            client,
            stream,
            maxAttempts,
            onSent: (n) => {
              done.records += n;
              bar.update(done);
            },
          });
          sent += outcome.sent;
          requests += outcome.requests;
          retried += outcome.retried;
          failed.push(...outcome.failed);
          done.records += outcome.failed.length;
          done.items += 1;
          bar.update(done);
        } catch (err) {
          if (!(err instanceof CliError)) throw err;
          stop = { line: (batch[0] as { line: number }).line, error: withStreamHint(err, stream) };
          requests += 1;
          break;
        }
      }
    } finally {
      bar.finish();
    }

    const report: PutReport = {
      stream,
      records: records.length,
      sent,
      failed,
      requests,
      retried,
      maxAttempts,
    };
    if (stop !== undefined) {
      const error = stop.error as Error;
      const code = error instanceof FirehoseApiError ? error.code : 'Error';
      // Nothing was put yet: a summary would only repeat the error.
      if (options.json) io.stdout.write(renderPutJson(report, { code, message: error.message }));
      else if (sent > 0) io.stdout.write(renderPutSummary(report));
      const before =
        sent === 0
          ? 'nothing was put'
          : `the ${formatCount(sent)} records before it were put; the rest were not sent`;
      throw new CliError(
        `stopped at line ${stop.line}: ${error.message.replace(/\.$/, '')}; ${before}`,
        {
          cause: error,
        },
      );
    }
    io.stdout.write(options.json ? renderPutJson(report) : renderPutSummary(report));
    return failed.length === 0 ? EXIT_OK : EXIT_FAILURE;
  },
};
