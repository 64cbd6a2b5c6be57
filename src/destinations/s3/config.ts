import { z } from 'zod';
import { CompressionFormatSchema } from '../../formats/compression.js';
import { awsString } from '../../config/validation.js';
import type { S3Location, SourceBackup } from '../destination-kind.js';
import {
  CloudWatchLoggingOptionsSchema,
  ProcessingConfigurationSchema,
  RetryOptionsSchema,
  RoleArnSchema,
  StoredBufferingHintsSchema,
  StoredCloudWatchLoggingOptionsSchema,
  StoredProcessingConfigurationSchema,
  bufferingHintsSchema,
  bufferingThresholds,
  definedMembers,
  invalidArgument,
  normalizeBufferingHints,
  normalizeCloudWatchLogging,
  normalizeProcessing,
  enabledProcessors,
  type StoredProcessingConfiguration,
} from '../shapes.js';
import { bucketNameProblem } from './bucket-name.js';
import { partitionKeysReferenced, validatePrefixes } from './object-key.js';
import { compileMetadataExtractionQuery } from '../../processors/jq/index.js';
import { isValidTimeZone } from './timestamp-format.js';
import {
  checkConversion,
  CONVERSION_DEFAULT_SIZE_MB,
  conversionEnabled,
  DataFormatConversionConfigurationSchema,
} from './format-conversion.js';

/**
 * The S3 destinations' configuration: `S3DestinationConfiguration` (also the `S3Configuration`
 * and `S3BackupConfiguration` other kinds embed) and `ExtendedS3DestinationConfiguration`, each
 * as request, update, stored and description shape, with the rules between them.
 */

/**
 * `BucketARN`: `arn:<partition>:s3:::<bucket>`. The model pattern is all a ValidationException
 * reports; S3's bucket naming rules are checked afterwards (InvalidArgumentException).
 */
export const BucketArnSchema = awsString({
  min: 1,
  max: 2048,
  pattern: 'arn:.*:s3:::[\\w\\.\\-]{1,255}',
});

/** `AWSKMSKeyARN`. */
export const KmsKeyArnSchema = awsString({ min: 1, max: 512, pattern: 'arn:.*' });

/** `Prefix` and `ErrorOutputPrefix`: up to 1024 characters, no line breaks (`.*`). */
export const PrefixSchema = awsString({ min: 0, max: 1024, pattern: '.*' });

/** `EncryptionConfiguration` of delivered S3 objects. */
export const EncryptionConfigurationSchema = z.object({
  NoEncryptionConfig: z.enum(['NoEncryption']).optional(),
  KMSEncryptionConfig: z.object({ AWSKMSKeyARN: KmsKeyArnSchema }).optional(),
});

/** `DynamicPartitioningConfiguration`. */
export const DynamicPartitioningConfigurationSchema = z.object({
  RetryOptions: RetryOptionsSchema.optional(),
  Enabled: z.boolean().optional(),
});

/** `S3BackupMode` of the extended S3 destination. */
export const S3BackupModeSchema = z.enum(['Disabled', 'Enabled']);

/** `FileExtension`: empty, or a dot and characters from `[0-9a-z!\-_.*'()]`. */
export const FileExtensionSchema = awsString({
  min: 0,
  max: 128,
  pattern: "^$|\\.[0-9a-z!\\-_.*'()]+",
});

/** `CustomTimeZone` (the model only bounds its length; the zone is checked semantically). */
export const CustomTimeZoneSchema = awsString({ min: 0, max: 50 });

/** `S3DestinationConfiguration` (the plain S3 destination, and `S3Configuration` elsewhere). */
export const S3DestinationConfigurationSchema = z.object({
  RoleARN: RoleArnSchema,
  BucketARN: BucketArnSchema,
  Prefix: PrefixSchema.optional(),
  ErrorOutputPrefix: PrefixSchema.optional(),
  BufferingHints: bufferingHintsSchema(128).optional(),
  CompressionFormat: CompressionFormatSchema.optional(),
  EncryptionConfiguration: EncryptionConfigurationSchema.optional(),
  CloudWatchLoggingOptions: CloudWatchLoggingOptionsSchema.optional(),
});

