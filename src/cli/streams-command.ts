import { renderHelp, type HelpText } from './args.js';
import { CliError, EXIT_OK, UsageError } from './cli-error.js';
import type { CliCommand, CliIo } from './command.js';
import { CONNECTION_OPTIONS } from './connection-options.js';
import { readCreateRequests } from './create-requests-file.js';
import { renderDescription } from './description-text.js';
import { FirehoseApiError, withStreamHint, type FirehoseClient } from './firehose-client.js';
import { connectFirehose } from './firehose-connection.js';
import { formatIso } from './format.js';
import { parseWithPositionals } from './positionals.js';
import { checkStreamName } from './stream-name.js';
import { renderTable } from './table.js';

/**
 * `sluice streams list | describe <name> | create --file <json> | delete <name>`: the control
 * plane through the Firehose API itself (ListDeliveryStreams, DescribeDeliveryStream,
 * CreateDeliveryStream, DeleteDeliveryStream), as tables and text, or the API's JSON.
 */

const JSON_OPTION = {
  json: { type: 'boolean', doc: "Print the Firehose API's JSON answer(s)." },
} as const;
const NAME_OPTIONS = { ...JSON_OPTION, ...CONNECTION_OPTIONS } as const;
const CREATE_OPTIONS = {
  file: {
    type: 'string',
    value: '<json>',
    doc: 'create: a file of one CreateDeliveryStream request, or {"DeliveryStreams": [...]} as SLUICE_CONFIG takes.',
  },
  ...NAME_OPTIONS,
} as const;

/** ListDeliveryStreams' largest page. */
const LIST_PAGE = 10_000;
/** Describe calls `list` makes at once for its table. */
const DESCRIBE_CONCURRENCY = 8;

const HELP: HelpText = {
  usage: 'sluice streams <list | describe <name> | create --file <json> | delete <name>> [options]',
  description: [
    "Manages delivery streams through Sluice's Firehose API, as any Firehose client would.",
    'list: every stream with its status, destination and creation time (UTC). describe <name>: all of its settings. create --file <json>: creates the stream(s) of the file, in order, stopping at the first the server refuses. delete <name>: the stream takes no more records, and is removed once its buffered records are delivered.',
    'Exit codes: 0 done, 1 failed (Sluice not reachable, no such stream, a request refused), 2 wrong command line or a --file that cannot be read or is not JSON.',
  ],
  options: CREATE_OPTIONS,
  examples: [
    'sluice streams list',
    'sluice streams describe clicks',
    'sluice streams create --file streams.json',
    'sluice streams delete clicks --json',
  ],
};

const SUBCOMMANDS = ['list', 'describe', 'create', 'delete'] as const;

/** The `streams` command. */
export const streamsCommand: CliCommand = {
  name: 'streams',
  summary: 'List, describe, create and delete delivery streams.',
  help: () => renderHelp(HELP),
  async run(argv, io) {
    const [subcommand, ...rest] = argv;
    switch (subcommand) {
      case 'list':
        return list(rest, io);
      case 'describe':
        return describe(rest, io);
      case 'create':
        return create(rest, io);
      case 'delete':
        return remove(rest, io);
      default:
        throw new UsageError(
          subcommand === undefined
            ? `missing subcommand: one of ${SUBCOMMANDS.join(', ')}`
            : `unknown subcommand ${JSON.stringify(subcommand)}: one of ${SUBCOMMANDS.join(', ')}`,
        );
    }
  },
};

function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** The one `<name>` a subcommand takes. */
function nameArgument(positionals: readonly string[], subcommand: string): string {
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? `missing stream name: sluice streams ${subcommand} <name>`
        : `expected one stream name, got ${positionals.length}: sluice streams ${subcommand} <name>`,
    );
  }
  return checkStreamName(positionals[0] as string, '<name>');
}

function noPositionals(positionals: readonly string[]): void {
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  }
}

/** Every stream name, page after page. */
async function allNames(client: FirehoseClient): Promise<string[]> {
  const names: string[] = [];
  for (;;) {
    const last = names.at(-1);
    const page = await client.call('ListDeliveryStreams', {
      Limit: LIST_PAGE,
      ...(last === undefined ? {} : { ExclusiveStartDeliveryStreamName: last }),
    });
    const pageNames = Array.isArray(page.DeliveryStreamNames)
      ? page.DeliveryStreamNames.filter((n): n is string => typeof n === 'string')
      : [];
    names.push(...pageNames);
    if (page.HasMoreDeliveryStreams !== true || pageNames.length === 0) return names;
  }
}

async function describeStream(
  client: FirehoseClient,
  name: string,
): Promise<Record<string, unknown>> {
  const answer = await client.call('DescribeDeliveryStream', { DeliveryStreamName: name });
  const description = answer.DeliveryStreamDescription;
  if (description === null || typeof description !== 'object' || Array.isArray(description)) {
    throw new CliError(`DescribeDeliveryStream answered without a DeliveryStreamDescription`);
  }
  return description as Record<string, unknown>;
}

