import { AdminApiError, transportError } from './admin-client.js';
import type { Endpoint } from './endpoint.js';
import { parseMetricsText, type MetricSample } from './metrics-text.js';

/**
 * Reads `GET /metrics` of a Sluice: the deployment's counters and gauges, the same from every
 * process (docs/metrics.md). The route needs no signature, so none is made.
 */

const TIMEOUT_MS = 30_000;

/**
 * The samples `endpoint` serves.
 *
 * @throws AdminApiError when Sluice cannot be reached, serves no metrics
 *   (`SLUICE_METRICS=false`), or answers an error.
 */
export async function fetchMetrics(endpoint: Endpoint): Promise<MetricSample[]> {
  const url = new URL(endpoint.base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/metrics`;
  const headers: Record<string, string> = { accept: 'text/plain' };
  if (endpoint.basicAuthorization !== undefined) {
    headers.authorization = endpoint.basicAuthorization;
  }
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
    text = await response.text();
  } catch (err) {
    throw transportError(err, endpoint.display, TIMEOUT_MS);
  }
  // A Sluice without the route answers it as any unknown request to its Firehose API.
  if (response.status === 404 || text.includes('"UnknownOperationException"')) {
    throw new AdminApiError(
      `Sluice at ${endpoint.display} serves no /metrics: it runs with SLUICE_METRICS=false, or is not a Sluice. Point --endpoint at a Sluice process that serves them`,
      404,
      'NoMetrics',
    );
  }
  if (!response.ok) {
    throw new AdminApiError(
      `GET /metrics at ${endpoint.display} answered HTTP ${response.status}: ${text.trim().slice(0, 200)}`,
      response.status,
      'HttpError',
    );
  }
  return parseMetricsText(text);
}
