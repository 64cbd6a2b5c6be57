/**
 * At what level a batch's retry is logged. A batch may be retried for a whole retention window
 * (24 h, an attempt every two minutes once the backoff is at its cap), so logging every attempt
 * at `warn` would bury everything else under one stuck destination: the first failure is a
 * warning, attempts 2, 4, 8, 16, … are `info` (about a dozen lines a day for a batch that keeps
 * failing), and every other attempt is `debug`.
 *
 * @param attempt - the attempt that failed, 1 for the first.
 * @param firstFailure - whether it is the batch's first failed attempt (a batch delivered in
 *   part, or replayed, can first fail on a later attempt).
 */
export function retryLogLevel(attempt: number, firstFailure: boolean): 'warn' | 'info' | 'debug' {
  if (firstFailure) return 'warn';
  // A power of two: exactly one bit set.
  return attempt > 0 && (attempt & (attempt - 1)) === 0 ? 'info' : 'debug';
}
