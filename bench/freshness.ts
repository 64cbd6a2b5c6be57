import type { RequestEvent } from './load.js';
import { weightedPercentile } from './stats.js';
import type { StreamStatsSample } from './stream-stats.js';

/**
 * Data freshness: how long after a producer sent a record it was delivered to S3.
 *
 * Sluice does not report which records a delivery carried, only the stream's cumulative
 * `deliveredRecords`. Batches are sealed in arrival order, so the n-th record acknowledged is
 * (to within the batches delivered concurrently) the n-th delivered: the records of the request
 * that brought the acknowledged total to N count as delivered at the first sample whose
 * `deliveredRecords` reached N. Their freshness is that sample's time minus the request's due
 * time (see {@link RequestEvent.dueMs}), so it includes the request's own wait for the
 * acknowledgement, as a real producer sees it.
 * Resolution is the sampling period (the delivery happened at most one period before it was seen).
 */

/** Freshness percentiles, in ms; `Infinity` when the percentile falls on undelivered records. */
export interface Freshness {
  p50Ms: number | undefined;
  p99Ms: number | undefined;
  maxMs: number | undefined;
  /** Accepted records matched to a delivery. */
  deliveredRecords: number;
  /** Accepted records the counters never showed delivered before sampling ended. */
  undeliveredRecords: number;
}

/**
 * Matches acknowledged requests to delivery samples.
 *
 * @param events - acknowledged requests of one stream.
 * @param samples - that stream's counter readings, in time order, covering the load and drain.
 * @param baseline - `deliveredRecords` before the load began (0 for a fresh stream).
 */
export function computeFreshness(
  events: readonly RequestEvent[],
  samples: readonly StreamStatsSample[],
  baseline = 0,
): Freshness {
  const acked = [...events].sort((a, b) => a.ackedMs - b.ackedMs);
  const entries: { value: number; weight: number }[] = [];
  let cumulative = 0;
  let s = 0;
  let delivered = 0;
  let undelivered = 0;
  for (const event of acked) {
    cumulative += event.acceptedRecords;
    while (s < samples.length && (samples[s]?.deliveredRecords ?? 0) - baseline < cumulative) {
      s += 1;
    }
    const sample = samples[s];
    if (sample === undefined) {
      undelivered += event.acceptedRecords;
      entries.push({ value: Infinity, weight: event.acceptedRecords });
    } else {
      delivered += event.acceptedRecords;
      entries.push({ value: sample.atMs - event.dueMs, weight: event.acceptedRecords });
    }
  }
  return {
    p50Ms: weightedPercentile(entries, 50),
    p99Ms: weightedPercentile(entries, 99),
    maxMs: weightedPercentile(entries, 100),
    deliveredRecords: delivered,
    undeliveredRecords: undelivered,
  };
}
