import type { ReplayCandidate } from './admin-client.js';
import { countOf, formatCount, formatIso } from './format.js';
import { renderTable } from './table.js';

/**
 * What a replay did (or, in a dry run, would do), and its two renderings: one sentence for
 * people and a JSON document for scripts.
 */

/** Why items the selection marks as replayed are left out. */
export const ALREADY_REPLAYED = 'already replayed';

/** What happened to one item of the selection. */
export type ItemOutcome =
  /** Put into the target stream; `records` as the server counted them. */
  | { readonly kind: 'replayed'; readonly item: ReplayCandidate; readonly records: number }
  /** Left out, by the CLI (already replayed) or by the server (its reason). */
  | { readonly kind: 'skipped'; readonly item: ReplayCandidate; readonly reason: string }
  /** A dry run would replay it. */
  | { readonly kind: 'to-replay'; readonly item: ReplayCandidate }
  /** Its replay failed with this message; the run stopped there. */
  | { readonly kind: 'failed'; readonly item: ReplayCandidate; readonly error: string }
  /** Not tried, because an earlier item failed. */
  | { readonly kind: 'not-replayed'; readonly item: ReplayCandidate };

/** A replay run, in selection order. */
export interface ReplayReport {
  readonly stream: string;
  readonly to: string;
  readonly dryRun: boolean;
  readonly outcomes: readonly ItemOutcome[];
}

interface Tally {
  items: number;
  records: number;
}

/** Counts of a report, by outcome (records as the selection counted them, except replayed). */
function tally(report: ReplayReport): {
  replayed: Tally;
  toReplay: Tally;
  skipped: Tally;
  skippedByReason: Map<string, number>;
  unfinished: Tally;
} {
  const zero = (): Tally => ({ items: 0, records: 0 });
  const counts = {
    replayed: zero(),
    toReplay: zero(),
    skipped: zero(),
    skippedByReason: new Map<string, number>(),
    unfinished: zero(),
  };
  for (const outcome of report.outcomes) {
    switch (outcome.kind) {
      case 'replayed':
        counts.replayed.items += 1;
        counts.replayed.records += outcome.records;
        break;
      case 'to-replay':
        counts.toReplay.items += 1;
        counts.toReplay.records += outcome.item.records;
        break;
      case 'skipped':
        counts.skipped.items += 1;
        counts.skipped.records += outcome.item.records;
        counts.skippedByReason.set(
          outcome.reason,
          (counts.skippedByReason.get(outcome.reason) ?? 0) + 1,
        );
        break;
      case 'failed':
      case 'not-replayed':
        counts.unfinished.items += 1;
        counts.unfinished.records += outcome.item.records;
        break;
    }
  }
  return counts;
}

/**
 * One sentence: `Replayed 3 items (1,204 records) from s1 into s2; skipped 2 already replayed.`
 * A dry run says "Would replay"; a run stopped by a failure says how much was not replayed.
 */
export function renderSummary(report: ReplayReport): string {
  const counts = tally(report);
  const route = `from ${report.stream} into ${report.to}`;
  const done = report.dryRun ? counts.toReplay : counts.replayed;
  const verb = report.dryRun ? 'Would replay' : 'Replayed';
  let sentence =
    done.items === 0 && counts.unfinished.items === 0
      ? `Nothing to replay ${route}`
      : `${verb} ${countOf(done.items, 'item')} (${countOf(done.records, 'record')}) ${route}`;
  if (counts.skipped.items > 0) {
    const reasons = [...counts.skippedByReason].map(([reason, n]) => `${formatCount(n)} ${reason}`);
    sentence += `; ${report.dryRun ? 'would skip' : 'skipped'} ${reasons.join(', ')}`;
  }
  if (counts.unfinished.items > 0) {
    sentence += `; not replayed: ${countOf(counts.unfinished.items, 'item')} (${countOf(counts.unfinished.records, 'record')}) from the failed one on`;
  }
  return `${sentence}.\n`;
}

/** The dry run's list: one row an item of the selection, with what a replay would do to it. */
export function renderDryRunTable(report: ReplayReport): string {
  if (report.outcomes.length === 0) return '';
  return renderTable(
    [
      { header: 'ID', align: 'left' },
      { header: 'SOURCE', align: 'left' },
      { header: 'TYPE', align: 'left' },
      { header: 'RECORDS', align: 'right' },
      { header: 'AT', align: 'left' },
      { header: 'ACTION', align: 'left' },
    ],
    report.outcomes.map((outcome) => [
      outcome.item.id,
      outcome.item.source,
      outcome.item.type,
      formatCount(outcome.item.records),
      formatIso(outcome.item.atMs),
      outcome.kind === 'skipped' ? `skip (${outcome.reason})` : 'replay',
    ]),
  );
}

/**
 * The report as JSON for scripts: the streams, totals by outcome, whether the run completed and
 * each item with its outcome. Records of replayed items are the server's counts.
 */
export function renderJsonReport(
  report: ReplayReport,
  error?: { code: string; message: string },
): string {
  const counts = tally(report);
  const document = {
    stream: report.stream,
    to: report.to,
    dryRun: report.dryRun,
    completed: error === undefined,
    ...(report.dryRun ? { toReplay: counts.toReplay } : { replayed: counts.replayed }),
    skipped: { ...counts.skipped, byReason: Object.fromEntries(counts.skippedByReason) },
    ...(counts.unfinished.items > 0 ? { notReplayed: counts.unfinished } : {}),
    ...(error === undefined ? {} : { error }),
    items: report.outcomes.map((outcome) => ({
      id: outcome.item.id,
      source: outcome.item.source,
      type: outcome.item.type,
      records: outcome.item.records,
      atMs: outcome.item.atMs,
      outcome: outcome.kind,
      ...(outcome.kind === 'replayed' ? { replayedRecords: outcome.records } : {}),
      ...(outcome.kind === 'skipped' ? { reason: outcome.reason } : {}),
      ...(outcome.kind === 'failed' ? { error: outcome.error } : {}),
    })),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
