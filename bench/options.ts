import {
  flagText,
  FlagError,
  parseNumericFlags,
  readFlags,
  renderHelp,
  type NumericFlag,
} from './cli-flags.js';
import type { RedisPersistence } from './redis-server.js';

/**
 * The bench's settings: each comes from `--<name> <value>` (or `--<name>=<value>`), else from
 * `SLUICE_BENCH_<NAME>` in the environment, else its default. One table drives parsing, the
 * `--help` text and the report header.
 */

/** The phases the bench can run, in the order it runs them. */
export const PHASES = [
  'ceiling',
  'transform',
  'partition',
  'ingest',
  'sustained',
  'split',
  'http',
  'opensearch',
  'transform-e2e',
  'compression',
  'parquet',
  'postgres',
  'replicas',
  'processes',
  'streams',
  'cluster',
] as const;
/** One phase. */
export type Phase = (typeof PHASES)[number];

/** Parsed settings. */
export interface BenchOptions {
  durationS: number;
  warmupS: number;
  concurrency: number;
  rateMibS: number;
  sustainS: number;
  intervalS: number;
  sizeMb: number;
  maxBacklogMb: number;
  drainTimeoutS: number;
  maxInFlight: number;
  requestTimeoutS: number;
  seed: number;
  bodies: number;
  streamsCount: number;
  processesRateMibS: number;
  redisPersistence: RedisPersistence;
  phases: Phase[];
  json: string | undefined;
}

/** The options a numeric flag sets. */
type NumericKey = {
  [K in keyof BenchOptions]: BenchOptions[K] extends number ? K : never;
}[keyof BenchOptions];

const NUMBERS: readonly NumericFlag<NumericKey>[] = [
  {
    key: 'durationS',
    flag: 'duration',
    default: 20,
    min: 1,
    max: 3600,
    integer: false,
    doc: 'seconds of closed-loop load in the ceiling and ingest phases',
  },
  {
    key: 'warmupS',
    flag: 'warmup',
    default: 2,
    min: 0,
    max: 600,
    integer: false,
    doc: 'seconds of unmeasured load before each closed-loop phase',
  },
  {
    key: 'concurrency',
    flag: 'concurrency',
    default: 16,
    min: 1,
    max: 1024,
    integer: true,
    doc: 'requests in flight in the closed-loop phases',
  },
  {
    key: 'rateMibS',
    flag: 'rate',
    default: 30,
    min: 0.1,
    max: 100_000,
    integer: false,
    doc: 'payload MiB/s offered in the sustained phase',
  },
  {
    key: 'sustainS',
    flag: 'sustain',
    default: 30,
    min: 1,
    max: 3600,
    integer: false,
    doc: 'seconds of paced load in the sustained phase',
  },
  {
    key: 'intervalS',
    flag: 'interval',
    default: 5,
    min: 0,
    max: 900,
    integer: true,
    doc: 'IntervalInSeconds of the bench streams',
  },
  {
    key: 'sizeMb',
    flag: 'size-mb',
    default: 64,
    min: 1,
    max: 128,
    integer: true,
    doc: 'SizeInMBs of the bench streams',
  },
  {
    key: 'maxBacklogMb',
    flag: 'max-backlog-mb',
    default: 8192,
    min: 1,
    max: 1_048_576,
    integer: true,
    doc: 'SLUICE_MAX_BACKLOG_MB for the service: high, so the ingest phases measure acceptance, not backpressure',
  },
  {
    key: 'drainTimeoutS',
    flag: 'drain-timeout',
    default: 60,
    min: 1,
    max: 3600,
    integer: false,
    doc: 'longest wait after the sustained and http loads for every accepted record to be delivered',
  },
  {
    key: 'maxInFlight',
    flag: 'max-in-flight',
    default: 64,
    min: 1,
    max: 4096,
    integer: true,
    doc: 'most paced requests in flight before the sustained phase falls behind schedule',
  },
  {
    key: 'requestTimeoutS',
    flag: 'request-timeout',
    default: 30,
    min: 1,
    max: 600,
    integer: false,
    doc: 'a request without a reply after this long fails',
  },
  {
    key: 'seed',
    flag: 'seed',
    default: 1,
    min: 0,
    max: 2 ** 32 - 1,
    integer: true,
    doc: 'seed of the record generator',
  },
  {
    key: 'bodies',
    flag: 'bodies',
    default: 32,
    min: 1,
    max: 1024,
    integer: true,
    doc: 'distinct PutRecordBatch bodies prepared and reused round-robin',
  },
  {
    key: 'streamsCount',
    flag: 'streams-count',
    default: 5000,
    min: 1,
    max: 100_000,
    integer: true,
    doc: 'streams of the large side of the streams phase (beside 10)',
  },
  {
    key: 'processesRateMibS',
    flag: 'processes-rate',
    default: 60,
    min: 0.1,
    max: 100_000,
    integer: false,
    doc: "payload MiB/s offered in the processes phase's sustained run (its target is 60)",
  },
];

const PERSISTENCE: readonly RedisPersistence[] = ['none', 'aof-everysec', 'aof-always'];

/** `--help` text. */
export function helpText(): string {
  return renderHelp(
    [
      'usage: npm run bench -- [options]      (or: node --openssl-legacy-provider dist/bench/run.js)',
      '',
      'Every option can also be set as SLUICE_BENCH_<NAME> (e.g. SLUICE_BENCH_DURATION=5).',
      'SLUICE_* variables other than those the bench sets are passed to the service.',
    ],
    { flagWidth: 18, defaultWidth: 6 },
    NUMBERS,
    [
      ['redis-persistence', 'none', PERSISTENCE.join(' | ')],
      ['phases', 'all', `comma-separated subset of ${PHASES.join(',')}`],
      ['json', '-', 'also write the results as JSON to this file'],
      ['help', '', 'show this text'],
    ],
  );
}

function envName(flag: string): string {
  return `SLUICE_BENCH_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * Parses `argv` (without node and the script) and `env`.
 *
 * @returns the options, or `'help'` when `--help` was given.
 * @throws FlagError on an unknown flag, a missing value or a value out of range.
 */
export function parseOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): BenchOptions | 'help' {
  const given = readFlags(argv, [
    ...NUMBERS.map((n) => n.flag),
    'redis-persistence',
    'phases',
    'json',
  ]);
  if (given === 'help') return 'help';
  const raw = (flag: string): string | undefined => flagText(given.get(flag) ?? env[envName(flag)]);

  const numbers = parseNumericFlags(NUMBERS, raw, (flag) => `--${flag} (${envName(flag)})`);

  const persistence = raw('redis-persistence') ?? 'none';
  if (!PERSISTENCE.includes(persistence as RedisPersistence)) {
    throw new FlagError(
      `--redis-persistence must be one of ${PERSISTENCE.join(', ')}, got ${JSON.stringify(persistence)}`,
    );
  }

  const phaseText = raw('phases');
  const phases = phaseText === undefined ? [...PHASES] : phaseText.split(',').map((p) => p.trim());
  for (const phase of phases) {
    if (!PHASES.includes(phase as Phase)) {
      throw new FlagError(
        `--phases: unknown phase ${JSON.stringify(phase)}; known: ${PHASES.join(', ')}`,
      );
    }
  }
  return {
    ...numbers,
    redisPersistence: persistence as RedisPersistence,
    phases: PHASES.filter((p) => phases.includes(p)),
    json: raw('json'),
  };
}
