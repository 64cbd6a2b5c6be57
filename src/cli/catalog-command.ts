import { readFile } from 'node:fs/promises';
import { inferTable } from '../formats/parquet/schema-inference.js';
import { formatTableFile } from '../formats/parquet/table-catalog.js';
import { renderHelp, type HelpText } from './args.js';
import { EXIT_FAILURE, EXIT_OK, UsageError } from './cli-error.js';
import type { CliCommand } from './command.js';

/**
 * `sluice catalog infer <file>`: proposes a table file of the local table catalog from sample
 * records, for `DataFormatConversionConfiguration`. The table goes to stdout (redirect it to
 * `<SLUICE_CATALOG_DIR>/<database>/<table>.json`); what it guessed goes to stderr.
 */

const HELP: HelpText = {
  usage: 'sluice catalog infer <file>',
  description: [
    'Reads sample records — one JSON object per non-empty line (NDJSON) — and prints a table file for the local table catalog: every key seen becomes a column, typed by every value seen for it (int, bigint, double, boolean, date, timestamp, string, array<…>, struct<…>). Review it: a proposal from samples cannot know a column that the samples lack, or a map<…> that looks like a struct.',
    "Save it as <SLUICE_CATALOG_DIR>/<database>/<table>.json and name database and table in the stream's DataFormatConversionConfiguration.SchemaConfiguration. Notes (keys renamed, types guessed) go to stderr, with the OpenX SerDe ColumnToJsonKeyMappings for renamed keys.",
    'Exit codes: 0 a table was proposed, 1 the file holds no JSON object, 2 a wrong command line or a file that cannot be read.',
  ],
  options: {},
  examples: ['sluice catalog infer samples/clicks.ndjson > catalog/weblogs/clicks.json'],
};

/** The JSON values of the file's non-empty lines; lines that are not JSON are counted. */
function valuesOf(text: string): { values: unknown[]; unreadable: number } {
  const values: unknown[] = [];
  let unreadable = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      values.push(JSON.parse(line));
    } catch {
      unreadable += 1;
    }
  }
  return { values, unreadable };
}

/** The `catalog` command. */
export const catalogCommand: CliCommand = {
  name: 'catalog',
  summary: 'Propose a table file for format conversion from sample records',
  help: () => renderHelp(HELP),
  async run(argv, io) {
    const [subcommand, ...rest] = argv;
    if (subcommand !== 'infer') {
      throw new UsageError(
        subcommand === undefined
          ? 'missing subcommand: sluice catalog infer <file>'
          : `unknown subcommand ${JSON.stringify(subcommand)}: the one there is is infer (sluice catalog infer <file>)`,
      );
    }
    if (rest.length !== 1 || (rest[0] as string).startsWith('--')) {
      throw new UsageError(`expected one file of sample records: sluice catalog infer <file>`);
    }
    const file = rest[0] as string;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
    }
    const { values, unreadable } = valuesOf(text);
    const inferred = inferTable(values);
    const skipped = inferred.skipped + unreadable;
    if (inferred.table.columns.length === 0) {
      io.stderr.write(
        `${file}: no JSON object with a key in ${values.length + unreadable} non-empty lines; nothing to propose\n`,
      );
      return EXIT_FAILURE;
    }
    io.stdout.write(formatTableFile(inferred.table));
    const lines = [
      `proposed ${inferred.table.columns.length} columns from ${inferred.records} records${skipped === 0 ? '' : skipped === 1 ? ' (1 line that is not a JSON object skipped)' : ` (${skipped} lines that are not JSON objects skipped)`}`,
      ...inferred.notes.map((note) => `note: ${note}`),
    ];
    const mapped = Object.entries(inferred.mappings);
    if (mapped.length > 0) {
      lines.push(
        `note: ${mapped.map(([column, key]) => `key ${JSON.stringify(key)} is column ${column}`).join(', ')}; with the OpenX JSON SerDe, map them: "ColumnToJsonKeyMappings": ${JSON.stringify(inferred.mappings)}`,
      );
    }
    io.stderr.write(`${lines.join('\n')}\n`);
    return EXIT_OK;
  },
};
