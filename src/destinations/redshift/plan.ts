import { z } from 'zod';
import { PlanError, type PlanContext } from '../destination-kind.js';
import { requestIdOf } from '../http/plan.js';
import { S3LocationSchema, type S3Location } from '../plan-base.js';
import { bucketOf, s3LocationOf } from '../s3/config.js';
import { EvaluatedPrefixTooLongError } from '../s3/object-key.js';
import { redshiftTargetOf, type RedshiftTarget, type StoredRedshiftDestination } from './config.js';
import { stagedKeysOf } from './staged-keys.js';

/** What both paths' plans hold: where the batch is loaded and the identity of its load. */
const LoadPlanBaseSchema = z.object({
  destination: z.literal('redshift'),
  /** Stream `VersionId` the plan was made under; UpdateDestination raises it. */
  streamVersion: z.number().int(),
  stream: z.string(),
  batchId: z.string(),
  /**
   * The batch's load identity (a UUID v5 of the stream's ARN and the batch id). With the
   * positions an attempt carries it makes the ledger row's key: a batch is never loaded twice.
   */
  deliveryId: z.uuid(),
  host: z.string(),
  port: z.number().int(),
  database: z.string(),
  table: z.object({ schema: z.string().optional(), table: z.string() }),
  /** Where `redshift-failed` records go: the destination's `S3Configuration`. */
  errorOutput: S3LocationSchema,
  /** Where every record is also written when `S3BackupMode` is `Enabled`; absent otherwise. */
  backup: S3LocationSchema.optional(),
});

/**
 * The plan of a batch loaded into PostgreSQL (stored with the batch as JSON): where it goes,
 * how its records become rows, and the identity its ledger row carries. The password is
 * deliberately not here: plans are stored in Redis beside the data, and a password changed by
 * UpdateDestination must apply to the next retry; the builder reads it from the stream.
 */
export const RedshiftDeliveryPlanSchema = LoadPlanBaseSchema.extend({
  /** `DataTableColumns`; absent: the table's columns, read from its catalog at load time. */
  columns: z.array(z.string()).optional(),
  /** How records become rows (copy-options.ts). */
  format: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('json'), ignoreCase: z.boolean() }),
    z.object({
      kind: z.literal('csv'),
      delimiter: z.string(),
      quote: z.string(),
      nullAs: z.string(),
    }),
    z.object({
      kind: z.literal('text'),
      delimiter: z.string(),
      nullAs: z.string(),
      escape: z.boolean(),
    }),
    z.object({ kind: z.literal('raw') }),
  ]),
});

/** The plan of a batch loaded into PostgreSQL. */
export type RedshiftDeliveryPlan = z.infer<typeof RedshiftDeliveryPlanSchema>;

/**
 * The plan of a batch staged in the intermediate bucket and loaded by Redshift's COPY from a
 * manifest (`jdbc:redshift://`, Firehose's path). Every key is derived from the batch, so a
 * retry overwrites the same object and manifest; the ledger row (keyed as on the direct path)
 * commits with the COPY, so the batch is loaded once.
 */
export const StagedRedshiftDeliveryPlanSchema = LoadPlanBaseSchema.extend({
  /** The discriminant: plans without it (stored before the staged path existed) are direct. */
  path: z.literal('staged'),
  /** `DataTableColumns`; absent: the COPY names none (the table's columns, as Redshift fills them). */
  columns: z.array(z.string()).optional(),
  /** The intermediate bucket (`S3Configuration`). */
  bucket: z.string(),
  /** The staged object: Firehose's key layout under the `Prefix`, `.gz` for GZIP. */
  objectKey: z.string(),
  /** The manifest the COPY reads: `<Prefix>manifests/yyyy/MM/dd/HH/<object name>`. */
  manifestKey: z.string(),
  /** Where the manifest of a batch given up goes: `<Prefix>errors/manifests/yyyy/MM/dd/HH/<object name>`. */
  skippedManifestKey: z.string(),
  /** The staged object's compression (`S3Configuration.CompressionFormat`). */
  compression: z.enum(['UNCOMPRESSED', 'GZIP']),
  /** The role the COPY names in `CREDENTIALS 'aws_iam_role=…'` (the destination's `RoleARN`). */
  roleArn: z.string(),
  /** `CopyOptions` as written, appended to the COPY ('' for none). */
  copyOptions: z.string(),
});

/** The plan of a batch staged in S3 and loaded by Redshift's COPY. */
export type StagedRedshiftDeliveryPlan = z.infer<typeof StagedRedshiftDeliveryPlanSchema>;

