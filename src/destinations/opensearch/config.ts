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
} from '../shapes.js';
import { displayEndpoint } from './endpoints.js';
import { INDEX_ROTATION_PERIODS } from './index-name.js';

/**
 * The OpenSearch destination's configuration, for both of Firehose's members that describe
 * one: `AmazonopensearchserviceDestinationConfiguration` and the older
 * `ElasticsearchDestinationConfiguration` (same members; only the names around them differ).
 * The request, update and stored shapes, the description, and the rules between them.
 *
 * How to reach the cluster — which URL a `DomainARN` stands for, credentials, TLS — is not
 * part of the configuration: it comes from `SLUICE_OPENSEARCH_ENDPOINTS` (`endpoints.ts`), so
 * no credential is ever stored with a stream or shown by Describe.
 */

/** Firehose's default `RetryOptions.DurationInSeconds` for OpenSearch. */
export const DEFAULT_OPENSEARCH_RETRY_SECONDS = 300;

/** Largest `BufferingHints.SizeInMBs` an OpenSearch destination allows. */
export const MAX_OPENSEARCH_BUFFER_MB = 100;

/** The `ClusterEndpoint` pattern of Firehose's model, quoted in ValidationException messages. */
export const MODEL_CLUSTER_ENDPOINT_PATTERN = 'https:.*';

/** `IndexRotationPeriod`. */
export const IndexRotationPeriodSchema = z.enum(INDEX_ROTATION_PERIODS);

/** `DefaultDocumentIdFormat`. */
export const DefaultDocumentIdFormatSchema = z.enum(['FIREHOSE_DEFAULT', 'NO_DOCUMENT_ID']);

/** `DocumentIdOptions`. */
export const DocumentIdOptionsSchema = z.object({
  DefaultDocumentIdFormat: DefaultDocumentIdFormatSchema,
});

/**
 * `S3BackupMode`: `FailedDocumentsOnly` (default) writes to S3 only the documents the cluster
 * did not take; `AllDocuments` writes every record there too. Fixed when the stream is made.
 */
export const OpenSearchS3BackupModeSchema = z.enum(['FailedDocumentsOnly', 'AllDocuments']);

/**
 * `ClusterEndpoint`. Firehose's model allows only `https:.*`; Sluice also accepts `http://`,
 * for a cluster on the same machine or network without TLS (Firehose would refuse it). Any
 * other scheme is a ValidationException quoting the model's pattern.
 */
export const ClusterEndpointSchema = z
  .string()
  .min(1)
  .max(512)
  .regex(/^https?:.*$/u, { message: constraintText.pattern(MODEL_CLUSTER_ENDPOINT_PATTERN) });

/** `DomainARN`. */
export const DomainArnSchema = awsString({ min: 1, max: 512, pattern: 'arn:.*' });

/** `IndexName`. */
export const IndexNameSchema = awsString({ min: 1, max: 80, pattern: '.*' });

/** `TypeName` (Elasticsearch 6 and older; empty means none). */
export const TypeNameSchema = awsString({ min: 0, max: 100, pattern: '.*' });

/** `VpcConfiguration`: accepted by the schema so that its refusal can say why. */
export const VpcConfigurationSchema = z.object({
  SubnetIds: z.array(z.string()),
  RoleARN: RoleArnSchema,
  SecurityGroupIds: z.array(z.string()),
});

/** `AmazonopensearchserviceDestinationConfiguration` / `ElasticsearchDestinationConfiguration`. */
export const OpenSearchDestinationConfigurationSchema = z.object({
  RoleARN: RoleArnSchema,
  DomainARN: DomainArnSchema.optional(),
  ClusterEndpoint: ClusterEndpointSchema.optional(),
  IndexName: IndexNameSchema,
  TypeName: TypeNameSchema.optional(),
  IndexRotationPeriod: IndexRotationPeriodSchema.optional(),
  BufferingHints: bufferingHintsSchema(MAX_OPENSEARCH_BUFFER_MB).optional(),
  RetryOptions: RetryOptionsSchema.optional(),
  S3BackupMode: OpenSearchS3BackupModeSchema.optional(),
  S3Configuration: S3DestinationConfigurationSchema,
  ProcessingConfiguration: ProcessingConfigurationSchema.optional(),
  CloudWatchLoggingOptions: CloudWatchLoggingOptionsSchema.optional(),
  VpcConfiguration: VpcConfigurationSchema.optional(),
  DocumentIdOptions: DocumentIdOptionsSchema.optional(),
});

/**
 * `AmazonopensearchserviceDestinationUpdate` / `ElasticsearchDestinationUpdate`: every member
 * optional; `S3Update` is merged into the S3 configuration, the rest replace. The model has no
 * `S3BackupMode` and no `VpcConfiguration` here: neither can change after create.
 */
