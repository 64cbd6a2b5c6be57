import { renderHelp, type HelpText } from './args.js';
import { EXIT_OK, UsageError } from './cli-error.js';
import type { CliCommand, CliIo } from './command.js';
import { CONNECTION_OPTIONS } from './connection-options.js';
import { countOf, formatCount, formatIso } from './format.js';
import { parseWithPositionals } from './positionals.js';
import { checkStreamName } from './stream-name.js';
import {
  CAPTURE_RECORDS_PER_SECOND,
  MAX_PAGE_RECORDS,
  MAX_WAIT_MS,
  PREVIEW_BYTES,
} from '../tail/tail-limits.js';
import { connectTail, type TailRecord } from './tail-client.js';

/**
 * `sluice tail <stream>`: follows a stream's incoming records, as the server's live tail samples
 * them, until Ctrl-C or SIGTERM (exit 0) or `--count` records.
 */

/** Seconds each request lets the server wait for a record: the server's most. */
const WAIT_SECONDS = MAX_WAIT_MS / 1000;
/** Largest `--count`. */
const MAX_COUNT = 1_000_000;

const OPTIONS = {
  count: {
    type: 'string',
    value: '<n>',
    doc: `Stop after <n> records (1 to ${formatCount(MAX_COUNT)}). Default: follow until Ctrl-C.`,
  },
  json: {
    type: 'boolean',
    doc: 'Print one JSON object a line per record: {"stream", "seq", "at", "bytes", "encoding", "preview", "truncated", "skippedBefore"}.',
  },
  ...CONNECTION_OPTIONS,
} as const;

const HELP: HelpText = {
  usage: 'sluice tail <stream> [--count <n>] [options]',
  description: [
    `Shows the records put into <stream> as they arrive, whichever Sluice API process they were put through: first those of the last minute, then new ones, until Ctrl-C (or SIGTERM), or until --count records. It is a sample: at most ${CAPTURE_RECORDS_PER_SECOND} records a second of a stream are shown, and a line on stderr counts those left out. Only records whose put was acknowledged are shown.`,
    `A record is shown as JSON when it is JSON, as text when it is printable UTF-8, else as [base64]; at most its first ${PREVIEW_BYTES / 1024} KiB ("[truncated, <n> bytes]" says so). Text output is one line a record, "<time (UTC)>  <record>": a line break inside a record shows as \\n, a trailing one is left out.`,
    'Exit codes: 0 stopped by Ctrl-C/SIGTERM or --count reached, 1 failed (Sluice not reachable, no such stream, a request refused), 2 wrong command line.',
  ],
  options: OPTIONS,
  examples: [
    'sluice tail clicks',
    'sluice tail clicks --count 10',
    'sluice tail clicks --json | jq -r \'select(.encoding == "json") | .preview\'',
  ],
};

/** `--count`, checked; `undefined` when not given. */
function parseCount(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d{1,7}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1 && n <= MAX_COUNT)) {
    throw new UsageError(
      `--count must be a whole number from 1 to ${formatCount(MAX_COUNT)}, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/** The `tail` command. */
export const tailCommand: CliCommand = {
  name: 'tail',
  summary: "Follow a stream's incoming records live (a sample).",
  help: () => renderHelp(HELP),
  async run(argv, io) {
    const { positionals, options } = parseWithPositionals(OPTIONS, argv);
    if (positionals.length !== 1) {
      throw new UsageError(
        positionals.length === 0
          ? 'missing <stream>: the stream whose records are shown'
          : `expected one <stream>, got ${positionals.length}: ${positionals.map((p) => JSON.stringify(p)).join(' ')}`,
      );
    }
    const stream = checkStreamName(positionals[0] as string, '<stream>');
    const count = parseCount(options.count);
    const { client, endpoint } = connectTail(options, io);
    const stop = stopOnSignals();
    try {
      if (!options.json && io.isTTY) {
        io.stderr.write(
          `Tailing ${stream} at ${endpoint.display} (a sample of at most ${CAPTURE_RECORDS_PER_SECOND} records a second); Ctrl-C to stop.\n`,
        );
      }
      let shown = 0;
      let cursor: string | undefined;
      while (count === undefined || shown < count) {
        const page = await client.read(
          {
            stream,
            cursor,
            waitSeconds: WAIT_SECONDS,
            limit: Math.min(
              MAX_PAGE_RECORDS,
              count === undefined ? MAX_PAGE_RECORDS : count - shown,
            ),
          },
          stop.signal,
        );
        if (page === undefined) break;
        cursor = page.cursor;
        for (const record of page.records) {
          if (count !== undefined && shown >= count) break;
          writeRecord(io, stream, record, options.json);
          shown += 1;
        }
      }
      return EXIT_OK;
    } finally {
      stop.dispose();
    }
  },
};

/** Prints one record: a JSON line, or a text line after a note on what sampling left out. */
function writeRecord(io: CliIo, stream: string, record: TailRecord, json: boolean): void {
  if (json) {
    io.stdout.write(`${JSON.stringify({ stream, ...record })}\n`);
    return;
  }
  if (record.skippedBefore > 0) {
    io.stderr.write(`… ${countOf(record.skippedBefore, 'record')} not shown (sampling)\n`);
  }
  io.stdout.write(`${formatIso(record.at)}  ${recordText(record)}\n`);
}

/** A record's preview as one line of text. */
export function recordText(record: TailRecord): string {
  let text: string;
  if (record.encoding === 'base64') {
    text = `[base64] ${record.preview}`;
  } else if (record.encoding === 'json' && !record.truncated) {
    // One line whatever the record's layout; the preview is the whole record here.
    text = JSON.stringify(JSON.parse(record.preview));
  } else {
    text = record.preview
      .replace(/\r?\n$/, '')
      .replaceAll('\r', '\\r')
      .replaceAll('\n', '\\n');
  }
  return record.truncated ? `${text} … [truncated, ${countOf(record.bytes, 'byte')}]` : text;
}

/**
 * An abort signal for Ctrl-C and SIGTERM while the tail runs: the first one ends it normally
 * (exit 0); after it, the default behaviour is back, so a second Ctrl-C ends the process at
 * once if anything hangs.
 */
function stopOnSignals(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const stop = () => {
    dispose();
    controller.abort();
  };
  const dispose = () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return { signal: controller.signal, dispose };
}
