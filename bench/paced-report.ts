import { DELIVERED_TOLERANCE, type PacedDeliveryFigures } from './paced-delivery.js';
import { counts, int, ms, num } from './report-format.js';

/**
 * How the report prints and judges a paced delivery run (phase 3 and the paced runs of phase 13):
 * the same lines and the same test wherever such a run appears.
 */

/** Milliseconds as seconds with two decimals; `not delivered` when infinite, `n/a` when absent. */
export function seconds(valueMs: number | undefined): string {
  if (valueMs === undefined) return 'n/a';
  return Number.isFinite(valueMs) ? `${num(valueMs / 1000, 2)} s` : 'not delivered';
}

/**
 * Whether sending took noticeably longer than scheduled: the service acknowledged less than was
 * offered, so the producers, not the backlog, held the difference.
 */
export function overran(r: PacedDeliveryFigures): boolean {
  return r.throughput.mibS < r.targetMibS * (1 - DELIVERED_TOLERANCE);
}

/**
 * The run's lines: offered and accepted rate, latency, delivered rate, backlog, freshness and
 * drain, each `indent` then a label padded to the report's figure column.
 */
export function pacedLines(r: PacedDeliveryFigures, indent = '  '): string[] {
  const f = r.freshness;
  const b = r.backlog;
  const errors = counts(r.throughput.errors);
  const rows: [string, string][] = [
    [
      'offered',
      `${num(r.targetMibS)} MiB/s; accepted ${num(r.sentMibS)} MiB/s; ${int.format(r.lateStarts)} requests started >100 ms late${overran(r) ? ` (sending took ${num(r.throughput.durationS)} s: ${num(r.throughput.mibS)} MiB/s acknowledged)` : ''}`,
    ],
    [
      'latency',
      `p50 ${ms(r.throughput.latencyP50Ms)}, p99 ${ms(r.throughput.latencyP99Ms)}; failed records ${int.format(r.throughput.failedRecords)}${errors === '' ? '' : ` (${errors})`}`,
    ],
    [
      'delivered',
      `${r.deliveredMibS === undefined ? 'n/a (steady window too short: raise --sustain)' : `${num(r.deliveredMibS)} MiB/s`}  (fit through the batch deliveries from ${r.allowanceS} s to the end of sending)`,
    ],
    [
      'backlog',
      `start ${num(b.startMib, 0)} MiB, end ${num(b.endMib, 0)} MiB, max ${num(b.maxMib, 0)} MiB, slope ${b.slopeMibS >= 0 ? '+' : ''}${num(b.slopeMibS, 2)} MiB/s → ${b.growing ? 'GROWING' : 'stable'}`,
    ],
    [
      'freshness',
      `p50 ${seconds(f.p50Ms)}, p99 ${seconds(f.p99Ms)}, max ${seconds(f.maxMs)}  (send → seen delivered; ${int.format(f.undeliveredRecords)} records never seen delivered${r.counterReadFailures > 0 ? `; ${r.counterReadFailures} counter readings failed` : ''})`,
    ],
    [
      'drain',
      r.drainedAfterS === undefined
        ? `NOT complete: ${int.format(r.deliveredRecords)} of ${int.format(r.acceptedRecords)} accepted records delivered, ${int.format(r.deadRecords)} dead-lettered`
        : `all ${int.format(r.acceptedRecords)} accepted records delivered ${num(r.drainedAfterS, 2)} s after the last acknowledgement`,
    ],
  ];
  return rows.map(([label, text]) => `${indent}${label.padEnd(19)}${text}`);
}

/**
 * Whether the run delivered at least `targetMibS` (less {@link DELIVERED_TOLERANCE}) with a
 * stable backlog; `undefined` when the steady window was too short for a rate.
 */
export function deliveredMeets(r: PacedDeliveryFigures, targetMibS: number): boolean | undefined {
  if (r.deliveredMibS === undefined) return undefined;
  return r.deliveredMibS >= targetMibS * (1 - DELIVERED_TOLERANCE) && !r.backlog.growing;
}