export const OpenSearchDestinationUpdateSchema = OpenSearchDestinationConfigurationSchema.omit({
  S3Configuration: true,
  S3BackupMode: true,
  VpcConfiguration: true,
})
  .partial()
  .extend({ S3Update: S3DestinationUpdateSchema.optional() });

/** An OpenSearch destination with Firehose's defaults filled in. */
export const StoredOpenSearchDestinationSchema = z.object({
  RoleARN: z.string(),
  DomainARN: z.string().optional(),
  ClusterEndpoint: z.string().optional(),
  IndexName: z.string(),
  TypeName: z.string().optional(),
  IndexRotationPeriod: IndexRotationPeriodSchema,
  BufferingHints: StoredBufferingHintsSchema,
  RetryOptions: StoredRetryOptionsSchema,
  S3BackupMode: OpenSearchS3BackupModeSchema,
  S3Configuration: StoredS3DestinationSchema,
  ProcessingConfiguration: StoredProcessingConfigurationSchema.optional(),
  CloudWatchLoggingOptions: StoredCloudWatchLoggingOptionsSchema,
  DocumentIdOptions: DocumentIdOptionsSchema,
});

/** A validated create member. */
export type OpenSearchDestinationConfiguration = z.infer<
  typeof OpenSearchDestinationConfigurationSchema
>;
/** A validated update member. */
export type OpenSearchDestinationUpdate = z.infer<typeof OpenSearchDestinationUpdateSchema>;
/** A normalized OpenSearch destination (what the registry stores). */
export type StoredOpenSearchDestination = z.infer<typeof StoredOpenSearchDestinationSchema>;

/**
 * Characters OpenSearch refuses anywhere in an index name (`MetadataCreateIndexService`):
 * `\ / * ? " < > |`, space, `,`, `#` and `:`.
 */
