import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * A delivery process's lower scheduling priority (`SLUICE_DELIVERY_NICE`): when the cores are
 * busy, the API's processes get them first, so compression, transforms and Parquet on a
 * delivery process do not delay acknowledgements; when they are idle, delivery gets all it
 * asks for. docs/design.md ("Using every core") has the measurements.
 */

/** What {@link lowerPriority} did. */
export type PriorityOutcome =
  | { kind: 'lowered'; nice: number; threads: number }
  | { kind: 'unchanged'; nice: number }
  | { kind: 'failed'; error: string };

/**
 * Lowers this process's priority to `nice` (never raises it: only a privileged process may).
 * On Linux a nice value belongs to each thread, so every thread the process has now is set (V8
 * and libuv start some before any code of ours runs); threads started later (libuv's pool,
 * worker threads) inherit it from the thread that starts them. Elsewhere the process's own.
 *
 * Call it first thing, before any worker thread is started.
 */
export function lowerPriority(nice: number): PriorityOutcome {
  const current = getPriority();
  if (nice <= current) return { kind: 'unchanged', nice: current };
  try {
    const threads = threadIds();
    for (const thread of threads) setPriority(thread, nice);
    return { kind: 'lowered', nice, threads: threads.length };
  } catch (error) {
    return { kind: 'failed', error: (error as Error).message };
  }
}

/** The process's thread ids on Linux; elsewhere the process itself (0). */
function threadIds(): number[] {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    return [0];
  }
}
