/**
 * The fault oracle's settings: each comes from `--<name> <value>` (or `--<name>=<value>`), else
 * its default. One table drives parsing and the `--help` text. There are no environment
 * variables of its own: `SLUICE_*` variables in the environment go to the service under test.
 */

/** The faults the oracle can inject. */
export const FAULT_KINDS = [
  'api-kill',
  'worker-kill',
  'redis-kill',
  'redis-disconnect',
  's3-unavailable',
  's3-slow',
] as const;
/** One kind of fault. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Parsed settings. */
export interface OracleOptions {
  records: number;
  seed: number;
  batchSize: number;
  recordBytes: number;
  producers: number;
  apis: number;
  workers: number;
  faults: FaultKind[];
  faultEveryS: number;
  timeoutS: number;
  drainTimeoutS: number;
  requestTimeoutS: number;
  maxBacklogMb: number;
}

interface NumberSpec {
  key: Exclude<keyof OracleOptions, 'faults'>;
  flag: string;
  default: number;
  min: number;
  max: number;
  integer: boolean;
  doc: string;
}

/** Firehose's PutRecordBatch limits: 500 records and 4 MiB of record data per request. */
const MAX_BATCH_RECORDS = 500;
const MAX_REQUEST_PAYLOAD = 4 * 1024 * 1024;

const NUMBERS: readonly NumberSpec[] = [
  {
    key: 'records',
    flag: 'records',
    default: 1_000_000,
    min: 1,
    max: 1_000_000_000,
    integer: true,
    doc: 'records that must be acknowledged before the pushing ends',
  },
  {
    key: 'seed',
    flag: 'seed',
    default: 1,
    min: 0,
    max: 2 ** 32 - 1,
    integer: true,
    doc: 'seed of the record filler and of the fault schedule',
  },
  {
    key: 'batchSize',
    flag: 'batch-size',
    default: 500,
    min: 1,
    max: MAX_BATCH_RECORDS,
    integer: true,
    doc: 'records per PutRecordBatch request',
  },
  {
    key: 'recordBytes',
    flag: 'record-bytes',
    default: 100,
    min: 32,
    max: 100_000,
    integer: true,
    doc: 'mean record size in bytes (each record is 50-150 % of it)',
  },
  {
    key: 'producers',
    flag: 'producers',
    default: 8,
    min: 1,
    max: 256,
    integer: true,
    doc: 'concurrent producer loops (requests in flight)',
  },
  {
    key: 'apis',
    flag: 'apis',
    default: 2,
    min: 1,
    max: 8,
    integer: true,
    doc: 'Sluice processes with SLUICE_ROLE=api',
  },
  {
    key: 'workers',
    flag: 'workers',
    default: 2,
    min: 1,
    max: 8,
    integer: true,
    doc: 'Sluice processes with SLUICE_ROLE=worker',
  },
  {
    key: 'faultEveryS',
    flag: 'fault-every',
    default: 5,
    min: 0.5,
    max: 3600,
    integer: false,
    doc: 'mean seconds between faults (exponentially distributed)',
  },
  {
    key: 'timeoutS',
    flag: 'timeout',
    default: 3600,
    min: 1,
    max: 86_400,
    integer: false,
    doc: 'longest pushing phase; the check then covers what was acknowledged by then',
  },
  {
    key: 'drainTimeoutS',
    flag: 'drain-timeout',
    default: 600,
    min: 1,
    max: 86_400,
    integer: false,
    doc: 'longest wait after pushing for every stored record to be delivered',
  },
  {
    key: 'requestTimeoutS',
    flag: 'request-timeout',
    default: 30,
    min: 1,
    max: 600,
    integer: false,
    doc: 'a request without a complete reply after this long counts as ambiguous',
  },
  {
    key: 'maxBacklogMb',
    flag: 'max-backlog-mb',
    default: 256,
    min: 1,
    max: 1_048_576,
    integer: true,
    doc: 'SLUICE_MAX_BACKLOG_MB of the service (above it puts answer "Slow down.")',
  },
];

