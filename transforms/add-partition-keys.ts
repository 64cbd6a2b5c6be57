/**
 * Partition keys for dynamic partitioning: S3 prefixes per customer and per day of the event.
 *
 * Input: one JSON object per record with the customer in `customer_id` (or `customerId`) and
 * the time the event happened in `event_time` (or `timestamp`): an ISO-8601 date or time with
 * a zone (`2024-05-01T09:30:00Z`, `…+02:00`), or a number of epoch milliseconds. The record
 * is passed on unchanged (as compact JSON and a newline), with the partition keys
 *
 *     customer  the customer id
 *     year      yyyy of the event time, in UTC
 *     month     MM
 *     day       dd
 *
 * which an ExtendedS3 destination with `DynamicPartitioningConfiguration {Enabled: true}`
 * uses in its prefix:
 *
 *     "Prefix": "customer=!{partitionKeyFromLambda:customer}/!{partitionKeyFromLambda:year}/!{partitionKeyFromLambda:month}/!{partitionKeyFromLambda:day}/",
 *     "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/"
 *
 * An event without a time is filed under the day it arrived. A record without a customer id,
 * with a customer id that is not safe in an S3 key, or with a time that cannot be read fails,
 * and lands under the `ErrorOutputPrefix` with the reason.
 *
 * Wire it to a stream with `"LambdaArn": "sluice:transform:add-partition-keys"`.
 */
import { defineTransform, failed, ok } from 'sluice';

/**
 * What a customer id may contain: it becomes part of an S3 key, so no `/` (which would add a
 * level), no spaces, nothing that needs URL-encoding.
 */
const SAFE_KEY_VALUE = /^[A-Za-z0-9._-]{1,128}$/;

/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z. */
const MIN_TIME_MS = -62_167_219_200_000;
const MAX_TIME_MS = 253_402_300_799_999;

/**
 * An ISO-8601 date, or date and time with a zone: Date.parse reads a time without a zone in
 * the machine's own zone, and other formats as the engine likes, so neither is accepted.
 */
const ISO_TIME =
  /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/** Whether the date part of an ISO time exists: Date.parse takes 2024-02-30 for March 1. */
function isCalendarDate(iso: string): boolean {
  const [year, month, day] = iso.slice(0, 10).split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** The customer id of `event`, as text, or `undefined` when there is none. */
function customerOf(event: Record<string, unknown>): string | undefined {
  const value = event.customer_id ?? event.customerId;
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  return undefined;
}

/**
 * When `event` happened, epoch ms: its `event_time` or `timestamp`; `arrivalMs` when it has
 * neither; `undefined` when the one it has is not a time.
 */
function eventTimeOf(event: Record<string, unknown>, arrivalMs: number): number | undefined {
  const value = event.event_time ?? event.timestamp;
  if (value === undefined || value === null) return arrivalMs;
  let ms = NaN;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && ISO_TIME.test(value) && isCalendarDate(value)) {
    ms = Date.parse(value);
  }
  // Years 0000-9999 only: others print as ±yyyyyy, which is no yyyy partition.
  return Number.isFinite(ms) && ms >= MIN_TIME_MS && ms <= MAX_TIME_MS ? ms : undefined;
}

/** Passes each event on with `customer`, `year`, `month` and `day` partition keys. */
export default defineTransform<unknown>({
  decode: 'json',
  record(event, context) {
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      return failed('expected a JSON object');
    }
    const fields = event as Record<string, unknown>;
    const customer = customerOf(fields);
    if (customer === undefined) return failed('no customer_id');
    if (!SAFE_KEY_VALUE.test(customer)) {
      return failed(
        `customer_id ${JSON.stringify(customer)} cannot be part of an S3 prefix: use 1-128 letters, digits, '.', '_' or '-'`,
      );
    }
    const eventMs = eventTimeOf(fields, context.approximateArrivalTimestamp);
    if (eventMs === undefined) {
      return failed(
        `event_time ${JSON.stringify(fields.event_time ?? fields.timestamp)} is not an ISO-8601 time with a zone (or a date), nor epoch milliseconds`,
      );
    }
    // toISOString is yyyy-MM-ddTHH:mm:ss.sssZ for the years eventTimeOf accepts.
    const [year, month, day] = new Date(eventMs).toISOString().slice(0, 10).split('-') as [
      string,
      string,
      string,
    ];
    return ok(event, { partitionKeys: { customer, year, month, day } });
  },
});
