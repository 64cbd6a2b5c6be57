/**
 * The one catalogue of error codes Sluice answers on its Firehose API.
 *
 * Type names, HTTP statuses and (where Firehose defines them) message templates follow
 * Amazon Data Firehose, so SDKs map them to the same exception classes. `docs/errors.md`
 * documents every entry; a test keeps the two in step.
 */
export const ERROR_CATALOGUE = {
  ResourceNotFoundException: {
    status: 400,
    description: 'The named delivery stream does not exist (or is being deleted).',
  },
  ResourceInUseException: {
    status: 400,
    description:
      'The delivery stream already exists, or is in a state that does not allow the operation.',
  },
  InvalidArgumentException: {
    status: 400,
    description:
      'A value is well-formed but not acceptable: a semantic rule, a batch over 4 MiB, or a feature Sluice does not implement yet (the message names it).',
  },
  InvalidSourceException: {
    status: 400,
    description:
      'A put to a stream with the Decompression processor carries a record that is not gzip-compressed CloudWatch Logs data; nothing is stored.',
  },
  ValidationException: {
    status: 400,
    description:
      'A member fails a model constraint (length, range, pattern, enum, required). The message uses AWS phrasing: `1 validation error detected: Value ... at ... failed to satisfy constraint: ...`.',
  },
  SerializationException: {
    status: 400,
    description:
      'The body is not valid JSON, is not an object, nests deeper than 64 levels, has a member of the wrong JSON type, carries invalid base64, or is not valid in its Content-Encoding; or the Content-Type is missing or not `application/x-amz-json-1.1`, or the Content-Encoding is not gzip, deflate or identity.',
  },
  UnknownOperationException: {
    status: 400,
    description:
      'The request is not `POST /`, has no `X-Amz-Target`, or names an operation Firehose does not have.',
  },
  LimitExceededException: {
    status: 400,
    description: 'A count limit is reached: streams per deployment, or tags per stream.',
  },
  ConcurrentModificationException: {
    status: 400,
    description:
      'UpdateDestination named a `CurrentDeliveryStreamVersionId` that is not the current one.',
  },
  ServiceUnavailableException: {
    status: 503,
    description:
      'Redis is unreachable or the stream is over its backlog cap. PutRecordBatch reports backpressure per record ("Slow down.") with HTTP 200; PutRecord and Redis outages answer 503.',
  },
  RequestEntityTooLargeException: {
    status: 413,
    description:
      'The HTTP body, or a compressed body once decoded, is larger than Sluice reads at all (16 MiB); nothing was parsed.',
  },
  MissingAuthenticationTokenException: {
    status: 400,
    description:
      'Access keys are configured and the request carries no signature: neither an `Authorization: AWS4-…` header nor `X-Amz-Algorithm` in the query string.',
  },
  IncompleteSignatureException: {
    status: 400,
    description:
      'The signature is malformed or incomplete: a missing Credential, SignedHeaders, Signature or date, a date not in ISO-8601 basic format, an unsupported algorithm, a credential without five parts.',
  },
  InvalidSignatureException: {
    status: 400,
    description:
      'The signature does not verify: it does not match the request (wrong secret, changed body or signed header), it is older or newer than 5 minutes, its credential scope names another service, day or (when enforced) region, or Host is not signed.',
  },
  UnrecognizedClientException: {
    status: 400,
    description:
      'The access key id is not one of the configured access keys, or the request carries a session token (Sluice has none).',
  },
  InternalFailure: {
    status: 500,
    description: 'An unexpected error inside Sluice; the log has the details.',
  },
} as const satisfies Record<string, { status: number; description: string }>;

/** A Firehose error type name from the catalogue. */
export type FirehoseErrorType = keyof typeof ERROR_CATALOGUE;

/**
 * An error answered to a Firehose client: `{"__type": type, "message": message}` with the
 * catalogue's HTTP status and an `X-Amzn-ErrorType` header.
 */
export class FirehoseError extends Error {
  /** The bare shape name SDKs match on. */
  readonly type: FirehoseErrorType;
  /** HTTP status from the catalogue. */
  readonly status: number;

  constructor(type: FirehoseErrorType, message: string) {
    super(message);
    this.name = type;
    this.type = type;
    this.status = ERROR_CATALOGUE[type].status;
  }
}
