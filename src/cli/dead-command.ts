import { EXIT_OK, UsageError } from './cli-error.js';
import { defineCommand } from './command.js';
import { CONNECTION_OPTIONS, connectAdmin } from './connection-options.js';
import { formatCount, formatIso } from './format.js';
import { checkStreamName } from './stream-name.js';
import { renderTable } from './table.js';

/** The admin API's default and largest dead-batch page. */
const DEFAULT_DEAD_LIMIT = 1000;
const MAX_DEAD_LIMIT = 10_000;

/**
 * `--limit` as a count, or undefined when not given.
 *
 * @throws UsageError for anything but a whole number from 1 to {@link MAX_DEAD_LIMIT}.
 */
function parseLimit(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const limit = /^\d{1,6}$/.test(value) ? Number(value) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_DEAD_LIMIT)) {
    throw new UsageError(
      `--limit must be a whole number from 1 to ${MAX_DEAD_LIMIT}, got ${JSON.stringify(value)}`,
    );
  }
  return limit;
}

/**
 * `sluice dead`: lists a stream's dead batches, those that ran out of delivery retries and wait
 * in its dead set for `sluice replay --type dead`.
 */

const OPTIONS = {
  stream: {
    type: 'string',
    value: '<name>',
    required: true,
    doc: 'Stream whose dead batches are listed.',
  },
  limit: {
    type: 'string',
    value: '<n>',
    doc: `Most batches to list, oldest first (1 to ${MAX_DEAD_LIMIT}; default ${DEFAULT_DEAD_LIMIT}).`,
  },
  json: { type: 'boolean', doc: 'Print the batches as JSON.' },
  ...CONNECTION_OPTIONS,
} as const;

/** The `dead` subcommand. */
export const deadCommand = defineCommand({
  name: 'dead',
  summary: "List a stream's dead batches (delivery retries exhausted).",
  usage: 'sluice dead --stream <name> [options]',
  description: [
    'Lists the batches of a stream that ran out of delivery retries: their id, records, bytes, when they died (UTC) and why. Replay them with sluice replay --stream <name> --type dead.',
  ],
  options: OPTIONS,
  examples: [
    'sluice dead --stream clicks',
    'sluice dead --stream clicks --limit 50',
    'sluice dead --stream clicks --json',
  ],
  async run(options, io) {
    const stream = checkStreamName(options.stream, '--stream');
    const { client } = connectAdmin(options, io);
    const batches = await client.listDead(stream, parseLimit(options.limit));
    if (options.json) {
      io.stdout.write(`${JSON.stringify({ stream, batches }, null, 2)}\n`);
      return EXIT_OK;
    }
    if (batches.length === 0) {
      io.stdout.write(`No dead batches in ${stream}.\n`);
      return EXIT_OK;
    }
    io.stdout.write(
      renderTable(
        [
          { header: 'BATCH ID', align: 'left' },
          { header: 'RECORDS', align: 'right' },
          { header: 'BYTES', align: 'right' },
          { header: 'DEAD AT', align: 'left' },
          { header: 'REASON', align: 'left' },
        ],
        batches.map((batch) => [
          batch.batchId,
          formatCount(batch.records),
          formatCount(batch.bytes),
          formatIso(batch.deadAtMs),
          batch.reason,
        ]),
      ),
    );
    return EXIT_OK;
  },
});
