import {
  OPENSEARCH_FAIL_EVERY,
  OPENSEARCH_INTERVAL_S,
  OPENSEARCH_RETRY_S,
  OPENSEARCH_SIZE_MB,
  type OpenSearchResult,
} from './opensearch-phase.js';
import type { RateFigures } from './rate-figures.js';
import { counts, cpuText, int, ms, num, rssText } from './report-format.js';

/**
 * The opensearch phase's part of the printed report: its section and its summary row. Kept
 * beside the phase so `report.ts` only places them.
 */

/** How the phase ended, as `report.ts`'s `PhaseOutcome` says it. */
type Outcome =
  | { status: 'ok'; value: OpenSearchResult }
  | { status: 'failed'; error: string }
  | { status: 'interrupted' }
  | { status: 'skipped' };

function rateText(r: RateFigures): string {
  return `${int.format(r.recordsPerS)} documents/s, ${num(r.mibS)} MiB/s`;
}

/** The section's lines. */
export function openSearchSection(title: string, outcome: Outcome): string[] {
  const lines = [
    title,
    `  cluster            the OpenSearch test server in its own process; SizeInMBs ${OPENSEARCH_SIZE_MB}, IntervalInSeconds ${OPENSEARCH_INTERVAL_S}, RetryOptions ${OPENSEARCH_RETRY_S} s; every ${OPENSEARCH_FAIL_EVERY}th document answered 400 mapper_parsing_exception`,
  ];
  if (outcome.status === 'skipped') return [...lines, '  not run'];
  if (outcome.status === 'interrupted') return [...lines, '  interrupted'];
  if (outcome.status === 'failed') {
    return [
      ...lines,
      ...outcome.error
        .split('\n')
        .slice(0, 40)
        .map((l) => `  ! ${l}`),
    ];
  }
  const r = outcome.value;
  const ref = r.reference;
  const base = ref.indexed.recordsPerS;
  const share = (rate: RateFigures) =>
    base === 0 ? '' : ` = ${num((rate.recordsPerS / base) * 100)} % of bare _bulk`;
  const refErrors = counts(ref.errors);
  const a = r.accounting;
  const other = counts(r.failedOther);
  const extras = [
    a.unacknowledgedArrived > 0
      ? `${int.format(a.unacknowledgedArrived)} unacknowledged arrived`
      : '',
    a.neverSent > 0 ? `${int.format(a.neverSent)} never sent` : '',
    r.deadRecords > 0 ? `${int.format(r.deadRecords)} dead-lettered` : '',
  ].filter((x) => x !== '');
  lines.push(
    `  bare _bulk         ${rateText(ref.indexed)}  (${int.format(ref.requests)} requests of ${int.format(ref.documentsPerRequest)} documents, ${num(ref.bodyKiB / 1024)} MiB, ${ref.concurrency} in flight over keep-alive, over ${num(ref.indexed.durationS)} s)`,
    `                     p50 ${ms(ref.latencyP50Ms)}, p99 ${ms(ref.latencyP99Ms)}; ${int.format(ref.failedOnPurpose)} items answered 400 on purpose${refErrors === '' ? '' : `; failed otherwise: ${refErrors}`}; CPU ${cpuText(ref.cpuShare)}`,
    `  ingest             ${num(r.ingest.mibS)} MiB/s acknowledged (${int.format(r.ingest.acceptedRecords)} records over ${num(r.ingest.durationS)} s, ${int.format(r.ingest.failedRecords)} failed); SLUICE_DELIVERY_CONCURRENCY ${r.deliveryConcurrency}`,
    `                     CPU ${cpuText(r.ingestCpuShare)}`,
    r.deliveredDrain
      ? `  delivered          ${rateText(r.deliveredDrain)}${share(r.deliveredDrain)}  (after the load: ${int.format(r.deliveredDrain.records)} documents in ${num(r.deliveredDrain.durationS)} s)`
      : '  delivered          n/a after the load (too little left to deliver when it ended)',
    `                     ${rateText(r.deliveredOverall)}${share(r.deliveredOverall)}  (first item to last document indexed, ingest included, ${num(r.deliveredOverall.durationS)} s)`,
    `  bulk requests      ${int.format(r.bulkRequests)} of ${num(r.documentsPerRequest, 0)} documents on average; ${int.format(r.failedOnPurpose.items)} items answered 400 on purpose (${int.format(r.failedOnPurpose.records)} records)${other === '' ? '' : `; failed otherwise: ${other}`}`,
    `  error output       ${int.format(r.errorOutput.records)} records in ${int.format(r.errorOutput.objects)} objects (${counts(r.errorOutput.codes)}): ${r.errorOutputMatches ? 'exactly the documents failed on purpose' : `NOT the documents failed on purpose (${int.format(a.errorNotDeliberate)} not failed on purpose, ${int.format(a.deliberateNotInErrorOutput)} failed on purpose missing)`}`,
    `  accounting         ${int.format(a.acknowledged)} acknowledged: ${int.format(a.accepted)} indexed + ${int.format(a.inErrorOutput)} in the error output; lost ${int.format(a.lost)}, copies beyond the first ${int.format(a.duplicated)} (documents in the index ${int.format(r.documentsInIndex)}, overwrites ${int.format(r.overwrites)})${extras.length > 0 ? `; ${extras.join(', ')}` : ''}`,
    `  settled            ${r.settledAfterS === undefined ? 'NOT within --drain-timeout' : `${num(r.settledAfterS, 2)} s after the load`}`,
    `  RSS max            ${rssText(r.rssMaxMib)}`,
    `  CPU (1 core = 100) ${cpuText(r.cpuShare)}  (${r.deliveredDrain ? 'while delivering after the load' : 'whole phase'})`,
  );
  return lines;
}

/** The summary row: [figure, value, target, verdict], or undefined when the phase did not run. */
export function openSearchSummaryRow(outcome: Outcome): string[] | undefined {
  const name = 'OpenSearch delivered (role all)';
  const target = '0 lost; error output = failed documents';
  switch (outcome.status) {
    case 'skipped':
      return undefined;
    case 'interrupted':
      return [name, 'interrupted', target, ''];
    case 'failed':
      return [name, 'phase failed', target, 'ERROR'];
    case 'ok': {
      const r = outcome.value;
      const delivered = r.deliveredDrain ?? r.deliveredOverall;
      const base = r.reference.indexed.recordsPerS;
      return [
        name,
        `${int.format(delivered.recordsPerS)} documents/s${base > 0 ? ` = ${num((delivered.recordsPerS / base) * 100)} % of bare _bulk` : ''}; ${int.format(r.accounting.lost)} lost, ${int.format(r.errorOutput.records)} to error output`,
        target,
        r.accounting.lost === 0 && r.errorOutputMatches ? 'PASS' : 'MISS',
      ];
    }
  }
}
