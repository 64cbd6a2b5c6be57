import { EXIT_OK } from './cli-error.js';
import { defineCommand } from './command.js';
import { CONNECTION_OPTIONS, connectAdmin } from './connection-options.js';
import { formatCount, formatIso } from './format.js';
import { checkStreamName } from './stream-name.js';
import { renderTable } from './table.js';

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
  examples: ['sluice dead --stream clicks', 'sluice dead --stream clicks --json'],
  async run(options, io) {
    const stream = checkStreamName(options.stream, '--stream');
    const { client } = connectAdmin(options, io);
    const batches = await client.listDead(stream);
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