/**
 * Either plan. The staged one is tried first: it alone has `path: 'staged'`, and a direct
 * plan (which has no `path`) never matches it.
 */
export const RedshiftPlanSchema = z.union([
  StagedRedshiftDeliveryPlanSchema,
  RedshiftDeliveryPlanSchema,
]);

/** A Redshift destination's plan, direct or staged. */
export type RedshiftPlan = RedshiftDeliveryPlan | StagedRedshiftDeliveryPlan;

/** Whether a plan is the staged path's. */
export function isStagedPlan(plan: RedshiftPlan): plan is StagedRedshiftDeliveryPlan {
  return 'path' in plan && plan.path === 'staged';
}

/** The name of the ledger table, created beside the data table. */
export const LEDGER_TABLE = 'sluice_delivery_ledger';

/**
 * The plan of a batch's first attempt, from the stream's destination now: the staged path's
 * for `jdbc:redshift://`, the direct path's for `jdbc:postgresql://`.
 *
 * @throws PlanError `S3.InvalidPrefix` when the staged keys cannot be made.
 */
export function planRedshiftDelivery(
  config: StoredRedshiftDestination,
  context: PlanContext,
): RedshiftPlan {
  const target = redshiftTargetOf(config, 'RedshiftDestinationConfiguration');
  if (target.endpoint.path === 'redshift') return planStagedDelivery(config, target, context);
  return {
    destination: 'redshift',
    streamVersion: context.versionId,
    stream: context.streamName,
    batchId: context.batchId,
    deliveryId: requestIdOf(context.streamArn, context.batchId),
    host: target.endpoint.host,
    port: target.endpoint.port,
    database: target.endpoint.database,
    table: target.table.schema === undefined ? { table: target.table.table } : { ...target.table },
    ...(target.columns !== undefined ? { columns: target.columns } : {}),
    format: target.options.format,
    errorOutput: redshiftErrorOutputOf(config),
    ...(config.S3BackupMode === 'Enabled' && config.S3BackupConfiguration !== undefined
      ? { backup: s3LocationOf(config.S3BackupConfiguration) }
      : {}),
  };
}

/**
 * Where a Redshift destination's failed records go: its `S3Configuration` (whose
 * ErrorOutputPrefix is always null, so under `<Prefix>redshift-failed/yyyy/MM/dd/HH/`),
 * gzip-compressed when that says GZIP.
 */
export function redshiftErrorOutputOf(config: StoredRedshiftDestination): S3Location {
  const s3 = s3LocationOf(config.S3Configuration);
  return { ...s3, compression: s3.compression === 'GZIP' ? 'GZIP' : 'UNCOMPRESSED' };
}

/** The staged path's plan: the direct plan's identity and target, and the staged keys. */
function planStagedDelivery(
  config: StoredRedshiftDestination,
  target: RedshiftTarget,
  context: PlanContext,
): StagedRedshiftDeliveryPlan {
  const s3 = config.S3Configuration;
  const compression = s3.CompressionFormat === 'GZIP' ? 'GZIP' : 'UNCOMPRESSED';
  let keys;
  try {
    keys = stagedKeysOf({
      streamName: context.streamName,
      versionId: context.versionId,
      prefix: s3.Prefix,
      compression,
      batchId: context.batchId,
      firstArrivalMs: context.firstArrivalMs,
    });
  } catch (error) {
    if (!(error instanceof EvaluatedPrefixTooLongError)) throw error;
    throw new PlanError('S3.InvalidPrefix', `cannot name the staged object: ${error.message}`, {
      cause: error,
    });
  }
  return {
    destination: 'redshift',
    path: 'staged',
    streamVersion: context.versionId,
    stream: context.streamName,
    batchId: context.batchId,
    deliveryId: requestIdOf(context.streamArn, context.batchId),
    host: target.endpoint.host,
    port: target.endpoint.port,
    database: target.endpoint.database,
    table: target.table.schema === undefined ? { table: target.table.table } : { ...target.table },
    ...(target.columns !== undefined ? { columns: target.columns } : {}),
    bucket: bucketOf(s3.BucketARN),
    ...keys,
    compression,
    roleArn: config.RoleARN,
    copyOptions: target.options.text,
    errorOutput: redshiftErrorOutputOf(config),
    ...(config.S3BackupMode === 'Enabled' && config.S3BackupConfiguration !== undefined
      ? { backup: s3LocationOf(config.S3BackupConfiguration) }
      : {}),
  };
}
