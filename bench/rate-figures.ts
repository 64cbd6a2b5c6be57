import { MIB } from './stats.js';

/** A rate over a window. */
export interface RateFigures {
  durationS: number;
  requests: number;
  records: number;
  recordsPerS: number;
  /** Payload (base64-decoded record bytes) per second. */
  mibS: number;
}

/** `records` and `bytes` of payload over `ms` milliseconds (at least 1 ms, so never a division by 0). */
export function rateFigures(
  requests: number,
  records: number,
  bytes: number,
  ms: number,
): RateFigures {
  const durationS = Math.max(1e-3, ms / 1000);
  return {
    durationS,
    requests,
    records,
    recordsPerS: records / durationS,
    mibS: bytes / MIB / durationS,
  };
}
