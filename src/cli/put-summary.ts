import { countOf, formatCount } from './format.js';
import type { FailedRecord } from './put-sender.js';

/**
 * What `sluice put` did, as a sentence and a line per error code, or as JSON for scripts.
 */

/** The totals of a put run. */
export interface PutReport {
  readonly stream: string;
  /** Records in the input. */
  readonly records: number;
  /** Records the stream accepted. */
  readonly sent: number;
  /** Records given up after the last attempt (not those never sent after a stop). */
  readonly failed: readonly FailedRecord[];
  readonly requests: number;
  readonly retried: number;
  readonly maxAttempts: number;
}

/** Lines a text summary names per error code; JSON names them all. */
const LINES_SHOWN = 10;

/** Failed records by error code and message, in the order first seen. */
function groups(
  failed: readonly FailedRecord[],
): { code: string; message: string; lines: number[] }[] {
  const byKey = new Map<string, { code: string; message: string; lines: number[] }>();
  for (const record of failed) {
    const key = `${record.code}\u0000${record.message}`;
    let group = byKey.get(key);
    if (group === undefined) {
      group = { code: record.code, message: record.message, lines: [] };
      byKey.set(key, group);
    }
    group.lines.push(record.line);
  }
  return [...byKey.values()];
}

/** The summary for people. */
export function renderPutSummary(report: PutReport): string {
  const requests = countOf(report.requests, 'request');
  const retried =
    report.retried > 0 ? ` (${countOf(report.retried, 'record')} sent again after failures)` : '';
  if (report.sent === report.records) {
    return `Put ${countOf(report.records, 'record')} into ${report.stream} in ${requests}${retried}.\n`;
  }
  const lines = [
    `Put ${formatCount(report.sent)} of ${countOf(report.records, 'record')} into ${report.stream} in ${requests}${retried}.`,
  ];
  if (report.failed.length > 0) {
    lines.push(
      `${countOf(report.failed.length, 'record')} failed after ${countOf(report.maxAttempts, 'attempt')}:`,
    );
    for (const group of groups(report.failed)) {
      const shown = group.lines.slice(0, LINES_SHOWN).join(', ');
      const more = group.lines.length > LINES_SHOWN ? ', …' : '';
      const message = group.message === '' ? '' : ` (${group.message})`;
      lines.push(
        `  ${group.code}${message}: ${countOf(group.lines.length, 'record')}, line${group.lines.length === 1 ? '' : 's'} ${shown}${more}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The summary for scripts: every failed line, by error. */
export function renderPutJson(
  report: PutReport,
  stopped?: { code: string; message: string },
): string {
  return `${JSON.stringify(
    {
      stream: report.stream,
      records: report.records,
      sent: report.sent,
      failed: report.failed.length,
      requests: report.requests,
      retried: report.retried,
      errors: groups(report.failed),
      ...(stopped === undefined ? {} : { stopped }),
    },
    null,
    2,
  )}\n`;
}
