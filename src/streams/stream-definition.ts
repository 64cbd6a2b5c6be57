import { z } from 'zod';
import { awsInt, awsString, jsonObject } from '../config/validation.js';
import { bucketNameProblem } from '../destinations/s3/bucket-name.js';
import { validatePrefixes } from '../destinations/s3/object-key.js';
import { isValidTimeZone } from '../destinations/s3/timestamp-format.js';
import { FirehoseError } from '../errors/catalogue.js';
import type { S3DeliveryTarget } from './delivery-target.js';
import type { Settings } from '../config/env.js';

/**
 * Delivery stream definitions: the Firehose request shapes Sluice accepts (CreateDeliveryStream,
 * UpdateDestination, tags), the normalized definition Sluice stores, and the rules that turn
 * one into the other.
 *
 * Request schemas carry the Firehose model's constraints (lengths, ranges, patterns, enums) so
 * that `parseInput` reports them as AWS does. What the model allows but Sluice does not
 * implement yet is rejected afterwards, by {@link definitionFromCreateInput} and
 * {@link mergeDestinationUpdate}, with an InvalidArgumentException that names the feature.
 */

// ---------------------------------------------------------------------------------------------
// Model members (names and constraints from the Firehose API model)
// ---------------------------------------------------------------------------------------------

/** `DeliveryStreamName`: 1–64 characters of `[a-zA-Z0-9_.-]`. */
export const DeliveryStreamNameSchema = awsString({ min: 1, max: 64, pattern: '[a-zA-Z0-9_.-]+' });

/** `DeliveryStreamType`, every value the model has (only DirectPut is implemented). */
export const DeliveryStreamTypeSchema = z.enum([
  'DirectPut',
  'KinesisStreamAsSource',
  'MSKAsSource',
  'DatabaseAsSource',
]);

/** `DeliveryStreamStatus`. Sluice streams are ACTIVE from creation and DELETING after Delete. */
export const DeliveryStreamStatusSchema = z.enum([
  'CREATING',
  'CREATING_FAILED',
  'DELETING',
  'DELETING_FAILED',
  'ACTIVE',
]);

/** `DeliveryStreamVersionId`: decimal digits, 1–50 characters. */
export const DeliveryStreamVersionIdSchema = awsString({ min: 1, max: 50, pattern: '[0-9]+' });

/** `DestinationId`. */
export const DestinationIdSchema = awsString({ min: 1, max: 100, pattern: '[a-zA-Z0-9-]+' });

/** `RoleARN`. */
export const RoleArnSchema = awsString({
  min: 1,
  max: 512,
  pattern: 'arn:.*:iam::\\d{12}:role/[a-zA-Z_0-9+=,.@\\-_/]+',
});

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

/** `BufferingHints` of the S3 destinations. */
export const BufferingHintsSchema = z.object({
  SizeInMBs: awsInt(1, 128).optional(),
  IntervalInSeconds: awsInt(0, 900).optional(),
});

/** `CompressionFormat` (case-sensitive: `Snappy`, not `SNAPPY`). */
export const CompressionFormatSchema = z.enum([
  'UNCOMPRESSED',
  'GZIP',
  'ZIP',
  'Snappy',
  'HADOOP_SNAPPY',
]);

/** The compression formats Sluice implements. */
export const SupportedCompressionSchema = z.enum(['UNCOMPRESSED', 'GZIP']);

/** `KMSEncryptionConfig`. */
export const KmsEncryptionConfigSchema = z.object({ AWSKMSKeyARN: KmsKeyArnSchema });

/** `EncryptionConfiguration` of delivered S3 objects. */
export const EncryptionConfigurationSchema = z.object({
  NoEncryptionConfig: z.enum(['NoEncryption']).optional(),
  KMSEncryptionConfig: KmsEncryptionConfigSchema.optional(),
});

