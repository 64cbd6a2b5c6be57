import { Client } from '@opensearch-project/opensearch';
import type { ClusterReference, OpenSearchConnection, OpenSearchEndpoints } from './endpoints.js';

/**
 * One `@opensearch-project/opensearch` client per cluster connection, kept for the process: a
 * client holds a keep-alive agent, so consecutive bulk requests to a cluster reuse its
 * connections (and TLS sessions) instead of a handshake per batch. Built by the service from
 * `SLUICE_OPENSEARCH_ENDPOINTS` and closed when it stops.
 *
 * Every client has its own retries off (`maxRetries: 0`): the delivery driver retries, with the
 * same document ids, within the destination's `RetryOptions`.
 */
export class OpenSearchClients {
  private readonly clients = new Map<OpenSearchConnection, Client>();

  /**
   * @param endpoints - the endpoints table (which URL a `DomainARN` stands for, credentials,
   *   TLS options).
   * @param requestTimeoutMs - longest wait for a bulk request's answer.
   */
  constructor(
    readonly endpoints: OpenSearchEndpoints,
    private readonly requestTimeoutMs: number,
  ) {}

  /**
   * The client for `cluster` and the connection it uses.
   *
   * @throws DomainNotMappedError for a `DomainARN` the table does not map.
   */
  clientFor(cluster: ClusterReference): { client: Client; connection: OpenSearchConnection } {
    const connection = this.endpoints.resolve(cluster);
    let client = this.clients.get(connection);
    if (client === undefined) {
      client = new Client({
        node: connection.url,
        ...(connection.auth !== undefined ? { auth: { ...connection.auth } } : {}),
        ssl: {
          rejectUnauthorized: connection.rejectUnauthorized,
          ...(connection.ca !== undefined ? { ca: connection.ca } : {}),
        },
        maxRetries: 0,
        requestTimeout: this.requestTimeoutMs,
        // One node, as configured: no sniffing for other nodes, no health-based removal.
        sniffOnStart: false,
        sniffOnConnectionFault: false,
        resurrectStrategy: 'none',
      });
      this.clients.set(connection, client);
    }
    return { client, connection };
  }

  /** Closes every client (their sockets); the next `clientFor` makes new ones. */
  async close(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.allSettled(clients.map((client) => client.close()));
  }
}
