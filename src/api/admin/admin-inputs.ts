/**
 * The admin API's inputs, one zod schema each: validation, types and the 400 messages, which
 * name the parameter at fault.
 */
import { z } from 'zod';
import { ErrorOutputTypeSchema } from '../../error-output/error-records.js';
import { DeliveryStreamNameSchema } from '../../streams/stream-definition.js';
import { isTailCursor } from '../../tail/live-tail.js';
import { MAX_PAGE_RECORDS, MAX_WAIT_MS } from '../../tail/tail-limits.js';

/** Most items or batches one listing may ask for. */
export const MAX_LIST_LIMIT = 10_000;

/** ISO-8601 date, or date and time with optional seconds, fraction and offset. */
const ISO_8601 =
  /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A point in time as a query parameter: epoch milliseconds (digits) or ISO-8601. A date or a
 * time without an offset is read as UTC, so the answer does not depend on the server's zone.
 */
const TimeParamSchema = z.string().transform((text, ctx) => {
  if (/^\d{1,16}$/.test(text)) return Number(text);
  if (ISO_8601.test(text)) {
    const hasTime = text.includes('T');
    const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/.test(text.slice(10));
    const ms = Date.parse(hasTime && !hasZone ? `${text}Z` : text);
    if (!Number.isNaN(ms)) return ms;
  }
  ctx.addIssue({
    code: 'custom',
    message: `must be epoch milliseconds or an ISO-8601 time (e.g. 2026-07-13T14:00:00Z), got ${JSON.stringify(text.slice(0, 64))}`,
  });
  return z.NEVER;
});

/** A count limit as a query parameter. */
const LimitParamSchema = z
  .string()
  .regex(/^\d{1,6}$/, { message: 'must be a whole number' })
  .transform(Number)
  .pipe(z.number().min(1).max(MAX_LIST_LIMIT));

/** `GET /admin/v1/dead` query. */
export const DeadQuerySchema = z.strictObject({
  stream: DeliveryStreamNameSchema,
  limit: LimitParamSchema.optional(),
});

/** `GET /admin/v1/replay/selection` query. */
export const SelectionQuerySchema = z
  .strictObject({
    stream: DeliveryStreamNameSchema,
    type: z.enum([...ErrorOutputTypeSchema.options, 'dead']).optional(),
    since: TimeParamSchema.optional(),
    until: TimeParamSchema.optional(),
    limit: LimitParamSchema.optional(),
  })
  .refine((q) => q.since === undefined || q.until === undefined || q.since <= q.until, {
    message: 'must not be before since',
    path: ['until'],
  });

/** `POST /admin/v1/replay/item` body. */
export const ReplayItemBodySchema = z.strictObject({
  /** The source stream. */
  stream: DeliveryStreamNameSchema,
  /** The stream to append to (default: the source stream). */
  to: DeliveryStreamNameSchema.optional(),
  /** An id from a selection: `error:<bucket>/<key>` or `dead:<batchId>`. */
  id: z.string().min(1).max(4096),
});

/** Longest `wait` of `GET /admin/v1/tail`, in seconds. */
export const MAX_TAIL_WAIT_SECONDS = MAX_WAIT_MS / 1000;

/** `GET /admin/v1/tail` query. */
export const TailQuerySchema = z.strictObject({
  stream: DeliveryStreamNameSchema,
  /** The `cursor` of the previous answer; absent, the tail starts with the last minute's records. */
  cursor: z
    .string()
    .refine(isTailCursor, {
      message: 'must be the cursor of a previous answer, such as 1764756000000-0',
    })
    .optional(),
  /** Seconds to wait for a record when none is there yet. */
  wait: z
    .string()
    .regex(/^\d{1,2}$/, { message: `must be whole seconds from 0 to ${MAX_TAIL_WAIT_SECONDS}` })
    .transform(Number)
    .refine((seconds) => seconds <= MAX_TAIL_WAIT_SECONDS, {
      message: `must be whole seconds from 0 to ${MAX_TAIL_WAIT_SECONDS}`,
    })
    .optional(),
  /** Most records in the answer. */
  limit: z
    .string()
    .regex(/^\d{1,6}$/, { message: `must be a whole number from 1 to ${MAX_PAGE_RECORDS}` })
    .transform(Number)
    .refine((n) => n >= 1 && n <= MAX_PAGE_RECORDS, {
      message: `must be a whole number from 1 to ${MAX_PAGE_RECORDS}`,
    })
    .optional(),
});

/**
 * Validates `input` against `schema`.
 *
 * @returns the value, or a message naming each parameter at fault.
 */
export function parseAdminInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
): { ok: true; value: z.output<S> } | { ok: false; message: string } {
  const parsed = schema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  const problems = parsed.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return `unknown parameter${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    }
    const name = issue.path.map(String).join('.');
    if (name === '') return issue.message;
    // zod's own message for a missing member reads "expected string, received undefined".
    const missing = issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined;
    return `${name}: ${missing ? 'is required' : issue.message}`;
  });
  return { ok: false, message: problems.join('; ') };
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const step of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[step];
  }
  return value;
}
