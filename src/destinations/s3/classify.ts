import type { DeliveryErrorCode } from '../../errors/delivery-error-codes.js';
import type { DeliveryOutcome, SendResult } from '../destination-kind.js';
import type { S3PutRequest } from './request.js';
import { ObjectWriteError } from './sender.js';

/** S3 error names (the SDK's `error.name`) and the delivery code each reports. */
const S3_ERROR_CODES: Record<string, DeliveryErrorCode> = {
  AccessDenied: 'S3.AccessDenied',
  AllAccessDisabled: 'S3.AccessDenied',
  InvalidAccessKeyId: 'S3.AccessDenied',
  SignatureDoesNotMatch: 'S3.AccessDenied',
  NoSuchBucket: 'S3.NoSuchBucket',
  InvalidBucketState: 'S3.InvalidBucketState',
  SlowDown: 'S3.SlowDown',
  ServiceUnavailable: 'S3.ServiceUnavailable',
  InternalError: 'S3.ServiceUnavailable',
  KeyTooLongError: 'S3.InvalidRequest',
  EntityTooLarge: 'S3.InvalidRequest',
  InvalidBucketName: 'S3.InvalidRequest',
  LocalKeyError: 'S3.InvalidRequest',
};

/** Node's errno codes of a local directory store. */
const LOCAL_ERROR_CODES: Record<string, DeliveryErrorCode> = {
  EACCES: 'S3.AccessDenied',
  EPERM: 'S3.AccessDenied',
  EROFS: 'S3.AccessDenied',
  ENOSPC: 'S3.ServiceUnavailable',
  // Something other than a directory where the bucket's directory goes.
  EEXIST: 'S3.InvalidBucketState',
  ENOTDIR: 'S3.InvalidBucketState',
  ECONNREFUSED: 'S3.ServiceUnavailable',
  ECONNRESET: 'S3.ServiceUnavailable',
  ETIMEDOUT: 'S3.ServiceUnavailable',
  ENOTFOUND: 'S3.ServiceUnavailable',
};

/**
 * The classifier: a written object is delivered; a failed write is permanent only when the
 * store says no retry can help (a key it can never take). Everything else, NoSuchBucket and
 * AccessDenied included, is retried: an operator can fix those, and Firehose retries them too.
 */
export function classifyS3Put(
  request: S3PutRequest,
  result: SendResult<undefined>,
): DeliveryOutcome {
  if ('response' in result) return { kind: 'delivered', location: request.target };
  const failure =
    result.error instanceof ObjectWriteError
      ? result.error
      : new ObjectWriteError(result.error, false);
  const code = codeOf(failure.cause);
  const reason = `S3 PutObject ${request.target} failed: ${failure.message}`;
  return failure.permanent ? { kind: 'permanent', code, reason } : { kind: 'retry', code, reason };
}

function codeOf(error: unknown): DeliveryErrorCode {
  if (!(error instanceof Error)) return 'S3.Unknown';
  const errno = (error as NodeJS.ErrnoException).code;
  if (errno !== undefined && LOCAL_ERROR_CODES[errno] !== undefined)
    return LOCAL_ERROR_CODES[errno];
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return (
    S3_ERROR_CODES[error.name] ??
    (status !== undefined && status >= 500 ? 'S3.ServiceUnavailable' : 'S3.Unknown')
  );
}
