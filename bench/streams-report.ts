import { int, ms, num, table } from './report-format.js';
import {
  CREATE_CONCURRENCY,
  IDLE_S,
  LOAD_RECORD_BYTES,
  LOAD_RECORDS_PER_REQUEST,
  LOAD_REQUESTS_PER_S,
  LOAD_S,
  LOAD_STREAMS,
  SEAL_INTERVAL_S,
  SEAL_POLL_MS,
  SEAL_STREAMS,
  SETTLE_S,
  type PerProcess,
  type SideOutcome,
  type StreamsResult,
  type StreamsSide,
} from './streams-phase.js';

/**
 * The streams phase's part of the printed report: a table of each figure at 10 streams beside
 * the large count, and its summary row. Kept beside the phase so `report.ts` only places them.
 */

/** The issue's target: idle streams at Firehose's default quota cost under this share of a core. */
export const IDLE_CPU_TARGET = 0.05;
/** The stream count the target is stated for; a smaller run is reported, not judged. */
export const TARGET_STREAMS = 5000;

/** How the phase ended, as `report.ts`'s `PhaseOutcome` says it. */
type Outcome =
  | { status: 'ok'; value: StreamsResult }
  | { status: 'failed'; error: string }
  | { status: 'interrupted' }
  | { status: 'skipped' };

/** A share of one core as a percentage. */
function pct(share: number | undefined, digits = 1): string {
  return share === undefined ? 'n/a' : `${num(share * 100, digits)} %`;
}

/**
 * Per-process values as `name value, …`, where the name drops its pid (`worker (123)` →
 * `worker`), so the two sides' cells read alike.
 */
export function perProcessText(
  values: PerProcess,
  format: (v: number | undefined) => string,
): string {
  return Object.entries(values)
    .map(([name, value]) => `${name.replace(/ \(\d+\)$/, '')} ${format(value)}`)
    .join(', ');
}

/** A cell from a side's value, or why there is none. */
function cell(side: SideOutcome, pick: (s: StreamsSide) => string): string {
  return side.status === 'ok' ? pick(side.value) : 'failed';
}

/** The rows of the figure table: a label and how to read it from one side. */
const ROWS: readonly (readonly [string, (s: StreamsSide) => string])[] = [
  [
    'streams created, ACTIVE after',
    (s) => `${int.format(s.streams)} in ${num(s.createS)} s (${num(s.streams / s.createS, 0)}/s)`,
  ],
  ['idle: Sluice CPU, all processes', (s) => pct(s.idle.sluiceCpu, 2)],
  ['idle: CPU per process', (s) => perProcessText(s.idle.cpu, (v) => pct(v, 2))],
  ['idle: redis-server CPU', (s) => pct(s.idle.redisCpu, 2)],
  ['idle: Redis commands/s', (s) => num(s.idle.redisCommandsPerS, 0)],
  [
    'idle: most called, per s',
    (s) =>
      Object.entries(s.idle.redisTopCommands)
        .map(([name, rate]) => `${name} ${num(rate, 0)}`)
        .join(', ') || 'none',
  ],
  [
    'idle: Redis clients (blocked)',
    (s) => `${num(s.idle.redisClients, 0)} (${num(s.idle.redisBlockedClients, 0)})`,
  ],
  [
    'idle: Redis connections per process',
    (s) => perProcessText(s.idle.redisConnections, (v) => num(v, 0)),
  ],
  ['idle: RSS max per process', (s) => perProcessText(s.idle.rssMib, (v) => `${num(v, 0)} MiB`)],
  ['idle: open fds per process', (s) => perProcessText(s.idle.fds, (v) => num(v, 0))],
  ['idle: other processes CPU', (s) => pct(s.idle.otherCpu, 0)],
  [
    'load: PutRecordBatch sent',
    (s) =>
      `${num(s.load.figures.requestsPerS, 0)}/s${s.load.lateStarts > 0 ? `, ${int.format(s.load.lateStarts)} late` : ''}`,
  ],
  [
    'load: PutRecordBatch p50 / p99',
    (s) => `${ms(s.load.figures.latencyP50Ms)} / ${ms(s.load.figures.latencyP99Ms)}`,
  ],
  ['load: failed records', (s) => int.format(s.load.figures.failedRecords)],
  ['load: Sluice CPU, all processes', (s) => pct(s.load.sluiceCpu, 0)],
  ['load: RSS max per process', (s) => perProcessText(s.load.rssMib, (v) => `${num(v, 0)} MiB`)],
  [
    'seal → delivery p50 / max',
    (s) =>
      `${ms(s.seal.lagP50Ms)} / ${ms(s.seal.lagMaxMs)} (${s.seal.delivered} of ${s.seal.streams})`,
  ],
  ['stop (SIGTERM → all gone)', (s) => (s.stopS === undefined ? 'n/a' : `${num(s.stopS)} s`)],
  ['service warnings/errors', (s) => int.format(s.problems.length)],
];

