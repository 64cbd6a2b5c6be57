import { z } from 'zod';
import { awsString, constraintText } from '../../config/validation.js';
import {
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
  StoredBufferingHintsSchema,
  StoredCloudWatchLoggingOptionsSchema,
  StoredProcessingConfigurationSchema,
  StoredRetryOptionsSchema,
  bufferingHintsSchema,
  definedMembers,
  invalidArgument,
  normalizeBufferingHints,
  normalizeCloudWatchLogging,
  normalizeProcessing,
  refuseSecretsManager,
} from '../shapes.js';

/**
 * The HTTP endpoint destination's configuration: `HttpEndpointDestinationConfiguration` (create),
 * `HttpEndpointDestinationUpdate` (update), the stored (defaults filled) shape and the
 * `HttpEndpointDestinationDescription`, with the rules between them.
 *
 * The stored configuration keeps the `AccessKey`: delivery needs it. Describe never shows it,
 * as Firehose does not.
 */

/** Firehose's default `RetryOptions.DurationInSeconds` for HTTP endpoints. */
export const DEFAULT_HTTP_RETRY_SECONDS = 300;

/** Largest `BufferingHints.SizeInMBs` an HTTP endpoint destination allows. */
export const MAX_HTTP_BUFFER_MB = 64;

/** Most `CommonAttributes` one destination may have. */
export const MAX_COMMON_ATTRIBUTES = 50;

/** The `HttpEndpointUrl` pattern of Firehose's model, quoted in ValidationException messages. */
export const MODEL_URL_PATTERN = 'https://.*';

/**
 * `EndpointConfiguration.Url`. Firehose's model allows only `https://.*`; Sluice also accepts
 * `http://` so an endpoint on the same machine or network can be used without TLS (Firehose
 * itself would refuse such a URL). Any other scheme is a ValidationException that quotes the
 * model's pattern, as Firehose's does. The match is case-sensitive, as the model's Java pattern.
 */
export const HttpEndpointUrlSchema = z
  .string()
  .min(1)
  .max(1000)
  .regex(/^https?:\/\/.*$/u, { message: constraintText.pattern(MODEL_URL_PATTERN) });

/** `HttpEndpointName`: a display name, not sent to the endpoint. */
export const HttpEndpointNameSchema = awsString({ min: 1, max: 256, pattern: '^(?!\\s*$).+' });

/** `HttpEndpointAccessKey`: sent verbatim in `X-Amz-Firehose-Access-Key`; sensitive. */
export const HttpEndpointAccessKeySchema = awsString({ min: 0, max: 4096, pattern: '.*' });

/** `HttpEndpointConfiguration`. */
export const HttpEndpointConfigurationSchema = z.object({
  Url: HttpEndpointUrlSchema,
  Name: HttpEndpointNameSchema.optional(),
  AccessKey: HttpEndpointAccessKeySchema.optional(),
});

/** `HttpEndpointCommonAttribute`: a name/value pair sent with every request. */
export const HttpEndpointCommonAttributeSchema = z.object({
  AttributeName: awsString({ min: 1, max: 256, pattern: '^(?!\\s*$).+' }),
  AttributeValue: awsString({ min: 0, max: 1024, pattern: '.*' }),
});

/** `ContentEncoding` of request bodies. */
export const ContentEncodingSchema = z.enum(['NONE', 'GZIP']);

/** `HttpEndpointRequestConfiguration`. */
export const HttpEndpointRequestConfigurationSchema = z.object({
  ContentEncoding: ContentEncodingSchema.optional(),
  CommonAttributes: z
    .array(HttpEndpointCommonAttributeSchema)
    .max(MAX_COMMON_ATTRIBUTES)
    .optional(),
});

/**
 * `HttpEndpointS3BackupMode`: `FailedDataOnly` (default) writes to S3 only the records the
 * endpoint did not take; `AllData` writes every record there too.
 */
export const HttpEndpointS3BackupModeSchema = z.enum(['FailedDataOnly', 'AllData']);

