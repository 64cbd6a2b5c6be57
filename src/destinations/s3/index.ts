import {
  defineDestinationKind,
  type RecordStream,
  type EncodeContext,
  type StoredDestination,
} from '../destination-kind.js';
import {
  bufferingThresholds,
  definedMembers,
  enabledProcessors,
  invalidArgument,
} from '../shapes.js';
import { classifyS3Put } from './classify.js';
import {
  ExtendedS3DestinationConfigurationSchema,
  ExtendedS3DestinationUpdateSchema,
  S3DestinationConfigurationSchema,
  S3DestinationUpdateSchema,
  StoredExtendedS3DestinationSchema,
  StoredS3DestinationSchema,
  describeExtendedS3,
  describePlainS3,
  mergeExtendedS3,
  mergePlainS3,
  normalizeExtendedS3,
  normalizePlainS3,
  sourceBackupOf,
  type ExtendedS3DestinationConfiguration,
  type ExtendedS3DestinationUpdate,
  type S3DestinationConfiguration,
  type S3DestinationUpdate,
  type StoredExtendedS3Destination,
  type StoredS3Destination,
} from './config.js';
import {
  S3DeliveryPlanSchema,
  planS3Delivery,
  planS3DeliveryWithTable,
  s3ErrorOutputOf,
  type S3DeliveryPlan,
} from './plan.js';
import { buildS3Put, encodeConcatenated, type S3PutRequest } from './request.js';
import { sendS3Put } from './sender.js';
import { encodeParquet } from './parquet-encode.js';
import { verifyConversionTable } from './format-conversion.js';
import { partitionKeysReferenced } from './object-key.js';

/** The prefix keys of a destination without dynamic partitioning. */
const NO_PARTITION_KEYS = { query: [], lambda: [] } as const;

/** The S3 family: an update of either shape merges into a destination of either shape. */
const FAMILY = 's3';

/** What delivery does the same way for both S3 shapes. */
const delivery = {
  planSchema: S3DeliveryPlanSchema,
  planDestination: 's3',
  // Failed S3 writes stay in Sluice's dead set: the store that would hold the error output is
  // the one failing.
  failureOutputType: undefined,
  retryWindow: () => undefined,
  compression: (plan: S3DeliveryPlan) => plan.compression,
  encode: (plan: S3DeliveryPlan, records: RecordStream, context: EncodeContext) =>
    plan.conversion === undefined
      ? encodeConcatenated(records)
      : encodeParquet(plan.conversion, records, context),
  build: buildS3Put,
  send: sendS3Put,
  classify: classifyS3Put,
} as const;

/**
 * `ExtendedS3DestinationConfiguration`: described as both `ExtendedS3DestinationDescription`
 * and a mirrored `S3DestinationDescription`, as Firehose shows it.
 */
export const extendedS3Kind = defineDestinationKind<
  StoredExtendedS3Destination,
  S3DeliveryPlan,
  S3PutRequest,
  undefined
