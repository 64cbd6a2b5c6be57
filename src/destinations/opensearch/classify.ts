import { errors } from '@opensearch-project/opensearch';
import type { DeliveryErrorCode } from '../../errors/delivery-error-codes.js';
import type { DeliveryOutcome, FailedRecord, SendResult } from '../destination-kind.js';
import { DomainNotMappedError } from './endpoints.js';
import type { OpenSearchRequest } from './request.js';
import type { OpenSearchResponse } from './sender.js';

/**
 * The OpenSearch classifier: what a `_bulk` answer (or the error that stopped it) means.
 *
 * A request the cluster refused as a whole, or that got no answer, is retried whole (a `413`
 * is permanent: the same body is never taken). A `200` is read item by item, each item in the
 * order of the request's: 429 and 5xx items are retried alone (with their `_id`, so a retry
 * overwrites), mapping errors and other 4xx items go to the error output at once with the
 * cluster's own error, and the rest is delivered.
 */

/** Most characters of the cluster's answer quoted in a reason. */
export const MAX_QUOTED_CHARS = 8192;

/** Item error types that mean the document does not fit the index's mapping or is not JSON. */
const MAPPING_ERROR_TYPES: ReadonlySet<string> = new Set([
  'mapper_parsing_exception',
  'document_parsing_exception',
  'strict_dynamic_mapping_exception',
  'json_parse_exception',
  'not_x_content_exception',
  'parse_exception',
  'x_content_parse_exception',
]);

/** The classifier. */
export function classifyBulkResponse(
  request: OpenSearchRequest,
  result: SendResult<OpenSearchResponse>,
): DeliveryOutcome {
  return 'response' in result
    ? classifyAnswer(request, result.response)
    : classifyError(request, result.error);
}

function classifyAnswer(request: OpenSearchRequest, response: OpenSearchResponse): DeliveryOutcome {
  const { status, body } = response;
  if (status === 200) return classifyItems(request, body);
  const quoted = `${status}: ${quote(body)}`;
  const where = request.target;
  if (status === 413) {
    return permanent(
      'OS.RequestEntityTooLarge',
      `The cluster refused the bulk request as too large (${where}). ${quoted}. Lower BufferingHints.SizeInMBs below the cluster's http.max_content_length.`,
    );
  }
  if (status === 401) {
    return retry(
      'OS.AuthenticationFailed',
      `The cluster refused the credentials (${where}): check the username and password SLUICE_OPENSEARCH_ENDPOINTS gives for it. ${quoted}`,
    );
  }
  if (status === 403) {
    return retry(
      'OS.AccessDenied',
      `The cluster denied the bulk request (${where}): the user SLUICE_OPENSEARCH_ENDPOINTS gives for it lacks the permission to index there. ${quoted}`,
    );
  }
  if (status === 429) {
    return retry(
      'OS.TooManyRequests',
      `The cluster throttled the bulk request (${where}). ${quoted}`,
    );
  }
  if (status === 404) {
    return retry(
      'OS.ResourceNotFound',
      `The cluster answered 404 to the bulk request (${where}): is the endpoint an OpenSearch cluster? ${quoted}`,
    );
  }
  if (status >= 500) {
    return retry('OS.ClusterError', `The cluster failed the bulk request (${where}). ${quoted}`);
  }
  return retry(
    'OS.BadRequest',
    `The cluster refused the bulk request as a whole (${where}). ${quoted}`,
  );
}

/** A `200`: each item's status. */
function classifyItems(request: OpenSearchRequest, body: unknown): DeliveryOutcome {
  const items = (body as { items?: unknown } | null)?.items;
  if (!Array.isArray(items) || items.length !== request.items.length) {
    return retry(
      'OS.ClusterError',
      `The cluster answered 200 with a body that is not the answer to this bulk request (${Array.isArray(items) ? `${items.length} items for ${request.items.length} sent` : 'no items'}): ${quote(body, 500)}`,
    );
  }
  const location = `${request.target} (${request.items.length} documents${indexSummary(request)})`;
  const failed: FailedRecord[] = [];
  items.forEach((entry: unknown, i) => {
    const sent = request.items[i];
    if (sent === undefined) return;
    const result = itemResult(entry);
    if (result.status >= 200 && result.status < 300) return;
    const failure = classifyItem(result.status, result.error);
    failed.push({
      index: sent.index,
      code: failure.code,
      retryable: failure.retryable,
      reason: `The cluster answered ${result.status} for the document${sent.id !== undefined ? ` ${sent.id}` : ''} in ${sent.indexName}: ${quote(result.error ?? null)}`,
    });
  });
  return failed.length === 0
    ? { kind: 'delivered', location }
    : { kind: 'partial', location, failed };
}

