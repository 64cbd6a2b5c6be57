import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pino, type DestinationStream } from 'pino';
import { SETTINGS } from '../config/env.js';
import type { Logger } from '../telemetry/logger.js';
import {
  TransformHost,
  TransformLoadError,
  describeTransformRef,
} from '../processors/transforms/transform-host.js';
import {
  LOCAL_TRANSFORM_PREFIX,
  parseLambdaArn,
  resolveLocalTransform,
  type TransformRef,
} from '../processors/transforms/transform-ref.js';
import type {
  TransformInput,
  TransformRecordOutcome,
} from '../processors/transforms/transform-records.js';
import { parseOptions, renderHelp, type HelpText } from './args.js';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './cli-error.js';
import type { CliCommand, CliIo } from './command.js';
import {
  renderJsonReport,
  renderTextReport,
  type TestedRecord,
  type TransformTestReport,
} from './transform-test-report.js';

/**
 * `sluice transform test <name|url> <file>`: runs a transform over a file of sample records,
 * in this process, through the same transform host the service uses (one worker thread), and
 * shows what it made of each record, which Lambda contract rules it broke, and how long it took.
 * No Sluice needs to be running.
 */

/** Invocations stay within Firehose's default Lambda BufferSizeInMBs. */
const INVOCATION_BYTES = 1024 * 1024;
/** The stream the transform is told its records come from. */
const TEST_STREAM = 'transform-test';

const OPTIONS = {
  dir: {
    type: 'string',
    value: '<dir>',
    doc: 'Transforms directory the name is looked up in. Default: SLUICE_TRANSFORMS_DIR, else ./transforms.',
  },
  json: { type: 'boolean', doc: 'Print one JSON document instead of text.' },
  base64: {
    type: 'boolean',
    doc: 'Each line of the file is the base64 of a record (for binary records).',
  },
} as const;

const HELP: HelpText = {
  usage: 'sluice transform test <name|url> <file> [options]',
  description: [
    'Runs a transform over sample records and shows, per record, its result, its new data (as text, escaped where it is not printable UTF-8) and its partition keys; then the Lambda contract violations by code and the timing. The transform runs here, in a worker thread as in the service (timeout SLUICE_TRANSFORM_TIMEOUT_SECONDS, heap limit SLUICE_TRANSFORM_MEMORY_MB); no Sluice needs to be running.',
    '<name|url> is a transform in the transforms directory (<name>.ts, .mts, .js or .mjs; sluice:transform:<name> works too) or the http(s):// URL of a remote transform. <file> holds one record per non-empty line (NDJSON or plain text, without the line break).',
    'Exit codes: 0 every record Ok or Dropped, 1 some record ProcessingFailed (including contract violations), 2 a wrong command line or a transform that cannot be loaded.',
  ],
  options: OPTIONS,
  examples: [
    'sluice transform test filter-enrich-json samples/events.ndjson',
    'sluice transform test parse-access-log access.log --dir ./transforms --json',
    'sluice transform test http://127.0.0.1:8080/transform samples/events.ndjson',
  ],
};

/** A transform that cannot be loaded: the user's to fix, like a wrong command line. */
class TransformUnloadableError extends CliError {
  override readonly exitCode: number = EXIT_USAGE;
}

/** `argv` split into the positional arguments and the options (with their values). */
function splitArguments(argv: readonly string[]): { positionals: string[]; options: string[] } {
  const positionals: string[] = [];
  const options: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    options.push(arg);
    const name = arg.slice(2);
    const spec = Object.hasOwn(OPTIONS, name) ? OPTIONS[name as keyof typeof OPTIONS] : undefined;
    // A string option's value is the next argument (parseOptions checks it is there).
    if (spec?.type === 'string' && i + 1 < argv.length) options.push(argv[(i += 1)] as string);
  }
  return { positionals, options };
}

/** The transform the user named: a name, `sluice:transform:<name>`, or a URL. */
function transformRefOf(target: string): TransformRef {
  const arn = /^[a-z][a-z0-9+.-]*:/i.test(target) ? target : `${LOCAL_TRANSFORM_PREFIX}${target}`;
  try {
    return parseLambdaArn(arn);
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^LambdaArn/, 'transform'));
  }
}

/** A setting's value from the environment, checked as the service checks it. */
function setting<K extends 'SLUICE_TRANSFORM_TIMEOUT_SECONDS' | 'SLUICE_TRANSFORM_MEMORY_MB'>(
  env: CliIo['env'],
  name: K,
): number {
  const entry = SETTINGS[name];
  const parsed = entry.schema.safeParse(env[name] ?? entry.default);
  if (!parsed.success) {
    throw new UsageError(`${name}: ${parsed.error.issues[0]?.message ?? 'invalid value'}`);
  }
  return parsed.data;
}

/** The records of the sample file: one per non-empty line. */
async function readSamples(
  file: string,
  base64: boolean,
): Promise<{ line: number; data: Buffer }[]> {
  let content: Buffer;
  try {
    content = await readFile(file);
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const samples: { line: number; data: Buffer }[] = [];
  let start = 0;
  for (let line = 1; start <= content.length; line += 1) {
    let end = content.indexOf(0x0a, start);
    if (end < 0) end = content.length;
    let data = content.subarray(start, end);
    if (data.at(-1) === 0x0d) data = data.subarray(0, -1);
    start = end + 1;
    if (data.length === 0) continue;
    if (base64) {
      const text = data.toString('latin1').trim();
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
        throw new UsageError(
          `${file} line ${line} is not base64 (--base64 takes one base64 record a line)`,
        );
      }
      data = Buffer.from(text, 'base64');
    }
    samples.push({ line, data });
  }
  if (samples.length === 0)
    throw new UsageError(`${file} has no records: put one record on each line`);
  return samples;
}

