import { z } from 'zod';
import type { PlanContext } from '../destination-kind.js';
import { requestIdOf } from '../http/plan.js';
import { S3LocationSchema, type S3Location } from '../plan-base.js';
import { s3LocationOf } from '../s3/config.js';
import { redshiftTargetOf, type StoredRedshiftDestination } from './config.js';

/**
 * The plan of a batch loaded into PostgreSQL (stored with the batch as JSON): where it goes,
 * how its records become rows, and the identity its ledger row carries. The password is
 * deliberately not here: plans are stored in Redis beside the data, and a password changed by
 * UpdateDestination must apply to the next retry; the builder reads it from the stream.
 */
export const RedshiftDeliveryPlanSchema = z.object({
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
  /** Where `redshift-failed` records go: the destination's `S3Configuration`. */
  errorOutput: S3LocationSchema,
  /** Where every record is also written when `S3BackupMode` is `Enabled`; absent otherwise. */
  backup: S3LocationSchema.optional(),
});

/** The plan of a batch loaded into PostgreSQL. */
export type RedshiftDeliveryPlan = z.infer<typeof RedshiftDeliveryPlanSchema>;

/** The name of the ledger table, created beside the data table. */
export const LEDGER_TABLE = 'sluice_delivery_ledger';

/** The plan of a batch's first attempt, from the stream's destination now. */
export function planRedshiftDelivery(
  config: StoredRedshiftDestination,
  context: PlanContext,
): RedshiftDeliveryPlan {
  const target = redshiftTargetOf(config, 'RedshiftDestinationConfiguration');
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