/** `ExtendedS3DestinationConfiguration`. */
export const ExtendedS3DestinationConfigurationSchema = S3DestinationConfigurationSchema.extend({
  ProcessingConfiguration: ProcessingConfigurationSchema.optional(),
  S3BackupMode: S3BackupModeSchema.optional(),
  S3BackupConfiguration: S3DestinationConfigurationSchema.optional(),
  DataFormatConversionConfiguration: DataFormatConversionConfigurationSchema.optional(),
  DynamicPartitioningConfiguration: DynamicPartitioningConfigurationSchema.optional(),
  FileExtension: FileExtensionSchema.optional(),
  CustomTimeZone: CustomTimeZoneSchema.optional(),
});

/** `S3DestinationUpdate` (also `S3Update`, `S3BackupUpdate`): every member optional. */
export const S3DestinationUpdateSchema = S3DestinationConfigurationSchema.partial();

/** `ExtendedS3DestinationUpdate`: every member optional; what is absent is kept. */
export const ExtendedS3DestinationUpdateSchema = S3DestinationUpdateSchema.extend({
  ProcessingConfiguration: ProcessingConfigurationSchema.optional(),
  S3BackupMode: S3BackupModeSchema.optional(),
  S3BackupUpdate: S3DestinationUpdateSchema.optional(),
  DataFormatConversionConfiguration: DataFormatConversionConfigurationSchema.optional(),
  DynamicPartitioningConfiguration: DynamicPartitioningConfigurationSchema.optional(),
  FileExtension: FileExtensionSchema.optional(),
  CustomTimeZone: CustomTimeZoneSchema.optional(),
});

/** A plain S3 destination with Firehose's defaults filled in, as Describe shows it. */
export const StoredS3DestinationSchema = z.object({
  RoleARN: z.string(),
  BucketARN: z.string(),
  Prefix: z.string(),
  ErrorOutputPrefix: z.string().optional(),
  BufferingHints: StoredBufferingHintsSchema,
  CompressionFormat: CompressionFormatSchema,
  EncryptionConfiguration: z.object({ NoEncryptionConfig: z.literal('NoEncryption') }),
  CloudWatchLoggingOptions: StoredCloudWatchLoggingOptionsSchema,
});

/** An extended S3 destination with defaults filled in; disabled features kept as given. */
export const StoredExtendedS3DestinationSchema = StoredS3DestinationSchema.extend({
  ProcessingConfiguration: StoredProcessingConfigurationSchema.optional(),
  S3BackupMode: S3BackupModeSchema,
  S3BackupConfiguration: StoredS3DestinationSchema.optional(),
  DataFormatConversionConfiguration: DataFormatConversionConfigurationSchema.extend({
    Enabled: z.boolean(),
  }).optional(),
  DynamicPartitioningConfiguration: DynamicPartitioningConfigurationSchema.extend({
    Enabled: z.boolean(),
  }).optional(),
  FileExtension: z.string().optional(),
  CustomTimeZone: z.string().optional(),
});

/** A validated `S3DestinationConfiguration`. */
export type S3DestinationConfiguration = z.infer<typeof S3DestinationConfigurationSchema>;
/** A validated `ExtendedS3DestinationConfiguration`. */
export type ExtendedS3DestinationConfiguration = z.infer<
  typeof ExtendedS3DestinationConfigurationSchema
>;
/** A validated `S3DestinationUpdate`. */
export type S3DestinationUpdate = z.infer<typeof S3DestinationUpdateSchema>;
/** A validated `ExtendedS3DestinationUpdate`. */
export type ExtendedS3DestinationUpdate = z.infer<typeof ExtendedS3DestinationUpdateSchema>;
/** A normalized plain S3 destination. */
export type StoredS3Destination = z.infer<typeof StoredS3DestinationSchema>;
/** A normalized extended S3 destination. */
export type StoredExtendedS3Destination = z.infer<typeof StoredExtendedS3DestinationSchema>;

/** The bucket name of a `BucketARN` (`arn:aws:s3:::<bucket>`). */
export function bucketOf(bucketArn: string): string {
  // Bucket names cannot contain ':', so everything after the last one is the name.
  return bucketArn.slice(bucketArn.lastIndexOf(':') + 1);
}

/**
 * Checks a plain S3 configuration and fills Firehose's defaults.
 *
 * @param nested - true for a configuration inside another destination (a backup, an HTTP
 *   destination's `S3Configuration`), whose prefix problems are reported with `where` so the
 *   user can tell which prefix is meant.
 * @throws FirehoseError `InvalidArgumentException` for a rule broken or a feature missing.
 */
