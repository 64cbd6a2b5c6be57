import {
  CLUSTER_MASTERS,
  type ClusterResult,
  type ClusterSetupOutcome,
  type ClusterSetupResult,
} from './cluster-phase.js';
import { int, ms, num, table } from './report-format.js';

/**
 * The cluster phase's part of the printed report: a table of each setup's figures beside the
 * single Redis's (as a share of it), and its summary row. Kept beside the phase so `report.ts`
 * only places them.
 */

/** How the phase ended, as `report.ts`'s `PhaseOutcome` says it. */
type Outcome =
  | { status: 'ok'; value: ClusterResult }
  | { status: 'failed'; error: string }
  | { status: 'interrupted' }
  | { status: 'skipped' };

/** A figure of a setup; `undefined` when the setup could not give it. */
type FigurePick = (s: ClusterSetupResult) => number | undefined;

/** `value` as a percentage of `base`; empty when either is missing or the base is 0. */
export function shareText(value: number | undefined, base: number | undefined): string {
  if (value === undefined || base === undefined || base === 0 || Number.isNaN(value)) return '';
  return `${num((value / base) * 100, 0)} %`;
}

/**
 * One row of the figure table: `format`ted, and in every column but the first (the single
 * Redis, the base) followed by its share of the base's value when `compare` is set.
 */
export function figureRow(
  label: string,
  setups: readonly ClusterSetupOutcome[],
  pick: FigurePick,
  format: (v: number | undefined) => string,
  compare = true,
): string[] {
  const first = setups[0];
  const base = first?.status === 'ok' ? pick(first.value) : undefined;
  return [
    label,
    ...setups.map((setup, i) => {
      if (setup.status !== 'ok') return 'failed';
      const value = pick(setup.value);
      const share = i === 0 || !compare ? '' : shareText(value, base);
      return share === '' ? format(value) : `${format(value)} (${share})`;
    }),
  ];
}

/** A share of one core as a percentage. */
function pct(share: number | undefined): string {
  return share === undefined ? 'n/a' : `${num(share * 100, 0)} %`;
}

/**
 * CPU seconds per GiB of payload acknowledged, from CPU seconds spent taking in and delivering
 * it: what the work costs, which other work on the machine changes less than the rates.
 */
export function perGib(seconds: number | undefined, s: ClusterSetupResult): number | undefined {
  const mib = s.ingest.mibS * s.ingest.durationS;
  return seconds === undefined || mib <= 0 ? undefined : (seconds / mib) * 1024;
}

/** A cell that is text rather than a compared figure. */
function textRow(
  label: string,
  setups: readonly ClusterSetupOutcome[],
  text: (s: ClusterSetupResult) => string,
): string[] {
  return [label, ...setups.map((s) => (s.status === 'ok' ? text(s.value) : 'failed'))];
}

/** The rows of the figure table. */
function rows(setups: readonly ClusterSetupOutcome[]): string[][] {
  const fixed = (digits: number) => (v: number | undefined) => num(v, digits);
  const whole = (v: number | undefined) => (v === undefined ? 'n/a' : int.format(v));
  return [
    ['Figure', ...setups.map((s) => s.title)],
    figureRow('ingest MiB/s', setups, (s) => s.ingest.mibS, fixed(1)),
    figureRow('ingest records/s', setups, (s) => s.ingest.recordsPerS, whole),
    figureRow('PutRecordBatch p50', setups, (s) => s.ingest.latencyP50Ms, ms),
    figureRow('PutRecordBatch p99', setups, (s) => s.ingest.latencyP99Ms, ms),
    figureRow('failed records', setups, (s) => s.ingest.failedRecords, whole, false),
    figureRow('delivered MiB/s, end to end', setups, (s) => s.delivery.mibS, fixed(1)),
    figureRow('delivered records/s, end to end', setups, (s) => s.delivery.recordsPerS, whole),
    figureRow('all delivered after, s', setups, (s) => s.delivery.settledAfterS, fixed(1)),
    figureRow(
      'backlog at the end of the load, MiB',
      setups,
      (s) => s.delivery.backlogAtLoadEndMib,
      fixed(0),
      false,
    ),
    textRow(
      'undelivered at the end / dead',
      setups,
      (s) => `${int.format(s.delivery.undeliveredRecords)} / ${int.format(s.delivery.deadRecords)}`,
    ),
    textRow(
      'S3 objects (batches delivered)',
      setups,
      (s) =>
        `${s.delivery.s3Objects === undefined ? 'n/a' : int.format(s.delivery.s3Objects)} (${int.format(s.delivery.batches)})`,
    ),
    textRow('streams per master', setups, (s) => Object.values(s.streamsPerMaster).join(' / ')),
    figureRow('CPU during the load: Sluice', setups, (s) => s.cpu.sluice, pct),
    figureRow('CPU: every redis-server', setups, (s) => s.cpu.redis, pct),
    figureRow(
      'Sluice CPU s per GiB, ingest + delivery',
      setups,
      (s) => perGib(s.cpu.sluiceSeconds, s),
      fixed(1),
    ),
    figureRow('redis-server CPU s per GiB', setups, (s) => perGib(s.cpu.redisSeconds, s), fixed(1)),
    textRow(
      'CPU: s3rver / bench / other',
      setups,
      (s) => `${pct(s.cpu.s3rver)} / ${pct(s.cpu.bench)} / ${pct(s.cpu.other)}`,
    ),
    textRow('service warnings/errors', setups, (s) => int.format(s.problems.length)),
  ];
}

