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
  'OS.ConnectionFailed': 'No connection to the OpenSearch cluster could be made. Retried.',
  'OS.ConnectionReset': 'The OpenSearch cluster closed the connection before answering. Retried.',
  'OS.SSLHandshakeFailure': 'The TLS handshake with the OpenSearch cluster failed. Retried.',
  'OS.RequestTimeout':
    'The OpenSearch cluster did not answer a bulk request within the response timeout. Retried.',
  'OS.AuthenticationFailed':
    'The OpenSearch cluster refused the credentials SLUICE_OPENSEARCH_ENDPOINTS gives for it (401). Retried.',
  'OS.AccessDenied':
    'The OpenSearch cluster denied the bulk request (403): the user lacks the permission to index. Retried.',
  'OS.ResourceNotFound':
    'The DomainARN has no endpoint in SLUICE_OPENSEARCH_ENDPOINTS, or the endpoint answered 404 to _bulk. Retried.',
  'OS.TooManyRequests':
    'The OpenSearch cluster throttled the bulk request, or a document in it (429). Retried: a document alone, with its _id.',
  'OS.ClusterError':
    'The OpenSearch cluster failed the bulk request or a document in it (5xx), or answered 200 with something that is not the bulk answer. Retried: a document alone, with its _id.',
  'OS.BadRequest':
    'The OpenSearch cluster refused the bulk request as a whole with a 4xx other than 401, 403, 404, 413 and 429 (such as explicit indices in bulk not allowed). Retried.',
  'OS.ClusterBlockException':
    'The OpenSearch cluster refused a document because its index is blocked (read-only after the disk flood stage, closed). Retried: the document alone.',
  'OS.RequestEntityTooLarge':
    'The OpenSearch cluster refused the bulk request as larger than its http.max_content_length (413). Permanent.',
  'OS.MapperParsingException':
    'The OpenSearch cluster refused a document that does not fit the index mapping or is not a JSON object (mapper_parsing_exception and other parse errors, 400). The document goes to the error output (AmazonOpenSearchService-failed) at once; the rest of the batch is delivered.',
  'OS.DocumentRejected':
    'The OpenSearch cluster refused a document with another 4xx (an invalid index name, a missing index without auto-creation, a field limit exceeded). The document goes to the error output (AmazonOpenSearchService-failed) at once; the rest of the batch is delivered.',
  'OS.MalformedData':
    'The record contains a line break and is not valid JSON, so it cannot be one line of a _bulk request. The record goes to the error output (AmazonOpenSearchService-failed) at once, not sent.',
  'Redshift.ConnectionFailed':
    'No connection to the database could be made or kept: refused, reset, timed out, or the server shutting down or restarting (SQLSTATE class 08, 57P01–57P03). Retried.',
  'Redshift.AuthenticationFailed':
    'The database refused the user name or password (SQLSTATE 28P01, 28000), or the SecretsManagerConfiguration secret is not in SLUICE_REDSHIFT_SECRETS_FILE. Retried (UpdateDestination may fix the password).',
  'Redshift.DatabaseNotFound':
    'The ClusterJDBCURL’s database does not exist (SQLSTATE 3D000). Retried.',
  'Redshift.TableNotFound':
    'The CopyCommand’s table or its schema does not exist (SQLSTATE 42P01, 3F000). Retried.',
  'Redshift.ColumnNotFound':
    'A column of DataTableColumns is not in the table (SQLSTATE 42703). Retried.',
  'Redshift.InsufficientPrivilege':
    'The user may not insert into the table, or create the delivery ledger (SQLSTATE 42501). Retried.',
  'Redshift.ReadOnlyCluster':
    'The database accepts no writes: a read-only transaction or a standby (SQLSTATE 25006). Retried.',
  'Redshift.DiskFull': 'The database server ran out of disk space (SQLSTATE 53100). Retried.',
  'Redshift.SyntaxError':
    'The database refused the COPY statement as malformed (SQLSTATE 42601). Retried.',
  'Redshift.DataLoadFailed':
    'Rows of the record were rejected by the database (a data exception, SQLSTATE class 22: a value that does not fit its column, a wrong number of fields; or an integrity violation, class 23), or the record cannot become rows (not JSON objects, not UTF-8). The record goes to the error output (redshift-failed) at once; the rest of the batch is loaded. A whole COPY failing so at commit is retried.',
  'Redshift.MissingS3File':
    'The staged path’s COPY found no manifest, or no object the manifest lists, in the intermediate bucket (S3 NoSuchKey or NoSuchBucket). Retried: the next attempt writes both again.',
  'Redshift.S3BucketAccessDenied':
    'The staged path’s COPY was denied reading the intermediate bucket (S3 AccessDenied, 403): the role CREDENTIALS names may not read it. Retried.',
  'Redshift.Unknown': 'Any other database error; the message has the database’s own. Retried.',
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
