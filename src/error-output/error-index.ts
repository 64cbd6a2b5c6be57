/**
 * The per-stream index of error-output objects, `streamKeys(stream).errors`: a sorted set
 * whose score is when the object was written (epoch ms) and whose member describes it.
 *
 * The member is JSON with its members always in the order
 * `{"bucket","key","type","batchId","seq","records"}` and nothing else, so the same write
 * always makes the same member: a retry that rewrites the object updates the entry's score
 * instead of adding a second entry. Replay and dead-set listings read the index; nothing
 * lists the store itself.
 */
import { z } from 'zod';
import { ErrorOutputTypeSchema } from './error-records.js';

/** One index entry: an error-output object and the write that made it. */
export const ErrorIndexEntrySchema = z.object({
  bucket: z.string().min(1),
  key: z.string().min(1),
  type: ErrorOutputTypeSchema,
  batchId: z.string().min(1),
  seq: z.number().int().nonnegative(),
  /** Records (lines) in the object. */
  records: z.number().int().nonnegative(),
});

/** One index entry; see {@link ErrorIndexEntrySchema}. */
export type ErrorIndexEntry = z.infer<typeof ErrorIndexEntrySchema>;

/** The sorted-set member of `entry`: the same entry always gives the same string. */
export function errorIndexMember(entry: ErrorIndexEntry): string {
  return JSON.stringify({
    bucket: entry.bucket,
    key: entry.key,
    type: entry.type,
    batchId: entry.batchId,
    seq: entry.seq,
    records: entry.records,
  });
}

/**
 * Reads a member back.
 *
 * @throws Error when the member is not an index entry (written by hand or by another program).
 */
export function parseErrorIndexMember(member: string): ErrorIndexEntry {
  let value: unknown;
  try {
    value = JSON.parse(member);
  } catch {
    throw new Error(`error index member is not JSON: ${member.slice(0, 200)}`);
  }
  const parsed = ErrorIndexEntrySchema.safeParse(value);
  if (!parsed.success) {
    throw new Error(
      `error index member is not an entry (${parsed.error.issues[0]?.message ?? 'invalid'}): ${member.slice(0, 200)}`,
    );
  }
  return parsed.data;
}

/**
 * The start of the member of the object `bucket`/`key`, for a `ZSCAN … MATCH` (glob
 * characters escaped): an item id names only the object, not the rest of its entry.
 */
export function errorIndexMatchPattern(bucket: string, key: string): string {
  const head = `${JSON.stringify({ bucket, key }).slice(0, -1)},`;
  return `${head.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
}
