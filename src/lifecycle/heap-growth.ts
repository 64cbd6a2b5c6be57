import { setFlagsFromString } from 'node:v8';

/**
 * How far V8's old generation may grow past what survived a full garbage collection before
 * the next one starts (`SLUICE_HEAP_GROWTH_PERCENT`, V8's `--heap-growing-percent`).
 *
 * Why Sluice sets it: left to itself, V8 sizes that growth from how fast its collector runs
 * against how fast objects reach the old generation. A Sluice process keeps a small heap
 * (about 40 MB) and few of its objects live long, so V8 leaves little room, and under load
 * its traces (`--trace-incremental-marking`) showed the next marking starting right after each
 * collection (37 MB live, limit 61 MB): 34–47 full collections per run of the PostgreSQL
 * benchmark phase, each 5–10 ms on the event loop plus about 20 ms of marking on V8's helper
 * threads, nearly all of them finding the same live heap. With the growth fixed at 200 %: 10
 * (17 at 100 %), and about a third less CPU per PostgreSQL load (docs/design.md, "The
 * JavaScript heap's growth").
 */

/**
 * Applies the growth to this process (its worker threads included: V8's flags are the
 * process's). `0` leaves V8's own heuristic, and node's `--heap-growing-percent` if given.
 */
export function setHeapGrowth(percent: number): void {
  if (percent === 0) return;
  // Read by V8 each time a full collection sizes the next limit, so setting it after start
  // takes effect from the next one.
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
