import type { Replayer } from '../../error-output/replay.js';

/**
 * What the admin API (`/admin/v1/…`, see `admin-routes.ts`) works with, built once by the
 * service. Absent from the API context, the admin routes are not served.
 */
export interface AdminServices {
  /** Selects and replays error output and dead batches. */
  replayer: Replayer;
}
