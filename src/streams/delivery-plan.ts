import { z } from 'zod';

/**
 * A batch's delivery plan: everything that decides where and how the batch is written, fixed
 * on its first delivery attempt and used unchanged by every retry. A retry after a crash or a
 * lost response then rewrites the very same object, whatever UpdateDestination did in between:
 * the batch cannot land in two buckets, or under the old key with the new compression.
 *
 * It lives beside `delivery-target.ts` (the current configuration's view) so that both the
 * driver, which stores it with the batch, and the destinations, which build and carry it out,
 * reach it without importing each other. Stored as JSON in the batch's hash (`plan`), so its
 * shape is a schema: a plan written by an older version is read back checked.
 */

/** The plan of a batch delivered as one S3 object. */
export const S3DeliveryPlanSchema = z.object({
  destination: z.literal('s3'),
  /** Stream `VersionId` the plan was made under; UpdateDestination raises it. */
  streamVersion: z.number().int(),
  /** Bucket the object goes to. */
  bucket: z.string(),
  /** The `Prefix` template the key was made from (for logs and inspection). */
  prefix: z.string(),
  /** The object key, prefix evaluated, extension included. */
  key: z.string(),
  /** How the body is compressed. */
  compression: z.enum(['UNCOMPRESSED', 'GZIP']),
  /** `Content-Encoding` of the object; absent for none. */
  contentEncoding: z.string().optional(),
  /** The extension the key was given ('' for none). */
  fileExtension: z.string(),
});

/** Every kind of plan, told apart by `destination` (one per destination type). */
export const DeliveryPlanSchema = z.discriminatedUnion('destination', [S3DeliveryPlanSchema]);

/** The plan of a batch delivered as one S3 object. */
export type S3DeliveryPlan = z.infer<typeof S3DeliveryPlanSchema>;

/** A batch's fixed delivery plan. */
export type DeliveryPlan = z.infer<typeof DeliveryPlanSchema>;

/** The plan as stored in the batch's hash. */
export function serializeDeliveryPlan(plan: DeliveryPlan): string {
  return JSON.stringify(plan);
}

/**
 * Reads a stored plan back.
 *
 * @throws Error when `json` is not a plan this version understands (no retry can fix that).
 */
export function parseDeliveryPlan(json: string): DeliveryPlan {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new Error(`the stored delivery plan is not JSON: ${String(error)}`, { cause: error });
  }
  const result = DeliveryPlanSchema.safeParse(value);
  if (!result.success) {
    throw new Error(
      `the stored delivery plan is not one this version reads: ${result.error.message}`,
    );
  }
  return result.data;
}