/** `HttpEndpointDestinationConfiguration` (CreateDeliveryStream). */
export const HttpEndpointDestinationConfigurationSchema = z.object({
  EndpointConfiguration: HttpEndpointConfigurationSchema,
  BufferingHints: bufferingHintsSchema(MAX_HTTP_BUFFER_MB).optional(),
  CloudWatchLoggingOptions: CloudWatchLoggingOptionsSchema.optional(),
  RequestConfiguration: HttpEndpointRequestConfigurationSchema.optional(),
  ProcessingConfiguration: ProcessingConfigurationSchema.optional(),
  RoleARN: RoleArnSchema.optional(),
  RetryOptions: RetryOptionsSchema.optional(),
  S3BackupMode: HttpEndpointS3BackupModeSchema.optional(),
  S3Configuration: S3DestinationConfigurationSchema,
  SecretsManagerConfiguration: SecretsManagerConfigurationSchema.optional(),
});

/**
 * `HttpEndpointDestinationUpdate` (UpdateDestination): every member optional; `S3Update` is
 * merged into the current S3 configuration, every other member named replaces the current one
 * whole (`EndpointConfiguration` included: an update without `AccessKey` removes the key).
 */
export const HttpEndpointDestinationUpdateSchema = HttpEndpointDestinationConfigurationSchema.omit({
  S3Configuration: true,
})
  .partial()
  .extend({ S3Update: S3DestinationUpdateSchema.optional() });

/** The endpoint as stored: `AccessKey` only when one is set (an empty key is no key). */
export const StoredHttpEndpointConfigurationSchema = z.object({
  Url: z.string(),
  Name: z.string().optional(),
  AccessKey: z.string().optional(),
});

/** The request configuration as stored and described: both members always present. */
export const StoredHttpEndpointRequestConfigurationSchema = z.object({
  ContentEncoding: ContentEncodingSchema,
  CommonAttributes: z.array(z.object({ AttributeName: z.string(), AttributeValue: z.string() })),
});

/** An HTTP endpoint destination with Firehose's defaults filled in, access key included. */
export const StoredHttpEndpointDestinationSchema = z.object({
  EndpointConfiguration: StoredHttpEndpointConfigurationSchema,
  BufferingHints: StoredBufferingHintsSchema,
  CloudWatchLoggingOptions: StoredCloudWatchLoggingOptionsSchema,
  RequestConfiguration: StoredHttpEndpointRequestConfigurationSchema,
  ProcessingConfiguration: StoredProcessingConfigurationSchema.optional(),
  RoleARN: z.string().optional(),
  RetryOptions: StoredRetryOptionsSchema,
  S3BackupMode: HttpEndpointS3BackupModeSchema,
  S3Configuration: StoredS3DestinationSchema,
  SecretsManagerConfiguration: SecretsManagerConfigurationSchema.extend({
    Enabled: z.literal(false),
  }).optional(),
});

/** A validated `HttpEndpointDestinationConfiguration`. */
export type HttpEndpointDestinationConfiguration = z.infer<
  typeof HttpEndpointDestinationConfigurationSchema
>;
/** A validated `HttpEndpointDestinationUpdate`. */
export type HttpEndpointDestinationUpdate = z.infer<typeof HttpEndpointDestinationUpdateSchema>;
/** A normalized HTTP endpoint destination (what the registry stores). */
export type StoredHttpEndpointDestination = z.infer<typeof StoredHttpEndpointDestinationSchema>;

/**
 * Characters Node refuses in an outgoing header value (anything but tab, printable ASCII and
 * U+0080..U+00FF): an access key with one could never be sent.
 */
const NOT_HEADER_SAFE = /[^\t\x20-\x7e\x80-\xff]/u;

/**
 * Checks a validated `HttpEndpointDestinationConfiguration` and fills Firehose's defaults.
 *
 * @param where - the member's name, for messages.
 * @throws FirehoseError `InvalidArgumentException` for a rule broken or a feature missing.
 */
