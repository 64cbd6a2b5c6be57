import type { ProcessSampler } from './process-sampler.js';
import { say } from './progress.js';
import { MIB } from './stats.js';

/**
 * Measuring a Sluice stage beside its reference in the same process: the two run in
 * alternating rounds (reference, Sluice, reference, Sluice…) rather than one after the other,
 * so that a change in the machine's load during the phase (the machine is shared) falls on
 * both sides alike instead of on one.
 */

/** What one side did in one round. */
export interface Round {
  records: number;
  /** Input payload bytes of those records. */
  bytes: number;
  /** Epoch ms (`clock.ts`), so CPU readings can be matched to the round. */
  startMs: number;
  endMs: number;
}

/** One side's rate over all its rounds. */
export interface SideRate {
  rounds: number;
  records: number;
  /** Sum of the rounds' durations. */
  durationS: number;
  recordsPerS: number;
  /** Input payload per second. */
  mibS: number;
  /** Lowest and highest rate of a single round, records/s: how steady the side was. */
  minRoundRecordsPerS: number;
  maxRoundRecordsPerS: number;
  /** Average CPU per process over the side's rounds, as a share of one core. */
  cpuShare: Record<string, number | undefined>;
}

/** A side: runs one round of about `durationMs`. */
export type RoundRunner = (durationMs: number) => Promise<Round>;

function averageShares(
  shares: readonly Record<string, number | undefined>[],
): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {};
  for (const name of new Set(shares.flatMap((s) => Object.keys(s)))) {
    const values = shares.map((s) => s[name]).filter((v): v is number => v !== undefined);
    out[name] = values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;
  }
  return out;
}

function rateOf(rounds: readonly Round[], sampler: ProcessSampler): SideRate {
  const records = rounds.reduce((sum, r) => sum + r.records, 0);
  const bytes = rounds.reduce((sum, r) => sum + r.bytes, 0);
  const durationS = Math.max(
    1e-3,
    rounds.reduce((sum, r) => sum + (r.endMs - r.startMs), 0) / 1000,
  );
  const perRound = rounds.map((r) => r.records / Math.max(1e-3, (r.endMs - r.startMs) / 1000));
  return {
    rounds: rounds.length,
    records,
    durationS,
    recordsPerS: records / durationS,
    mibS: bytes / MIB / durationS,
    minRoundRecordsPerS: Math.min(...perRound),
    maxRoundRecordsPerS: Math.max(...perRound),
    cpuShare: averageShares(rounds.map((r) => sampler.cpuShares(r.startMs, r.endMs))),
  };
}

/**
 * Warms both sides up for `warmupMs` each (unmeasured), then runs `rounds` rounds of each,
 * alternating, the reference first.
 */
export async function alternateRounds(options: {
  label: string;
  reference: RoundRunner;
  sluice: RoundRunner;
  warmupMs: number;
  rounds: number;
  roundMs: number;
  sampler: ProcessSampler;
  signal: AbortSignal;
}): Promise<{ reference: SideRate; sluice: SideRate }> {
  const { label, signal } = options;
  if (options.warmupMs > 0) {
    say(`${label}: warming up both sides for ${options.warmupMs / 1000} s each`);
    await options.reference(options.warmupMs);
    signal.throwIfAborted();
    await options.sluice(options.warmupMs);
  }
  const reference: Round[] = [];
  const sluice: Round[] = [];
  for (let i = 0; i < options.rounds; i += 1) {
    signal.throwIfAborted();
    say(`${label}: round ${i + 1} of ${options.rounds}, ${options.roundMs / 1000} s each side`);
    reference.push(await options.reference(options.roundMs));
    signal.throwIfAborted();
    sluice.push(await options.sluice(options.roundMs));
  }
  signal.throwIfAborted();
  return { reference: rateOf(reference, options.sampler), sluice: rateOf(sluice, options.sampler) };
}

/** `1 - sluice / reference`: the share of the reference's rate the Sluice stage loses. */
export function overheadOf(sides: { reference: SideRate; sluice: SideRate }): number {
  return sides.reference.recordsPerS === 0
    ? Number.NaN
    : 1 - sides.sluice.recordsPerS / sides.reference.recordsPerS;
}
