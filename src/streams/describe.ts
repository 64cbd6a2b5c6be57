import {
  DESTINATION_ID,
  compareKeys,
  type StoredExtendedS3Destination,
  type StoredS3Destination,
  type StreamDefinition,
} from './stream-definition.js';

/** Paging options of DescribeDeliveryStream. */
export interface DescribeOptions {
  /** `Limit`: most destinations to return. */
  limit?: number | undefined;
  /** `ExclusiveStartDestinationId`: return destinations after this id. */
  exclusiveStartDestinationId?: string | undefined;
}

/**
 * Renders a stream as Firehose's `DeliveryStreamDescription`.
 *
 * Follows what real Firehose shows: an ExtendedS3 destination appears both as
 * `ExtendedS3DestinationDescription` and as a mirrored `S3DestinationDescription`; a plain S3
 * destination only as the latter; defaults are filled in; `VersionId` is a string;
 * timestamps are epoch seconds; server-side encryption is reported `DISABLED`.
 */
export function describeStream(
  def: StreamDefinition,
  options: DescribeOptions = {},
): Record<string, unknown> {
  const destination: Record<string, unknown> = { DestinationId: DESTINATION_ID };
  if (def.destination.shape === 'ExtendedS3') {
    destination.ExtendedS3DestinationDescription = extendedS3Description(def.destination.config);
  }
  destination.S3DestinationDescription = s3Description(def.destination.config);

  const start = options.exclusiveStartDestinationId;
  const after = [destination].filter(
    (d) => start === undefined || compareKeys(String(d.DestinationId), start) > 0,
  );
  const limit = options.limit ?? after.length;

  return {
    DeliveryStreamName: def.name,
    DeliveryStreamARN: def.arn,
    DeliveryStreamStatus: def.status,
    DeliveryStreamEncryptionConfiguration: { Status: 'DISABLED' },
    DeliveryStreamType: def.type,
    VersionId: String(def.versionId),
    CreateTimestamp: def.createTimestamp / 1000,
    LastUpdateTimestamp: def.lastUpdateTimestamp / 1000,
    ...(def.source
      ? {
          Source: {
            DirectPutSourceDescription: { ThroughputHintInMBs: def.source.ThroughputHintInMBs },
          },
        }
      : {}),
    Destinations: after.slice(0, limit),
    HasMoreDestinations: after.length > limit,
  };
}

/** `S3DestinationDescription`: the members a plain S3 destination has. */
function s3Description(config: StoredS3Destination): Record<string, unknown> {
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
function extendedS3Description(config: StoredExtendedS3Destination): Record<string, unknown> {
  return {
    ...s3Description(config),
    ...(config.ProcessingConfiguration !== undefined
      ? { ProcessingConfiguration: config.ProcessingConfiguration }
      : {}),
    S3BackupMode: config.S3BackupMode,
    ...(config.S3BackupConfiguration !== undefined
      ? { S3BackupDescription: s3Description(config.S3BackupConfiguration) }
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
