import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { Child, makeTempDir } from './children.js';
import { freePort } from './free-port.js';

/** How Redis keeps data; the bench prints it because it changes what an acknowledgement costs. */
export type RedisPersistence = 'none' | 'aof-everysec' | 'aof-always';

/** A private redis-server for the bench. */
export interface BenchRedis {
  readonly url: string;
  readonly child: Child;
  readonly persistence: RedisPersistence;
  /** A one-line description for the report, e.g. `no persistence (--save '' --appendonly no)`. */
  readonly description: string;
}

const READY_TIMEOUT_MS = 10_000;

/** The command-line flags for each persistence mode. */
function persistenceArgs(persistence: RedisPersistence): string[] {
  switch (persistence) {
    case 'none':
      return ['--save', '', '--appendonly', 'no'];
    case 'aof-everysec':
      return ['--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec'];
    case 'aof-always':
      return ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always'];
  }
}

/**
 * Starts `redis-server` on a free loopback port with its own temporary directory and resolves once
 * it answers PING.
 *
 * @throws when redis-server is missing, exits during start, or stays silent for 10 seconds.
 */
export async function startRedis(persistence: RedisPersistence): Promise<BenchRedis> {
  const dir = makeTempDir('redis');
  const port = await freePort();
  const flags = persistenceArgs(persistence);
  const child = new Child(
    'redis-server',
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no', ...flags],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!child.running) {
      await child.exited;
      throw new Error(`redis-server exited during start:\n${child.logTail()}`);
    }
    if (await answersPing(port)) {
      const shown = flags.map((f) => (f === '' ? "''" : f)).join(' ');
      return {
        url: `redis://127.0.0.1:${port}`,
        child,
        persistence,
        description: `${persistence === 'none' ? 'no persistence' : 'append-only file'} (${shown})`,
      };
    }
    await sleep(50);
  }
  await child.stop();
  throw new Error(
    `redis-server did not answer PING within ${READY_TIMEOUT_MS} ms:\n${child.logTail()}`,
  );
}

/**
 * One PING over a raw socket: a client library would keep reconnecting in the background while
 * the server is still starting.
 */
async function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