/** Thrown for a bad flag or value; the message says which and what is allowed. */
export class OracleOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OracleOptionsError';
  }
}

/** `--help` text. */
export function oracleHelpText(): string {
  const rows = NUMBERS.map(
    (n) => `  --${n.flag.padEnd(16)} ${String(n.default).padStart(8)}  ${n.doc}`,
  );
  return [
    'usage: npm run oracle -- [options]      (or: node dist/bench/fault-oracle.js [options])',
    '',
    'Pushes records of unique ids through Sluice while injecting faults, then checks that every',
    'acknowledged record was delivered exactly once, byte for byte. See docs/fault-oracle.md.',
    'SLUICE_* variables in the environment are passed to the service under test.',
    '',
    ...rows,
    `  --${'faults'.padEnd(16)} ${'all'.padStart(8)}  comma-separated subset of ${FAULT_KINDS.join(',')}, or none`,
    `  --${'help'.padEnd(16)} ${''.padStart(8)}  show this text`,
  ].join('\n');
}

/**
 * Parses `argv` (without node and the script).
 *
 * @returns the options, or `'help'` when `--help` was given.
 * @throws OracleOptionsError on an unknown flag, a missing value or a value out of range.
 */
export function parseOracleOptions(argv: readonly string[]): OracleOptions | 'help' {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') return 'help';
    if (!arg.startsWith('--')) {
      throw new OracleOptionsError(`unexpected argument ${arg}; see --help`);
    }
    const eq = arg.indexOf('=');
    if (eq > 0) {
      given.set(arg.slice(2, eq), arg.slice(eq + 1));
    } else {
      const value = argv[i + 1];
      if (value === undefined) throw new OracleOptionsError(`${arg} needs a value; see --help`);
      given.set(arg.slice(2), value);
      i += 1;
    }
  }
  const known = new Set([...NUMBERS.map((n) => n.flag), 'faults']);
  for (const flag of given.keys()) {
    if (!known.has(flag)) throw new OracleOptionsError(`unknown option --${flag}; see --help`);
  }

  const options: Record<string, unknown> = {};
  for (const spec of NUMBERS) {
    const text = given.get(spec.flag)?.trim();
    const value = text === undefined || text === '' ? spec.default : Number(text);
    if (
      !Number.isFinite(value) ||
      value < spec.min ||
      value > spec.max ||
      (spec.integer && !Number.isInteger(value))
    ) {
      throw new OracleOptionsError(
        `--${spec.flag} must be ${spec.integer ? 'a whole number' : 'a number'} from ${spec.min} to ${spec.max}, got ${JSON.stringify(text)}`,
      );
    }
    options[spec.key] = value;
  }

  const faultText = given.get('faults')?.trim() ?? 'all';
  let faults: FaultKind[];
  if (faultText === 'all') faults = [...FAULT_KINDS];
  else if (faultText === 'none' || faultText === '') faults = [];
  else {
    const named = faultText.split(',').map((f) => f.trim());
    for (const fault of named) {
      if (!FAULT_KINDS.includes(fault as FaultKind)) {
        throw new OracleOptionsError(
          `--faults: unknown fault ${JSON.stringify(fault)}; known: ${FAULT_KINDS.join(', ')}`,
        );
      }
    }
    faults = FAULT_KINDS.filter((f) => named.includes(f));
  }
  options.faults = faults;

  const parsed = options as unknown as OracleOptions;
  const largestRecord = Math.floor(parsed.recordBytes * 1.5);
  if (parsed.batchSize * largestRecord > MAX_REQUEST_PAYLOAD) {
    throw new OracleOptionsError(
      `--batch-size ${parsed.batchSize} × up to ${largestRecord} bytes per record exceeds PutRecordBatch's 4 MiB; lower one of them`,
    );
  }
  return parsed;
}
