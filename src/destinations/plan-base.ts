import { z } from 'zod';
import { CompressionFormatSchema } from '../formats/compression.js';

/**
 * The parts of a delivery plan every kind shares. A plan is stored with its batch as JSON and
 * read back checked, so its shape is a schema; each kind's plan schema extends these members.
 */

/**
 * An S3 location that error-output records or a backup are written to, fixed in a batch's
 * plan. Keys follow Firehose's layout (`s3/object-key.ts`).
 */
export const S3LocationSchema = z.object({
  bucket: z.string(),
  /** `Prefix` template ('' when absent). */
  prefix: z.string(),
  /** `ErrorOutputPrefix` template, if any. */
  errorOutputPrefix: z.string().optional(),
  /** `CompressionFormat` of the objects written there. */
  compression: CompressionFormatSchema,
  /** IANA zone the key timestamps are read in. */
  timeZone: z.string(),
});

/** An S3 location fixed in a plan. */
export type S3Location = z.infer<typeof S3LocationSchema>;

/** What every plan carries besides what its kind adds. */
export const PlanBaseSchema = z.object({
  /** The kind's plan discriminator, e.g. `s3`, `http`. */
  destination: z.string(),
  /** Stream `VersionId` the plan was made under; UpdateDestination raises it. */
  streamVersion: z.number().int(),
  /** Where records that fail go, under Firehose's error-output layout; none: the dead set. */
  errorOutput: S3LocationSchema.optional(),
  /** Where every record is also written (a backup of all data); none when off. */
  backup: S3LocationSchema.optional(),
  /**
   * The catalog table records are converted with, as `format-conversion-failed` records name
   * it (`dataCatalogTable`); none without format conversion.
   */
  dataCatalogTable: z.record(z.string(), z.string()).optional(),
});

/** What every plan carries. */
export type PlanBase = z.infer<typeof PlanBaseSchema>;
