import { nowMs } from './clock.js';
import type { LoadProgress } from './load.js';
import { MIB } from './stats.js';
import type { StreamStatsSampler } from './stream-stats.js';

/** Progress lines go to stderr, so stdout carries only the report. */
export function say(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/**
 * Prints a progress line every `everyMs` while a load runs: accepted MiB/s since the last line,
 * and, when a sampler is given, the stream's backlog and delivered totals. Returns a stop function.
 */
export function startProgress(
  label: string,
  progress: LoadProgress,
  sampler: StreamStatsSampler | undefined,
  everyMs = 5_000,
): () => void {
  const startedMs = nowMs();
  let lastMs = startedMs;
  let lastBytes = progress.acceptedBytes;
  const timer = setInterval(() => {
    const now = nowMs();
    const rate = (progress.acceptedBytes - lastBytes) / MIB / ((now - lastMs) / 1000);
    lastMs = now;
    lastBytes = progress.acceptedBytes;
    const stats = sampler?.latest();
    const stream = stats
      ? `, backlog ${(stats.backlogBytes / MIB).toFixed(0)} MiB, delivered ${(stats.deliveredBytes / MIB).toFixed(0)} MiB`
      : '';
    const failed = progress.failedRecords > 0 ? `, ${progress.failedRecords} records failed` : '';
    say(
      `${label} ${((now - startedMs) / 1000).toFixed(0)} s: ${rate.toFixed(1)} MiB/s accepted${failed}${stream}`,
    );
  }, everyMs);
  return () => clearInterval(timer);
}
