/** Why a replay could not be done; each maps to one admin API status. */
export type ReplayFailure =
  /** No such item in the source stream (or its object is gone from the store). */
  | 'item-not-found'
  /** The item's object is not error records Sluice can read. */
  | 'item-unreadable'
  /** The target stream does not exist. */
  | 'target-not-found'
  /** The target stream exists but is not ACTIVE. */
  | 'target-not-active'
  /** The target stream takes only gzip records (it decompresses CloudWatch Logs data). */
  | 'target-refuses-records'
  /** The target stream's backlog is over the cap; try again later. */
  | 'backpressure'
  /** Too few Redis replicas confirmed a chunk (`SLUICE_REDIS_MIN_REPLICAS`); try again. */
  | 'not-replicated';

/** A replay that did not happen, or stopped part-way (the message says how far it got). */
export class ReplayError extends Error {
  override name = 'ReplayError';

  constructor(
    readonly reason: ReplayFailure,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
