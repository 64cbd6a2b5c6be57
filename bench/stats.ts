/** Small statistics helpers for the report. */

/**
 * The `p`-th percentile (0–100) of `values` by nearest rank; `undefined` for no values.
 * Nearest rank, not interpolation, so every reported latency is one that really happened.
 */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/**
 * The `p`-th percentile (0–100) of values that each stand for `weight` items (a request's
 * freshness counts once per record it carried); nearest rank over the items.
 */
export function weightedPercentile(
  entries: readonly { value: number; weight: number }[],
  p: number,
): number | undefined {
  const sorted = entries.filter((e) => e.weight > 0).sort((a, b) => a.value - b.value);
  const total = sorted.reduce((sum, e) => sum + e.weight, 0);
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const entry of sorted) {
    seen += entry.weight;
    if (seen >= rank) return entry.value;
  }
  return sorted[sorted.length - 1]?.value;
}

/**
 * Least-squares slope of `y` over `x` (units of y per unit of x); 0 for fewer than two distinct
 * x values.
 */
export function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

/** Bytes in a MiB. */
export const MIB = 1024 * 1024;
