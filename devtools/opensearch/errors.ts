import type { OpenSearchError } from './types.js';

/**
 * The error objects and bodies OpenSearch 2.x answers with, in one place so the test server's
 * failures read exactly like a real cluster's.
 */

/** A failure carrying the status OpenSearch answers it with. */
export class OpenSearchFailure extends Error {
  constructor(
    readonly status: number,
    readonly error: OpenSearchError,
  ) {
    super(error.reason);
  }
}

/** `{"error": {root_cause, type, reason, ...}, "status"}`, OpenSearch's REST error body. */
export function errorBody(status: number, error: OpenSearchError): unknown {
  const root: Record<string, unknown> = { ...error };
  delete root.caused_by;
  return { error: { root_cause: [root], ...error }, status };
}

/** `index_not_found_exception` for `index` (`resource.type` as the read or write path names it). */
export function indexNotFound(
  index: string,
  resourceType: 'index_expression' | 'index_or_alias',
  suffix = '',
): OpenSearchError {
  return {
    type: 'index_not_found_exception',
    reason: `no such index [${index}]${suffix}`,
    index,
    'resource.id': index,
    'resource.type': resourceType,
    index_uuid: '_na_',
  };
}

export function illegalArgument(reason: string): OpenSearchError {
  return { type: 'illegal_argument_exception', reason };
}

/** What an injected item failure of `status` reads like when the test gave no type. */
export function defaultItemError(status: number, index: string, id: string): OpenSearchError {
  switch (status) {
    case 429:
      return {
        type: 'rejected_execution_exception',
        reason:
          `rejected execution of primary operation [shard_detail=[${index}][0][P], ` +
          'shard_coordinating_and_primary_bytes=0, shard_operation_bytes=512, ' +
          'shard_max_coordinating_and_primary_bytes=52428800] OR [node_coordinating_and_primary_bytes=0, ' +
          'node_replica_bytes=0, node_all_bytes=0, node_operation_bytes=512, ' +
          'node_max_coordinating_and_primary_bytes=52428800]',
      };
    case 503:
      return {
        type: 'unavailable_shards_exception',
        reason:
          `[${index}][0] primary shard is not active Timeout: [1m], request: ` +
          `[BulkShardRequest [[${index}][0]] containing [1] requests]`,
      };
    case 400:
      return {
        type: 'mapper_parsing_exception',
        reason: `failed to parse field [value] of type [long] in document with id '${id}'. Preview of field's value: 'x'`,
        caused_by: { type: 'illegal_argument_exception', reason: 'For input string: "x"' },
      };
    case 409:
      return {
        type: 'version_conflict_engine_exception',
        reason: `[${id}]: version conflict, document already exists (current version [1])`,
        index,
        shard: '0',
        index_uuid: indexUuidPlaceholder(index),
      };
    case 404:
      return indexNotFound(index, 'index_expression');
    default:
      return { type: 'exception', reason: `injected failure with status ${status}` };
  }
}

/** A stable stand-in uuid for errors about an index the failure was injected for. */
function indexUuidPlaceholder(index: string): string {
  return Buffer.from(index.padEnd(16, '_')).toString('base64url').slice(0, 22);
}

/** The body and content type of a whole-request failure of `status`. */
export function requestFailureBody(status: number): { body: string; contentType: string } {
  const json = (error: OpenSearchError) => ({
    body: JSON.stringify(errorBody(status, error)),
    contentType: 'application/json; charset=UTF-8',
  });
  switch (status) {
    case 429:
      return json({
        type: 'rejected_execution_exception',
        reason:
          'rejected execution of coordinating operation [coordinating_and_primary_bytes=52428800, ' +
          'replica_bytes=0, all_bytes=52428800, coordinating_operation_bytes=1048576, ' +
          'max_coordinating_and_primary_bytes=52428800]',
      });
    case 503:
      return json({
        type: 'cluster_block_exception',
        reason: 'blocked by: [SERVICE_UNAVAILABLE/2/no cluster-manager];',
      });
    case 502:
    case 504: {
      // What the load balancer in front of a managed domain answers: HTML, not OpenSearch JSON.
      const title = status === 502 ? '502 Bad Gateway' : '504 Gateway Time-out';
      return {
        body: `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n</body>\r\n</html>\r\n`,
        contentType: 'text/html',
      };
    }
    default:
      return json({ type: 'exception', reason: `injected failure with status ${status}` });
  }
}
