import type { RedisPersistence } from './redis-server.js';

/**
 * The bench's settings: each comes from `--<name> <value>` (or `--<name>=<value>`), else from
 * `SLUICE_BENCH_<NAME>` in the environment, else its default. One table drives parsing, the
 * `--help` text and the report header.
 */

/** The phases the bench can run, in the order it runs them. */
export const PHASES = ['ceiling', 'ingest', 'sustained', 'split'] as const;
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
  redisPersistence: RedisPersistence;
  phases: Phase[];
  json: string | undefined;
}

interface NumberSpec {
  key: keyof BenchOptions;
  flag: string;
  default: number;
  min: number;
  max: number;
  integer: boolean;
  doc: string;
}

const NUMBERS: readonly NumberSpec[] = [
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
    doc: 'longest wait after the sustained load for every accepted record to be delivered',
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
];

const PERSISTENCE: readonly RedisPersistence[] = ['none', 'aof-everysec', 'aof-always'];

/** Thrown for a bad flag or value; the message says which and what is allowed. */
export class OptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionsError';
  }
}

/** `--help` text. */
export function helpText(): string {
  const rows = NUMBERS.map(
    (n) => `  --${n.flag.padEnd(18)} ${String(n.default).padStart(6)}  ${n.doc}`,
  );
  return [
    'usage: npm run bench -- [options]      (or: node --openssl-legacy-provider dist/bench/run.js)',
    '',
    'Every option can also be set as SLUICE_BENCH_<NAME> (e.g. SLUICE_BENCH_DURATION=5).',
    'SLUICE_* variables other than those the bench sets are passed to the service.',
    '',
    ...rows,
    `  --${'redis-persistence'.padEnd(18)} ${'none'.padStart(6)}  ${PERSISTENCE.join(' | ')}`,
    `  --${'phases'.padEnd(18)} ${'all'.padStart(6)}  comma-separated subset of ${PHASES.join(',')}`,
    `  --${'json'.padEnd(18)} ${'-'.padStart(6)}  also write the results as JSON to this file`,
    `  --${'help'.padEnd(18)} ${''.padStart(6)}  show this text`,
  ].join('\n');
}

function envName(flag: string): string {
  return `SLUICE_BENCH_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * Parses `argv` (without node and the script) and `env`.
 *
 * @returns the options, or `'help'` when `--help` was given.
 * @throws OptionsError on an unknown flag, a missing value or a value out of range.
 */
export function parseOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): BenchOptions | 'help' {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') return 'help';
    if (!arg.startsWith('--')) throw new OptionsError(`unexpected argument ${arg}; see --help`);
    const eq = arg.indexOf('=');
    if (eq > 0) {
      given.set(arg.slice(2, eq), arg.slice(eq + 1));
    } else {
      const value = argv[i + 1];
      if (value === undefined) throw new OptionsError(`${arg} needs a value; see --help`);
      given.set(arg.slice(2), value);
      i += 1;
    }
  }
  const known = new Set([...NUMBERS.map((n) => n.flag), 'redis-persistence', 'phases', 'json']);
  for (const flag of given.keys()) {
    if (!known.has(flag)) throw new OptionsError(`unknown option --${flag}; see --help`);
  }
  const raw = (flag: string): string | undefined => {
    const value = given.get(flag) ?? env[envName(flag)];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };

  const options: Record<string, unknown> = {};
  for (const spec of NUMBERS) {
    const text = raw(spec.flag);
    const value = text === undefined ? spec.default : Number(text);
    if (
      !Number.isFinite(value) ||
      value < spec.min ||
      value > spec.max ||
      (spec.integer && !Number.isInteger(value))
    ) {
      throw new OptionsError(
        `--${spec.flag} (${envName(spec.flag)}) must be ${spec.integer ? 'a whole number' : 'a number'} from ${spec.min} to ${spec.max}, got ${JSON.stringify(text)}`,
      );
    }
    options[spec.key] = value;
  }

  const persistence = raw('redis-persistence') ?? 'none';
  if (!PERSISTENCE.includes(persistence as RedisPersistence)) {
    throw new OptionsError(
      `--redis-persistence must be one of ${PERSISTENCE.join(', ')}, got ${JSON.stringify(persistence)}`,
    );
  }
  options.redisPersistence = persistence;

  const phaseText = raw('phases');
  const phases = phaseText === undefined ? [...PHASES] : phaseText.split(',').map((p) => p.trim());
  for (const phase of phases) {
    if (!PHASES.includes(phase as Phase)) {
      throw new OptionsError(
        `--phases: unknown phase ${JSON.stringify(phase)}; known: ${PHASES.join(', ')}`,
      );
    }
  }
  options.phases = PHASES.filter((p) => phases.includes(p));
  options.json = raw('json');
  return options as unknown as BenchOptions;
}
