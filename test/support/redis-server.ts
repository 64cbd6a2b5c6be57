import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { freePort } from './free-port.js';
import { killOnExit, removeTempDir, tempDirUntilExit } from './process-cleanup.js';

/** Options for {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Append-only file on (default `true`), fsynced on every write so a SIGKILL loses nothing. */
  appendOnly?: boolean;
  /** Redis `maxmemory-policy`, e.g. `noeviction` (Redis's default when unset). */
  maxmemoryPolicy?: string;
  /** Redis `maxmemory`, e.g. `64mb`; unset means no limit. */
  maxmemory?: string;
}

/** A private `redis-server` started by {@link startRedisServer}. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The server's own working directory (append-only files live here). */
  readonly dir: string;
  /** The server's recent log output, for assertions and failure messages. */
  logs(): string;
  /** Shuts the server down (SIGTERM, SIGKILL if it lingers) and deletes its directory. */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL, a crash) and waits until the process is gone; keeps the data. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and directory (stopping it first if it runs). */
  restart(): Promise<void>;
}

/** How long a start may take before it is reported as failed. */
const READY_TIMEOUT_MS = 10_000;
/** How long a polite shutdown may take before the process is killed. */
const EXIT_TIMEOUT_MS = 10_000;
/** Port collisions with other processes are rare; a few fresh ports settle them. */
const MAX_PORT_ATTEMPTS = 3;
/** Only the log tail matters for diagnosis; older lines are dropped to bound memory. */
const MAX_LOG_CHARS = 64 * 1024;

/**
 * Starts a private `redis-server` bound to 127.0.0.1 on a free port, with its own temporary
 * directory, and resolves once it answers PING.
 *
 * Each call gets a server of its own, so a test may crash, restart or fill it without touching the
 * shared Redis on port 6379 that other tests use.
 *
 * @throws when `redis-server` is not installed, exits during start, or does not answer PING within
 *   10 seconds; the message includes the server's log.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  // Servers and directories a test never stopped are cleaned up when the test process exits.
  const dir = tempDirUntilExit('sluice-redis-');
  let log = '';
  const appendLog = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-MAX_LOG_CHARS);
  };

  const args = (port: number): string[] => [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--daemonize',
    'no',
    '--save',
    '',
    '--appendonly',
    options.appendOnly === false ? 'no' : 'yes',
    '--appendfsync',
    'always',
    ...(options.maxmemoryPolicy ? ['--maxmemory-policy', options.maxmemoryPolicy] : []),
    ...(options.maxmemory ? ['--maxmemory', options.maxmemory] : []),
  ];

  const launch = async (port: number): Promise<ChildProcess> => {
    const child = spawn('redis-server', args(port), { stdio: ['ignore', 'pipe', 'pipe'] });
    killOnExit(child);
    child.stdout?.on('data', appendLog);
    child.stderr?.on('data', appendLog);
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const failed = await Promise.race([spawnError, sleep(50, undefined)]);
      if (failed) {
        throw new Error(
          `could not run redis-server (is it installed and on PATH?): ${failed.message}`,
        );
      }
      if (hasExited(child)) {
        throw new Error(`redis-server on port ${port} exited during start:\n${log}`);
      }
      if (await answersPing(port)) return child;
    }
    child.kill('SIGKILL');
    await waitForExit(child, EXIT_TIMEOUT_MS);
    throw new Error(
      `redis-server on port ${port} did not answer PING within ${READY_TIMEOUT_MS} ms:\n${log}`,
    );
  };

  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 1; child === undefined; attempt += 1) {
    port = await freePort();
    log = '';
    try {
      child = await launch(port);
    } catch (err) {
      const collided = /address already in use/i.test(log);
      if (!collided || attempt >= MAX_PORT_ATTEMPTS) {
        await removeTempDir(dir);
        throw err;
      }
    }
  }

  let current: ChildProcess = child;
  let stopped = false;
  const url = `redis://127.0.0.1:${port}`;

  const terminate = async (): Promise<void> => {
    if (hasExited(current)) return;
    current.kill('SIGTERM');
    if (!(await waitForExit(current, EXIT_TIMEOUT_MS))) {
      current.kill('SIGKILL');
      await waitForExit(current, EXIT_TIMEOUT_MS);
    }
  };

  return {
    url,
    port,
    dir,
    logs: () => log,
    async stop() {
      if (stopped) return;
      stopped = true;
      await terminate();
      await removeTempDir(dir);
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (hasExited(current)) return;
      current.kill(signal);
      if (!(await waitForExit(current, EXIT_TIMEOUT_MS))) {
        throw new Error(`redis-server on port ${port} ignored ${signal} for ${EXIT_TIMEOUT_MS} ms`);
      }
    },
    async restart() {
      if (stopped) throw new Error(`redis-server on port ${port} was stopped; start a new one`);
      await terminate();
      current = await launch(port);
    },
  };
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves `true` once the child has exited, or `false` after `timeoutMs`. */
async function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (hasExited(child)) return true;
  const ac = new AbortController();
  const exited = new Promise<boolean>((resolve) => child.once('exit', () => resolve(true)));
  const timedOut = sleep(timeoutMs, false, { signal: ac.signal }).catch(() => false);
  const result = await Promise.race([exited, timedOut]);
  ac.abort();
  return result;
}

/**
 * One PING over a raw socket. A raw socket, not a client library, because a client would keep
 * reconnecting in the background while the server is still starting.
 * `+PONG` only: a server still loading its append-only file answers `-LOADING`.
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
