/** What one Sluice process does: serve the API, deliver, or both. */
export type ProcessRole = 'all' | 'api' | 'worker';

/**
 * The roles of the `count` processes a supervisor runs for `SLUICE_ROLE=all`
 * (`SLUICE_PROCESSES`): one process does everything; two or more split into API processes and
 * delivery processes, half each (the API gets the odd one).
 *
 * Why separate roles rather than `all` in every process: in a process that does both, the API
 * takes the event loop under full ingest and delivery falls behind; a delivery process's CPU
 * work (compression, Parquet, transforms) runs on threads of its own, and its event loop never
 * delays an acknowledgement. docs/design.md ("Using every core") has the measurements.
 */
export function processRoles(count: number): ProcessRole[] {
  if (count <= 1) return ['all'];
  const api = Math.ceil(count / 2);
  return [
    ...Array.from({ length: api }, () => 'api' as const),
    ...Array.from({ length: count - api }, () => 'worker' as const),
  ];
}