export function normalizePlainS3(
  config: S3DestinationConfiguration,
  where: string,
  nested = false,
  partitioning = false,
): StoredS3Destination {
  const bucketProblem = bucketNameProblem(bucketOf(config.BucketARN));
  if (bucketProblem !== undefined) {
    throw invalidArgument(
      `${where}.BucketARN ${config.BucketARN} does not name a valid S3 bucket: ${bucketProblem}.`,
    );
  }
  const prefixProblem = validatePrefixes(
    config.Prefix,
    config.ErrorOutputPrefix || undefined,
    partitioning,
  );
  if (prefixProblem !== undefined) {
    throw invalidArgument(nested ? `${where}: ${prefixProblem}` : prefixProblem);
  }
  const compression = config.CompressionFormat ?? 'UNCOMPRESSED';
  if (config.EncryptionConfiguration?.KMSEncryptionConfig !== undefined) {
    throw invalidArgument(
      `${where}.EncryptionConfiguration.KMSEncryptionConfig: KMS encryption of delivered objects is not supported by Sluice yet; use NoEncryptionConfig NoEncryption.`,
    );
  }
  return {
    RoleARN: config.RoleARN,
    BucketARN: config.BucketARN,
    Prefix: config.Prefix ?? '',
    // An empty ErrorOutputPrefix means "none", as Firehose treats it.
    ...(config.ErrorOutputPrefix ? { ErrorOutputPrefix: config.ErrorOutputPrefix } : {}),
    BufferingHints: normalizeBufferingHints(config.BufferingHints, where),
    CompressionFormat: compression,
    EncryptionConfiguration: { NoEncryptionConfig: 'NoEncryption' },
    CloudWatchLoggingOptions: normalizeCloudWatchLogging(config.CloudWatchLoggingOptions),
  };
}

/**
 * Merges an `S3DestinationUpdate` (or `S3Update`, `S3BackupUpdate`) into a stored plain S3
 * configuration, or into none: then the update must name RoleARN and BucketARN.
 *
 * @throws FirehoseError `InvalidArgumentException` when the result breaks a rule.
 */
export function mergePlainS3(
  current: StoredS3Destination | undefined,
  update: S3DestinationUpdate,
  where: string,
  nested = false,
): StoredS3Destination {
  const merged = { ...current, ...definedMembers(update) };
  if (merged.RoleARN === undefined || merged.BucketARN === undefined) {
    throw invalidArgument(
      `${where} must include RoleARN and BucketARN when there is no S3 configuration to update yet.`,
    );
  }
  return normalizePlainS3(
    { ...merged, RoleARN: merged.RoleARN, BucketARN: merged.BucketARN },
    where,
    nested,
  );
}

/**
 * Checks an extended S3 configuration and fills Firehose's defaults; features Sluice does not
 * implement yet are accepted only switched off, and then kept as given for Describe.
 *
 * @throws FirehoseError `InvalidArgumentException` for a rule broken or a feature missing.
 */
export function normalizeExtendedS3(
  config: ExtendedS3DestinationConfiguration,
  where: string,
): StoredExtendedS3Destination {
  const partitioning = config.DynamicPartitioningConfiguration;
  const partitioned = partitioning?.Enabled === true;
  const plain = normalizePlainS3(config, where, false, partitioned);
  const backupMode = config.S3BackupMode ?? 'Disabled';
  if (backupMode === 'Enabled' && config.S3BackupConfiguration === undefined) {
    throw invalidArgument(
      `${where}.S3BackupMode Enabled needs S3BackupConfiguration: the bucket and prefix the records are backed up to as they arrived.`,
    );
  }
  const processing = normalizeProcessing(config.ProcessingConfiguration, where, {
    partitioning: partitioned,
  });
  const conversion = config.DataFormatConversionConfiguration;
  // Firehose's default for Enabled is true: a conversion block without Enabled=false is on.
  const converting = conversionEnabled(conversion);
  if (conversion !== undefined && converting) {
    checkConversion(
      conversion,
      { compression: plain.CompressionFormat, sizeInMBs: config.BufferingHints?.SizeInMBs },
      where,
    );
  }
  if (partitioned) checkPartitioning(plain, processing, where);
  // Empty CustomTimeZone and FileExtension mean "the default" (UTC, the compression's extension).
  const timeZone = config.CustomTimeZone || undefined;
  if (timeZone !== undefined && !isValidTimeZone(timeZone)) {
    throw invalidArgument(
      `${where}.CustomTimeZone ${timeZone} is not a valid time zone; use an IANA zone name such as UTC or America/New_York.`,
    );
  }
  const fileExtension = config.FileExtension || undefined;

  return {
    ...plain,
    // With conversion, an unset SizeInMBs is Firehose's 128, not 5.
    ...(converting && config.BufferingHints?.SizeInMBs === undefined
      ? { BufferingHints: { ...plain.BufferingHints, SizeInMBs: CONVERSION_DEFAULT_SIZE_MB } }
      : {}),
    ...(processing !== undefined ? { ProcessingConfiguration: processing } : {}),
    S3BackupMode: backupMode,
    ...(config.S3BackupConfiguration !== undefined
      ? {
          S3BackupConfiguration: normalizePlainS3(
            config.S3BackupConfiguration,
            `${where}.S3BackupConfiguration`,
            true,
          ),
        }
      : {}),
    ...(conversion !== undefined
      ? {
          DataFormatConversionConfiguration: { ...definedMembers(conversion), Enabled: converting },
        }
      : {}),
    ...(partitioning !== undefined
      ? {
          DynamicPartitioningConfiguration: {
            ...definedMembers(partitioning),
            Enabled: partitioned,
          },
        }
      : {}),
    ...(fileExtension !== undefined ? { FileExtension: fileExtension } : {}),
    ...(timeZone !== undefined ? { CustomTimeZone: timeZone } : {}),
  };
}

