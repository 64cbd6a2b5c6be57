import { z } from 'zod';
import { awsString } from '../../config/validation.js';
import {
  S3BackupModeSchema,
  S3DestinationConfigurationSchema,
  S3DestinationUpdateSchema,
  StoredS3DestinationSchema,
  describePlainS3,
  mergePlainS3,
  normalizePlainS3,
} from '../s3/config.js';
import {
  CloudWatchLoggingOptionsSchema,
  ProcessingConfigurationSchema,
  RetryOptionsSchema,
  RoleArnSchema,
  SecretsManagerConfigurationSchema,
  StoredCloudWatchLoggingOptionsSchema,
  StoredProcessingConfigurationSchema,
  StoredRetryOptionsSchema,
  definedMembers,
  invalidArgument,
  normalizeCloudWatchLogging,
  normalizeProcessing,
} from '../shapes.js';
import { CopyOptionsError, parseCopyOptions, type CopyOptions } from './copy-options.js';
import type { IdentifierError } from './identifiers.js';
import { parseColumnList, parseTableName, type TableName } from './identifiers.js';
import { parseJdbcUrl, type JdbcEndpoint } from './jdbc-url.js';

/**
 * The Redshift destination's configuration: `RedshiftDestinationConfiguration` (create),
 * `RedshiftDestinationUpdate` (update), the stored (defaults filled) shape and the
 * `RedshiftDestinationDescription`, with Firehose's rules between them.
 *
 * The stored configuration keeps `Password`: delivery needs it. Describe never shows it, as
 * Firehose does not; plans never hold it (the sender reads it from the stream as it is now).
 */

/** Firehose's default `RetryOptions.DurationInSeconds` for Redshift. */
export const DEFAULT_REDSHIFT_RETRY_SECONDS = 3600;

/** `CopyCommand`. */
export const CopyCommandSchema = z.object({
  DataTableName: awsString({ min: 1, max: 512, pattern: '.*' }),
  DataTableColumns: awsString({ min: 0, max: 204800, pattern: '.*' }).optional(),
  CopyOptions: awsString({ min: 0, max: 204800, pattern: '.*' }).optional(),
});

/** `RedshiftRetryOptions`. */
const RedshiftRetryOptionsSchema = RetryOptionsSchema;

/** `RedshiftDestinationConfiguration` (CreateDeliveryStream). */
export const RedshiftDestinationConfigurationSchema = z.object({
  RoleARN: RoleArnSchema,
  ClusterJDBCURL: awsString({ min: 1, max: 512, pattern: 'jdbc:(redshift|postgresql)://.*' }),
  CopyCommand: CopyCommandSchema,
  Username: awsString({ min: 1, max: 512, pattern: '.*' }).optional(),
  Password: awsString({ min: 6, max: 512, pattern: '.*' }).optional(),
  RetryOptions: RedshiftRetryOptionsSchema.optional(),
  S3Configuration: S3DestinationConfigurationSchema,
  ProcessingConfiguration: ProcessingConfigurationSchema.optional(),
  S3BackupMode: S3BackupModeSchema.optional(),
  S3BackupConfiguration: S3DestinationConfigurationSchema.optional(),
  CloudWatchLoggingOptions: CloudWatchLoggingOptionsSchema.optional(),
  SecretsManagerConfiguration: SecretsManagerConfigurationSchema.optional(),
});

/**
 * `RedshiftDestinationUpdate` (UpdateDestination): every member optional; `S3Update` and
 * `S3BackupUpdate` are merged member by member, every other member named replaces the
 * current one whole.
 */
export const RedshiftDestinationUpdateSchema = RedshiftDestinationConfigurationSchema.omit({
  S3Configuration: true,
  S3BackupConfiguration: true,
})
  .partial()
  .extend({
    S3Update: S3DestinationUpdateSchema.optional(),
    S3BackupUpdate: S3DestinationUpdateSchema.optional(),
  });

/** A Redshift destination with Firehose's defaults filled in, password included. */
export const StoredRedshiftDestinationSchema = z.object({
  RoleARN: z.string(),
  ClusterJDBCURL: z.string(),
  CopyCommand: z.object({
    DataTableName: z.string(),
    DataTableColumns: z.string().optional(),
    CopyOptions: z.string().optional(),
  }),
  Username: z.string().optional(),
  Password: z.string().optional(),
  RetryOptions: StoredRetryOptionsSchema,
  S3Configuration: StoredS3DestinationSchema,
  ProcessingConfiguration: StoredProcessingConfigurationSchema.optional(),
  S3BackupMode: S3BackupModeSchema,
  S3BackupConfiguration: StoredS3DestinationSchema.optional(),
  CloudWatchLoggingOptions: StoredCloudWatchLoggingOptionsSchema,
  SecretsManagerConfiguration: SecretsManagerConfigurationSchema.optional(),
});

