/**
 * The one catalogue of delivery error codes: what a destination reports about a failed attempt
 * and what error-output records and the dead set carry. Firehose's own codes where it has them
 * (`S3.AccessDenied`, `HttpEndpoint.DestinationException`, …); the set is closed so that logs,
 * metrics and the error output never carry free text as a code. `docs/errors.md` documents
 * every entry; a test keeps the two in step.
 */
export const DELIVERY_ERROR_CODES = {
  'S3.AccessDenied': 'The store refused the write: credentials or bucket policy. Retried.',
  'S3.NoSuchBucket': 'The bucket does not exist. Retried (an operator may create it).',
  'S3.InvalidBucketState': 'The bucket is in a state that refuses writes. Retried.',
  'S3.SlowDown': 'The store throttled the write. Retried.',
  'S3.ServiceUnavailable': 'The store answered 5xx or was unreachable. Retried.',
  'S3.InvalidRequest':
    'The store refused the request as malformed (a key too long, an entity too large). Permanent.',
  'S3.InvalidPrefix':
    'No object key can be made: the evaluated prefix is longer than Firehose allows. Permanent.',
  'S3.Unknown': 'Any other store error. Retried.',
  'HttpEndpoint.DestinationException':
    'The endpoint answered a status other than 200. Retried, except 413, which is permanent.',
  'HttpEndpoint.InvalidResponseFromDestination':
    'The endpoint answered 200 with a body that is not the protocol’s response (request id, numeric timestamp, JSON). Retried.',
  'HttpEndpoint.RequestTimeout':
    'The endpoint did not answer within the response timeout. Retried.',
  'HttpEndpoint.ResponseTooLarge': 'The endpoint’s response body is larger than 1 MiB. Retried.',
  'HttpEndpoint.ConnectionFailed': 'No connection to the endpoint could be made. Retried.',
  'HttpEndpoint.ConnectionReset': 'The endpoint closed the connection before answering. Retried.',
  'HttpEndpoint.SSLHandshakeFailure': 'The TLS handshake with the endpoint failed. Retried.',
  'Sluice.PlanUnreadable':
    'The batch’s stored delivery plan is not one this version reads (written by a newer version). Permanent.',
  'Sluice.StreamMissing': 'The batch’s stream has no definition (keys removed by hand). Retried.',
  'Sluice.PlanFailed':
    'No delivery plan can be made for the batch from its stream’s destination. Permanent: the batch is kept in the dead set.',
  'Sluice.Internal':
    'A destination’s request builder or classifier threw: a defect in Sluice. Retried; the log has the error.',
} as const;

/** A delivery error code. */
export type DeliveryErrorCode = keyof typeof DELIVERY_ERROR_CODES;
