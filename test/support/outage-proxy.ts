import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What an {@link OutageProxy} does with the next request:
 * - `forward`: passes it to the target and the answer back, unchanged;
 * - `unavailable`: answers 503 ServiceUnavailable without passing it on (S3 is down);
 * - `lose-response`: passes it on and lets the target complete it, then answers 503 instead of
 *   the target's answer (the write happened, the writer does not know it).
 */
export type OutageMode = 'forward' | 'unavailable' | 'lose-response';

/** A loopback HTTP proxy in front of one S3 server whose availability a test switches. */
export interface OutageProxy {
  /** `http://127.0.0.1:<port>`: use it where the S3 endpoint would go. */
  readonly endpoint: string;
  /** Applies to requests that arrive from now on. */
  mode: OutageMode;
  close(): Promise<void>;
}

const UNAVAILABLE_BODY =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ServiceUnavailable</Code><Message>Service is unable to handle request (outage proxy).</Message></Error>';

/**
 * Starts a proxy in front of `target` (an S3 endpoint) that forwards, refuses or completes
 * requests without answering them, as its {@link OutageProxy.mode} says; it starts forwarding.
 */
export async function startOutageProxy(target: string): Promise<OutageProxy> {
  const upstream = new URL(target);
  const proxy = { mode: 'forward' as OutageMode };

  const unavailable = (outgoing: ServerResponse) => {
    outgoing.writeHead(503, {
      'content-type': 'application/xml',
      'content-length': Buffer.byteLength(UNAVAILABLE_BODY),
    });
    outgoing.end(UNAVAILABLE_BODY);
  };

  const server: Server = createServer((incoming, outgoing) => {
    const mode = proxy.mode;
    if (mode === 'unavailable') {
      incoming.resume();
      incoming.on('end', () => unavailable(outgoing));
      return;
    }
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (response: IncomingMessage) => {
        if (mode === 'lose-response') {
          response.resume();
          response.on('end', () => unavailable(outgoing));
          return;
        }
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get mode() {
      return proxy.mode;
    },
    set mode(mode: OutageMode) {
      proxy.mode = mode;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
