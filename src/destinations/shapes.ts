import { z } from 'zod';
import { awsInt, awsString } from '../config/validation.js';
import { FirehoseError } from '../errors/catalogue.js';
import {
  PROCESSOR_ORDER,
  compileProcessing,
  type ProcessingContext,
} from '../processors/processing-config.js';

/**
 * Sub-shapes several destination kinds share, each defined once with the Firehose model's
 * constraints: the request schema, the stored (defaults filled) schema and the rules between
 * them. The S3 configuration that other kinds embed (`S3Configuration`, `S3BackupConfiguration`)
 * lives with the S3 kind (`s3/config.ts`).
 */

/** An InvalidArgumentException: a request member breaks a rule the model cannot express. */
export const invalidArgument = (message: string): FirehoseError =>
  new FirehoseError('InvalidArgumentException', message);

/** `RoleARN`. */
export const RoleArnSchema = awsString({
  min: 1,
  max: 512,
  pattern: 'arn:.*:iam::\\d{12}:role/[a-zA-Z_0-9+=,.@\\-_/]+',
});

/** `BufferingHints`, whose size limit depends on the destination (S3 128 MiB, HTTP 64 MiB). */
export function bufferingHintsSchema(maxSizeInMBs: number) {
  return z.object({
    SizeInMBs: awsInt(1, maxSizeInMBs).optional(),
    IntervalInSeconds: awsInt(0, 900).optional(),
  });
}

/** Buffering hints with the defaults filled in. */
export const StoredBufferingHintsSchema = z.object({
  SizeInMBs: z.number().int(),
  IntervalInSeconds: z.number().int(),
});

/** Buffering hints with the defaults filled in. */
export type StoredBufferingHints = z.infer<typeof StoredBufferingHintsSchema>;

/** Firehose's buffering defaults: 5 MiB or 300 seconds, whichever comes first. */
export const DEFAULT_BUFFERING: StoredBufferingHints = { SizeInMBs: 5, IntervalInSeconds: 300 };

/**
 * The buffering hints as stored: the defaults when none are given. Firehose wants both hints
 * or neither.
 *
 * @throws FirehoseError `InvalidArgumentException` when only one hint is given.
 */
export function normalizeBufferingHints(
  hints: { SizeInMBs?: number | undefined; IntervalInSeconds?: number | undefined } | undefined,
  where: string,
): StoredBufferingHints {
  if (hints === undefined) return { ...DEFAULT_BUFFERING };
  if ((hints.SizeInMBs === undefined) !== (hints.IntervalInSeconds === undefined)) {
    throw invalidArgument(
      `${where}.BufferingHints: SizeInMBs and IntervalInSeconds must be specified together, or neither.`,
    );
  }
  return hints.SizeInMBs !== undefined && hints.IntervalInSeconds !== undefined
    ? { SizeInMBs: hints.SizeInMBs, IntervalInSeconds: hints.IntervalInSeconds }
    : { ...DEFAULT_BUFFERING };
}

/** Buffering thresholds in the buffer's units. */
export function bufferingThresholds(hints: StoredBufferingHints): {
  sizeBytes: number;
  intervalMs: number;
} {
  return { sizeBytes: hints.SizeInMBs * 1_048_576, intervalMs: hints.IntervalInSeconds * 1000 };
}

/** `RetryOptions`: how long a failing destination is retried. */
export const RetryOptionsSchema = z.object({ DurationInSeconds: awsInt(0, 7200).optional() });

/** `RetryOptions` with its default filled in. */
export const StoredRetryOptionsSchema = z.object({ DurationInSeconds: z.number().int() });

/** `CloudWatchLoggingOptions` (kept and described; Sluice logs to its own log). */
export const CloudWatchLoggingOptionsSchema = z.object({
  Enabled: z.boolean().optional(),
  LogGroupName: awsString({ min: 0, max: 512, pattern: '[\\.\\-_/#A-Za-z0-9]*' }).optional(),
  LogStreamName: awsString({ min: 0, max: 512, pattern: '[^:*]*' }).optional(),
});