/**
 * Merges an `ExtendedS3DestinationUpdate` into a stored extended configuration (members named
 * replace, structures whole; `S3BackupUpdate` merged into the backup the same way).
 */
export function mergeExtendedS3(
  current: StoredExtendedS3Destination | StoredS3Destination,
  update: ExtendedS3DestinationUpdate,
  where: string,
): StoredExtendedS3Destination {
  const { S3BackupUpdate, ...rest } = update;
  const base = current as ExtendedS3DestinationConfiguration;
  const wasPartitioned = base.DynamicPartitioningConfiguration?.Enabled === true;
  const requested = rest.DynamicPartitioningConfiguration?.Enabled;
  if (requested !== undefined && requested !== wasPartitioned) {
    throw invalidArgument(
      wasPartitioned
        ? `${where}.DynamicPartitioningConfiguration: dynamic partitioning cannot be disabled once a stream has it; create a new stream without it.`
        : `${where}.DynamicPartitioningConfiguration: dynamic partitioning can be enabled only when a stream is created; create a new stream with it.`,
    );
  }
  if (rest.DynamicPartitioningConfiguration !== undefined && requested === undefined) {
    // Enabled absent in an update keeps what the stream has.
    rest.DynamicPartitioningConfiguration = {
      ...rest.DynamicPartitioningConfiguration,
      Enabled: wasPartitioned,
    };
  }
  if (base.S3BackupMode === 'Enabled' && rest.S3BackupMode === 'Disabled') {
    throw invalidArgument(
      `${where}.S3BackupMode cannot change from Enabled to Disabled: Firehose allows enabling the source-record backup, never disabling it. Create a new stream without it.`,
    );
  }
  const merged: ExtendedS3DestinationConfiguration = { ...base, ...definedMembers(rest) };
  if (S3BackupUpdate !== undefined) {
    merged.S3BackupConfiguration = mergePlainS3(
      'S3BackupConfiguration' in current ? current.S3BackupConfiguration : undefined,
      S3BackupUpdate,
      `${where}.S3BackupUpdate`,
      true,
    );
  }
  return normalizeExtendedS3(merged, where);
}

/**
 * Firehose's rules for dynamic partitioning: an ErrorOutputPrefix (records whose keys cannot
 * be evaluated go there), a Prefix that uses partition keys, and for each key namespace the
 * processor that gives it: `partitionKeyFromQuery` keys must be keys of the MetadataExtraction
 * query, `partitionKeyFromLambda` keys need a Lambda processor.
 */
