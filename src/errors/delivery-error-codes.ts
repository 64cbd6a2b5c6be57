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
  'Lambda.ProcessingFailedStatus':
    'The transform marked the record ProcessingFailed (Lambda form), returned failed(…) or threw for it (record form), or the record is not the JSON a json record form needs. The record goes to the error output (processing-failed).',
  'Lambda.MissingRecordId':
    'The transform’s response has no record with this record’s recordId. The record goes to the error output (processing-failed).',
  'Lambda.DuplicatedRecordId':
    'The transform’s response has more than one record with this record’s recordId. The record goes to the error output (processing-failed).',
  'Lambda.JsonProcessingException':
    'The transform’s response is malformed: not {"records": [...]}, a recordId not in the invocation, an unknown result, an Ok record without base64 data, partition keys that are not an object of strings. The records concerned go to the error output (processing-failed); a malformed response is not retried.',
  'Lambda.FunctionError':
    'Every attempt of a transform invocation failed (NumberOfRetries + 1): the transform threw, timed out, ran out of memory or ended its worker, or the remote transform answered non-2xx, too much or not at all. The invocation’s records go to the error output (processing-failed).',
  'Lambda.ResourceNotFound':
    'The transform module (sluice:transform:<name>) is not in the transforms directory. Retried until it appears (the retention window), then the records go to the error output (processing-failed).',
  'Sluice.TransformLoadFailed':
    'The transform module exists but does not load (a syntax error, an import that fails, a default export not made with defineTransform). Retried until it loads (the retention window), then the records go to the error output (processing-failed).',
  'DataFormatConversion.ParseError':
    'Format conversion: the record is not one or more JSON objects (malformed JSON, or an array or a scalar at the top). The record goes to the error output (format-conversion-failed); the rest of the batch is delivered.',
  'DataFormatConversion.MalformedData':
    'Format conversion: a value of the record does not fit its column of the catalog table (the message names the column and the value). The record goes to the error output (format-conversion-failed); the rest of the batch is delivered.',
  'DataFormatConversion.TableMissing':
    'Format conversion: the table the destination names is not in the table catalog (SLUICE_CATALOG_DIR), or its file is no longer valid, when the batch is first attempted. The batch goes to the dead set with the reason; replay it once the table is fixed.',
  'Decompression.InvalidGzip':
    'The Decompression processor could not gunzip the record (not gzip, truncated, a bad checksum). The record goes, as it arrived, to the error output (decompression-failed).',
  'Decompression.OutputTooLarge':
    'The record would decompress to more than 64 MiB (a gzip bomb). The record goes, as it arrived, to the error output (decompression-failed).',
  'CloudWatchLogs.InvalidJson':
    'CloudWatchLogProcessing got a record that is not UTF-8 JSON. The record goes to the error output (processing-failed).',
  'CloudWatchLogs.InvalidEnvelope':
    'CloudWatchLogProcessing got JSON that is not a CloudWatch Logs subscription payload (the message names the first missing or wrong field). The record goes to the error output (processing-failed).',
  'CloudWatchLogs.UnknownMessageType':
    'CloudWatchLogProcessing got a messageType other than DATA_MESSAGE or CONTROL_MESSAGE. The record goes to the error output (processing-failed).',
  'Deaggregation.InvalidJson':
    'RecordDeAggregation (JSON) found something other than JSON objects one after another (the message gives the byte offset). The record goes to the error output (processing-failed).',
  'Deaggregation.TooManySubRecords':
    'RecordDeAggregation found more than 500 sub-records in one record (Firehose’s limit). The record goes to the error output (processing-failed).',
  'Deaggregation.NoSubRecords':
    'RecordDeAggregation found no sub-record in the record (empty, only whitespace or only delimiters). The record goes to the error output (processing-failed).',
  'DynamicPartitioning.MetadataExtractionFailed':
    'The MetadataExtractionQuery could not be evaluated on the record (not JSON, a key null or not a scalar, a jq error). The record goes to the error output (processing-failed).',
  'DynamicPartitioning.MissingPartitionKey':
    'The record’s partition lacks a key the Prefix uses (a transform returned no such partition key). The record goes to the error output (processing-failed).',
  'DynamicPartitioning.PartitionCountExceeded':
    'The stream already had its maximum of active partitions (SLUICE_MAX_ACTIVE_PARTITIONS) when a record of a new partition arrived. The record goes to the error output (processing-failed).',
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
