/**
 * How the printed report writes its figures: numbers, durations, and per-process or per-reason
 * lists, the same in every section.
 */

/** Whole numbers with thousands separators. */
export const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** A number with `digits` decimals; `n/a` when absent or not a number, `∞` when infinite. */
export function num(value: number | undefined, digits = 1): string {
  if (value === undefined || Number.isNaN(value)) return 'n/a';
  if (!Number.isFinite(value)) return '∞';
  return value.toFixed(digits);
}

/** Milliseconds with one decimal, or `n/a`. */
export function ms(value: number | undefined): string {
  return value === undefined ? 'n/a' : `${num(value, 1)} ms`;
}

/** Each process's memory: `name 123 MiB, …`. */
export function rssText(rss: Record<string, number | undefined>): string {
  return Object.entries(rss)
    .map(([name, mib]) => `${name} ${num(mib, 0)} MiB`)
    .join(', ');
}

/** Each process's CPU as a share of one core: `name 85 %, …`. */
export function cpuText(cpu: Record<string, number | undefined>): string {
  return Object.entries(cpu)
    .map(([name, share]) => `${name} ${num(share === undefined ? undefined : share * 100, 0)} %`)
    .join(', ');
}

/** Counts by key: `key: 1,234; …` (empty when there are none). */
export function counts(values: Record<string, number>): string {
  return Object.entries(values)
    .map(([key, n]) => `${key}: ${int.format(n)}`)
    .join('; ');
}

/** A text table with columns padded to their widest cell, each line after `indent`. */
export function table(rows: readonly string[][], indent = ''): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  const line = (row: readonly string[]) =>
    `${indent}| ${row.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const rule = `${indent}|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  const [head, ...body] = rows;
  return head === undefined ? [] : [line(head), rule, ...body.map(line)];
}
