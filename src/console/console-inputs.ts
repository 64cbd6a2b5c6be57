/**
 * The console API's inputs, one zod schema each: validation, types and the 400 messages
 * (worded by the admin API's `parseAdminInput`, which names the parameter at fault).
 */
import { z } from 'zod';
import { ErrorOutputTypeSchema } from '../error-output/error-records.js';
import { DeliveryStreamNameSchema } from '../streams/stream-definition.js';
import { MAX_PREVIEW_RECORDS } from './item-preview.js';

/** Most streams one overview page lists; also its default. */
export const MAX_OVERVIEW_STREAMS = 100;
/** Most items one failures listing returns; also its default. */
export const MAX_FAILURE_ITEMS = 500;

/** A whole number from `min` to `max` as a query parameter. */
const countParam = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,6}$/, { message: `must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .refine((n) => n >= min && n <= max, {
      message: `must be a whole number from ${min} to ${max}`,
    });

/** `GET /console/api/streams` query. */
export const OverviewQuerySchema = z.strictObject({
  /** List streams after this name (the previous page's `next`). */
  after: DeliveryStreamNameSchema.optional(),
  limit: countParam(1, MAX_OVERVIEW_STREAMS).optional(),
});

/** `GET /console/api/stream` and `GET /console/api/history` query. */
export const StreamQuerySchema = z.strictObject({ stream: DeliveryStreamNameSchema });

/** `GET /console/api/failures` query. */
export const FailuresQuerySchema = z.strictObject({
  stream: DeliveryStreamNameSchema,
  /** Only items of this error-output type, or `dead` for the dead set. */
  type: z.enum([...ErrorOutputTypeSchema.options, 'dead']).optional(),
  limit: countParam(1, MAX_FAILURE_ITEMS).optional(),
});

/** An item id as the failures listing gives it. */
const ItemIdSchema = z
  .string()
  .min(1)
  .max(4096)
  .regex(/^(?:error:[^/]+\/.+|dead:.+)$/s, {
    message:
      'must be an item id from the failures listing (error:<bucket>/<key> or dead:<batchId>)',
  });

/** `GET /console/api/preview` query. */
export const PreviewQuerySchema = z.strictObject({
  stream: DeliveryStreamNameSchema,
  id: ItemIdSchema,
  limit: countParam(1, MAX_PREVIEW_RECORDS).optional(),
});

/** `POST /console/api/replay` body. */
export const ReplayBodySchema = z.strictObject({
  stream: DeliveryStreamNameSchema,
  id: ItemIdSchema,
  /** The stream to append to (default: the source stream). */
  to: DeliveryStreamNameSchema.optional(),
});
