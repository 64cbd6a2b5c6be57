/**
 * What delivery needs to know about a stream's S3 destination, derived from the stored
 * definition by `deliveryTargetOf` (in `stream-definition.ts`). Delivery code depends on this
 * narrow view, not on the full Firehose configuration shape. It is read only for a batch's
 * first delivery attempt, which turns it into the batch's fixed plan (`delivery-plan.ts`).
 */
export interface S3DeliveryTarget {
  /** Delivery stream name (part of every object name). */
  streamName: string;
  /** Stream ARN (for error records and logs). */
  streamArn: string;
  /** Current `VersionId` of the stream (part of every object name). */
  versionId: number;
  /** Bucket name, taken from `BucketARN` (`arn:aws:s3:::<bucket>`). */
  bucket: string;
  /** `Prefix` as configured ('' when absent). */
  prefix: string;
  /** `ErrorOutputPrefix` as configured, or undefined. */
  errorOutputPrefix: string | undefined;
  /** `CompressionFormat` (only the formats Sluice implements reach delivery). */
  compression: 'UNCOMPRESSED' | 'GZIP';
  /** `FileExtension` override, or undefined for the compression's default extension. */
  fileExtension: string | undefined;
  /** IANA zone for prefix/object-name timestamps (`CustomTimeZone`, default 'UTC'). */
  timeZone: string;
}
