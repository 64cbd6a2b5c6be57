import { setTimeout as sleep } from 'node:timers/promises';
import {
  AdminApiError,
  type AdminClient,
  type ReplayCandidate,
  type ReplayResult,
} from './admin-client.js';
import { CliError, EXIT_OK, UsageError } from './cli-error.js';
import { defineCommand, type CliIo } from './command.js';
import { CONNECTION_OPTIONS, connectAdmin } from './connection-options.js';
import { ProgressBar } from './progress-bar.js';
import {
  ALREADY_REPLAYED,
  renderDryRunTable,
  renderJsonReport,
  renderSummary,
  type ItemOutcome,
  type ReplayReport,
} from './replay-summary.js';
import { selectAll } from './replay-selection.js';
import { checkStreamName } from './stream-name.js';
import { parseTimeArg, TIME_FORMS } from './time-arg.js';
import { ErrorOutputTypeSchema } from '../error-output/error-records.js';

/**
 * `sluice replay`: puts the records of a stream's error output and dead batches back into a
 * stream. The server picks the selection and marks what it replays; the CLI replays item by item
 * so progress shows and a failure stops with everything before it done and recorded: running the
 * same command again continues where it stopped, because replayed items are skipped.
 */

/** What `--type` accepts: Firehose's error-output types, and `dead` for dead batches. */
export const REPLAY_TYPES: readonly string[] = [...ErrorOutputTypeSchema.options, 'dead'];

const OPTIONS = {
  stream: {
    type: 'string',
    value: '<name>',
    required: true,
    doc: 'Stream whose error output and dead batches are replayed.',
  },
  to: {
    type: 'string',
    value: '<name>',
    doc: 'Stream the records are put into. Default: the --stream itself.',
  },
  type: {
    type: 'string',
    value: '<type>',
    doc: `Replay only this kind: ${REPLAY_TYPES.join(', ')} (dead batches). Default: all.`,
  },
  since: {
    type: 'string',
    value: '<time>',
    doc: `Only what failed at or after this time: ${TIME_FORMS}.`,
  },
  until: {
    type: 'string',
    value: '<time>',
    doc: 'Only what failed at or before this time; same forms.',
  },
  'dry-run': {
    type: 'boolean',
    doc: 'List what would be replayed and skipped; replay nothing.',
  },
  json: { type: 'boolean', doc: 'Print the summary as JSON.' },
  ...CONNECTION_OPTIONS,
} as const;

/** The `replay` subcommand. */
export const replayCommand = defineCommand({
  name: 'replay',
  summary: "Replay a stream's failed records (error output, dead batches) into a stream.",
  usage: 'sluice replay --stream <name> [options]',
  description: [
    "Replays records that could not be delivered: the objects of the stream's error output and its dead batches (batches that ran out of delivery retries). Their records are put into the --to stream again, item by item, and each item is marked as replayed.",
    'Items replayed before are skipped and counted, so a replay that stopped half-way (Ctrl-C, a failure) continues where it stopped when run again. A progress bar is drawn on stderr when it is a terminal.',
  ],
  options: OPTIONS,
  examples: [
    'sluice replay --stream clicks --dry-run',
    'sluice replay --stream clicks --type processing-failed --since 2h',
    'sluice replay --stream clicks --to clicks-backfill --since 2024-05-01T00:00:00Z --until 2024-05-02T00:00:00Z',
    'sluice replay --stream clicks --type dead --json',
  ],
  async run(options, io) {
    const stream = checkStreamName(options.stream, '--stream');
    const to = checkStreamName(options.to ?? options.stream, '--to');
    const type = checkType(options.type);
    const nowMs = Date.now();
    const sinceMs =
      options.since === undefined ? undefined : parseTimeArg(options.since, '--since', nowMs);
    const untilMs =
      options.until === undefined ? undefined : parseTimeArg(options.until, '--until', nowMs);
    if (sinceMs !== undefined && untilMs !== undefined && sinceMs > untilMs) {
      throw new UsageError(
        `--since (${new Date(sinceMs).toISOString()}) must not be after --until (${new Date(untilMs).toISOString()})`,
      );
    }
    const { client } = connectAdmin(options, io);

    const selection = await selectAll(client, { stream, type, sinceMs, untilMs });
    const write = (text: string) => io.stdout.write(text);

    if (options['dry-run']) {
      const report: ReplayReport = {
        stream,
        to,
        dryRun: true,
        outcomes: selection.map((item): ItemOutcome =>
          item.replayed
            ? { kind: 'skipped', item, reason: ALREADY_REPLAYED }
            : { kind: 'to-replay', item },
        ),
      };
      if (options.json) {
        write(renderJsonReport(report));
      } else {
        const table = renderDryRunTable(report);
        write(table === '' ? '' : `${table}\n`);
        write(renderSummary(report));
      }
      return EXIT_OK;
    }

    const { outcomes, failure } = await replayAll(client, selection, stream, to, io);
    const report: ReplayReport = { stream, to, dryRun: false, outcomes };
    write(
      options.json
        ? renderJsonReport(report, failure && { code: failure.code, message: failure.message })
        : renderSummary(report),
    );
    if (failure !== undefined) {
      throw new CliError(
        `replay stopped at item ${failure.id}: ${failure.message}. Items replayed before it stay replayed; run the same command again to continue.`,
        { cause: failure.cause },
      );
    }
    return EXIT_OK;
  },
});