/** The section's lines. */
export function clusterSection(title: string, outcome: Outcome): string[] {
  const head = [title];
  if (outcome.status === 'skipped') return [...head, '  not run'];
  if (outcome.status === 'interrupted') return [...head, '  interrupted'];
  if (outcome.status === 'failed') return [...head, `  failed: ${outcome.error}`];
  const r = outcome.value;
  const lines = [
    ...head,
    `  how                ${r.streams} GZIP S3 streams spread evenly over the masters, ${r.concurrency} in flight, ${r.warmupS} s warm-up (delivered before measuring) + ${r.durationS} s measured; a fresh Redis and Sluice (role all) per setup, in this order`,
    `  end to end         from the first measured request until the streams' counters show every acknowledged record delivered`,
    `  machine            ${r.cores} cores shared by every redis-server, Sluice, s3rver and the load generator: the cluster shows its correctness and what its bookkeeping costs, not a speed-up`,
  ];
  for (const setup of r.setups) {
    if (setup.status === 'ok') lines.push(`  redis, ${setup.title}: ${setup.value.redis}`);
  }
  lines.push(...table(rows(r.setups), '  '));
  for (const setup of r.setups) {
    if (setup.status === 'failed') {
      lines.push(
        `  ${setup.title} failed: ${setup.error.split('\n').slice(0, 12).join('\n                     ')}`,
      );
    } else if (setup.value.problems.length > 0) {
      lines.push(`  ${setup.title}, first service warnings:`);
      for (const p of setup.value.problems) {
        lines.push(`    ${p.length > 300 ? `${p.slice(0, 300)}…` : p}`);
      }
    }
  }
  return lines;
}

/**
 * The summary row: the cluster's ingest and delivery as shares of the single Redis's, reported,
 * not judged (the issue sets no target); ERROR when a setup failed or acknowledged records were
 * still undelivered when the wait (`--drain-timeout`) ended.
 */
export function clusterSummaryRow(outcome: Outcome): string[] | undefined {
  if (outcome.status === 'skipped') return undefined;
  const label = `Redis Cluster (${CLUSTER_MASTERS} masters) vs one Redis`;
  const target = 'measured; every record delivered';
  if (outcome.status !== 'ok') {
    return [label, outcome.status === 'failed' ? 'phase failed' : 'interrupted', target, 'ERROR'];
  }
  const { setups } = outcome.value;
  const base = setups[0];
  const failed = setups.filter((s) => s.status === 'failed').map((s) => s.title);
  const missing = setups.some((s) => s.status === 'ok' && s.value.delivery.undeliveredRecords > 0);
  const parts: string[] = [];
  for (const setup of setups.slice(1)) {
    if (setup.status !== 'ok' || base?.status !== 'ok') continue;
    const ingest = shareText(setup.value.ingest.mibS, base.value.ingest.mibS);
    const delivered = shareText(setup.value.delivery.mibS, base.value.delivery.mibS);
    parts.push(`${setup.title}: ingest ${ingest}, delivered ${delivered}`);
  }
  const value = [
    ...parts,
    ...(failed.length > 0 ? [`failed: ${failed.join(', ')}`] : []),
    ...(missing ? ['acknowledged records undelivered at the end of the wait'] : []),
  ].join('; ');
  return [label, value || 'no figures', target, failed.length > 0 || missing ? 'ERROR' : ''];
}