/** `CloudWatchLoggingOptions` as stored and described: `Enabled` always present. */
export const StoredCloudWatchLoggingOptionsSchema = z.object({
  Enabled: z.boolean(),
  LogGroupName: z.string().optional(),
  LogStreamName: z.string().optional(),
});

/** `CloudWatchLoggingOptions` as stored. */
export type StoredCloudWatchLoggingOptions = z.infer<typeof StoredCloudWatchLoggingOptionsSchema>;

/** The stored logging options: `Enabled` defaults to false, names kept when given. */
export function normalizeCloudWatchLogging(
  logging: z.infer<typeof CloudWatchLoggingOptionsSchema> | undefined,
): StoredCloudWatchLoggingOptions {
  return {
    Enabled: logging?.Enabled ?? false,
    ...(logging?.LogGroupName !== undefined ? { LogGroupName: logging.LogGroupName } : {}),
    ...(logging?.LogStreamName !== undefined ? { LogStreamName: logging.LogStreamName } : {}),
  };
}

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
  Type: z.enum(PROCESSOR_ORDER),
  Parameters: z.array(ProcessorParameterSchema).optional(),
});

/** `ProcessingConfiguration` (data transformation). */
export const ProcessingConfigurationSchema = z.object({
  Enabled: z.boolean().optional(),
  Processors: z.array(ProcessorSchema).optional(),
});

/** `ProcessingConfiguration` as stored: enabled ones were checked and compile. */
export const StoredProcessingConfigurationSchema = z.object({
  Enabled: z.boolean(),
  Processors: z.array(ProcessorSchema),
});

/** A stored `ProcessingConfiguration`. */
export type StoredProcessingConfiguration = z.infer<typeof StoredProcessingConfigurationSchema>;

/**
 * Checks a `ProcessingConfiguration` and stores it as given (Describe echoes it). An enabled
 * one (Enabled true, or absent with processors, as Firehose reads it) must compile: its
 * processors, parameters and their rules are checked here, never at delivery time.
 *
 * @throws FirehoseError `InvalidArgumentException` saying what is wrong.
 */
export function normalizeProcessing(
  processing: z.infer<typeof ProcessingConfigurationSchema> | undefined,
  where: string,
  context: ProcessingContext = { partitioning: false },
): StoredProcessingConfiguration | undefined {
  if (processing === undefined) return undefined;
  const processors = processing.Processors ?? [];
  const enabled =
    processing.Enabled === true || (processing.Enabled === undefined && processors.length > 0);
  if (enabled) compileProcessing(processors, `${where}.ProcessingConfiguration`, context);
  return { Enabled: enabled, Processors: processors };
}

/** The processors that run for a stored configuration: none when it is off or absent. */
export function enabledProcessors(
  processing: StoredProcessingConfiguration | undefined,
): StoredProcessingConfiguration['Processors'] {
  return processing?.Enabled === true ? processing.Processors : [];
}

/** `SecretsManagerConfiguration`: where a destination's credential is kept in AWS. */
export const SecretsManagerConfigurationSchema = z.object({
  SecretARN: awsString({
    min: 1,
    max: 2048,
    pattern: 'arn:.*:secretsmanager:[a-zA-Z0-9\\-]+:\\d{12}:secret:[a-zA-Z0-9\\-/_+=.@]+',
  }).optional(),
  RoleARN: RoleArnSchema.optional(),
  Enabled: z.boolean(),
});

/**
 * Refuses an enabled `SecretsManagerConfiguration`: Sluice has no AWS Secrets Manager to read
 * it from; the credential is given in the configuration itself.
 *
 * @throws FirehoseError `InvalidArgumentException` when enabled.
 */
export function refuseSecretsManager(
  secrets: z.infer<typeof SecretsManagerConfigurationSchema> | undefined,
  where: string,
  instead: string,
): void {
  if (secrets?.Enabled === true) {
    throw invalidArgument(
      `${where}.SecretsManagerConfiguration: AWS Secrets Manager is not available to Sluice; set Enabled to false and give ${instead} instead.`,
    );
  }
}

/** The members of `value` that are not undefined, so a spread does not erase current values. */
export function definedMembers<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
