/**
 * How numbers and times look in the CLI's text output. Fixed to `en-US` grouping and UTC, so
 * output is the same on every machine and scripts that read it (or tests) are not surprised by
 * a locale.
 */

const COUNT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** `1204` → `1,204`. */
export function formatCount(n: number): string {
  return COUNT.format(n);
}

/** `3, 'item'` → `3 items`; `1, 'record'` → `1 record`; grouped digits. */
export function countOf(n: number, noun: string): string {
  return `${formatCount(n)} ${n === 1 ? noun : `${noun}s`}`;
}

/** Epoch milliseconds as ISO-8601 UTC, `2024-05-01T12:00:00.000Z`. */
export function formatIso(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}