/** `CloudWatchLoggingOptions` (kept and described; Sluice logs to its own log). */
export const CloudWatchLoggingOptionsSchema = z.object({
  Enabled: z.boolean().optional(),
  LogGroupName: awsString({ min: 0, max: 512, pattern: '[\\.\\-_/#A-Za-z0-9]*' }).optional(),
  LogStreamName: awsString({ min: 0, max: 512, pattern: '[^:*]*' }).optional(),
});

/** `ProcessorParameter`. */
export const ProcessorParameterSchema = z.object({
  ParameterName: z.enum([
    'LambdaArn',
    'NumberOfRetries',
    'MetadataExtractionQuery',
    'JsonParsingEngine',
    'RoleArn',
    'BufferSizeInMBs',
    'BufferIntervalInSeconds',
    'SubRecordType',
    'Delimiter',
    'CompressionFormat',
    'DataMessageExtraction',
  ]),
  ParameterValue: awsString({ min: 1, max: 5120, pattern: '^(?!\\s*$).+' }),
});

/** `Processor`. */
export const ProcessorSchema = z.object({
  Type: z.enum([
    'RecordDeAggregation',
    'Decompression',
    'CloudWatchLogProcessing',
    'Lambda',
    'MetadataExtraction',
    'AppendDelimiterToRecord',
  ]),
  Parameters: z.array(ProcessorParameterSchema).optional(),
});

/** `ProcessingConfiguration` (data transformation). */
export const ProcessingConfigurationSchema = z.object({
  Enabled: z.boolean().optional(),
  Processors: z.array(ProcessorSchema).optional(),
});

/**
 * `DataFormatConversionConfiguration`. Only its switch is checked: Sluice accepts it only
 * disabled, and then keeps the rest as given so Describe echoes it.
 */
export const DataFormatConversionConfigurationSchema = z.object({
  SchemaConfiguration: jsonObject.optional(),
  InputFormatConfiguration: jsonObject.optional(),
  OutputFormatConfiguration: jsonObject.optional(),
  Enabled: z.boolean().optional(),
});

/** `RetryOptions` of dynamic partitioning. */
export const RetryOptionsSchema = z.object({ DurationInSeconds: awsInt(0, 7200).optional() });

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

