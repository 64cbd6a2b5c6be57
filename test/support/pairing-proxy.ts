import { createServer, connect, type Server, type Socket } from 'node:net';

import { listenOnLoopback } from './free-port.js';

/** One client connection of a {@link startPairingProxy} proxy and its own upstream one. */
export interface PairedConnection {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Ends both connections (again is harmless). */
  readonly end: () => void;
}

/** A listening {@link startPairingProxy} proxy. */
export interface PairingProxy {
  readonly port: number;
  /** Ends every connection and stops listening. */
  close(): Promise<void>;
}

/**
 * Listens on loopback and pairs each connection it accepts with a new one to `host:port`; both
 * end together when either closes or fails. `handle` moves the bytes between them (nothing is
 * forwarded for it) and may return what to do when the pair ends, before they are destroyed.
 */
export async function startPairingProxy(
  host: string,
  port: number,
  handle: (connection: PairedConnection) => (() => void) | undefined,
): Promise<PairingProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, host);
    sockets.add(client);
    sockets.add(upstream);
    // Set once `handle` returns; the sockets end no earlier than their events.
    let ended: (() => void) | undefined = undefined;
    const end = () => {
      ended?.();
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
    ended = handle({ client, upstream, end });
  });
  return {
    port: await listenOnLoopback(server),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
