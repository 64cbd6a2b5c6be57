import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import { listenOnLoopback } from './free-port.js';

/**
 * A loopback HTTP proxy in front of one server, for the tests' and the bench's proxies that
 * record, refuse, delay or break requests on their way to it (S3 above all). This file holds
 * the forwarding; each proxy's handler decides what happens to a request.
 */

/** How one request is forwarded, for {@link Forward}. */
export interface ForwardOptions {
  /** Gets the target's answer instead of the client getting it unchanged. */
  onResponse?: (response: IncomingMessage) => void;
  /** Waits this long before passing the request on. */
  requestDelayMs?: number;
  /** Waits this long between the target's answer and passing it back. */
  responseDelayMs?: number;
}

/**
 * Passes the request being handled on to the target, method, path and headers (`Host`
 * included, so signatures stay valid) unchanged. A failed upstream connection drops the
 * client's; a client that goes away drops the upstream request.
 */
export type Forward = (options?: ForwardOptions) => void;

/**
 * What an {@link HttpProxy} does with each request: call `forward` to pass it on, or answer
 * `outgoing` itself (or destroy its socket).
 */
export type ProxyHandler = (
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  forward: Forward,
) => void;

/** Options of {@link startHttpProxy}. */
export interface HttpProxyOptions {
  /** Asked for every new client connection; `false` cuts it at once. */
  acceptConnection?: () => boolean;
  /** Most connections to the target at once (they are kept alive); unbounded by default. */
  maxSockets?: number;
}

/** A loopback HTTP proxy in front of one server, from {@link startHttpProxy}. */
export interface HttpProxy {
  /** `http://127.0.0.1:<port>`: use it where the target's endpoint would go. */
  readonly endpoint: string;
  /** Cuts every client connection open now, mid-request or idle; the proxy keeps listening. */
  dropConnections(): void;
  /** Closes the proxy and every connection it holds; pending delays are dropped. */
  close(): Promise<void>;
}

/**
 * Starts an HTTP proxy on a free loopback port in front of `target` (an endpoint such as
 * `http://127.0.0.1:4568`) that hands every request to `handle`.
 */
export async function startHttpProxy(
  target: string,
  handle: ProxyHandler,
  options: HttpProxyOptions = {},
): Promise<HttpProxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? Infinity });
  const timers = new Set<NodeJS.Timeout>();

  const after = (ms: number | undefined, action: () => void): void => {
    if (ms === undefined || ms <= 0) {
      action();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      action();
    }, ms);
    timers.add(timer);
  };

  const forward = (
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    how: ForwardOptions = {},
  ): void => {
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
        agent,
      },
      (response) => {
        after(how.responseDelayMs, () => {
          if (outgoing.destroyed) {
            response.destroy();
          } else if (how.onResponse) {
            how.onResponse(response);
          } else {
            outgoing.writeHead(response.statusCode ?? 502, response.headers);
            response.pipe(outgoing);
          }
        });
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    outgoing.on('close', () => {
      if (!outgoing.writableFinished) forwarded.destroy();
    });
    after(how.requestDelayMs, () => {
      if (incoming.destroyed) forwarded.destroy();
      else incoming.pipe(forwarded);
    });
  };

  const server: Server = createServer((incoming, outgoing) => {
    handle(incoming, outgoing, (how) => forward(incoming, outgoing, how));
  });
  if (options.acceptConnection) {
    const accept = options.acceptConnection;
    server.on('connection', (socket: Socket) => {
      if (!accept()) socket.destroy();
    });
  }
  // A client that vanishes mid-request must not take the proxy down.
  server.on('clientError', (_error, socket) => socket.destroy());

  const port = await listenOnLoopback(server);

  return {
    endpoint: `http://127.0.0.1:${port}`,
    dropConnections: () => server.closeAllConnections(),
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}
