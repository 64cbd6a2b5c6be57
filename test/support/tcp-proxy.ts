import { connect, createServer, type Server, type Socket } from 'node:net';

import type { Cleanups } from './e2e.js';

/** A loopback TCP proxy that can hold what clients send, from {@link startTcpProxy}. */
export interface TcpProxy {
  readonly port: number;
  /** Holds everything clients send from now on (the server's answers still flow). */
  pause(): void;
  /** Forwards what was held, and everything after it. */
  resume(): void;
  /** What clients sent while paused and is not forwarded yet, as latin1 text. */
  held(): string;
}

/**
 * Starts a TCP proxy on a free loopback port in front of `127.0.0.1:targetPort`, closed by
 * `cleanups`. Pausing it stalls every client's commands without closing anything, so a test
 * can hold a request in the middle of its handling (its Redis command sent, no answer yet).
 */
export async function startTcpProxy(cleanups: Cleanups, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const waiting: { upstream: Socket; chunk: Buffer }[] = [];
  let paused = false;
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      if (paused) waiting.push({ upstream, chunk });
      else upstream.write(chunk);
    });
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  cleanups.add(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    port: address.port,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
      for (const { upstream, chunk } of waiting.splice(0)) upstream.write(chunk);
    },
    held: () => waiting.map(({ chunk }) => chunk.toString('latin1')).join(''),
  };
}
