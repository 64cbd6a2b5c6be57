import type { S3DestinationConfiguration } from '@aws-sdk/client-firehose';

import { ROLE_ARN, type DestinationMembers, type StreamOptions } from './destination-harness.js';

/**
 * The S3 layout the conformance harnesses give their streams: delivered objects under
 * {@link DATA_PREFIX}, error output (none is expected from S3 destinations) under
 * {@link ERROR_PREFIX}, so that the two can be read apart.
 */

/** `Prefix` of delivered objects (no expressions: `yyyy/MM/dd/HH/` is appended). */
export const DATA_PREFIX = 'data/';

/** `ErrorOutputPrefix`. */
export const ERROR_PREFIX = 'errors/';

/** The S3 members of CreateDeliveryStream an S3 harness may use. */
export type S3Member = 'ExtendedS3DestinationConfiguration' | 'S3DestinationConfiguration';

/**
 * The destination member for a stream delivering uncompressed objects to `bucket` under
 * `prefix`, buffered as `options` says.
 */
export function s3Members(
  member: S3Member,
  bucket: string,
  prefix: string,
  options: StreamOptions,
): DestinationMembers {
  const config: S3DestinationConfiguration = {
    RoleARN: ROLE_ARN,
    BucketARN: `arn:aws:s3:::${bucket}`,
    Prefix: prefix,
    ErrorOutputPrefix: ERROR_PREFIX,
    BufferingHints: { SizeInMBs: options.sizeMBs, IntervalInSeconds: options.intervalSeconds },
    CompressionFormat: 'UNCOMPRESSED',
  };
  return member === 'S3DestinationConfiguration'
    ? { S3DestinationConfiguration: config }
    : { ExtendedS3DestinationConfiguration: config };
}
