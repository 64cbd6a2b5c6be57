/**
 * The bench's transform (`sluice:transform:enrich`): a typical JSON enrichment of the bench's
 * clickstream events (`bench/records.ts`). Each record is parsed, given four fields and written
 * back as a JSON line:
 *
 * - `arrived_at`: when Sluice accepted the record, as an ISO-8601 UTC time;
 * - `country_code`: `country` lower-cased;
 * - `dwell_s`: `dwell_ms` in seconds, to a tenth;
 * - `cart_cents`: `cart_value` in whole cents.
 *
 * The transform and reference sides of the transform phase both run the `record` function of
 * this module's default export, so they do the same work per record.
 */
import { defineTransform } from 'sluice';

/** The fields of a clickstream event the enrichment reads. */
interface ClickEvent {
  country?: unknown;
  dwell_ms?: unknown;
  cart_value?: unknown;
}

export default defineTransform<ClickEvent>({
  decode: 'json',
  record(click, context) {
    return {
      ...click,
      arrived_at: new Date(context.approximateArrivalTimestamp).toISOString(),
      country_code: typeof click.country === 'string' ? click.country.toLowerCase() : null,
      dwell_s: typeof click.dwell_ms === 'number' ? Math.round(click.dwell_ms / 100) / 10 : null,
      cart_cents: typeof click.cart_value === 'number' ? Math.round(click.cart_value * 100) : null,
    };
  },
});
