/**
 * One history sample of a stream: what its durable counters and backlog gauges read at one
 * moment. Samples are stored as compact text (see {@link encodeSample}), one Redis list entry
 * each; the charts are computed from consecutive samples (see history-series.ts).
 */
import { DURABLE, parseField } from '../telemetry/durable-families.js';

/** What one stream's counters read at `at`. Counters are totals since the stream was created. */
export interface HistorySample {
  /** When read, epoch ms. */
  at: number;
  /** `sluice_incoming_records_total`. */
  incomingRecords: number;
  /** `sluice_incoming_bytes_total`. */
  incomingBytes: number;
  /** `sluice_delivery_records_total`, summed over destinations. */
  deliveredRecords: number;
  /** `sluice_delivery_bytes_total`, summed over destinations. */
  deliveredBytes: number;
  /** Backlog gauge: records accepted and not yet delivered (stats `backlogRecords`). */
  backlogRecords: number;
  /** Backlog gauge: their bytes (stats `backlogBytes`). */
  backlogBytes: number;
  /** Deliveries observed by the data freshness histogram (its count). */
  freshnessCount: number;
  /** Sum of their data freshness, ms (the histogram's sum). */
  freshnessSumMs: number;
}

/** The members of a sample after `at`, in their stored order. */
const VALUE_MEMBERS = [
  'incomingRecords',
  'incomingBytes',
  'deliveredRecords',
  'deliveredBytes',
  'backlogRecords',
  'backlogBytes',
  'freshnessCount',
  'freshnessSumMs',
] as const satisfies readonly (keyof HistorySample)[];

/** The stats hash fields a sample reads, in the order {@link sampleFromReading} expects. */
export const SAMPLE_STATS_FIELDS = ['backlogRecords', 'backlogBytes'] as const;

/**
 * A sample as stored: the numbers in base 36, separated by spaces (about 50 bytes, so an
 * hour of 10 s samples of one stream is about 20 KB).
 */
export function encodeSample(sample: HistorySample): string {
  return [sample.at, ...VALUE_MEMBERS.map((member) => sample[member])]
    .map((n) => Math.max(0, Math.round(n)).toString(36))
    .join(' ');
}

/** Reads a stored sample; undefined for anything that is not one (written by hand, say). */
export function decodeSample(text: string): HistorySample | undefined {
  const parts = text.split(' ');
  if (parts.length !== VALUE_MEMBERS.length + 1) return undefined;
  const numbers = parts.map((part) => (/^[0-9a-z]{1,14}$/.test(part) ? parseInt(part, 36) : NaN));
  if (numbers.some((n) => !Number.isSafeInteger(n))) return undefined;
  const sample = { at: numbers[0] as number } as HistorySample;
  VALUE_MEMBERS.forEach((member, i) => {
    sample[member] = numbers[i + 1] as number;
  });
  return sample;
}

/** Whether two samples hold the same counts (their times aside). */
export function sameCounts(a: HistorySample, b: HistorySample): boolean {
  return VALUE_MEMBERS.every((member) => a[member] === b[member]);
}

/**
 * The sample of one stream from its durable counters hash (`HGETALL`) and its stats fields
 * ({@link SAMPLE_STATS_FIELDS}, `HMGET`), read at `at`.
 */
export function sampleFromReading(
  at: number,
  metrics: Readonly<Record<string, string>>,
  stats: readonly (string | null)[],
): HistorySample {
  const sample: HistorySample = {
    at,
    incomingRecords: 0,
    incomingBytes: 0,
    deliveredRecords: 0,
    deliveredBytes: 0,
    backlogRecords: count(stats[0]),
    backlogBytes: count(stats[1]),
    freshnessCount: 0,
    freshnessSumMs: 0,
  };
  for (const [field, raw] of Object.entries(metrics)) {
    const parsed = parseField(field);
    if (parsed === undefined) continue;
    const value = count(raw);
    switch (parsed.family) {
      case DURABLE.incomingRecords:
        sample.incomingRecords += value;
        break;
      case DURABLE.incomingBytes:
        sample.incomingBytes += value;
        break;
      case DURABLE.deliveryRecords:
        sample.deliveredRecords += value;
        break;
      case DURABLE.deliveryBytes:
        sample.deliveredBytes += value;
        break;
      case DURABLE.deliveryFreshness:
        // Buckets are stored per bound (not cumulative): their sum is the count.
        if (parsed.part === 'sum') sample.freshnessSumMs += value;
        else sample.freshnessCount += value;
        break;
      default:
        break;
    }
  }
  return sample;
}

function count(raw: string | null | undefined): number {
  const value = Number(raw ?? 0);
  return Number.isFinite(value) && value > 0 ? value : 0;
}
