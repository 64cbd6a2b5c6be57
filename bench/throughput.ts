import type { LoadResult } from './load.js';
import { MIB, percentile } from './stats.js';

/** Rates and latencies of one load run, ready for the report. */
export interface ThroughputFigures {
  /** From the first send to the last reply. */
  durationS: number;
  requests: number;
  requestsPerS: number;
  /** Accepted payload (before base64) per second. */
  mibS: number;
  recordsPerS: number;
  acceptedRecords: number;
  failedRecords: number;
  /** Failed records by reason. */
  errors: Record<string, number>;
  latencyP50Ms: number | undefined;
  latencyP99Ms: number | undefined;
}

/** Summarises a load run. Only accepted records count towards MiB/s and records/s. */
export function throughputFigures(result: LoadResult): ThroughputFigures {
  const durationS = Math.max(1e-3, (result.endMs - result.startMs) / 1000);
  return {
    durationS,
    requests: result.requests,
    requestsPerS: result.requests / durationS,
    mibS: result.acceptedBytes / MIB / durationS,
    recordsPerS: result.acceptedRecords / durationS,
    acceptedRecords: result.acceptedRecords,
    failedRecords: result.failedRecords,
    errors: Object.fromEntries(result.errors),
    latencyP50Ms: percentile(result.latenciesMs, 50),
    latencyP99Ms: percentile(result.latenciesMs, 99),
  };
}
