import { createServer, type Server, type Socket } from 'node:net';

import type { Cleanups } from './e2e.js';

/** A TCP server that accepts connections and never answers, from {@link startBlackHole}. */
export interface BlackHole {
  /** `http://127.0.0.1:<port>`: use it where an S3 endpoint would go. */
  readonly endpoint: string;
  /** Connections accepted so far. */
  connections(): number;
}

/**
 * Starts a TCP server that accepts connections, reads what is sent and never answers: an S3
 * endpoint behind which every delivery stays in flight, so a shutdown deterministically meets
 * running deliveries. Closed by `cleanups`.
 */
export async function startBlackHole(cleanups: Cleanups): Promise<BlackHole> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('black hole has no port');
  cleanups.add(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { endpoint: `http://127.0.0.1:${address.port}`, connections: () => connections };
}