/** A validated `RedshiftDestinationConfiguration`. */
export type RedshiftDestinationConfiguration = z.infer<
  typeof RedshiftDestinationConfigurationSchema
>;
/** A validated `RedshiftDestinationUpdate`. */
export type RedshiftDestinationUpdate = z.infer<typeof RedshiftDestinationUpdateSchema>;
/** A normalized Redshift destination (what the registry stores). */
export type StoredRedshiftDestination = z.infer<typeof StoredRedshiftDestinationSchema>;

/** What the stored strings mean, read once per use (each parse was checked when stored). */
export interface RedshiftTarget {
  endpoint: JdbcEndpoint;
  table: TableName;
  /** `DataTableColumns`; undefined: the table's own columns, read from its catalog. */
  columns: string[] | undefined;
  options: CopyOptions;
}

/**
 * Reads the endpoint, table, columns and options of a destination.
 *
 * @throws FirehoseError `InvalidArgumentException` saying which member is wrong and why.
 */
export function redshiftTargetOf(
  config: Pick<StoredRedshiftDestination, 'ClusterJDBCURL' | 'CopyCommand' | 'S3Configuration'>,
  where: string,
): RedshiftTarget {
  const endpoint = parseJdbcUrl(config.ClusterJDBCURL);
  if (typeof endpoint === 'string') {
    throw invalidArgument(
      `${where}.ClusterJDBCURL ${config.ClusterJDBCURL} is not valid: ${endpoint}.`,
    );
  }
  const command = config.CopyCommand;
  let table: TableName;
  let columns: string[] | undefined;
  try {
    table = parseTableName(command.DataTableName);
  } catch (error) {
    throw invalidArgument(
      `${where}.CopyCommand.DataTableName ${JSON.stringify(command.DataTableName)} is not a table name: ${(error as IdentifierError).message}.`,
    );
  }
  try {
    const list = command.DataTableColumns?.trim();
    columns = list ? parseColumnList(list) : undefined;
  } catch (error) {
    throw invalidArgument(
      `${where}.CopyCommand.DataTableColumns is not a comma-separated list of column names: ${(error as IdentifierError).message}.`,
    );
  }
  let options: CopyOptions;
  try {
    options = parseCopyOptions(command.CopyOptions, endpoint.path);
  } catch (error) {
    if (!(error instanceof CopyOptionsError)) throw error;
    throw invalidArgument(`${where}.CopyCommand.CopyOptions: ${error.message}`);
  }
  if (options.format.kind === 'raw' && columns?.length !== 1) {
    throw invalidArgument(
      `${where}.CopyCommand: FORMAT AS RAW loads each record into one bytea column; name that column (only it) in DataTableColumns.`,
    );
  }
  const gzipObjects = config.S3Configuration.CompressionFormat === 'GZIP';
  if (gzipObjects !== options.gzip) {
    throw invalidArgument(
      gzipObjects
        ? `${where}.CopyCommand.CopyOptions must include GZIP because ${where}.S3Configuration.CompressionFormat is GZIP: the COPY reads the GZIP objects Firehose stages (as Firehose requires).`
        : `${where}.CopyCommand.CopyOptions includes GZIP, but ${where}.S3Configuration.CompressionFormat is ${config.S3Configuration.CompressionFormat}: set it to GZIP so the staged objects are what the COPY expects, or drop GZIP.`,
    );
  }
  return { endpoint, table, columns, options };
}

/**
 * Checks a validated `RedshiftDestinationConfiguration` and fills Firehose's defaults.
 *
 * @throws FirehoseError `InvalidArgumentException` for a rule broken or a feature missing.
 */