/** What one item's status and error mean. */
export function classifyItem(
  status: number,
  error: unknown,
): { code: DeliveryErrorCode; retryable: boolean } {
  const type = errorType(error);
  if (status === 429) return { code: 'OS.TooManyRequests', retryable: true };
  if (status >= 500 || status < 200) return { code: 'OS.ClusterError', retryable: true };
  if (type === 'cluster_block_exception') {
    // An index made read-only by the disk flood stage, or closed for maintenance: it clears.
    return { code: 'OS.ClusterBlockException', retryable: true };
  }
  if (type !== undefined && MAPPING_ERROR_TYPES.has(type)) {
    return { code: 'OS.MapperParsingException', retryable: false };
  }
  return { code: 'OS.DocumentRejected', retryable: false };
}

/** One item of a bulk answer: `{"index": {"status": 201, …}}`. */
function itemResult(entry: unknown): { status: number; error: unknown } {
  if (entry === null || typeof entry !== 'object') return { status: 0, error: entry };
  const op = Object.values(entry as Record<string, unknown>)[0] as
    { status?: unknown; error?: unknown } | undefined;
  return {
    status: typeof op?.status === 'number' ? op.status : 0,
    error: op?.error,
  };
}

function errorType(error: unknown): string | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const { type } = error as { type?: unknown };
  return typeof type === 'string' ? type : undefined;
}

/** No answer: why, and always worth a retry. */
function classifyError(request: OpenSearchRequest, error: unknown): DeliveryOutcome {
  const where = request.target;
  if (error instanceof DomainNotMappedError) return retry('OS.ResourceNotFound', error.message);
  if (error instanceof errors.TimeoutError) {
    return retry(
      'OS.RequestTimeout',
      `The cluster did not answer the bulk request within the response timeout (SLUICE_HTTP_RESPONSE_TIMEOUT_MS) (${where}); the request was abandoned.`,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof errors.ConnectionError) {
    if (isTlsFailure(message)) {
      return retry(
        'OS.SSLHandshakeFailure',
        `The TLS handshake with the cluster failed (${where}): ${message}. Trust its CA with "caFile" in SLUICE_OPENSEARCH_ENDPOINTS.`,
      );
    }
    if (/ECONNRESET|EPIPE|ECONNABORTED|socket hang up|other side closed/iu.test(message)) {
      return retry(
        'OS.ConnectionReset',
        `The cluster closed the connection before answering (${where}): ${message}.`,
      );
    }
    return retry(
      'OS.ConnectionFailed',
      `No connection to the cluster could be made (${where}): ${message}.`,
    );
  }
  if (error instanceof errors.DeserializationError) {
    return retry(
      'OS.ClusterError',
      `The cluster's answer is not valid JSON (${where}): ${message}.`,
    );
  }
  return retry(
    'OS.ConnectionFailed',
    `The bulk request to the cluster failed (${where}): ${error instanceof Error ? `${error.name}: ${message}` : message}.`,
  );
}

/** Node's TLS failures, as their messages read (the client keeps only the message). */
function isTlsFailure(message: string): boolean {
  return /certificate|self[- ]signed|TLS|SSL|altnames|EPROTO|unable to verify|wrong version number/iu.test(
    message,
  );
}

/** The distinct indices the request wrote to, for the location: at most three named. */
function indexSummary(request: OpenSearchRequest): string {
  const names = [...new Set(request.items.map((i) => i.indexName))];
  if (names.length === 0) return '';
  const shown = names.slice(0, 3).join(', ');
  return ` to ${shown}${names.length > 3 ? ` and ${names.length - 3} more indices` : ''}`;
}

/** A body or an error as text: JSON, cut to `maxChars` with a note when cut. */
function quote(value: unknown, maxChars = MAX_QUOTED_CHARS): string {
  const text =
    typeof value === 'string'
      ? value
      : Buffer.isBuffer(value)
        ? value.toString('utf8')
        : (JSON.stringify(value) ?? String(value));
  return text.length > maxChars
    ? `${text.slice(0, maxChars)}… (cut to ${maxChars} characters)`
    : text;
}

function retry(code: DeliveryErrorCode, reason: string): DeliveryOutcome {
  return { kind: 'retry', code, reason };
}

function permanent(code: DeliveryErrorCode, reason: string): DeliveryOutcome {
  return { kind: 'permanent', code, reason };
}
