import { z } from 'zod';
import { COMPRESSION, CompressionFormatSchema } from '../../formats/compression.js';
import { PlanError, type PlanContext, type S3Location } from '../destination-kind.js';
import { S3LocationSchema } from '../plan-base.js';
import { bucketOf, s3LocationOf, type StoredS3Destination } from './config.js';
import {
  buildObjectKey,
  EvaluatedPrefixTooLongError,
  MissingPartitionKeyError,
} from './object-key.js';

/** The plan of a batch delivered as one S3 object (stored with the batch as JSON). */
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
  compression: CompressionFormatSchema,
  /** `Content-Encoding` of the object; absent for none. */
  contentEncoding: z.string().optional(),
  /** The extension the key was given ('' for none). */
  fileExtension: z.string(),
  /** Where records failed before delivery (processing, conversion) go. */
  errorOutput: S3LocationSchema.optional(),
  /** Where every record is also written; absent when off. */
  backup: S3LocationSchema.optional(),
});

/** The plan of a batch delivered as one S3 object. */
export type S3DeliveryPlan = z.infer<typeof S3DeliveryPlanSchema>;

/**
 * The plan of a batch's first S3 delivery attempt, from the stream's current destination: the
 * bucket, the object key (Firehose's layout) and how the body is encoded. Stored with the batch,
 * it is what every later attempt uses, whatever the destination has become by then.
 *
 * @param config - The stream's S3 destination now (a plain one has no extended members).
 * @param context - The batch and the stream.
 * @throws PlanError `S3.InvalidPrefix` when no key can be made (the evaluated prefix is too
 *   long); retrying cannot help.
 */
export function planS3Delivery(
  config: StoredS3Destination & {
    CustomTimeZone?: string;
    FileExtension?: string;
    S3BackupConfiguration?: StoredS3Destination;
  },
  context: PlanContext,
): S3DeliveryPlan {
  if (context.sourceBackup === true) return planSourceBackup(config, context);
  const compression = config.CompressionFormat;
  const timeZone = config.CustomTimeZone ?? 'UTC';
  const fileExtension = config.FileExtension ?? COMPRESSION[compression].extension;
  // The key is built with the extension recorded here, so plan and key cannot disagree.
  let key = context.legacyObjectKey;
  try {
    key ??= buildObjectKey(
      {
        streamName: context.streamName,
        versionId: context.versionId,
        prefix: config.Prefix,
        errorOutputPrefix: config.ErrorOutputPrefix,
        compression,
        fileExtension,
        timeZone,
      },
      {
        batchId: context.batchId,
        firstArrivalMs: context.firstArrivalMs,
        ...(context.partitionKeys === undefined ? {} : { partitionKeys: context.partitionKeys }),
      },
    );
  } catch (error) {
    if (error instanceof MissingPartitionKeyError) {
      throw new PlanError(
        'DynamicPartitioning.MissingPartitionKey',
        `cannot name the object: ${error.message}`,
        { cause: error },
      );
    }
    if (!(error instanceof EvaluatedPrefixTooLongError)) throw error;
    throw new PlanError('S3.InvalidPrefix', `cannot name the object: ${error.message}`, {
      cause: error,
    });
  }
  const { contentEncoding } = COMPRESSION[compression];
  const errorOutput = s3ErrorOutputOf(config, timeZone);
  return {
    destination: 's3',
    streamVersion: context.versionId,
    bucket: bucketOf(config.BucketARN),
    prefix: config.Prefix,
    key,
    compression,
    ...(contentEncoding === undefined ? {} : { contentEncoding }),
    fileExtension,
    errorOutput,
  };
}

/**
 * Where an S3 destination's error output goes: its bucket and ErrorOutputPrefix, uncompressed
 * (Firehose writes error records as plain NDJSON whatever the destination's compression).
 */
export function s3ErrorOutputOf(config: StoredS3Destination, timeZone = 'UTC'): S3Location {
  return { ...s3LocationOf(config, timeZone), compression: 'UNCOMPRESSED' };
}

/**
 * The plan of a batch of source records (`S3BackupMode` Enabled): one object under the
 * `S3BackupConfiguration`'s bucket, prefix and compression, named like any delivered object
 * (the batch id is its uuid, so a retry rewrites it). No error output: nothing in it fails
 * record by record.
 *
 * @throws PlanError `Sluice.PlanFailed` when the destination has no backup configuration
 *   (the batch is dead-lettered, its records kept).
 */
function planSourceBackup(
  config: { S3BackupConfiguration?: StoredS3Destination },
  context: PlanContext,
): S3DeliveryPlan {
  const backup = config.S3BackupConfiguration;
  if (backup === undefined) {
    throw new PlanError(
      'Sluice.PlanFailed',
      'the batch holds source records to back up, but the destination has no S3BackupConfiguration',
    );
  }
  const plan = planS3Delivery(backup, {
    ...context,
    sourceBackup: false,
    partitionKeys: undefined,
    legacyObjectKey: undefined,
  });
  delete plan.errorOutput;
  return plan;
}