/** `S3DestinationConfiguration` (the older, plain S3 destination). */
export const S3DestinationConfigurationSchema = z.object({
  RoleARN: RoleArnSchema,
  BucketARN: BucketArnSchema,
  Prefix: PrefixSchema.optional(),
  ErrorOutputPrefix: PrefixSchema.optional(),
  BufferingHints: BufferingHintsSchema.optional(),
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

/** `S3DestinationUpdate`: every member optional; what is absent is kept. */
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

/** `DirectPutSourceConfiguration` (the throughput hint is informational). */
export const DirectPutSourceConfigurationSchema = z.object({
  ThroughputHintInMBs: awsInt(1, 100),
});

/** `DeliveryStreamEncryptionConfigurationInput` (server-side encryption, which Sluice refuses for now). */
export const DeliveryStreamEncryptionConfigurationInputSchema = z.object({
  KeyARN: KmsKeyArnSchema.optional(),
  KeyType: z.enum(['AWS_OWNED_CMK', 'CUSTOMER_MANAGED_CMK']),
});

/** `TagKey`: 1–128 characters, not starting with `aws:`. */
export const TagKeySchema = awsString({
  min: 1,
  max: 128,
  pattern: '^(?!aws:)[\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@%]*$',
});

/** `TagValue`: 0–256 characters. */
export const TagValueSchema = awsString({
  min: 0,
  max: 256,
  pattern: '^[\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@%]*$',
});

/** `Tag`. */
export const TagSchema = z.object({ Key: TagKeySchema, Value: TagValueSchema.optional() });

/** `TagDeliveryStreamInputTagList`: 1–50 tags (CreateDeliveryStream and TagDeliveryStream). */
export const TagListSchema = z.array(TagSchema).min(1).max(50);

/** `TagKeyList`: 1–50 keys (UntagDeliveryStream). */
export const TagKeyListSchema = z.array(TagKeySchema).min(1).max(50);

/** The most tags one stream may carry. */
export const MAX_TAGS_PER_STREAM = 50;

/** Destination configuration members of CreateDeliveryStream that Sluice does not implement. */
export const UNSUPPORTED_DESTINATION_CONFIGURATIONS = [
  'RedshiftDestinationConfiguration',
  'ElasticsearchDestinationConfiguration',
  'AmazonopensearchserviceDestinationConfiguration',
  'SplunkDestinationConfiguration',
  'HttpEndpointDestinationConfiguration',
  'AmazonOpenSearchServerlessDestinationConfiguration',
  'SnowflakeDestinationConfiguration',
  'IcebergDestinationConfiguration',
] as const;

/** Source configuration members for stream types other than DirectPut. */
export const UNSUPPORTED_SOURCE_CONFIGURATIONS = [
  'KinesisStreamSourceConfiguration',
  'MSKSourceConfiguration',
  'DatabaseSourceConfiguration',
] as const;

/** Destination update members of UpdateDestination that Sluice does not implement. */
export const UNSUPPORTED_DESTINATION_UPDATES = [
  'RedshiftDestinationUpdate',
  'ElasticsearchDestinationUpdate',
  'AmazonopensearchserviceDestinationUpdate',
  'SplunkDestinationUpdate',
  'HttpEndpointDestinationUpdate',
  'AmazonOpenSearchServerlessDestinationUpdate',
  'SnowflakeDestinationUpdate',
  'IcebergDestinationUpdate',
] as const;

const unsupportedMembers = <const K extends readonly string[]>(names: K) =>
  Object.fromEntries(names.map((n) => [n, jsonObject.optional()])) as {
    [P in K[number]]: z.ZodOptional<typeof jsonObject>;
  };

/**
 * `CreateDeliveryStreamInput`. Members Sluice does not implement are typed as any JSON object:
 * their presence is what matters, and it is rejected after validation.
 */
export const CreateDeliveryStreamInputSchema = z.object({
  DeliveryStreamName: DeliveryStreamNameSchema,
  DeliveryStreamType: DeliveryStreamTypeSchema.optional(),
  DirectPutSourceConfiguration: DirectPutSourceConfigurationSchema.optional(),
  DeliveryStreamEncryptionConfigurationInput:
    DeliveryStreamEncryptionConfigurationInputSchema.optional(),
  S3DestinationConfiguration: S3DestinationConfigurationSchema.optional(),
  ExtendedS3DestinationConfiguration: ExtendedS3DestinationConfigurationSchema.optional(),
  Tags: TagListSchema.optional(),
  ...unsupportedMembers(UNSUPPORTED_SOURCE_CONFIGURATIONS),
  ...unsupportedMembers(UNSUPPORTED_DESTINATION_CONFIGURATIONS),
});

/** `UpdateDestinationInput`. */
export const UpdateDestinationInputSchema = z.object({
  DeliveryStreamName: DeliveryStreamNameSchema,
  CurrentDeliveryStreamVersionId: DeliveryStreamVersionIdSchema,
  DestinationId: DestinationIdSchema,
  S3DestinationUpdate: S3DestinationUpdateSchema.optional(),
  ExtendedS3DestinationUpdate: ExtendedS3DestinationUpdateSchema.optional(),
  ...unsupportedMembers(UNSUPPORTED_DESTINATION_UPDATES),
});

/** A validated CreateDeliveryStream request. */
export type CreateDeliveryStreamInput = z.infer<typeof CreateDeliveryStreamInputSchema>;
/** A validated UpdateDestination request. */
export type UpdateDestinationInput = z.infer<typeof UpdateDestinationInputSchema>;
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
/** A tag as Firehose names it. */
export type Tag = z.infer<typeof TagSchema>;
/** A delivery stream type. */
export type DeliveryStreamType = z.infer<typeof DeliveryStreamTypeSchema>;

// ---------------------------------------------------------------------------------------------
// The stored definition
// ---------------------------------------------------------------------------------------------

/** The only destination id a Sluice stream has (Firehose streams have one destination). */
export const DESTINATION_ID = 'destinationId-000000000001';

/** Buffering hints with the defaults filled in. */
export const StoredBufferingHintsSchema = z.object({
  SizeInMBs: z.number().int(),
  IntervalInSeconds: z.number().int(),
});

/** A plain S3 destination with Firehose's defaults filled in, as Describe shows it. */
export const StoredS3DestinationSchema = z.object({
  RoleARN: z.string(),
  BucketARN: z.string(),
  Prefix: z.string(),
  ErrorOutputPrefix: z.string().optional(),
  BufferingHints: StoredBufferingHintsSchema,
  CompressionFormat: SupportedCompressionSchema,
  EncryptionConfiguration: z.object({ NoEncryptionConfig: z.literal('NoEncryption') }),
  CloudWatchLoggingOptions: z.object({
    Enabled: z.boolean(),
    LogGroupName: z.string().optional(),
    LogStreamName: z.string().optional(),
  }),
});

/** An extended S3 destination with defaults filled in; disabled features kept as given. */
export const StoredExtendedS3DestinationSchema = StoredS3DestinationSchema.extend({
  ProcessingConfiguration: z
    .object({ Enabled: z.literal(false), Processors: z.array(ProcessorSchema) })
    .optional(),
  S3BackupMode: z.literal('Disabled'),
  S3BackupConfiguration: StoredS3DestinationSchema.optional(),
  DataFormatConversionConfiguration: DataFormatConversionConfigurationSchema.extend({
    Enabled: z.literal(false),
  }).optional(),
  DynamicPartitioningConfiguration: DynamicPartitioningConfigurationSchema.extend({
    Enabled: z.literal(false),
  }).optional(),
  FileExtension: z.string().optional(),
  CustomTimeZone: z.string().optional(),
});

/**
 * The stream's destination and the request shape it came from: an ExtendedS3 destination is
 * described as both ExtendedS3 and S3, a plain S3 one only as S3.
 */
export const StreamDestinationSchema = z.discriminatedUnion('shape', [
  z.object({ shape: z.literal('ExtendedS3'), config: StoredExtendedS3DestinationSchema }),
  z.object({ shape: z.literal('S3'), config: StoredS3DestinationSchema }),
]);

/** A stored tag. */
export const StoredTagSchema = z.object({ Key: z.string(), Value: z.string().optional() });

/** A delivery stream as Sluice stores it (JSON in the stream's Redis hash). */
export const StreamDefinitionSchema = z.object({
  name: z.string(),
  /** `arn:aws:firehose:<region>:<account>:deliverystream/<name>`. */
  arn: z.string(),
  status: DeliveryStreamStatusSchema,
  type: z.literal('DirectPut'),
  /** Starts at 1; every UpdateDestination adds 1. */
  versionId: z.number().int().min(1),
  /** Epoch milliseconds. */
  createTimestamp: z.number(),
  /** Epoch milliseconds of creation or the last destination update. */
  lastUpdateTimestamp: z.number(),
  destination: StreamDestinationSchema,
  /** Sorted by key. */
  tags: z.array(StoredTagSchema),
  /** `DirectPutSourceConfiguration`, when the stream was created with one. */
  source: DirectPutSourceConfigurationSchema.optional(),
});

/** Buffering hints with defaults filled in. */
export type StoredBufferingHints = z.infer<typeof StoredBufferingHintsSchema>;
/** A normalized plain S3 destination. */
export type StoredS3Destination = z.infer<typeof StoredS3DestinationSchema>;
/** A normalized extended S3 destination. */
export type StoredExtendedS3Destination = z.infer<typeof StoredExtendedS3DestinationSchema>;
/** A stream's destination with the shape it was given in. */
export type StreamDestination = z.infer<typeof StreamDestinationSchema>;
/** A stored tag. */
export type StoredTag = z.infer<typeof StoredTagSchema>;
/** A delivery stream as Sluice stores it. */
export type StreamDefinition = z.infer<typeof StreamDefinitionSchema>;

/** Firehose's buffering defaults: 5 MiB or 300 seconds, whichever comes first. */
export const DEFAULT_BUFFERING: StoredBufferingHints = { SizeInMBs: 5, IntervalInSeconds: 300 };

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

const invalid = (message: string): FirehoseError =>
  new FirehoseError('InvalidArgumentException', message);

/** The ARN Sluice gives a stream: `arn:aws:firehose:<region>:<account>:deliverystream/<name>`. */
export function streamArn(name: string, settings: Settings): string {
  return `arn:aws:firehose:${settings.SLUICE_REGION}:${settings.SLUICE_ACCOUNT_ID}:deliverystream/${name}`;
}

/**
 * Checks a validated CreateDeliveryStream request against what Sluice implements and builds
 * the stream's definition: ACTIVE, version 1, defaults filled in, tags sorted.
 *
 * @throws FirehoseError `InvalidArgumentException` naming the first unsupported feature or
 *   broken rule.
 */
export function definitionFromCreateInput(
  input: CreateDeliveryStreamInput,
  settings: Settings,
  nowMs: number,
): StreamDefinition {
  const type = input.DeliveryStreamType ?? 'DirectPut';
  if (type !== 'DirectPut') {
    throw invalid(
      `DeliveryStreamType ${type} is not supported by Sluice yet; only DirectPut streams are.`,
    );
  }
  for (const member of UNSUPPORTED_SOURCE_CONFIGURATIONS) {
    if (input[member] !== undefined) {
      throw invalid(`${member} is not supported by Sluice yet; only DirectPut streams are.`);
    }
  }
  if (input.DeliveryStreamEncryptionConfigurationInput !== undefined) {
    throw invalid(
      'DeliveryStreamEncryptionConfigurationInput: server-side encryption is not supported by Sluice yet.',
    );
  }

  const given = [
    'ExtendedS3DestinationConfiguration',
    'S3DestinationConfiguration',
    ...UNSUPPORTED_DESTINATION_CONFIGURATIONS,
  ].filter((member) => input[member as keyof CreateDeliveryStreamInput] !== undefined);
  if (given.length === 0) {
    throw invalid(
      'Exactly one destination configuration is required, but the request has none. Sluice supports ExtendedS3DestinationConfiguration and S3DestinationConfiguration.',
    );
  }
  if (given.length > 1) {
    throw invalid(
      `Exactly one destination configuration is allowed, but the request has ${given.length}: ${given.join(', ')}.`,
    );
  }

  let destination: StreamDestination;
  if (input.ExtendedS3DestinationConfiguration !== undefined) {
    destination = {
      shape: 'ExtendedS3',
      config: normalizeExtendedS3(
        input.ExtendedS3DestinationConfiguration,
        'ExtendedS3DestinationConfiguration',
      ),
    };
  } else if (input.S3DestinationConfiguration !== undefined) {
    destination = {
      shape: 'S3',
      config: normalizePlainS3(input.S3DestinationConfiguration, 'S3DestinationConfiguration'),
    };
  } else {
    throw invalid(
      `${given[0] ?? 'This destination'} is not supported by Sluice yet; use ExtendedS3DestinationConfiguration or S3DestinationConfiguration.`,
    );
  }

  return {
    name: input.DeliveryStreamName,
    arn: streamArn(input.DeliveryStreamName, settings),
    status: 'ACTIVE',
    type: 'DirectPut',
    versionId: 1,
    createTimestamp: nowMs,
    lastUpdateTimestamp: nowMs,
    destination,
    tags: normalizeTags(input.Tags ?? []),
    ...(input.DirectPutSourceConfiguration
      ? { source: { ThroughputHintInMBs: input.DirectPutSourceConfiguration.ThroughputHintInMBs } }
      : {}),
  };
}

/** The S3 update an UpdateDestination request carries, once checked to be one Sluice handles. */
export type SelectedDestinationUpdate =
  | { shape: 'ExtendedS3'; update: ExtendedS3DestinationUpdate }
  | { shape: 'S3'; update: S3DestinationUpdate };

/**
 * Picks the destination update out of a validated UpdateDestination request.
 *
 * @throws FirehoseError `InvalidArgumentException` when there is none, more than one, or one
 *   for a destination Sluice does not implement.
 */
export function selectDestinationUpdate(input: UpdateDestinationInput): SelectedDestinationUpdate {
  const given = [
    'ExtendedS3DestinationUpdate',
    'S3DestinationUpdate',
    ...UNSUPPORTED_DESTINATION_UPDATES,
  ].filter((member) => input[member as keyof UpdateDestinationInput] !== undefined);
  if (given.length === 0) {
    throw invalid(
      'Exactly one destination update is required, but the request has none. Sluice supports ExtendedS3DestinationUpdate and S3DestinationUpdate.',
    );
  }
  if (given.length > 1) {
    throw invalid(
      `Exactly one destination update is allowed, but the request has ${given.length}: ${given.join(', ')}.`,
    );
  }
  if (input.ExtendedS3DestinationUpdate !== undefined) {
    return { shape: 'ExtendedS3', update: input.ExtendedS3DestinationUpdate };
  }
  if (input.S3DestinationUpdate !== undefined) {
    return { shape: 'S3', update: input.S3DestinationUpdate };
  }
  throw invalid(
    `${given[0] ?? 'This destination update'} is not supported by Sluice yet; use ExtendedS3DestinationUpdate or S3DestinationUpdate.`,
  );
}

/**
 * Applies an S3 destination update to a stream's destination with Firehose's merge semantics:
 * members the update names replace the current ones (structures as a whole), everything else
 * is kept. `ExtendedS3DestinationUpdate` makes (or keeps) the destination an ExtendedS3 one;
 * `S3DestinationUpdate` changes only the plain S3 members and keeps the current shape, so an
 * ExtendedS3 destination does not lose its extended settings. `S3BackupUpdate` is merged into
 * the existing backup configuration the same way.
 *
 * @throws FirehoseError `InvalidArgumentException` when the merged destination breaks a rule or
 *   asks for something Sluice does not implement.
 */
export function mergeDestinationUpdate(
  current: StreamDestination,
  selected: SelectedDestinationUpdate,
): StreamDestination {
  if (selected.shape === 'S3') {
    const update = definedMembers(selected.update);
    if (current.shape === 'ExtendedS3') {
      return {
        shape: 'ExtendedS3',
        config: normalizeExtendedS3({ ...current.config, ...update }, 'S3DestinationUpdate'),
      };
    }
    return {
      shape: 'S3',
      config: normalizePlainS3({ ...current.config, ...update }, 'S3DestinationUpdate'),
    };
  }
  const { S3BackupUpdate, ...rest } = selected.update;
  const base: ExtendedS3DestinationConfiguration = { ...current.config };
  const merged: ExtendedS3DestinationConfiguration = { ...base, ...definedMembers(rest) };
  if (S3BackupUpdate !== undefined) {
    const backup = { ...base.S3BackupConfiguration, ...definedMembers(S3BackupUpdate) };
    if (backup.RoleARN === undefined || backup.BucketARN === undefined) {
      throw invalid(
        'ExtendedS3DestinationUpdate.S3BackupUpdate must include RoleARN and BucketARN when the stream has no backup configuration yet.',
      );
    }
    merged.S3BackupConfiguration = {
      ...backup,
      RoleARN: backup.RoleARN,
      BucketARN: backup.BucketARN,
    };
  }
  return {
    shape: 'ExtendedS3',
    config: normalizeExtendedS3(merged, 'ExtendedS3DestinationUpdate'),
  };
}

/**
 * Whether two normalized destinations are the same, member by member (key order ignored). A
 * streams file uses it to tell whether a declared destination differs from the stored one.
 */
export function sameDestination(a: StreamDestination, b: StreamDestination): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** Buffering thresholds in the units the buffer works in. */
export function bufferingOf(def: StreamDefinition): { sizeBytes: number; intervalMs: number } {
  const hints = def.destination.config.BufferingHints;
  return { sizeBytes: hints.SizeInMBs * 1_048_576, intervalMs: hints.IntervalInSeconds * 1000 };
}

/** What delivery needs to write a stream's objects. */
export function deliveryTargetOf(def: StreamDefinition): S3DeliveryTarget {
  const config = def.destination.config;
  const extended = def.destination.shape === 'ExtendedS3' ? def.destination.config : undefined;
  return {
    streamName: def.name,
    streamArn: def.arn,
    versionId: def.versionId,
    bucket: bucketOf(config.BucketARN),
    prefix: config.Prefix,
    errorOutputPrefix: config.ErrorOutputPrefix,
    compression: config.CompressionFormat,
    fileExtension: extended?.FileExtension,
    timeZone: extended?.CustomTimeZone ?? 'UTC',
  };
}

/** The bucket name of a `BucketARN` (`arn:aws:s3:::<bucket>`). */
export function bucketOf(bucketArn: string): string {
  // Bucket names cannot contain ':', so everything after the last one is the name.
  return bucketArn.slice(bucketArn.lastIndexOf(':') + 1);
}

/**
 * Checks a tag list for repeated keys and sorts it by key (the order ListTagsForDeliveryStream
 * pages in).
 *
 * @throws FirehoseError `InvalidArgumentException` when a key appears twice.
 */
export function normalizeTags(tags: readonly Tag[]): StoredTag[] {
  const seen = new Set<string>();
  for (const tag of tags) {
    if (seen.has(tag.Key))
      throw invalid(`Tag key ${tag.Key} appears more than once in the request.`);
    seen.add(tag.Key);
  }
  return tags
    .map((t) => (t.Value === undefined ? { Key: t.Key } : { Key: t.Key, Value: t.Value }))
    .sort((a, b) => compareKeys(a.Key, b.Key));
}

/** Code-unit order, the order Firehose lists names and tag keys in. */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/**
 * @param nested - true for a configuration inside the destination (the backup one), whose
 *   prefix problems are reported with `where` so the user can tell which prefix is meant.
 */
function normalizePlainS3(
  config: S3DestinationConfiguration,
  where: string,
  nested = false,
): StoredS3Destination {
  const bucketProblem = bucketNameProblem(bucketOf(config.BucketARN));
  if (bucketProblem !== undefined) {
    throw invalid(
      `${where}.BucketARN ${config.BucketARN} does not name a valid S3 bucket: ${bucketProblem}.`,
    );
  }
  const prefixProblem = validatePrefixes(config.Prefix, config.ErrorOutputPrefix || undefined);
  if (prefixProblem !== undefined) {
    throw invalid(nested ? `${where}: ${prefixProblem}` : prefixProblem);
  }
  const compression = config.CompressionFormat ?? 'UNCOMPRESSED';
  if (compression !== 'UNCOMPRESSED' && compression !== 'GZIP') {
    throw invalid(
      `${where}.CompressionFormat ${compression} is not supported by Sluice yet; use UNCOMPRESSED or GZIP.`,
    );
  }
  if (config.EncryptionConfiguration?.KMSEncryptionConfig !== undefined) {
    throw invalid(
      `${where}.EncryptionConfiguration.KMSEncryptionConfig: KMS encryption of delivered objects is not supported by Sluice yet; use NoEncryptionConfig NoEncryption.`,
    );
  }
  const hints = config.BufferingHints;
  if (
    hints !== undefined &&
    (hints.SizeInMBs === undefined) !== (hints.IntervalInSeconds === undefined)
  ) {
    throw invalid(
      `${where}.BufferingHints: SizeInMBs and IntervalInSeconds must be specified together, or neither.`,
    );
  }
  const logging = config.CloudWatchLoggingOptions;
  return {
    RoleARN: config.RoleARN,
    BucketARN: config.BucketARN,
    Prefix: config.Prefix ?? '',
    // An empty ErrorOutputPrefix means "none", as Firehose treats it.
    ...(config.ErrorOutputPrefix ? { ErrorOutputPrefix: config.ErrorOutputPrefix } : {}),
    BufferingHints:
      hints?.SizeInMBs !== undefined && hints.IntervalInSeconds !== undefined
        ? { SizeInMBs: hints.SizeInMBs, IntervalInSeconds: hints.IntervalInSeconds }
        : { ...DEFAULT_BUFFERING },
    CompressionFormat: compression,
    EncryptionConfiguration: { NoEncryptionConfig: 'NoEncryption' },
    CloudWatchLoggingOptions: {
      Enabled: logging?.Enabled ?? false,
      ...(logging?.LogGroupName !== undefined ? { LogGroupName: logging.LogGroupName } : {}),
      ...(logging?.LogStreamName !== undefined ? { LogStreamName: logging.LogStreamName } : {}),
    },
  };
}

function normalizeExtendedS3(
  config: ExtendedS3DestinationConfiguration,
  where: string,
): StoredExtendedS3Destination {
  const plain = normalizePlainS3(config, where);
  if (config.S3BackupMode === 'Enabled') {
    throw invalid(
      `${where}.S3BackupMode Enabled (backup of source records) is not supported by Sluice yet.`,
    );
  }
  const processing = config.ProcessingConfiguration;
  if (
    processing !== undefined &&
    (processing.Enabled === true ||
      (processing.Enabled === undefined && (processing.Processors?.length ?? 0) > 0))
  ) {
    throw invalid(
      `${where}.ProcessingConfiguration: data transformation is not supported by Sluice yet; set Enabled to false or leave it out.`,
    );
  }
  const conversion = config.DataFormatConversionConfiguration;
  // Firehose's default for Enabled is true: a conversion block without Enabled=false is on.
  if (conversion !== undefined && conversion.Enabled !== false) {
    throw invalid(
      `${where}.DataFormatConversionConfiguration: record format conversion is not supported by Sluice yet; set Enabled to false or leave it out.`,
    );
  }
  const partitioning = config.DynamicPartitioningConfiguration;
  if (partitioning?.Enabled === true) {
    throw invalid(
      `${where}.DynamicPartitioningConfiguration: dynamic partitioning is not supported by Sluice yet; set Enabled to false or leave it out.`,
    );
  }
  // Empty CustomTimeZone and FileExtension mean "the default" (UTC, the compression's extension).
  const timeZone = config.CustomTimeZone || undefined;
  if (timeZone !== undefined && !isValidTimeZone(timeZone)) {
    throw invalid(
      `${where}.CustomTimeZone ${timeZone} is not a valid time zone; use an IANA zone name such as UTC or America/New_York.`,
    );
  }
  const fileExtension = config.FileExtension || undefined;

  return {
    ...plain,
    ...(processing !== undefined
      ? { ProcessingConfiguration: { Enabled: false, Processors: processing.Processors ?? [] } }
      : {}),
    S3BackupMode: 'Disabled',
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
      ? { DataFormatConversionConfiguration: { ...definedMembers(conversion), Enabled: false } }
      : {}),
    ...(partitioning !== undefined
      ? { DynamicPartitioningConfiguration: { ...definedMembers(partitioning), Enabled: false } }
      : {}),
    ...(fileExtension !== undefined ? { FileExtension: fileExtension } : {}),
    ...(timeZone !== undefined ? { CustomTimeZone: timeZone } : {}),
  };
}

/** The members of `value` that are not undefined, so a spread does not erase current values. */
function definedMembers<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** JSON with object keys sorted and undefined members dropped, for structural comparison. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => compareKeys(a, b)),
        )
      : v,
  );
}