export function normalizeRedshift(
  config: RedshiftDestinationConfiguration,
  where: string,
): StoredRedshiftDestination {
  checkIntermediateS3(config.S3Configuration, `${where}.S3Configuration`);
  const s3 = normalizePlainS3(config.S3Configuration, `${where}.S3Configuration`, true);
  // Both paths: jdbc:postgresql:// loads directly, jdbc:redshift:// stages in the bucket.
  redshiftTargetOf({ ...config, S3Configuration: s3 }, where);
  checkCredentials(config, where);
  const backupMode = config.S3BackupMode ?? 'Disabled';
  if (backupMode === 'Enabled' && config.S3BackupConfiguration === undefined) {
    throw invalidArgument(
      `${where}.S3BackupMode Enabled needs S3BackupConfiguration: the bucket every record is backed up to.`,
    );
  }
  const processing = normalizeProcessing(config.ProcessingConfiguration, where);
  const secrets = config.SecretsManagerConfiguration;
  return {
    RoleARN: config.RoleARN,
    ClusterJDBCURL: config.ClusterJDBCURL,
    CopyCommand: {
      DataTableName: config.CopyCommand.DataTableName,
      ...(config.CopyCommand.DataTableColumns !== undefined
        ? { DataTableColumns: config.CopyCommand.DataTableColumns }
        : {}),
      ...(config.CopyCommand.CopyOptions !== undefined
        ? { CopyOptions: config.CopyCommand.CopyOptions }
        : {}),
    },
    ...(config.Username !== undefined ? { Username: config.Username } : {}),
    ...(config.Password !== undefined ? { Password: config.Password } : {}),
    RetryOptions: {
      DurationInSeconds: config.RetryOptions?.DurationInSeconds ?? DEFAULT_REDSHIFT_RETRY_SECONDS,
    },
    S3Configuration: s3,
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
    CloudWatchLoggingOptions: normalizeCloudWatchLogging(config.CloudWatchLoggingOptions),
    ...(secrets !== undefined
      ? { SecretsManagerConfiguration: definedMembers(secrets) as typeof secrets }
      : {}),
  };
}

/**
 * Firehose's rules for the intermediate bucket: no SNAPPY or ZIP (Redshift's COPY cannot read
 * them), a Prefix without expressions, and no ErrorOutputPrefix.
 */
function checkIntermediateS3(
  s3: {
    CompressionFormat?: string | undefined;
    Prefix?: string | undefined;
    ErrorOutputPrefix?: string | undefined;
  },
  where: string,
): void {
  const compression = s3.CompressionFormat ?? 'UNCOMPRESSED';
  if (compression !== 'UNCOMPRESSED' && compression !== 'GZIP') {
    throw invalidArgument(
      `Compression format ${compression} cannot be specified in ${where} because the Amazon Redshift COPY operation that reads from the S3 bucket doesn't support it; use UNCOMPRESSED or GZIP.`,
    );
  }
  if (s3.Prefix?.includes('!{') === true) {
    throw invalidArgument(
      `${where}.Prefix cannot contain expressions (!{…}) for a Redshift destination, as in Firehose; give a plain prefix such as "staging/".`,
    );
  }
  if (s3.ErrorOutputPrefix !== undefined && s3.ErrorOutputPrefix !== '') {
    throw invalidArgument(
      `${where}.ErrorOutputPrefix must be null for a Redshift destination, as in Firehose: failed records go under <Prefix>redshift-failed/yyyy/MM/dd/HH/.`,
    );
  }
}

/**
 * Username and Password, or an enabled SecretsManagerConfiguration with its SecretARN; not
 * both.
 */
function checkCredentials(
  config: Pick<
    RedshiftDestinationConfiguration,
    'Username' | 'Password' | 'SecretsManagerConfiguration'
  >,
  where: string,
): void {
  const secrets = config.SecretsManagerConfiguration;
  if (secrets?.Enabled === true) {
    if (secrets.SecretARN === undefined) {
      throw invalidArgument(
        `${where}.SecretsManagerConfiguration.SecretARN is required when SecretsManagerConfiguration is enabled.`,
      );
    }
    if (config.Username !== undefined || config.Password !== undefined) {
      throw invalidArgument(
        `${where}: Username and Password must not be specified when SecretsManagerConfiguration is enabled; the secret holds them.`,
      );
    }
    return;
  }
  const missing = [
    ...(config.Username === undefined ? ['Username'] : []),
    ...(config.Password === undefined ? ['Password'] : []),
  ];
  if (missing.length > 0) {
    throw invalidArgument(
      `${where}: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} required when SecretsManagerConfiguration is not enabled.`,
    );
  }
}

/**
 * Merges a validated `RedshiftDestinationUpdate` into the stored destination, as Firehose
 * does: members named replace, `S3Update` and `S3BackupUpdate` merge, the rest is kept.
 * Enabling secrets drops the stored Username and Password unless the update names them.
 *
 * @throws FirehoseError `InvalidArgumentException` when the result breaks a rule, or when
 *   `S3BackupMode` would go from Enabled back to Disabled.
 */