>({
  shape: 'ExtendedS3',
  family: FAMILY,
  switchable: true,
  createMember: 'ExtendedS3DestinationConfiguration',
  createSchema: ExtendedS3DestinationConfigurationSchema,
  updateMember: 'ExtendedS3DestinationUpdate',
  updateSchema: ExtendedS3DestinationUpdateSchema,
  storedSchema: StoredExtendedS3DestinationSchema,
  normalize: (config, where) =>
    normalizeExtendedS3(config as ExtendedS3DestinationConfiguration, where),
  merge: (current, update): StoredDestination => ({
    shape: 'ExtendedS3',
    config: mergeExtendedS3(
      current.config as StoredExtendedS3Destination | StoredS3Destination,
      update as ExtendedS3DestinationUpdate,
      'ExtendedS3DestinationUpdate',
    ),
  }),
  replaceWith: (update, where) => {
    const { S3BackupUpdate, ...rest } = update as ExtendedS3DestinationUpdate;
    const { RoleARN, BucketARN } = requireLocation(rest, where);
    return normalizeExtendedS3(
      {
        ...rest,
        RoleARN,
        BucketARN,
        ...(S3BackupUpdate !== undefined
          ? {
              S3BackupConfiguration: mergePlainS3(
                undefined,
                S3BackupUpdate,
                `${where}.S3BackupUpdate`,
                true,
              ),
            }
          : {}),
      },
      where,
    );
  },
  describe: (config: StoredExtendedS3Destination) => ({
    ExtendedS3DestinationDescription: describeExtendedS3(config),
    S3DestinationDescription: describePlainS3(config),
  }),
  buffering: (config) => bufferingThresholds(config.BufferingHints),
  processing: (config) => ({
    processors: enabledProcessors(config.ProcessingConfiguration),
    partitioning: config.DynamicPartitioningConfiguration?.Enabled === true,
    partitionKeys:
      config.DynamicPartitioningConfiguration?.Enabled === true
        ? partitionKeysReferenced(config.Prefix)
        : NO_PARTITION_KEYS,
    sourceBackup: sourceBackupOf(config),
  }),
  errorOutput: (config) => s3ErrorOutputOf(config, config.CustomTimeZone),
  verify: (config, { catalog }) => verifyConversionTable(config, catalog),
  plan: (config, context) => planS3DeliveryWithTable(config, context),
  ...delivery,
});

/** `S3DestinationConfiguration`: the plain (deprecated) S3 destination. */
export const plainS3Kind = defineDestinationKind<
  StoredS3Destination,
  S3DeliveryPlan,
  S3PutRequest,
  undefined
>({
  shape: 'S3',
  family: FAMILY,
  switchable: true,
  createMember: 'S3DestinationConfiguration',
  createSchema: S3DestinationConfigurationSchema,
  updateMember: 'S3DestinationUpdate',
  updateSchema: S3DestinationUpdateSchema,
  storedSchema: StoredS3DestinationSchema,
  normalize: (config, where) => normalizePlainS3(config as S3DestinationConfiguration, where),
  // A plain update changes only the plain members and keeps the shape: an ExtendedS3
  // destination does not lose its extended settings.
  merge: (current, update): StoredDestination => {
    const members = definedMembers(update as S3DestinationUpdate);
    if (current.shape === 'ExtendedS3') {
      return {
        shape: 'ExtendedS3',
        config: normalizeExtendedS3(
          { ...(current.config as StoredExtendedS3Destination), ...members },
          'S3DestinationUpdate',
        ),
      };
    }
    return {
      shape: 'S3',
      config: mergePlainS3(current.config as StoredS3Destination, members, 'S3DestinationUpdate'),
    };
  },
  replaceWith: (update, where) => {
    const members = update as S3DestinationUpdate;
    return normalizePlainS3({ ...members, ...requireLocation(members, where) }, where);
  },
  describe: (config: StoredS3Destination) => ({
    S3DestinationDescription: describePlainS3(config),
  }),
  buffering: (config) => bufferingThresholds(config.BufferingHints),
  processing: () => ({ processors: [], partitioning: false, partitionKeys: NO_PARTITION_KEYS }),
  errorOutput: (config) => s3ErrorOutputOf(config),
  plan: (config, context) => planS3Delivery(config, context),
  ...delivery,
});

/**
 * The members a destination switched to S3 must name: nothing of the old destination is kept.
 *
 * @throws FirehoseError `InvalidArgumentException` naming what is missing.
 */
function requireLocation(
  update: { RoleARN?: string | undefined; BucketARN?: string | undefined },
  where: string,
): { RoleARN: string; BucketARN: string } {
  const missing = (['RoleARN', 'BucketARN'] as const).filter((m) => update[m] === undefined);
  if (update.RoleARN === undefined || update.BucketARN === undefined) {
    throw invalidArgument(
      `${where} changes the destination type, so it must be a complete configuration, but it lacks ${missing.join(' and ')}.`,
    );
  }
  return { RoleARN: update.RoleARN, BucketARN: update.BucketARN };
}
