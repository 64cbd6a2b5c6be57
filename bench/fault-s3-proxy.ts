import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A loopback HTTP proxy in front of the S3 server that the fault oracle switches between
 * passing requests through, being unavailable and being slow, so Sluice's workers meet an S3
 * that fails the way real S3 (or the network to it) does, while the bytes that do get through
 * are the S3 server's own.
 */

/** How the proxy treats requests from now on. */
export type S3ProxyMode =
  | { kind: 'pass' }
  /**
   * `503`: every request is answered `503 SlowDown`, as S3 does when throttling; `reset`:
   * every connection is cut at once, as when the store or the network is down.
   */
  | { kind: 'unavailable'; how: '503' | 'reset' }
  /** Each request waits `delayMs`: half before it is forwarded, half before it is answered. */
  | { kind: 'slow'; delayMs: number };

/** What the proxy did, for the report. */
export interface S3ProxyCounters {
  forwarded: number;
  answered503: number;
  reset: number;
  delayed: number;
}

/** A running proxy. */
export interface S3FaultProxy {
  /** `http://127.0.0.1:<port>`: give it to Sluice as `SLUICE_S3_ENDPOINT`. */
  readonly endpoint: string;
  readonly counters: S3ProxyCounters;
  mode(): S3ProxyMode;
  setMode(mode: S3ProxyMode): void;
  /** Cuts every connection and stops listening. */
  close(): Promise<void>;
}

const SLOW_DOWN_XML =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>fault-oracle</RequestId></Error>';

/**
 * Starts the proxy on a free loopback port, forwarding to `target` (e.g. s3rver's endpoint).
 * Headers pass unchanged, `Host` included, so request signatures stay valid.
 */
export async function startS3FaultProxy(target: string): Promise<S3FaultProxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const counters: S3ProxyCounters = { forwarded: 0, answered503: 0, reset: 0, delayed: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let current: S3ProxyMode = { kind: 'pass' };

  const later = (ms: number, action: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      action();
    }, ms);
    timers.add(timer);
  };

  const forward = (incoming: IncomingMessage, outgoing: ServerResponse, delayMs: number): void => {
    counters.forwarded += 1;
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
        const answer = (): void => {
          if (outgoing.destroyed) {
            response.destroy();
            return;
          }
          outgoing.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(outgoing);
        };
        if (delayMs > 0) later(delayMs / 2, answer);
        else answer();
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    outgoing.on('close', () => {
      if (!outgoing.writableFinished) forwarded.destroy();
    });
    const send = (): void => {
      if (incoming.destroyed) {
        forwarded.destroy();
        return;
      }
      incoming.pipe(forwarded);
    };
    if (delayMs > 0) later(delayMs / 2, send);
    else send();
  };

  const server: Server = createServer((incoming, outgoing) => {
    const mode = current;
    if (mode.kind === 'unavailable' && mode.how === 'reset') {
      counters.reset += 1;
      incoming.socket.destroy();
      return;
    }
    if (mode.kind === 'unavailable') {
      counters.answered503 += 1;
      incoming.resume();
      incoming.once('end', () => {
        outgoing.writeHead(503, {
          'content-type': 'application/xml',
          'content-length': Buffer.byteLength(SLOW_DOWN_XML),
        });
        outgoing.end(SLOW_DOWN_XML);
      });
      return;
    }
    if (mode.kind === 'slow') counters.delayed += 1;
    forward(incoming, outgoing, mode.kind === 'slow' ? mode.delayMs : 0);
  });
  server.on('connection', (socket: Socket) => {
    if (current.kind === 'unavailable' && current.how === 'reset') {
      counters.reset += 1;
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // A client that vanishes mid-request must not take the proxy down.
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    counters,
    mode: () => current,
    setMode(mode) {
      current = mode;
      // Kept-alive connections would otherwise carry on as if nothing happened.
      if (mode.kind === 'unavailable' && mode.how === 'reset') {
        for (const socket of sockets) socket.destroy();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        for (const socket of sockets) socket.destroy();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}