/** Consecutive records up to {@link INVOCATION_BYTES} each, at least one. */
function invocationsOf(records: readonly TransformInput[]): TransformInput[][] {
  const groups: TransformInput[][] = [];
  let group: TransformInput[] = [];
  let bytes = 0;
  for (const record of records) {
    if (group.length > 0 && bytes + record.data.length > INVOCATION_BYTES) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(record);
    bytes += record.data.length;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * A logger that shows on stderr what the transform prints; the host's other messages are about
 * records the report shows anyway.
 */
function transformOutputLogger(io: CliIo): Logger {
  const destination: DestinationStream = {
    write(line: string) {
      const entry = JSON.parse(line) as { msg?: string; output?: string; suppressed?: number };
      if (entry.output !== undefined) io.stderr.write(`[transform] ${entry.output}\n`);
      else if (entry.suppressed !== undefined)
        io.stderr.write(`[transform] (${entry.msg ?? ''})\n`);
    },
  };
  return pino({ level: 'info' }, destination);
}

/** Why a transform does not load, and what to do, for the user. */
function unloadable(error: TransformLoadError, dir: string): TransformUnloadableError {
  if (error.code === 'Lambda.ResourceNotFound') {
    return new TransformUnloadableError(
      `no transform '${error.transform}' in ${dir}: expected ${error.transform}.ts, .mts, .js or .mjs there. Check the name, or point --dir (or SLUICE_TRANSFORMS_DIR) at your transforms directory.`,
    );
  }
  return new TransformUnloadableError(
    `${error.file ?? error.transform} cannot be loaded: ${error.reason}. Fix it and run this again.`,
  );
}

/** Runs the transform over the samples: the report, timing included. */
async function runTest(
  ref: TransformRef,
  dir: string,
  samples: readonly { line: number; data: Buffer }[],
  io: CliIo,
): Promise<Omit<TransformTestReport, 'input'>> {
  const region = io.env.SLUICE_REGION ?? SETTINGS.SLUICE_REGION.default;
  const host = new TransformHost({
    transformsDir: dir,
    workers: 1,
    timeoutMs: setting(io.env, 'SLUICE_TRANSFORM_TIMEOUT_SECONDS') * 1000,
    memoryLimitMb: setting(io.env, 'SLUICE_TRANSFORM_MEMORY_MB'),
    log: transformOutputLogger(io),
    region,
  });
  const options = {
    // Each failure shows at once: the report is about the transform, not about retrying it.
    numberOfRetries: 0,
    streamName: TEST_STREAM,
    streamArn: `arn:aws:firehose:${region}:000000000000:deliverystream/${TEST_STREAM}`,
  };
  const arrivalMs = Date.now();
  const inputs = samples.map(({ line, data }) => ({ id: String(line), arrivalMs, data }));
  try {
    let loadMs: number | undefined;
    if (ref.kind === 'local') {
      const started = performance.now();
      await host.invoke(ref, [], options);
      loadMs = performance.now() - started;
    }
    const started = performance.now();
    const records: TestedRecord[] = [];
    for (const group of invocationsOf(inputs)) {
      const outcomes = await host.invoke(ref, group, options);
      group.forEach((input, i) => {
        // The host answers one outcome per record, in order.
        records.push({
          line: Number(input.id),
          outcome: outcomes[i] as TransformRecordOutcome,
        });
      });
    }
    const totalMs = performance.now() - started;
    return {
      transform: describeTransformRef(ref),
      file: ref.kind === 'local' ? resolveLocalTransform(dir, ref.name) : undefined,
      records,
      loadMs,
      totalMs,
    };
  } catch (error) {
    if (error instanceof TransformLoadError) throw unloadable(error, dir);
    throw error;
  } finally {
    await host.close();
  }
}

/** The `transform` command; `test` is its one subcommand. */
export const transformCommand: CliCommand = {
  name: 'transform',
  summary: 'Test a transform over sample records (sluice transform test <name|url> <file>).',
  help: () => renderHelp(HELP),
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const [subcommand, ...rest] = argv;
    if (subcommand !== 'test') {
      throw new UsageError(
        subcommand === undefined
          ? 'missing subcommand: sluice transform test <name|url> <file>'
          : `unknown subcommand ${JSON.stringify(subcommand)}: the one there is is test (sluice transform test <name|url> <file>)`,
      );
    }
    const { positionals, options: optionArgs } = splitArguments(rest);
    const options = parseOptions(OPTIONS, optionArgs);
    if (positionals.length !== 2) {
      throw new UsageError(
        `expected a transform and a file of sample records, got ${positionals.length === 0 ? 'neither' : positionals.map((p) => JSON.stringify(p)).join(' ')}`,
      );
    }
    const [target, file] = positionals as [string, string];
    const ref = transformRefOf(target);
    const dir = resolve(options.dir ?? io.env.SLUICE_TRANSFORMS_DIR ?? './transforms');
    const samples = await readSamples(file, options.base64);
    const report: TransformTestReport = { ...(await runTest(ref, dir, samples, io)), input: file };
    io.stdout.write(options.json ? renderJsonReport(report) : renderTextReport(report));
    return report.records.every(({ outcome }) => outcome.result !== 'ProcessingFailed')
      ? EXIT_OK
      : EXIT_FAILURE;
  },
};
