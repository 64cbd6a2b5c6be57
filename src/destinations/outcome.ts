/**
 * What a destination reports about one delivery attempt. Destinations only classify; the
 * driver (`delivery/driver.ts`) owns retries, backoff, the retention window and dead letters.
 */
export type DeliveryOutcome =
  | { kind: 'delivered'; location: string }
  | { kind: 'retry'; reason: string }
  | { kind: 'permanent'; reason: string };
