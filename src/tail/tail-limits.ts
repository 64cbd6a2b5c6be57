/**
 * The live tail's bounds, named once: they are what keeps a tail cheap for the ingest path and
 * for Redis whatever the traffic. docs/cli.md (`sluice tail`) lists them for users.
 */

/**
 * Most records of one stream captured per second, across all API processes (each process also
 * stops at this many by itself, so a busy process does not even ask Redis for more).
 */
export const CAPTURE_RECORDS_PER_SECOND = 20;

/** Most bytes of a record's data a preview shows; a longer record is `truncated`. */
export const PREVIEW_BYTES = 4 * 1024;

/**
 * Largest record checked for being JSON: parsing is done for the whole record, on the API
 * process's event loop, so it is bounded. Longer records are shown as text (or base64).
 */
export const JSON_CHECK_MAX_BYTES = 64 * 1024;

/** Most captured records a stream's ring holds in Redis (older ones are trimmed). */
export const RING_RECORDS = 200;

/**
 * How long the ring outlives its last capture, and the oldest record a tail started without a
 * cursor is shown.
 */
export const RING_MAX_AGE_MS = 60_000;

/**
 * How long a tail's "someone is watching" mark lasts after its last read: capture continues
 * this long after the last reader went away. Longer than {@link MAX_WAIT_MS}, so one long poll
 * keeps it alive.
 */
export const ACTIVE_TTL_MS = 30_000;

/** How often an API process reads which streams are tailed, at most (only while puts arrive). */
export const ACTIVE_CHECK_MS = 1_000;

/** Longest a read waits for new records. */
export const MAX_WAIT_MS = 20_000;

/** Most records one read answers; also its default. */
export const MAX_PAGE_RECORDS = RING_RECORDS;

/** How often a waiting read looks at the ring: the tail's latency, and its Redis load per reader. */
export const POLL_INTERVAL_MS = 250;

/**
 * Captures an API process keeps in flight at once. One holds its request's records until it is
 * written, so when Redis is slow further captures are skipped instead of piling up memory.
 */
export const MAX_PENDING_CAPTURES = 4;
