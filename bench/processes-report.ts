import type { CeilingResult } from './ceiling-phase.js';
import { DELIVERED_TOLERANCE } from './paced-delivery.js';
import { deliveredMeets, pacedLines } from './paced-report.js';
import type { PacedOutcome, ProcessesResult, ProcessesSide } from './processes-phase.js';
import { cpuText, int, ms, num, rssText } from './report-format.js';

/**
 * The processes phase's part of the printed report: its section and its summary rows, judged
 * against issue 11's targets for the default deployment (`SLUICE_PROCESSES=auto`). Kept beside
 * the phase so `report.ts` only places them.
 */

/** Issue 11's targets, on this 2-core machine with Redis AOF everysec. */
export const PROCESSES_TARGETS = {
  /** Acknowledged ingest with `auto`, as a share of the same run's bare parse ceiling. */
  ingestShareOfCeiling: 0.75,
  /** Delivered payload rate of a sustained paced GZIP load with `auto`, MiB/s, backlog stable. */
  sustainedMibS: 60,
  /** PutRecordBatch p99 with `auto` paced at half of its acknowledged rate, ms. */
  halfLoadP99Ms: 20,
} as const;

/** How the phase ended, as `report.ts`'s `PhaseOutcome` says it. */
type Outcome =
  | { status: 'ok'; value: ProcessesResult }
  | { status: 'failed'; error: string }
  | { status: 'interrupted' }
  | { status: 'skipped' };

/** `auto` over `1`, as `×n.nn`. */
export function ratio(auto: number | undefined, single: number | undefined): string {
  return auto === undefined || single === undefined || single === 0
    ? '–'
    : `×${(auto / single).toFixed(2)}`;
}

/**
 * Whether delivery kept going under full ingest: something was delivered while the load ran and
 * the backlog grew by less than what was acknowledged (ingest outpaced delivery, it did not
 * replace it).
 */
export function deliveryKeptUp(side: ProcessesSide): boolean {
  return side.deliveredDuringLoadMibS > 0 && side.backlogGrowthMibS < side.ingest.mibS;
}

function sideLines(side: ProcessesSide): string[] {
  const t = side.ingest;
  const growthShare =
    t.mibS > 0 ? ` (${num((side.backlogGrowthMibS / t.mibS) * 100, 0)} % of ingest)` : '';
  return [
    `  SLUICE_PROCESSES=${side.setting} (${side.roles.join(' + ')})`,
    `    ingest      ${num(t.mibS)} MiB/s acknowledged, ${num(t.requestsPerS)} requests/s, latency p50 ${ms(t.latencyP50Ms)} p99 ${ms(t.latencyP99Ms)}${t.failedRecords > 0 ? `, ${t.failedRecords} records failed` : ''}`,
    `    delivered   ${num(side.deliveredDuringLoadMibS)} MiB/s during the load; backlog grew ${num(side.backlogGrowthMibS)} MiB/s${growthShare}; longest stretch without a delivery ${num(side.longestDeliveryGapS)} s`,
    `    end to end  ${side.endToEndMibS === undefined ? 'backlog not drained within the timeout' : `${num(side.endToEndMibS)} MiB/s (drained ${num(side.drainS)} s after the load)`}`,
    `    CPU         ${cpuText(side.cpuShare)}`,
    `    RSS max     ${rssText(side.rssMaxMib)}`,
  ];
}

function pacedSideLines(name: string, what: string, outcome: PacedOutcome): string[] {
  if (outcome.status === 'failed') {
    return [`  ${name}: failed: ${outcome.error.split('\n').slice(0, 12).join('\n    ')}`];
  }
  const r = outcome.value;
  return [
    `  ${name}: SLUICE_PROCESSES=auto (${r.roles.join(' + ')}), fresh Redis and stream, ${what}`,
    ...pacedLines(r.figures, '    '),
    `    CPU                (while sending) ${cpuText(r.cpuShare)}`,
    `    RSS max            ${rssText(r.rssMaxMib)}`,
  ];
}

/** The section's lines. */
export function processesSection(title: string, outcome: Outcome): string[] {
  if (outcome.status === 'skipped') return [title, '  not run'];
  if (outcome.status === 'interrupted') return [title, '  interrupted'];
  if (outcome.status === 'failed') return [title, `  failed: ${outcome.error}`];
  const { single, auto, cores, halfLoad, sustained } = outcome.value;
  return [
    title,
    `  ${cores} cores`,
    ...sideLines(single),
    ...sideLines(auto),
    `  scaling (auto ÷ 1): ingest ${ratio(auto.ingest.mibS, single.ingest.mibS)}, delivered during the load ${ratio(auto.deliveredDuringLoadMibS, single.deliveredDuringLoadMibS)}, end to end ${ratio(auto.endToEndMibS, single.endToEndMibS)}; ingest p99 latency ${ratio(auto.ingest.latencyP99Ms, single.ingest.latencyP99Ms)}`,
    ...pacedSideLines(
      'half load',
      `paced at half of auto's ${num(auto.ingest.mibS)} MiB/s acknowledged`,
      halfLoad,
    ),
    ...pacedSideLines('sustained', 'paced at --processes-rate into the GZIP stream', sustained),
  ];
}