export function normalizeHttpEndpoint(
  config: HttpEndpointDestinationConfiguration,
  where: string,
): StoredHttpEndpointDestination {
  refuseSecretsManager(
    config.SecretsManagerConfiguration,
    where,
    'the key as EndpointConfiguration.AccessKey',
  );
  const endpoint = normalizeEndpoint(
    config.EndpointConfiguration,
    `${where}.EndpointConfiguration`,
  );
  const request = normalizeRequestConfiguration(
    config.RequestConfiguration,
    `${where}.RequestConfiguration`,
  );
  const processing = normalizeProcessing(config.ProcessingConfiguration, where);
  const secrets = config.SecretsManagerConfiguration;
  return {
    EndpointConfiguration: endpoint,
    BufferingHints: normalizeBufferingHints(config.BufferingHints, where),
    CloudWatchLoggingOptions: normalizeCloudWatchLogging(config.CloudWatchLoggingOptions),
    RequestConfiguration: request,
    ...(processing !== undefined ? { ProcessingConfiguration: processing } : {}),
    ...(config.RoleARN !== undefined ? { RoleARN: config.RoleARN } : {}),
    RetryOptions: {
      DurationInSeconds: config.RetryOptions?.DurationInSeconds ?? DEFAULT_HTTP_RETRY_SECONDS,
    },
    S3BackupMode: config.S3BackupMode ?? 'FailedDataOnly',
    S3Configuration: normalizePlainS3(config.S3Configuration, `${where}.S3Configuration`, true),
    // An enabled one was refused above; a disabled one is kept so Describe echoes it.
    ...(secrets !== undefined
      ? { SecretsManagerConfiguration: { ...definedMembers(secrets), Enabled: false as const } }
      : {}),
  };
}

/**
 * Merges a validated `HttpEndpointDestinationUpdate` into the stored destination: members the
 * update names replace the current ones whole, `S3Update` is merged member by member into the
 * S3 configuration, the rest is kept.
 *
 * @throws FirehoseError `InvalidArgumentException` when the result breaks a rule, or when the
 *   update turns `S3BackupMode` from `AllData` back to `FailedDataOnly`.
 */
export function mergeHttpEndpoint(
  current: StoredHttpEndpointDestination,
  update: HttpEndpointDestinationUpdate,
  where: string,
): StoredHttpEndpointDestination {
  const { S3Update, ...rest } = update;
  if (current.S3BackupMode === 'AllData' && rest.S3BackupMode === 'FailedDataOnly') {
    throw invalidArgument(
      `${where}.S3BackupMode cannot change from AllData to FailedDataOnly: once every record is backed up to S3 the backup cannot be narrowed again (Firehose allows enabling it, never disabling). Create a new stream to back up failed data only.`,
    );
  }
  const s3 =
    S3Update !== undefined
      ? mergePlainS3(current.S3Configuration, S3Update, `${where}.S3Update`, true)
      : current.S3Configuration;
  return normalizeHttpEndpoint({ ...current, ...definedMembers(rest), S3Configuration: s3 }, where);
}

/**
 * An `HttpEndpointDestinationUpdate` that replaces a destination of another type: nothing is
 * kept, so it must be complete — an `EndpointConfiguration` and an `S3Update` naming at least
 * `RoleARN` and `BucketARN`.
 *
 * @throws FirehoseError `InvalidArgumentException` naming what is missing, or for a rule broken.
 */
export function replaceWithHttpEndpoint(
  update: HttpEndpointDestinationUpdate,
  where: string,
): StoredHttpEndpointDestination {
  const { S3Update, EndpointConfiguration, ...rest } = update;
  const missing = [
    ...(EndpointConfiguration === undefined ? ['EndpointConfiguration (with its Url)'] : []),
    ...(S3Update === undefined ? ['S3Update (with RoleARN and BucketARN)'] : []),
  ];
  if (EndpointConfiguration === undefined || S3Update === undefined) {
    throw invalidArgument(
      `${where} changes the destination type to an HTTP endpoint, so it must be a complete configuration, but it lacks ${missing.join(' and ')}.`,
    );
  }
  const lacking = (['RoleARN', 'BucketARN'] as const).filter((m) => S3Update[m] === undefined);
  if (S3Update.RoleARN === undefined || S3Update.BucketARN === undefined) {
    throw invalidArgument(
      `${where} changes the destination type to an HTTP endpoint, so it must be a complete configuration, but its S3Update lacks ${lacking.join(' and ')}.`,
    );
  }
  return normalizeHttpEndpoint(
    {
      ...rest,
      EndpointConfiguration,
      S3Configuration: { ...S3Update, RoleARN: S3Update.RoleARN, BucketARN: S3Update.BucketARN },
    },
    where,
  );
}

