import { EXIT_OK } from './cli-error.js';
import { defineCommand } from './command.js';
import { CONNECTION_OPTIONS } from './connection-options.js';
import { withStreamHint } from './firehose-client.js';
import { connectFirehose } from './firehose-connection.js';
import { countOf, formatCount } from './format.js';
import { fetchMetrics } from './metrics-client.js';
import { statsByStream, type StreamStats } from './stream-stats.js';
import { checkStreamName } from './stream-name.js';
import { renderTable } from './table.js';

/**
 * `sluice stats [--stream <name>]`: what streams took in, delivered, hold and failed, read
 * from `GET /metrics` (the deployment's totals, the same from every Sluice process).
 */

const OPTIONS = {
  stream: {
    type: 'string',
    value: '<name>',
    doc: 'Show this stream in detail. Default: a table of every stream.',
  },
  json: { type: 'boolean', doc: 'Print the figures as JSON.' },
  ...CONNECTION_OPTIONS,
} as const;

/** The `stats` command. */
export const statsCommand = defineCommand({
  name: 'stats',
  summary: 'Show what streams took in, delivered, hold and failed.',
  usage: 'sluice stats [--stream <name>] [options]',
  description: [
    "Reads Sluice's GET /metrics (no signature needed) and shows, per stream: records and bytes put in, records and bytes delivered, the backlog (accepted, not yet delivered), batches in the dead set, and records written to the error output by type. Counts are since the stream was created; the same from whichever Sluice process answers.",
    'Exit codes: 0 done, 1 failed (Sluice not reachable, metrics turned off with SLUICE_METRICS=false, no such stream), 2 wrong command line.',
  ],
  options: OPTIONS,
  examples: ['sluice stats', 'sluice stats --stream clicks', 'sluice stats --stream clicks --json'],
  async run(options, io) {
    const stream =
      options.stream === undefined ? undefined : checkStreamName(options.stream, '--stream');
    const { client, endpoint } = connectFirehose(options, io);
    let status: string | undefined;
    if (stream !== undefined) {
      // A stream without traffic has no counters yet; Describe tells it from one that is not there.
      try {
        const answer = await client.call('DescribeDeliveryStream', { DeliveryStreamName: stream });
        const description = answer.DeliveryStreamDescription as Record<string, unknown> | undefined;
        const value = description?.DeliveryStreamStatus;
        status = typeof value === 'string' ? value : '';
      } catch (err) {
        throw withStreamHint(err, stream);
      }
    }
    const all = statsByStream(await fetchMetrics(endpoint));
    if (stream === undefined) {
      if (options.json) {
        io.stdout.write(`${JSON.stringify({ streams: all }, null, 2)}\n`);
      } else if (all.length === 0) {
        io.stdout.write('No delivery streams.\n');
      } else {
        io.stdout.write(renderOverview(all));
      }
      return EXIT_OK;
    }
    const stats = all.find((s) => s.stream === stream) ?? emptyStats(stream);
    if (options.json) {
      io.stdout.write(`${JSON.stringify({ ...stats, status }, null, 2)}\n`);
    } else {
      io.stdout.write(renderDetail(stats, status ?? ''));
    }
    return EXIT_OK;
  },
});

function emptyStats(stream: string): StreamStats {
  // Same figures as a stream whose series are all zero.
  return statsByStream([
    { name: 'sluice_backlog_records', labels: { stream }, value: 0 },
  ])[0] as StreamStats;
}

function renderOverview(all: readonly StreamStats[]): string {
  return renderTable(
    [
      { header: 'STREAM', align: 'left' },
      { header: 'IN RECORDS', align: 'right' },
      { header: 'IN BYTES', align: 'right' },
      { header: 'DELIVERED', align: 'right' },
      { header: 'DELIVERED BYTES', align: 'right' },
      { header: 'BACKLOG', align: 'right' },
      { header: 'DEAD BATCHES', align: 'right' },
      { header: 'ERROR OUTPUT', align: 'right' },
    ],
    all.map((s) => [
      s.stream,
      formatCount(s.incomingRecords),
      formatCount(s.incomingBytes),
      formatCount(s.deliveredRecords),
      formatCount(s.deliveredBytes),
      formatCount(s.backlogRecords),
      formatCount(s.deadSetBatches),
      formatCount(s.errorOutputRecords),
    ]),
  );
}

/** `1 batch`, `3 batches`. */
function batchesOf(n: number): string {
  return `${formatCount(n)} ${n === 1 ? 'batch' : 'batches'}`;
}

function renderDetail(s: StreamStats, status: string): string {
  const types = Object.entries(s.errorOutputByType).sort(([a], [b]) => (a < b ? -1 : 1));
  const lines = [
    `Stream ${s.stream} (${status}${s.destinations.length > 0 ? `, ${s.destinations.join(', ')}` : ''})`,
    `  Incoming:      ${countOf(s.incomingRecords, 'record')}, ${countOf(s.incomingBytes, 'byte')} in ${countOf(s.incomingPutRequests, 'put request')}; ${countOf(s.throttledRecords, 'record')} throttled`,
    `  Delivered:     ${countOf(s.deliveredRecords, 'record')}, ${countOf(s.deliveredBytes, 'byte')}; ${batchesOf(s.batchesCompleted)} completed, ${`${formatCount(s.deliveryRetries)} ${s.deliveryRetries === 1 ? 'retry' : 'retries'}`}`,
    `  Backlog:       ${countOf(s.backlogRecords, 'record')}, ${countOf(s.backlogBytes, 'byte')}; oldest unsealed ${s.openBufferAgeSeconds.toFixed(1)} s`,
    `  Dead set:      ${batchesOf(s.deadSetBatches)} now; ${batchesOf(s.deadLetteredBatches)} (${countOf(s.deadLetteredRecords, 'record')}) dead-lettered in all`,
    `  Error output:  ${countOf(s.errorOutputRecords, 'record')}${types.length === 0 ? '' : ':'}`,
    ...types.map(([type, n]) => `    ${type}: ${countOf(n, 'record')}`),
  ];
  return `${lines.join('\n')}\n`;
}