export function mergeRedshift(
  current: StoredRedshiftDestination,
  update: RedshiftDestinationUpdate,
  where: string,
): StoredRedshiftDestination {
  const { S3Update, S3BackupUpdate, ...rest } = update;
  if (current.S3BackupMode === 'Enabled' && rest.S3BackupMode === 'Disabled') {
    throw invalidArgument(
      `${where}.S3BackupMode cannot change from Enabled to Disabled: Firehose allows enabling the backup, never disabling it. Create a new stream without it.`,
    );
  }
  const s3 =
    S3Update !== undefined
      ? mergePlainS3(current.S3Configuration, S3Update, `${where}.S3Update`, true)
      : current.S3Configuration;
  const backup =
    S3BackupUpdate !== undefined
      ? mergePlainS3(current.S3BackupConfiguration, S3BackupUpdate, `${where}.S3BackupUpdate`, true)
      : current.S3BackupConfiguration;
  const base: Partial<StoredRedshiftDestination> = { ...current };
  if (rest.SecretsManagerConfiguration?.Enabled === true) {
    delete base.Username;
    delete base.Password;
  }
  return normalizeRedshift(
    {
      ...(base as StoredRedshiftDestination),
      ...definedMembers(rest),
      S3Configuration: s3,
      ...(backup !== undefined ? { S3BackupConfiguration: backup } : {}),
    },
    where,
  );
}

/**
 * A `RedshiftDestinationUpdate` that replaces a destination of another type: it must be
 * complete (RoleARN, ClusterJDBCURL, CopyCommand, an S3Update with RoleARN and BucketARN).
 *
 * @throws FirehoseError `InvalidArgumentException` naming what is missing, or for a rule broken.
 */
export function replaceWithRedshift(
  update: RedshiftDestinationUpdate,
  where: string,
): StoredRedshiftDestination {
  const { S3Update, S3BackupUpdate, RoleARN, ClusterJDBCURL, CopyCommand, ...rest } = update;
  const missing = [
    ...(RoleARN === undefined ? ['RoleARN'] : []),
    ...(ClusterJDBCURL === undefined ? ['ClusterJDBCURL'] : []),
    ...(CopyCommand === undefined ? ['CopyCommand'] : []),
    ...(S3Update?.RoleARN === undefined || S3Update.BucketARN === undefined
      ? ['S3Update (with RoleARN and BucketARN)']
      : []),
  ];
  if (
    RoleARN === undefined ||
    ClusterJDBCURL === undefined ||
    CopyCommand === undefined ||
    S3Update?.RoleARN === undefined ||
    S3Update.BucketARN === undefined
  ) {
    throw invalidArgument(
      `${where} changes the destination type to Redshift, so it must be a complete configuration, but it lacks ${missing.join(', ')}.`,
    );
  }
  const backup =
    S3BackupUpdate?.RoleARN !== undefined && S3BackupUpdate.BucketARN !== undefined
      ? { ...S3BackupUpdate, RoleARN: S3BackupUpdate.RoleARN, BucketARN: S3BackupUpdate.BucketARN }
      : undefined;
  return normalizeRedshift(
    {
      ...rest,
      RoleARN,
      ClusterJDBCURL,
      CopyCommand,
      S3Configuration: { ...S3Update, RoleARN: S3Update.RoleARN, BucketARN: S3Update.BucketARN },
      ...(backup !== undefined ? { S3BackupConfiguration: backup } : {}),
    },
    where,
  );
}

/**
 * `RedshiftDestinationDescription`. `Password` is never returned, as Firehose does not return
 * it; `Username` is, as Firehose does.
 */
export function describeRedshift(config: StoredRedshiftDestination): Record<string, unknown> {
  return {
    RoleARN: config.RoleARN,
    ClusterJDBCURL: config.ClusterJDBCURL,
    CopyCommand: { ...config.CopyCommand },
    ...(config.Username !== undefined ? { Username: config.Username } : {}),
    RetryOptions: { ...config.RetryOptions },
    S3DestinationDescription: describePlainS3(config.S3Configuration),
    ...(config.ProcessingConfiguration !== undefined
      ? { ProcessingConfiguration: config.ProcessingConfiguration }
      : {}),
    S3BackupMode: config.S3BackupMode,
    ...(config.S3BackupConfiguration !== undefined
      ? { S3BackupDescription: describePlainS3(config.S3BackupConfiguration) }
      : {}),
    CloudWatchLoggingOptions: { ...config.CloudWatchLoggingOptions },
    ...(config.SecretsManagerConfiguration !== undefined
      ? { SecretsManagerConfiguration: { ...config.SecretsManagerConfiguration } }
      : {}),
  };
}
