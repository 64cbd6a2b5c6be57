/**
 * Wall-clock milliseconds with sub-millisecond resolution, monotonic within the run. Every
 * timestamp the bench compares (sends, acknowledgements, Redis samples, RSS samples) comes from
 * here, so they share one clock.
 */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
