import { randomBytes } from 'node:crypto';

/** Firehose allows 1–64 characters from this set in a delivery stream name. */
const MAX_NAME_LENGTH = 64;

let counter = 0;

/**
 * Returns a valid Firehose delivery stream name (`[a-zA-Z0-9_.-]`, at most 64 characters) that no
 * other test, in this or any parallel test process, will get.
 *
 * Tests share one Redis, so each needs its own stream (and therefore its own Redis keys and
 * BullMQ queue). The process id and a counter make names unique within a run; random bytes keep
 * them apart across runs against a Redis that still holds old keys. Characters Firehose rejects
 * are replaced by `-`, and the prefix is shortened so the whole name fits.
 *
 * @param prefix - readable start of the name, usually what the test is about.
 */
export function uniqueName(prefix: string): string {
  counter += 1;
  const suffix = `-${process.pid.toString(36)}-${counter.toString(36)}-${randomBytes(4).toString('hex')}`;
  const cleaned = prefix.replace(/[^a-zA-Z0-9_.-]/g, '-') || 't';
  return cleaned.slice(0, MAX_NAME_LENGTH - suffix.length) + suffix;
}
