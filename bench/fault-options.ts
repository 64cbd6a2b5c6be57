import {
  FlagError,
  parseNumericFlags,
  readFlags,
  renderHelp,
  type NumericFlag,
} from './cli-flags.js';

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

/** Firehose's PutRecordBatch limits: 500 records and 4 MiB of record data per request. */
const MAX_BATCH_RECORDS = 500;
const MAX_REQUEST_PAYLOAD = 4 * 1024 * 1024;

const NUMBERS: readonly NumericFlag<Exclude<keyof OracleOptions, 'faults'>>[] = [
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

/** `--help` text. */
export function oracleHelpText(): string {
  return renderHelp(
    [
      'usage: npm run oracle -- [options]      (or: node dist/bench/fault-oracle.js [options])',
      '',
      'Pushes records of unique ids through Sluice while injecting faults, then checks that every',
      'acknowledged record was delivered exactly once, byte for byte. See docs/fault-oracle.md.',
      'SLUICE_* variables in the environment are passed to the service under test.',
    ],
    { flagWidth: 16, defaultWidth: 8 },
    NUMBERS,
    [
      ['faults', 'all', `comma-separated subset of ${FAULT_KINDS.join(',')}, or none`],
      ['help', '', 'show this text'],
    ],
  );
}

/**
 * Parses `argv` (without node and the script).
 *
 * @returns the options, or `'help'` when `--help` was given.
 * @throws FlagError on an unknown flag, a missing value or a value out of range.
 */
export function parseOracleOptions(argv: readonly string[]): OracleOptions | 'help' {
  const given = readFlags(argv, [...NUMBERS.map((n) => n.flag), 'faults']);
  if (given === 'help') return 'help';
  const numbers = parseNumericFlags(NUMBERS, (flag) => given.get(flag));

  const faultText = given.get('faults')?.trim() ?? 'all';
  let faults: FaultKind[];
  if (faultText === 'all') faults = [...FAULT_KINDS];
  else if (faultText === 'none' || faultText === '') faults = [];
  else {
    const named = faultText.split(',').map((f) => f.trim());
    for (const fault of named) {
      if (!FAULT_KINDS.includes(fault as FaultKind)) {
        throw new FlagError(
          `--faults: unknown fault ${JSON.stringify(fault)}; known: ${FAULT_KINDS.join(', ')}`,
        );
      }
    }
    faults = FAULT_KINDS.filter((f) => named.includes(f));
  }

  const largestRecord = Math.floor(numbers.recordBytes * 1.5);
  if (numbers.batchSize * largestRecord > MAX_REQUEST_PAYLOAD) {
    throw new FlagError(
      `--batch-size ${numbers.batchSize} × up to ${largestRecord} bytes per record exceeds PutRecordBatch's 4 MiB; lower one of them`,
    );
  }
  return { ...numbers, faults };
}
