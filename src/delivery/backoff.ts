/** Jitter of each retry delay, as Firehose documents for its HTTP destination (±15 %). */
const JITTER = 0.15;

/**
 * Delay before the next delivery attempt: `baseMs` doubled per failed attempt, capped at
 * `maxMs`, with ±15 % jitter so that batches failing together do not retry in lockstep.
 *
 * @param attemptsMade failed attempts so far (1 after the first failure)
 */
export function retryDelayMs(
  attemptsMade: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const doublings = Math.min(Math.max(attemptsMade - 1, 0), 40);
  const exponential = Math.min(maxMs, baseMs * 2 ** doublings);
  const jittered = exponential * (1 + (random() * 2 - 1) * JITTER);
  return Math.max(1, Math.round(Math.min(maxMs, jittered)));
}