/** The destination kind of a description: its first `…DestinationDescription` member. */
function destinationOf(description: Record<string, unknown>): string {
  const destinations = Array.isArray(description.Destinations) ? description.Destinations : [];
  const first = destinations[0] as Record<string, unknown> | undefined;
  const key = Object.keys(first ?? {}).find((k) => k.endsWith('DestinationDescription'));
  return key === undefined ? '-' : key.replace(/DestinationDescription$/, '');
}

async function list(argv: readonly string[], io: CliIo): Promise<number> {
  const { positionals, options } = parseWithPositionals(NAME_OPTIONS, argv);
  noPositionals(positionals);
  const { client } = connectFirehose(options, io);
  const names = await allNames(client);
  if (options.json) {
    writeJson(io, { DeliveryStreamNames: names, HasMoreDeliveryStreams: false });
    return EXIT_OK;
  }
  if (names.length === 0) {
    io.stdout.write(
      "No delivery streams. Create one with 'sluice streams create --file <json>'.\n",
    );
    return EXIT_OK;
  }
  const rows: (string[] | undefined)[] = new Array<string[] | undefined>(names.length);
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const index = next++;
      const name = names[index] as string;
      try {
        const d = await describeStream(client, name);
        rows[index] = [
          name,
          typeof d.DeliveryStreamStatus === 'string' ? d.DeliveryStreamStatus : '-',
          destinationOf(d),
          typeof d.CreateTimestamp === 'number' ? formatIso(d.CreateTimestamp * 1000) : '-',
        ];
      } catch (err) {
        // Deleted between the list and the describe: it is gone, so it is not listed.
        if (!(err instanceof FirehoseApiError && err.code === 'ResourceNotFoundException')) {
          throw err;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: DESCRIBE_CONCURRENCY }, worker));
  io.stdout.write(
    renderTable(
      [
        { header: 'NAME', align: 'left' },
        { header: 'STATUS', align: 'left' },
        { header: 'DESTINATION', align: 'left' },
        { header: 'CREATED', align: 'left' },
      ],
      rows.filter((row): row is string[] => row !== undefined),
    ),
  );
  return EXIT_OK;
}

async function describe(argv: readonly string[], io: CliIo): Promise<number> {
  const { positionals, options } = parseWithPositionals(NAME_OPTIONS, argv);
  const name = nameArgument(positionals, 'describe');
  const { client } = connectFirehose(options, io);
  let description: Record<string, unknown>;
  try {
    description = await describeStream(client, name);
  } catch (err) {
    throw withStreamHint(err, name);
  }
  if (options.json) writeJson(io, { DeliveryStreamDescription: description });
  else io.stdout.write(renderDescription(description));
  return EXIT_OK;
}

async function create(argv: readonly string[], io: CliIo): Promise<number> {
  const { positionals, options } = parseWithPositionals(CREATE_OPTIONS, argv);
  noPositionals(positionals);
  if (options.file === undefined) throw new UsageError('missing --file <json>');
  const requests = await readCreateRequests(options.file);
  const { client } = connectFirehose(options, io);
  const created: { DeliveryStreamName: string; DeliveryStreamARN: unknown }[] = [];
  for (const { name, label, request } of requests) {
    let answer: Record<string, unknown>;
    try {
      answer = await client.call('CreateDeliveryStream', request);
    } catch (err) {
      if (options.json) writeJson(io, { created });
      const before =
        created.length === 0
          ? 'nothing was created'
          : `created before it: ${created.map((c) => c.DeliveryStreamName).join(', ')}`;
      const exists =
        err instanceof FirehoseApiError && err.code === 'ResourceInUseException'
          ? " (it exists already: 'sluice streams delete' it first, or leave it out of the file)"
          : '';
      throw new CliError(
        `stream ${JSON.stringify(name)} (${label}) was not created: ${(err as Error).message}${exists}; ${before}`,
        { cause: err },
      );
    }
    created.push({ DeliveryStreamName: name, DeliveryStreamARN: answer.DeliveryStreamARN });
    if (!options.json) {
      io.stdout.write(`Created stream ${name} (${String(answer.DeliveryStreamARN)}).\n`);
    }
  }
  if (options.json) writeJson(io, { created });
  return EXIT_OK;
}

async function remove(argv: readonly string[], io: CliIo): Promise<number> {
  const { positionals, options } = parseWithPositionals(NAME_OPTIONS, argv);
  const name = nameArgument(positionals, 'delete');
  const { client } = connectFirehose(options, io);
  let answer: Record<string, unknown>;
  try {
    answer = await client.call('DeleteDeliveryStream', { DeliveryStreamName: name });
  } catch (err) {
    throw withStreamHint(err, name);
  }
  if (options.json) writeJson(io, answer);
  else {
    io.stdout.write(
      `Deleting stream ${name}: it takes no more records, and is removed once its buffered records are delivered.\n`,
    );
  }
  return EXIT_OK;
}
