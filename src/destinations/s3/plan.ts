import { z } from 'zod';
import { COMPRESSION, CompressionFormatSchema } from '../../formats/compression.js';
import { formatGlueType } from '../../formats/parquet/glue-type.js';
import { CatalogError } from '../../formats/parquet/table-catalog.js';
import { PlanError, type PlanContext, type S3Location } from '../destination-kind.js';
import { S3LocationSchema } from '../plan-base.js';
import { bucketOf, s3LocationOf, type StoredS3Destination } from './config.js';
import {
  conversionEnabled,
  conversionSpecOf,
  type DataFormatConversionConfiguration,
} from './format-conversion.js';
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
  /**
   * JSON → Parquet: the table's columns as the catalog had them when the plan was made (so a
   * retry writes the same file, whatever the table file says by then), how records are read
   * and how Parquet is written.
   */
  conversion: z
    .object({
      columns: z.array(z.object({ name: z.string(), type: z.string() })),
      deserializer: z.discriminatedUnion('kind', [
        z.object({
          kind: z.literal('openx'),
          caseInsensitive: z.boolean(),
          dotsToUnderscores: z.boolean(),
          columnToJsonKey: z.record(z.string(), z.string()),
        }),
        z.object({ kind: z.literal('hive'), timestampFormats: z.array(z.string()) }),
      ]),
      parquet: z.object({
        compression: z.enum(['UNCOMPRESSED', 'GZIP', 'SNAPPY']),
        pageSizeBytes: z.number(),
        blockSizeBytes: z.number(),
        enableDictionaryCompression: z.boolean(),
      }),
    })
    .optional(),
  dataCatalogTable: z.record(z.string(), z.string()).optional(),
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
    DataFormatConversionConfiguration?: DataFormatConversionConfiguration;
  },
  context: PlanContext,
): S3DeliveryPlan {
  if (context.sourceBackup === true) return planSourceBackup(config, context);
  const compression = config.CompressionFormat;
  const timeZone = config.CustomTimeZone ?? 'UTC';
  // A Parquet object is `.parquet`, compressed inside (Firehose then allows only UNCOMPRESSED).
  const converting = conversionEnabled(config.DataFormatConversionConfiguration);
  const fileExtension =
    config.FileExtension ?? (converting ? PARQUET_EXTENSION : COMPRESSION[compression].extension);
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

/** The extension of Parquet objects (Firehose's). */
const PARQUET_EXTENSION = '.parquet';

/**
 * {@link planS3Delivery}, and for a destination that converts to Parquet the table its
 * records are converted with, read from the catalog now and fixed in the plan.
 *
 * @throws PlanError `DataFormatConversion.TableMissing` when the catalog has no such table, or
 *   it is not valid any more (the batch is dead-lettered with the reason, its records kept for
 *   a replay once the table is fixed).
 */
export async function planS3DeliveryWithTable(
  config: Parameters<typeof planS3Delivery>[0],
  context: PlanContext,
): Promise<S3DeliveryPlan> {
  const plan = planS3Delivery(config, context);
  const conversion = config.DataFormatConversionConfiguration;
  if (context.sourceBackup === true || conversion === undefined || !conversionEnabled(conversion)) {
    return plan;
  }
  const spec = conversionSpecOf(conversion);
  if (context.catalog === undefined) {
    throw new PlanError('DataFormatConversion.TableMissing', 'this process has no table catalog');
  }
  let table;
  try {
    table = await context.catalog.table(spec.database, spec.table);
  } catch (error) {
    if (!(error instanceof CatalogError)) throw error;
    throw new PlanError('DataFormatConversion.TableMissing', error.message, { cause: error });
  }
  return {
    ...plan,
    conversion: {
      columns: table.columns.map((c) => ({ name: c.name, type: formatGlueType(c.type) })),
      deserializer:
        spec.deserializer.kind === 'hive'
          ? { kind: 'hive', timestampFormats: [...spec.deserializer.timestampFormats] }
          : { ...spec.deserializer, columnToJsonKey: { ...spec.deserializer.columnToJsonKey } },
      parquet: spec.parquet,
    },
    dataCatalogTable: spec.dataCatalogTable,
  };
}