/**
 * `HttpEndpointDestinationDescription`. The endpoint is shown as `Url` and `Name` only: the
 * access key is never returned, as Firehose does not return it.
 */
export function describeHttpEndpoint(
  config: StoredHttpEndpointDestination,
): Record<string, unknown> {
  const endpoint = config.EndpointConfiguration;
  return {
    EndpointConfiguration: {
      Url: endpoint.Url,
      ...(endpoint.Name !== undefined ? { Name: endpoint.Name } : {}),
    },
    BufferingHints: { ...config.BufferingHints },
    CloudWatchLoggingOptions: { ...config.CloudWatchLoggingOptions },
    RequestConfiguration: {
      ContentEncoding: config.RequestConfiguration.ContentEncoding,
      CommonAttributes: config.RequestConfiguration.CommonAttributes.map((a) => ({ ...a })),
    },
    ...(config.ProcessingConfiguration !== undefined
      ? { ProcessingConfiguration: config.ProcessingConfiguration }
      : {}),
    ...(config.RoleARN !== undefined ? { RoleARN: config.RoleARN } : {}),
    RetryOptions: { ...config.RetryOptions },
    S3BackupMode: config.S3BackupMode,
    S3DestinationDescription: describePlainS3(config.S3Configuration),
    ...(config.SecretsManagerConfiguration !== undefined
      ? { SecretsManagerConfiguration: { ...config.SecretsManagerConfiguration } }
      : {}),
  };
}

/**
 * The endpoint as stored. The model's pattern checked the scheme; here the URL must also be
 * one Node can send to, carry no user credentials (Describe shows the URL, so a password in it
 * would be echoed; the key belongs in `AccessKey`), and the key must be sendable as a header.
 */
function normalizeEndpoint(
  endpoint: z.infer<typeof HttpEndpointConfigurationSchema>,
  where: string,
): z.infer<typeof StoredHttpEndpointConfigurationSchema> {
  let url: URL;
  try {
    url = new URL(endpoint.Url);
  } catch {
    throw invalidArgument(
      `${where}.Url ${endpoint.Url} is not a valid URL; give one such as https://example.com/firehose.`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw invalidArgument(
      `${where}.Url must not contain user credentials (user:password@); give the endpoint's key as ${where}.AccessKey, which is sent in the X-Amz-Firehose-Access-Key header and never shown by Describe.`,
    );
  }
  const accessKey = endpoint.AccessKey || undefined;
  if (accessKey !== undefined && NOT_HEADER_SAFE.test(accessKey)) {
    // The key itself is never quoted: it is a secret.
    throw invalidArgument(
      `${where}.AccessKey contains a character that cannot be sent in an HTTP header (a control character or one above U+00FF); the key is sent verbatim in X-Amz-Firehose-Access-Key.`,
    );
  }
  return {
    Url: endpoint.Url,
    ...(endpoint.Name !== undefined ? { Name: endpoint.Name } : {}),
    ...(accessKey !== undefined ? { AccessKey: accessKey } : {}),
  };
}

/** The request configuration with its defaults; attribute names must be unique. */
function normalizeRequestConfiguration(
  request: z.infer<typeof HttpEndpointRequestConfigurationSchema> | undefined,
  where: string,
): z.infer<typeof StoredHttpEndpointRequestConfigurationSchema> {
  const attributes = request?.CommonAttributes ?? [];
  const seen = new Set<string>();
  for (const { AttributeName } of attributes) {
    if (seen.has(AttributeName)) {
      throw invalidArgument(
        `${where}.CommonAttributes names the attribute ${JSON.stringify(AttributeName)} more than once; each AttributeName must be unique (they are sent as one JSON object).`,
      );
    }
    seen.add(AttributeName);
  }
  return {
    ContentEncoding: request?.ContentEncoding ?? 'NONE',
    CommonAttributes: attributes.map(({ AttributeName, AttributeValue }) => ({
      AttributeName,
      AttributeValue,
    })),
  };
}
