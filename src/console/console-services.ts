import type { AccessKeys } from '../api/auth/access-keys.js';
import type { ObjectStore } from '../destinations/object-store.js';
import type { StreamHistory } from './stream-history.js';

/**
 * What the web console (`/console`, see console-routes.ts) works with beyond the API context,
 * built once by the service. Absent from the API context, `/console` answers 404.
 */
export interface ConsoleServices {
  /** The streams' chart history (sampled by one process of the deployment). */
  history: StreamHistory;
  /** Where error-output objects are read from for their preview. */
  store: ObjectStore;
  /**
   * The access keys a console user signs in with (HTTP Basic: access key id and secret) when
   * the API requires signatures. When the API requires them and these are empty, the console
   * lets nobody in: it is never open where the API is not.
   */
  accessKeys: AccessKeys;
}
