/** What {@link withinTime} resolves with when time ran out first. */
export const TIMED_OUT: unique symbol = Symbol('timed out');

/**
 * Waits for `promise` at most `ms` milliseconds. When time runs out first it resolves with
 * {@link TIMED_OUT} and leaves the promise running, its rejection handled: shutdown steps use
 * this so that one step stuck on an unreachable service cannot hold the process.
 */
export async function withinTime<T>(
  promise: Promise<T>,
  ms: number,
): Promise<T | typeof TIMED_OUT> {
  promise.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Milliseconds left until `deadline` (a `Date.now()` value), never negative. */
export function remaining(deadline: number): number {
  return Math.max(0, deadline - Date.now());
}
