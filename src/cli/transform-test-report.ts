import {
  CONTRACT_VIOLATION_CODES,
  type TransformErrorCode,
  type TransformRecordOutcome,
} from '../processors/transforms/transform-records.js';
import { countOf } from './format.js';

/**
 * What `sluice transform test` prints: each record's outcome (its new data as text, escaped
 * where it is not printable or not UTF-8), the counts, the contract violations and the timing,
 * as text for a person or as one JSON document for a script.
 */

/** One sample record and what the transform made of it. */
export interface TestedRecord {
  /** Line of the sample file the record came from (1-based); also its recordId. */
  line: number;
  outcome: TransformRecordOutcome;
}

/** A whole run of `sluice transform test`. */
export interface TransformTestReport {
  /** `sluice:transform:<name>` or the URL. */
  transform: string;
  /** The module file of a local transform. */
  file: string | undefined;
  /** The sample file. */
  input: string;
  records: readonly TestedRecord[];
  /** Time to start a worker and load the module (local transforms). */
  loadMs: number | undefined;
  /** Time of the invocations. */
  totalMs: number;
}

/** Longest output data the text report shows of one record, in characters. */
const SHOWN_DATA_CHARS = 1_000;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** `data` as UTF-8 text, or undefined when it is not valid UTF-8. */
export function utf8Text(data: Buffer): string | undefined {
  try {
    return UTF8.decode(data);
  } catch {
    return undefined;
  }
}

/** Escapes of the characters shown escaped besides the other control characters. */
const ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** `char` (one UTF-16 unit or code point) as shown: escaped if it is `\` or a control character. */
function shownChar(char: string): string {
  const code = char.charCodeAt(0);
  if (ESCAPES[char] !== undefined) return ESCAPES[char];
  return code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : char;
}

/**
 * `data` as one line of text: UTF-8 with `\`, line breaks, tabs and other control characters
 * escaped; when it is not valid UTF-8, every byte outside printable ASCII as `\xNN`.
 */
export function escapeData(data: Buffer): string {
  const text = utf8Text(data);
  let out = '';
  if (text === undefined) {
    for (const byte of data) {
      out += byte < 0x80 ? shownChar(String.fromCharCode(byte)) : `\\x${byte.toString(16)}`;
    }
    return out;
  }
  for (const char of text) out += shownChar(char);
  return out;
}

/** Records per result. */
export function resultCounts(records: readonly TestedRecord[]): Record<string, number> {
  const counts: Record<string, number> = { Ok: 0, Dropped: 0, ProcessingFailed: 0 };
  for (const { outcome } of records) counts[outcome.result] = (counts[outcome.result] ?? 0) + 1;
  return counts;
}

/** Records failed for breaking the Lambda contract, per code. */
export function contractViolations(
  records: readonly TestedRecord[],
): Partial<Record<TransformErrorCode, number>> {
  const violations: Partial<Record<TransformErrorCode, number>> = {};
  for (const { outcome } of records) {
    if (outcome.result === 'ProcessingFailed' && CONTRACT_VIOLATION_CODES.has(outcome.code)) {
      violations[outcome.code] = (violations[outcome.code] ?? 0) + 1;
    }
  }
  return violations;
}

function milliseconds(ms: number): string {
  return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
}

/** The report as text. */
export function renderTextReport(report: TransformTestReport): string {
  const lines = [
    `Transform  ${report.transform}${report.file === undefined ? '' : `  (${report.file})`}`,
    `Records    ${countOf(report.records.length, 'record')} from ${report.input}`,
    '',
  ];
  for (const { line, outcome } of report.records) {
    if (outcome.result === 'ProcessingFailed') {
      lines.push(`#${line}  ProcessingFailed  ${outcome.code}`, `    ${outcome.message}`);
      continue;
    }
    lines.push(`#${line}  ${outcome.result}`);
    if (outcome.result !== 'Ok') continue;
    const shown = escapeData(outcome.data);
    lines.push(
      `    data: ${shown.length > SHOWN_DATA_CHARS ? `${shown.slice(0, SHOWN_DATA_CHARS)}… (${countOf(outcome.data.length, 'byte')})` : shown}`,
    );
    if (outcome.partitionKeys !== undefined) {
      lines.push(`    partition keys: ${JSON.stringify(outcome.partitionKeys)}`);
    }
  }
  const counts = resultCounts(report.records);
  const violations = Object.entries(contractViolations(report.records));
  const perRecord = report.records.length === 0 ? 0 : report.totalMs / report.records.length;
  lines.push(
    '',
    `Results              ${Object.entries(counts)
      .map(([result, count]) => `${count} ${result}`)
      .join(', ')}`,
    `Contract violations  ${violations.length === 0 ? 'none' : violations.map(([code, count]) => `${code} ${count}`).join(', ')}`,
    `Timing               ${report.loadMs === undefined ? '' : `load ${milliseconds(report.loadMs)}, `}total ${milliseconds(report.totalMs)}, ${milliseconds(perRecord)} per record`,
    '',
  );
  return lines.join('\n');
}

/** The report as one JSON document. */
export function renderJsonReport(report: TransformTestReport): string {
  const records = report.records.map(({ line, outcome }) => {
    const base = { line, recordId: String(line), result: outcome.result };
    if (outcome.result === 'ProcessingFailed') {
      return { ...base, errorCode: outcome.code, errorMessage: outcome.message };
    }
    if (outcome.result === 'Dropped') return base;
    return {
      ...base,
      data: utf8Text(outcome.data) ?? null,
      dataBase64: outcome.data.toString('base64'),
      partitionKeys: outcome.partitionKeys ?? null,
    };
  });
  const perRecordMs = report.records.length === 0 ? 0 : report.totalMs / report.records.length;
  return `${JSON.stringify(
    {
      transform: report.transform,
      file: report.file ?? null,
      input: report.input,
      records,
      results: resultCounts(report.records),
      contractViolations: contractViolations(report.records),
      timing: { loadMs: report.loadMs ?? null, totalMs: report.totalMs, perRecordMs },
    },
    null,
    2,
  )}\n`;
}
