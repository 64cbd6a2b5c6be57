import type { ReplicasResult, ReplicasSide } from './replicas-phase.js';
import { int, ms, num } from './report-format.js';

/**
 * The replicas phase's part of the printed report: its section and its summary row. Kept
 * beside the phase so `report.ts` only places them.
 */

/** How the phase ended, as `report.ts`'s `PhaseOutcome` says it. */
type Outcome =
  | { status: 'ok'; value: ReplicasResult }
  | { status: 'failed'; error: string }
  | { status: 'interrupted' }
  | { status: 'skipped' };

function sideLine(side: ReplicasSide): string {
  const t = side.throughput;
  return `  MIN_REPLICAS=${side.minReplicas}     ${num(t.mibS)} MiB/s acknowledged, ${num(t.requestsPerS, 0)} req/s; latency p50 ${ms(t.latencyP50Ms)}, p99 ${ms(t.latencyP99Ms)}; failed records ${int.format(t.failedRecords)}`;
}

/** The section's lines. */
export function replicasSection(title: string, outcome: Outcome): string[] {
  if (outcome.status === 'skipped') return [title, '  not run'];
  if (outcome.status === 'interrupted') return [title, '  interrupted'];
  if (outcome.status === 'failed') return [title, `  failed: ${outcome.error}`];
  const r = outcome.value;
  const share = r.with.throughput.mibS / r.without.throughput.mibS;
  return [
    title,
    `  replica            ${r.replica}`,
    sideLine(r.without),
    sideLine(r.with),
    `  cost               acknowledged MiB/s with the wait = ${num(share * 100)} % of without`,
  ];
}

/** The summary row: the cost is reported, not judged (the issue sets no target). */
export function replicasSummaryRow(outcome: Outcome): string[] | undefined {
  if (outcome.status !== 'ok') return undefined;
  const r = outcome.value;
  const share = r.with.throughput.mibS / r.without.throughput.mibS;
  return [
    'Ingest with SLUICE_REDIS_MIN_REPLICAS=1',
    `${num(r.with.throughput.mibS)} MiB/s = ${num(share * 100)} % of =0; p99 ${ms(r.with.throughput.latencyP99Ms)} vs ${ms(r.without.throughput.latencyP99Ms)}`,
    'measured',
    '',
  ];
}
