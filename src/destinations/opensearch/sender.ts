import { errors } from '@opensearch-project/opensearch';
import type { DestinationServices, SendResult } from '../destination-kind.js';
import type { OpenSearchRequest } from './request.js';

/**
 * The OpenSearch sender: one `_bulk` request through the cluster's client, reported as it came
 * back. It never classifies (`classify.ts` does) and never retries (the client's retries are
 * off; the driver retries).
 */

/** What the cluster answered: its status and body (parsed JSON, or text when not JSON). */
export interface OpenSearchResponse {
  status: number;
  body: unknown;
}

/** No client: the process has no OpenSearch services (a defect in how it was started). */
export class NoOpenSearchServicesError extends Error {
  override name = 'NoOpenSearchServicesError';
}

/**
 * The sender. Resolves, never rejects: `{ response }` for any HTTP answer (a 4xx or 5xx too),
 * `{ error }` when none came: the client's `ConnectionError` or `TimeoutError`, or a
 * `DomainNotMappedError` when the plan's `DomainARN` has no endpoint (any more).
 */
export async function sendBulkRequest(
  request: OpenSearchRequest,
  services: Pick<DestinationServices, 'opensearch'>,
): Promise<SendResult<OpenSearchResponse>> {
  if (request.items.length === 0) {
    // Every record was left out by the encoder: nothing to send, nothing failed here.
    return { response: { status: 200, body: { took: 0, errors: false, items: [] } } };
  }
  try {
    if (services.opensearch === undefined) {
      throw new NoOpenSearchServicesError('no OpenSearch clients were configured for delivery');
    }
    const { client } = services.opensearch.clientFor(request.cluster);
    const answer = await client.bulk({ body: request.body as never }, { maxRetries: 0 });
    return { response: { status: answer.statusCode ?? 0, body: answer.body } };
  } catch (error) {
    if (error instanceof errors.ResponseError) {
      return { response: { status: error.meta.statusCode ?? 0, body: error.meta.body } };
    }
    return { error };
  }
}
