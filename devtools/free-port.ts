import { createServer, type Server } from 'node:net';

/**
 * Returns a TCP port on 127.0.0.1 that was free a moment ago.
 *
 * The port is found by letting the kernel pick one for a throw-away listener, so two callers never
 * race over the same guess. Another process can still take it before the caller binds it; helpers
 * that can detect "address in use" retry with a fresh port.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('freePort: the throw-away listener has no TCP address'));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/**
 * Starts `server` listening on 127.0.0.1 at a port the kernel picks (so no other process can
 * take it first), and returns the port.
 *
 * @throws the server's listen error.
 */
export async function listenOnLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new Error('listenOnLoopback: the server has no TCP address');
  }
  return address.port;
}