const INDEX_NAME_FORBIDDEN = /[\\/*?"<>| ,#:]/u;

/**
 * Checks a validated create member and fills Firehose's defaults: `IndexRotationPeriod`
 * OneDay, `DocumentIdOptions` FIREHOSE_DEFAULT, `S3BackupMode` FailedDocumentsOnly,
 * `RetryOptions` 300 s, buffering 5 MiB / 300 s.
 *
 * @param where - the member's name, for messages.
 * @throws FirehoseError `InvalidArgumentException` for a rule broken or a feature missing.
 */
export function normalizeOpenSearch(
  config: OpenSearchDestinationConfiguration,
  where: string,
): StoredOpenSearchDestination {
  if (config.VpcConfiguration !== undefined) {
    throw invalidArgument(
      `${where}.VpcConfiguration is not supported by Sluice: it connects to the cluster directly, at ClusterEndpoint or at the URL SLUICE_OPENSEARCH_ENDPOINTS maps the DomainARN to. Remove VpcConfiguration and make the cluster reachable from Sluice.`,
    );
  }
  const cluster = clusterOf(config, where);
  checkIndexName(config.IndexName, `${where}.IndexName`);
  const processing = normalizeProcessing(config.ProcessingConfiguration, where);
  return {
    RoleARN: config.RoleARN,
    ...cluster,
    IndexName: config.IndexName,
    ...(config.TypeName !== undefined && config.TypeName !== ''
      ? { TypeName: config.TypeName }
      : {}),
    IndexRotationPeriod: config.IndexRotationPeriod ?? 'OneDay',
    BufferingHints: normalizeBufferingHints(config.BufferingHints, where),
    RetryOptions: {
      DurationInSeconds: config.RetryOptions?.DurationInSeconds ?? DEFAULT_OPENSEARCH_RETRY_SECONDS,
    },
    S3BackupMode: config.S3BackupMode ?? 'FailedDocumentsOnly',
    S3Configuration: normalizePlainS3(config.S3Configuration, `${where}.S3Configuration`, true),
    ...(processing !== undefined ? { ProcessingConfiguration: processing } : {}),
    CloudWatchLoggingOptions: normalizeCloudWatchLogging(config.CloudWatchLoggingOptions),
    DocumentIdOptions: {
      DefaultDocumentIdFormat:
        config.DocumentIdOptions?.DefaultDocumentIdFormat ?? 'FIREHOSE_DEFAULT',
    },
  };
}

/**
 * Merges a validated update into the stored destination: members the update names replace the
 * current ones (naming `DomainARN` drops a `ClusterEndpoint`, and the other way round, so that
 * exactly one stays), `S3Update` is merged member by member, the rest is kept. An empty
 * `TypeName` removes the type.
 *
 * @throws FirehoseError `InvalidArgumentException` when the result breaks a rule.
 */
export function mergeOpenSearch(
  current: StoredOpenSearchDestination,
  update: OpenSearchDestinationUpdate,
  where: string,
): StoredOpenSearchDestination {
  const { S3Update, ...rest } = update;
  if (rest.DomainARN !== undefined && rest.ClusterEndpoint !== undefined) {
    throw invalidArgument(
      `${where} names both DomainARN and ClusterEndpoint; specify either ClusterEndpoint or DomainARN, not both.`,
    );
  }
  const s3 =
    S3Update !== undefined
      ? mergePlainS3(current.S3Configuration, S3Update, `${where}.S3Update`, true)
      : current.S3Configuration;
  const { DomainARN, ClusterEndpoint, TypeName, ...kept } = current;
  const cluster =
    rest.DomainARN !== undefined
      ? { DomainARN: rest.DomainARN }
      : rest.ClusterEndpoint !== undefined
        ? { ClusterEndpoint: rest.ClusterEndpoint }
        : { DomainARN, ClusterEndpoint };
  const typeName = rest.TypeName ?? TypeName;
  return normalizeOpenSearch(
    {
      ...kept,
      ...definedMembers(rest),
      ...definedMembers(cluster),
      ...(typeName !== undefined ? { TypeName: typeName } : {}),
      S3Configuration: s3,
    },
    where,
  );
}

/** The description: the stored members, `S3Configuration` as `S3DestinationDescription`. */
export function describeOpenSearch(config: StoredOpenSearchDestination): Record<string, unknown> {
  return {
    RoleARN: config.RoleARN,
    ...(config.DomainARN !== undefined ? { DomainARN: config.DomainARN } : {}),
    ...(config.ClusterEndpoint !== undefined ? { ClusterEndpoint: config.ClusterEndpoint } : {}),
    IndexName: config.IndexName,
    ...(config.TypeName !== undefined ? { TypeName: config.TypeName } : {}),
    IndexRotationPeriod: config.IndexRotationPeriod,
    BufferingHints: { ...config.BufferingHints },
    RetryOptions: { ...config.RetryOptions },
    S3BackupMode: config.S3BackupMode,
    S3DestinationDescription: describePlainS3(config.S3Configuration),
    ...(config.ProcessingConfiguration !== undefined
      ? { ProcessingConfiguration: config.ProcessingConfiguration }
      : {}),
    CloudWatchLoggingOptions: { ...config.CloudWatchLoggingOptions },
    DocumentIdOptions: { ...config.DocumentIdOptions },
  };
}

/**
 * Exactly one of `DomainARN` and `ClusterEndpoint`, as Firehose requires; a `ClusterEndpoint`
 * must be a URL Node can connect to and carry no credentials (Describe shows it).
 */
function clusterOf(
  config: { DomainARN?: string | undefined; ClusterEndpoint?: string | undefined },
  where: string,
): { DomainARN: string } | { ClusterEndpoint: string } {
  const { DomainARN, ClusterEndpoint } = config;
  if (DomainARN !== undefined && ClusterEndpoint !== undefined) {
    throw invalidArgument(
      `${where} names both DomainARN and ClusterEndpoint; specify either ClusterEndpoint or DomainARN, not both.`,
    );
  }
  if (DomainARN !== undefined) return { DomainARN };
  if (ClusterEndpoint === undefined) {
    throw invalidArgument(
      `${where} must name the cluster: specify either ClusterEndpoint (its URL) or DomainARN (mapped to a URL by SLUICE_OPENSEARCH_ENDPOINTS).`,
    );
  }
  let url: URL;
  try {
    url = new URL(ClusterEndpoint);
  } catch {
    throw invalidArgument(
      `${where}.ClusterEndpoint ${ClusterEndpoint} is not a valid URL; give one such as https://search.example.com:9200.`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw invalidArgument(
      `${where}.ClusterEndpoint must not contain credentials (user:password@), which Describe would show; configure them for ${displayEndpoint(ClusterEndpoint)} in SLUICE_OPENSEARCH_ENDPOINTS.`,
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw invalidArgument(
      `${where}.ClusterEndpoint ${displayEndpoint(ClusterEndpoint)} must not have a query or fragment; give the cluster's base URL.`,
    );
  }
  return { ClusterEndpoint };
}

/**
 * An index name OpenSearch could ever create, with any rotation suffix (which adds only
 * digits, `-` and `w`): lower case, none of `\ / * ? " < > |`, space, `,`, `#`, `:`, not
 * starting with `_`, `-` or `+`, not `.` or `..`. Firehose leaves this to the cluster, which
 * would refuse every document; Sluice says so when the stream is made.
 */
function checkIndexName(name: string, where: string): void {
  const problem =
    name !== name.toLowerCase()
      ? 'it must be lower case'
      : INDEX_NAME_FORBIDDEN.test(name)
        ? 'it must not contain \\ / * ? " < > | , # : or a space'
        : /^[_\-+]/u.test(name)
          ? 'it must not start with _, - or +'
          : name === '.' || name === '..'
            ? 'it must not be . or ..'
            : undefined;
  if (problem !== undefined) {
    throw invalidArgument(
      `${where} ${JSON.stringify(name)} is not a valid OpenSearch index name: ${problem}.`,
    );
  }
}