function sideName(side: SideOutcome, fallback: string): string {
  return side.status === 'ok' ? `${int.format(side.value.streams)} streams` : fallback;
}

/** The section's lines. */
export function streamsSection(title: string, outcome: Outcome, requested: number): string[] {
  const about = [
    title,
    `  how                Sluice with SLUICE_PROCESSES unset (auto: supervisor + api + worker); uncompressed S3 streams with the default buffering (5 MiB / 300 s), created ${CREATE_CONCURRENCY} at once through CreateDeliveryStream, each awaited ACTIVE;`,
    `                     ${SETTLE_S} s settle, ${IDLE_S} s idle window; then ${LOAD_REQUESTS_PER_S} PutRecordBatch/s of ${LOAD_RECORDS_PER_REQUEST} × ${LOAD_RECORD_BYTES} B records over ${LOAD_STREAMS} random streams for ${LOAD_S} s;`,
    `                     then ${SEAL_STREAMS} more streams with IntervalInSeconds ${SEAL_INTERVAL_S}, one PutRecord each, spread over one interval: lag = object listed − (put sent + interval), listing every ${SEAL_POLL_MS} ms`,
  ];
  if (outcome.status === 'skipped') return [...about, '  not run'];
  if (outcome.status === 'interrupted') return [...about, '  interrupted'];
  if (outcome.status === 'failed') return [...about, `  failed: ${outcome.error}`];
  const { few, many } = outcome.value;
  const rows: string[][] = [
    ['Figure', sideName(few, '10 streams'), sideName(many, `${int.format(requested)} streams`)],
    ...ROWS.map(([label, pick]) => [label, cell(few, pick), cell(many, pick)]),
  ];
  const lines = [...about, ...table(rows, '  ')];
  for (const [name, side] of [
    ['10 streams', few],
    [`${int.format(requested)} streams`, many],
  ] as const) {
    if (side.status === 'failed') {
      lines.push(
        `  ${name} failed: ${side.error.split('\n').slice(0, 12).join('\n                     ')}`,
      );
    } else if (side.value.problems.length > 0) {
      lines.push(`  ${name}, first service warnings:`);
      for (const p of side.value.problems)
        lines.push(`    ${p.length > 300 ? `${p.slice(0, 300)}…` : p}`);
    }
  }
  return lines;
}

/** The summary row: idle Sluice CPU at the large count against the issue's target. */
export function streamsSummaryRow(outcome: Outcome, requested: number): string[] | undefined {
  if (outcome.status === 'skipped') return undefined;
  const label = `${int.format(requested)} idle streams: Sluice CPU`;
  const target = `< ${num(IDLE_CPU_TARGET * 100, 0)} % of one core`;
  if (outcome.status !== 'ok') {
    return [label, outcome.status === 'failed' ? 'phase failed' : 'interrupted', target, 'ERROR'];
  }
  const { few, many } = outcome.value;
  if (many.status !== 'ok') return [label, 'Sluice failed', target, 'ERROR'];
  const share = many.value.idle.sluiceCpu;
  const beside = few.status === 'ok' ? ` (10 streams: ${pct(few.value.idle.sluiceCpu, 2)})` : '';
  const judged = requested >= TARGET_STREAMS;
  return [
    label,
    `${pct(share, 2)} of one core${beside}`,
    judged ? target : `${target} at ${int.format(TARGET_STREAMS)}`,
    share === undefined || !judged ? 'n/a' : share < IDLE_CPU_TARGET ? 'PASS' : 'MISS',
  ];
}
