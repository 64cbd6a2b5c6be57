import type { IncomingMessage, ServerResponse } from 'node:http';
import cluster from 'node:cluster';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/**
 * Bounds on what clients can hold: how long one request may take to arrive, how many
 * connections are open at once, and what happens to connections at shutdown. Without them a
 * client sending a byte every few seconds holds its connection (and a file descriptor) for
 * ever, a thousand such clients exhaust the process, and a shutdown waits for all of them.
 */

/** The API's connection limits (from the settings). */
export interface ConnectionLimits {
  /** Longest time to receive one whole request, headers and body. */
  requestTimeoutMs: number;
  /** Longest time to receive a request's headers (capped at `requestTimeoutMs`). */
  headersTimeoutMs: number;
  /** Most connections open at once; more are closed as soon as they are accepted. */
  maxConnections: number;
}

/**
 * Node checks the two request timeouts on this interval (30 s by default), so a timeout fires
 * up to one interval late; a quarter of the shorter timeout keeps that lateness small.
 */
function checkingIntervalMs(limits: ConnectionLimits): number {
  const shortest = Math.min(limits.requestTimeoutMs, limits.headersTimeoutMs);
  return Math.min(30_000, Math.max(100, Math.floor(shortest / 4)));
}

/**
 * Applies `limits` to the app's server (before it listens), and makes closing the app drop what
 * is still arriving. `requestTimeout` itself is a Fastify option, passed where the app is built.
 *
 * At close (Fastify's `preClose`: new requests on open connections are answered 503 from then
 * on, and new connections are refused once the server stops listening right after):
 * - requests whose body is still arriving are dropped: nothing of them was stored, so nothing
 *   acknowledged is lost, and a client cannot hold the shutdown by sending slowly;
 * - requests already being handled run to the end and are answered: their records may be
 *   stored, and the client must learn so;
 * - then every remaining connection (idle keep-alive, headers still arriving) is closed.
 */
export function applyConnectionLimits(app: FastifyInstance, limits: ConnectionLimits): void {
  const server = app.server;
  server.headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  // In a process of the supervisor (node:cluster), the primary accepts connections and hands
  // them over; with maxConnections set, a process at its cap refuses the hand-over and the
  // primary keeps the connection waiting, neither served nor closed. There the cap is kept
  // by closing what comes over it instead; elsewhere Node's own check closes it first.
  if (!cluster.isWorker) server.maxConnections = limits.maxConnections;
  let connections = 0;
  server.on('connection', (socket: Socket) => {
    if (connections >= limits.maxConnections) {
      socket.destroy();
      return;
    }
    connections += 1;
    socket.once('close', () => {
      connections -= 1;
    });
  });
  // The option of http.createServer, kept as a property that Node reads when the server starts
  // listening (for https servers too); @types/node does not declare the property.
  (server as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval =
    checkingIntervalMs(limits);

  // Requests whose response is not finished yet. `complete` tells the two kinds apart: Node
  // sets it once the whole request (body included) has arrived.
  const open = new Set<IncomingMessage>();
  let onSettled: (() => void) | undefined;
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    open.add(request);
    response.once('close', () => {
      open.delete(request);
      onSettled?.();
    });
  });

  app.addHook('preClose', (done) => {
    for (const request of open) {
      if (!request.complete) request.socket.destroy();
    }
    // Not awaited in the hook: Fastify fails a hook that outlasts its plugin timeout (10 s),
    // and a request being handled may take longer. app.close() waits all the same, because
    // the server's close waits for these connections to end.
    onSettled = () => {
      if (open.size > 0) return;
      onSettled = undefined;
      server.closeAllConnections();
    };
    onSettled();
    done();
  });
}
