import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { METRICS_CONTENT_TYPE, type MetricsSource } from '../telemetry/metrics.js';
import type { ProbeAnswer } from './health-routes.js';
import { METRICS_PATH } from './metrics-route.js';

/** Answers `/health` and `/ready` (health-routes.ts `answerProbe`); undefined: not a probe. */
export type ProbeAnswerer = (path: string) => Promise<ProbeAnswer | undefined>;

/** A listening metrics server, from {@link startMetricsServer}. */
export interface MetricsServer {
  /** `http://host:port` it listens on. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves only `GET /metrics` (when `metrics` is given) and the probes `GET /health` and
 * `GET /ready`, over plain HTTP, on a port of its own (`SLUICE_METRICS_PORT`): for `worker`
 * processes, which have no API port, and for scraping on a port the Firehose API's clients do
 * not reach. Anything else is answered 404.
 */
export async function startMetricsServer(
  metrics: MetricsSource | undefined,
  host: string,
  port: number,
  probes?: ProbeAnswerer,
): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    if (request.method === 'GET' && probes !== undefined && path !== METRICS_PATH) {
      probes(path).then(
        (answer) => {
          if (answer === undefined) notFound(response);
          else
            response
              .writeHead(answer.status, { 'content-type': 'application/json' })
              .end(JSON.stringify(answer.body));
        },
        () => response.writeHead(503, { 'content-type': 'text/plain' }).end('probe failed\n'),
      );
      return;
    }
    if (request.method !== 'GET' || path !== METRICS_PATH || metrics === undefined) {
      notFound(response);
      return;
    }
    metrics.render().then(
      (text) => response.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(text),
      (error: unknown) =>
        response
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`metrics failed: ${error instanceof Error ? error.message : String(error)}\n`),
    );
  });
  // A scraper keeps its connection open between scrapes: closing must not wait for it.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function notFound(response: ServerResponse): void {
  response
    .writeHead(404, { 'content-type': 'text/plain' })
    .end('Not found: GET /metrics, /health or /ready\n');
}