/** A summary row: figure, measured, target, verdict. */
type Row = [string, string, string, string];

/** PASS or MISS; `n/a` when nothing could be judged. */
function verdict(ok: boolean | undefined): string {
  return ok === undefined ? 'n/a' : ok ? 'PASS' : 'MISS';
}

/**
 * The summary rows, one per target of issue 11 and one for the scaling ratio; none when the
 * phase did not run. `ceiling` is the same run's phase 1, when it ran.
 */
export function processesSummaryRows(outcome: Outcome, ceiling: CeilingResult | undefined): Row[] {
  const ingestLabel = 'Ingest, SLUICE_PROCESSES=auto';
  const ingestTarget = `≥ ${PROCESSES_TARGETS.ingestShareOfCeiling * 100} % of ceiling`;
  const deliveryLabel = 'Delivery under full ingest (auto)';
  const deliveryTarget = 'delivered > 0, backlog growth < ingest';
  const sustainedLabel = 'Sustained end-to-end, GZIP (auto)';
  const sustainedTarget = `≥ ${PROCESSES_TARGETS.sustainedMibS} MiB/s (±${DELIVERED_TOLERANCE * 100} %), stable backlog`;
  const halfLabel = 'PutRecordBatch p99, half load (auto)';
  const halfTarget = `≤ ${PROCESSES_TARGETS.halfLoadP99Ms} ms`;
  const scalingLabel = 'Scaling auto ÷ 1 (ingest, end to end)';
  if (outcome.status === 'skipped') return [];
  if (outcome.status !== 'ok') {
    const why = outcome.status === 'failed' ? 'phase failed' : 'interrupted';
    const judged = outcome.status === 'failed' ? 'ERROR' : 'n/a';
    return [
      [ingestLabel, why, ingestTarget, judged],
      [deliveryLabel, why, deliveryTarget, judged],
      [sustainedLabel, why, sustainedTarget, judged],
      [halfLabel, why, halfTarget, judged],
      [scalingLabel, why, 'measured', ''],
    ];
  }
  const { single, auto, halfLoad, sustained } = outcome.value;
  const share = ceiling === undefined ? undefined : auto.ingest.mibS / ceiling.throughput.mibS;
  const rows: Row[] = [
    [
      ingestLabel,
      `${num(auto.ingest.mibS)} MiB/s${share === undefined ? ', no ceiling' : ` = ${num(share * 100)} % of ceiling`}`,
      ingestTarget,
      verdict(share === undefined ? undefined : share >= PROCESSES_TARGETS.ingestShareOfCeiling),
    ],
    [
      deliveryLabel,
      `delivered ${num(auto.deliveredDuringLoadMibS)} MiB/s; backlog +${num(auto.backlogGrowthMibS)} of ${num(auto.ingest.mibS)} MiB/s ingested; longest gap ${num(auto.longestDeliveryGapS)} s`,
      deliveryTarget,
      verdict(deliveryKeptUp(auto)),
    ],
  ];
  if (sustained.status === 'ok') {
    const r = sustained.value.figures;
    rows.push([
      sustainedLabel,
      r.deliveredMibS === undefined
        ? 'window too short'
        : `${num(r.deliveredMibS)} MiB/s (offered ${num(r.targetMibS)}, acknowledged ${num(r.throughput.mibS)}, backlog ${r.backlog.growing ? 'growing' : 'stable'})`,
      sustainedTarget,
      verdict(deliveredMeets(r, PROCESSES_TARGETS.sustainedMibS)),
    ]);
  } else {
    rows.push([sustainedLabel, 'run failed', sustainedTarget, 'ERROR']);
  }
  if (halfLoad.status === 'ok') {
    const r = halfLoad.value.figures;
    const p99 = r.throughput.latencyP99Ms;
    rows.push([
      halfLabel,
      `${ms(p99)} at ${num(r.throughput.mibS)} MiB/s (p50 ${ms(r.throughput.latencyP50Ms)}${r.throughput.failedRecords > 0 ? `, ${int.format(r.throughput.failedRecords)} records failed` : ''})`,
      halfTarget,
      verdict(p99 === undefined ? undefined : p99 <= PROCESSES_TARGETS.halfLoadP99Ms),
    ]);
  } else {
    rows.push([halfLabel, 'run failed', halfTarget, 'ERROR']);
  }
  rows.push([
    scalingLabel,
    `ingest ${ratio(auto.ingest.mibS, single.ingest.mibS)} (${num(auto.ingest.mibS)} vs ${num(single.ingest.mibS)} MiB/s); end to end ${ratio(auto.endToEndMibS, single.endToEndMibS)} (${num(auto.endToEndMibS)} vs ${num(single.endToEndMibS)} MiB/s)`,
    'measured',
    '',
  ]);
  return rows;
}