function checkPartitioning(
  plain: StoredS3Destination,
  processing: StoredProcessingConfiguration | undefined,
  where: string,
): void {
  if (plain.ErrorOutputPrefix === undefined) {
    throw invalidArgument(
      `${where}.ErrorOutputPrefix is required with dynamic partitioning: records whose partition keys cannot be evaluated are written there.`,
    );
  }
  const referenced = partitionKeysReferenced(plain.Prefix);
  if (referenced.query.length === 0 && referenced.lambda.length === 0) {
    throw invalidArgument(
      `${where}.Prefix must use at least one partition key with dynamic partitioning, e.g. !{partitionKeyFromQuery:customer_id}/ or !{partitionKeyFromLambda:customer_id}/.`,
    );
  }
  const processors = enabledProcessors(processing);
  if (referenced.query.length > 0) {
    const metadata = processors.find((p) => p.Type === 'MetadataExtraction');
    if (metadata === undefined) {
      throw invalidArgument(
        `${where}.Prefix uses partitionKeyFromQuery, which needs an enabled MetadataExtraction processor whose MetadataExtractionQuery gives the keys (JsonParsingEngine JQ-1.6).`,
      );
    }
    const query = metadata.Parameters?.find(
      (p) => p.ParameterName === 'MetadataExtractionQuery',
    )?.ParameterValue;
    const keys = query === undefined ? [] : compileMetadataExtractionQuery(query).keys;
    const missing = referenced.query.filter((key) => !keys.includes(key));
    if (missing.length > 0) {
      throw invalidArgument(
        `${where}.Prefix uses partitionKeyFromQuery:${missing.join(', partitionKeyFromQuery:')}, but the MetadataExtractionQuery gives only ${keys.join(', ') || 'no keys'}.`,
      );
    }
  }
  if (referenced.lambda.length > 0 && !processors.some((p) => p.Type === 'Lambda')) {
    throw invalidArgument(
      `${where}.Prefix uses partitionKeyFromLambda, which needs an enabled Lambda processor whose transform returns metadata.partitionKeys.`,
    );
  }
}

/** `S3DestinationDescription`: the members a plain S3 destination has. */
export function describePlainS3(config: StoredS3Destination): Record<string, unknown> {
  return {
    RoleARN: config.RoleARN,
    BucketARN: config.BucketARN,
    Prefix: config.Prefix,
    ...(config.ErrorOutputPrefix !== undefined
      ? { ErrorOutputPrefix: config.ErrorOutputPrefix }
      : {}),
    BufferingHints: { ...config.BufferingHints },
    CompressionFormat: config.CompressionFormat,
    EncryptionConfiguration: { ...config.EncryptionConfiguration },
    CloudWatchLoggingOptions: { ...config.CloudWatchLoggingOptions },
  };
}

/** `ExtendedS3DestinationDescription`: the plain members plus the extended ones that are set. */
export function describeExtendedS3(config: StoredExtendedS3Destination): Record<string, unknown> {
  return {
    ...describePlainS3(config),
    ...(config.ProcessingConfiguration !== undefined
      ? { ProcessingConfiguration: config.ProcessingConfiguration }
      : {}),
    S3BackupMode: config.S3BackupMode,
    ...(config.S3BackupConfiguration !== undefined
      ? { S3BackupDescription: describePlainS3(config.S3BackupConfiguration) }
      : {}),
    ...(config.DataFormatConversionConfiguration !== undefined
      ? { DataFormatConversionConfiguration: config.DataFormatConversionConfiguration }
      : {}),
    ...(config.DynamicPartitioningConfiguration !== undefined
      ? { DynamicPartitioningConfiguration: config.DynamicPartitioningConfiguration }
      : {}),
    ...(config.FileExtension !== undefined ? { FileExtension: config.FileExtension } : {}),
    ...(config.CustomTimeZone !== undefined ? { CustomTimeZone: config.CustomTimeZone } : {}),
  };
}

/** Where objects of a stored S3 configuration go, as plans record it. */
export function s3LocationOf(config: StoredS3Destination, timeZone = 'UTC'): S3Location {
  return {
    bucket: bucketOf(config.BucketARN),
    prefix: config.Prefix,
    ...(config.ErrorOutputPrefix !== undefined
      ? { errorOutputPrefix: config.ErrorOutputPrefix }
      : {}),
    compression: config.CompressionFormat,
    timeZone,
  };
}

/**
 * The source-record backup of an extended S3 destination (`S3BackupMode` Enabled): the backup
 * configuration's location and buffering hints; undefined when off.
 */
export function sourceBackupOf(config: StoredExtendedS3Destination): SourceBackup | undefined {
  const backup = config.S3BackupConfiguration;
  if (config.S3BackupMode !== 'Enabled' || backup === undefined) return undefined;
  return { location: s3LocationOf(backup), ...bufferingThresholds(backup.BufferingHints) };
}
