import type { DeliveryErrorCode } from '../../errors/delivery-error-codes.js';
import type { DeliveryOutcome, SendResult } from '../destination-kind.js';
import { classifyS3Put } from '../s3/classify.js';
import type { S3PutRequest } from '../s3/request.js';
import { ObjectWriteError } from '../s3/sender.js';
import type { RedshiftRequest } from './request.js';
import { DatabaseFailure } from './database-session.js';
import type { RedshiftResponse } from './sender.js';
import { StagingFailure } from './staged-sender.js';
import type { StagedRedshiftRequest } from './staged-request.js';

/**
 * The Redshift/PostgreSQL classifier. A load that committed delivers, or is partial when
 * PostgreSQL rejected some records (those go to the error output at once: the same rows would
 * be rejected again). Every failure of the whole load is retried within `RetryOptions` —
 * connections, authentication, a missing table or column, privileges, a read-only or full
 * database — with Firehose's `Redshift.*` codes, since an operator can fix each while the
 * batch waits.
 */
export function classifyRedshiftResult(
  request: RedshiftRequest,
  result: SendResult<RedshiftResponse>,
): DeliveryOutcome {
  if ('error' in result) {
    const failure =
      result.error instanceof DatabaseFailure
        ? result.error
        : new DatabaseFailure(String(result.error), undefined);
    return {
      kind: 'retry',
      code: codeOf(failure),
      reason: `${request.target} failed: ${failure.message}`,
    };
  }
  const response = result.response;
  const location = `${request.target} (ledger ${response.key}${response.replayed ? ', loaded by an earlier attempt' : ''})`;
  if (response.failed.length === 0) return { kind: 'delivered', location };
  return {
    kind: 'partial',
    location,
    failed: response.failed.map((f) => ({
      index: f.index,
      code: 'Redshift.DataLoadFailed',
      reason: f.message,
      retryable: false,
    })),
  };
}

/** Node's socket error codes meaning the database could not be reached or was lost. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

/** SQLSTATEs and their code (class 08 and the 57P0x shutdowns are connection failures). */
const SQLSTATE_CODES: Readonly<Record<string, DeliveryErrorCode>> = {
  '28P01': 'Redshift.AuthenticationFailed',
  '28000': 'Redshift.AuthenticationFailed',
  '3D000': 'Redshift.DatabaseNotFound',
  '42P01': 'Redshift.TableNotFound',
  '3F000': 'Redshift.TableNotFound',
  '42703': 'Redshift.ColumnNotFound',
  '42501': 'Redshift.InsufficientPrivilege',
  '25006': 'Redshift.ReadOnlyCluster',
  '53100': 'Redshift.DiskFull',
  '42601': 'Redshift.SyntaxError',
  '57P01': 'Redshift.ConnectionFailed',
  '57P02': 'Redshift.ConnectionFailed',
  '57P03': 'Redshift.ConnectionFailed',
};

/** The delivery code of a failed load. */
export function codeOf(failure: DatabaseFailure): DeliveryErrorCode {
  if (failure.secretProblem) return 'Redshift.AuthenticationFailed';
  const code = failure.code;
  if (code !== undefined) {
    const mapped = SQLSTATE_CODES[code];
    if (mapped !== undefined) return mapped;
    if (CONNECTION_CODES.has(code) || code.startsWith('08')) return 'Redshift.ConnectionFailed';
    if (/^2[23]/u.test(code)) return 'Redshift.DataLoadFailed';
  }
  // pg reports a connection lost mid-query, or a pool wait that timed out, without a code.
  if (
    /connection terminated|connection timeout|timeout expired|Connection terminated/iu.test(
      failure.message,
    )
  ) {
    return 'Redshift.ConnectionFailed';
  }
  return 'Redshift.Unknown';
}

/**
 * The staged path's classifier. A committed COPY (or one the ledger says committed) delivers
 * the whole batch; a failed write to the intermediate bucket is classified as an S3
 * destination's write (`S3.*`, permanent only when the store says so); a failed COPY is
 * retried whole — Redshift has no row isolation, so a rejected row is `Redshift.DataLoadFailed`
 * for the batch — with the S3 problems Redshift reports while reading the manifest or its
 * objects told apart.
 */
export function classifyStagedResult(
  request: StagedRedshiftRequest,
  result: SendResult<RedshiftResponse>,
): DeliveryOutcome {
  if ('response' in result) {
    const response = result.response;
    return {
      kind: 'delivered',
      location: `${request.target} (ledger ${response.key}${response.replayed ? ', loaded by an earlier attempt' : ''})`,
    };
  }
  const error = result.error;
  if (error instanceof StagingFailure) {
    // Classified as the S3 destination classifies the same write (it reads only the target).
    return classifyS3Put({ target: error.target } as S3PutRequest, {
      error: new ObjectWriteError(error.cause, error.permanent),
    });
  }
  const failure =
    error instanceof DatabaseFailure ? error : new DatabaseFailure(String(error), undefined);
  return {
    kind: 'retry',
    code: stagedCodeOf(failure),
    reason: `${request.target} failed: ${failure.message}`,
  };
}

/** The code of a failed staged COPY: Redshift's S3 and load errors first, then as direct. */
export function stagedCodeOf(failure: DatabaseFailure): DeliveryErrorCode {
  const message = failure.message;
  if (
    /NoSuchKey|NoSuchBucket|specified (?:key|bucket) does not exist|mandatory file/iu.test(message)
  ) {
    return 'Redshift.MissingS3File';
  }
  if (/S3ServiceException.*(?:Access ?Denied|Status 403)/isu.test(message)) {
    return 'Redshift.S3BucketAccessDenied';
  }
  if (/stl_load_errors/u.test(message)) return 'Redshift.DataLoadFailed';
  return codeOf(failure);
}
