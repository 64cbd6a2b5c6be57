import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Passes the request being handled on to the target; the target's answer goes to
 * `onResponse`, or back to the client unchanged when none is given.
 */
export type Forward = (onResponse?: (response: IncomingMessage) => void) => void;

/**
 * What an {@link HttpProxy} does with each request: call `forward` to pass it on, or answer
 * `outgoing` itself.
 */
export type ProxyHandler = (
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  forward: Forward,
) => void;

/** A loopback HTTP proxy in front of one server, from {@link startHttpProxy}. */
export interface HttpProxy {
  /** `http://127.0.0.1:<port>`: use it where the target's endpoint would go. */
  readonly endpoint: string;
  /** Closes the proxy and every connection it holds. */
  close(): Promise<void>;
}

/**
 * Starts an HTTP proxy on a free loopback port in front of `target` (an endpoint such as
 * `http://127.0.0.1:4568`) that hands every request to `handle`. What it forwards goes to the
 * target with its method, path and headers unchanged; a failed upstream connection drops the
 * client's.
 */
export async function startHttpProxy(target: string, handle: ProxyHandler): Promise<HttpProxy> {
  const upstream = new URL(target);
  const server: Server = createServer((incoming, outgoing) => {
    handle(incoming, outgoing, (onResponse) => {
      const forwarded = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
        },
        (response) => {
          if (onResponse) {
            onResponse(response);
            return;
          }
          outgoing.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(outgoing);
        },
      );
      forwarded.on('error', () => outgoing.destroy());
      incoming.pipe(forwarded);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