/** `--type`, checked; `undefined` when not given. */
function checkType(type: string | undefined): string | undefined {
  if (type === undefined || REPLAY_TYPES.includes(type)) return type;
  throw new UsageError(`--type ${JSON.stringify(type)} is not one of ${REPLAY_TYPES.join(', ')}`);
}

/** The replay's one failure: the item it stopped at and why. */
interface ReplayFailure {
  readonly id: string;
  readonly code: string;
  readonly message: string;
  readonly cause: unknown;
}

/**
 * Replays the selection's items that are not replayed yet, one request each, in the selection's
 * order, drawing progress; stops at the first failure.
 */
async function replayAll(
  client: AdminClient,
  selection: readonly ReplayCandidate[],
  stream: string,
  to: string,
  io: CliIo,
): Promise<{ outcomes: ItemOutcome[]; failure: ReplayFailure | undefined }> {
  const pending = selection.filter((item) => !item.replayed);
  const bar = new ProgressBar(io.stderr, io.isTTY, {
    records: pending.reduce((sum, item) => sum + item.records, 0),
    items: pending.length,
  });
  const done = { records: 0, items: 0 };
  const outcomes: ItemOutcome[] = [];
  let failure: ReplayFailure | undefined;
  if (pending.length > 0) bar.update(done);
  try {
    for (const item of selection) {
      if (item.replayed) {
        outcomes.push({ kind: 'skipped', item, reason: ALREADY_REPLAYED });
        continue;
      }
      if (failure !== undefined) {
        outcomes.push({ kind: 'not-replayed', item });
        continue;
      }
      try {
        const { result, resumed } = await replayItem(client, { stream, to, id: item.id });
        // A resumed call counts only what it appended itself; the item's own count is the whole.
        const records = resumed ? Math.max(result.records, item.records) : result.records;
        outcomes.push(
          result.skipped === undefined
            ? { kind: 'replayed', item, records }
            : { kind: 'skipped', item, reason: result.skipped },
        );
      } catch (err) {
        if (!(err instanceof CliError)) throw err;
        const code = err instanceof AdminApiError ? err.code : 'Error';
        failure = { id: item.id, code, message: err.message, cause: err };
        outcomes.push({ kind: 'failed', item, error: err.message });
        continue;
      }
      done.records += item.records;
      done.items += 1;
      bar.update(done);
    }
  } finally {
    // Also when something unexpected is thrown: the error message must not land on the bar's line.
    bar.finish();
  }
  return { outcomes, failure };
}

/**
 * Waits before each new try of an item the server refused for a passing reason (see
 * {@link PASSING_REFUSALS}): it resumes such an item without duplicates when the same call comes
 * again within 60 s, so the waits add up to less than that.
 */
const BACKPRESSURE_WAITS_MS = [500, 1_000, 2_000, 4_000, 8_000, 16_000];

/**
 * Refusals worth another try: the target's buffers are full (`Backpressure`), or too few Redis
 * replicas confirmed a chunk (`NotReplicated`).
 */
const PASSING_REFUSALS: ReadonlySet<string> = new Set(['Backpressure', 'NotReplicated']);

/**
 * Replays one item, trying again after passing refusals.
 *
 * @returns the server's answer, and whether an earlier try had appended part of the item.
 */
async function replayItem(
  client: AdminClient,
  request: { stream: string; to: string; id: string },
): Promise<{ result: ReplayResult; resumed: boolean }> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return { result: await client.replayItem(request), resumed: attempt > 0 };
    } catch (err) {
      const wait = BACKPRESSURE_WAITS_MS[attempt];
      if (!(err instanceof AdminApiError && PASSING_REFUSALS.has(err.code)) || wait === undefined) {
        throw err;
      }
      await sleep(wait);
    }
  }
}
