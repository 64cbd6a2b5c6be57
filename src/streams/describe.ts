import { kindByShape } from '../destinations/registry.js';
import { DESTINATION_ID, compareKeys, type StreamDefinition } from './stream-definition.js';

/** Paging options of DescribeDeliveryStream. */
export interface DescribeOptions {
  /** `Limit`: most destinations to return. */
  limit?: number | undefined;
  /** `ExclusiveStartDestinationId`: return destinations after this id. */
  exclusiveStartDestinationId?: string | undefined;
}

/**
 * Renders a stream as Firehose's `DeliveryStreamDescription`. The destination's members are
 * its kind's description (an ExtendedS3 destination, for one, appears both as
 * `ExtendedS3DestinationDescription` and as a mirrored `S3DestinationDescription`, as real
 * Firehose shows it); `VersionId` is a string; timestamps are epoch seconds; server-side
 * encryption is reported `DISABLED`.
 */
export function describeStream(
  def: StreamDefinition,
  options: DescribeOptions = {},
): Record<string, unknown> {
  const destination: Record<string, unknown> = {
    DestinationId: DESTINATION_ID,
    ...kindByShape(def.destination.shape).describe(def.destination.config),
  };

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
