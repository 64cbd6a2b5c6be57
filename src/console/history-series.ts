import type { HistorySample } from './history-sample.js';

/** One point of a stream's charts: rates over the interval ending at `at`, gauges at `at`. */
export interface HistoryPoint {
  /** End of the interval, epoch ms. */
  at: number;
  incomingRecordsPerSecond: number;
  incomingBytesPerSecond: number;
  deliveredRecordsPerSecond: number;
  deliveredBytesPerSecond: number;
  backlogRecords: number;
  backlogBytes: number;
  /** Mean data freshness of the deliveries in the interval, seconds; null when none. */
  freshnessSeconds: number | null;
}

/**
 * The chart points of consecutive samples: one per sample after the first.
 *
 * Streams whose counts do not change are not sampled every interval (see stream-history.ts),
 * so a gap longer than one and a half intervals means the counts stood still until the last
 * interval before the next sample: the gap is drawn as a point at zero one interval before
 * it, and the change is put into that last interval rather than averaged over the gap.
 * A counter that went down (a stream created again under the same name) counts from zero.
 */
export function historyPoints(
  samples: readonly HistorySample[],
  intervalMs: number,
): HistoryPoint[] {
  const points: HistoryPoint[] = [];
  for (let i = 1; i < samples.length; i++) {
    const before = samples[i - 1] as HistorySample;
    const after = samples[i] as HistorySample;
    if (after.at <= before.at) continue;
    let start = before.at;
    if (after.at - before.at > intervalMs * 1.5) {
      start = after.at - intervalMs;
      points.push(pointBetween(before, { ...before, at: start }));
    }
    points.push(pointBetween({ ...before, at: start }, after));
  }
  return points;
}

function pointBetween(before: HistorySample, after: HistorySample): HistoryPoint {
  const seconds = (after.at - before.at) / 1000;
  const rate = (member: keyof HistorySample) => increase(before[member], after[member]) / seconds;
  const deliveries = increase(before.freshnessCount, after.freshnessCount);
  const freshnessMs = increase(before.freshnessSumMs, after.freshnessSumMs);
  return {
    at: after.at,
    incomingRecordsPerSecond: rate('incomingRecords'),
    incomingBytesPerSecond: rate('incomingBytes'),
    deliveredRecordsPerSecond: rate('deliveredRecords'),
    deliveredBytesPerSecond: rate('deliveredBytes'),
    backlogRecords: after.backlogRecords,
    backlogBytes: after.backlogBytes,
    freshnessSeconds: deliveries > 0 ? freshnessMs / deliveries / 1000 : null,
  };
}

/** How much a counter grew; after a reset, its new value. */
function increase(from: number, to: number): number {
  return to >= from ? to - from : to;
}
