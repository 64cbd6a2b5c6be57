import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';

import { appendOnlyFileFlags } from '../src/redis/append-only-file.js';
import { Child, raceTimeout, removeTempDir, tempDirUntilExit } from './children.js';
import { freePort } from './free-port.js';

/** Options for {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Append-only file on (default `true`); with `appendfsync` it decides what a SIGKILL loses. */
  appendOnly?: boolean;
  /**
   * When the append-only file is fsynced: `always` (default), so tests that SIGKILL Redis lose
   * nothing, or `everysec`, which the bench measures because it is what production setups use.
   */
  appendfsync?: 'always' | 'everysec';
  /** Redis `maxmemory-policy`, e.g. `noeviction` (Redis's default when unset). */
  maxmemoryPolicy?: string;
  /** Redis `maxmemory`, e.g. `64mb`; unset means no limit. */
  maxmemory?: string;
  /** Start of the temporary directory's name (default `sluice-redis-`). */
  dirPrefix?: string;
  /** Serve TLS only (`rediss://`), no plain port. */
  tls?: RedisTlsFiles;
}

/** PEM files for a TLS-only redis-server (see {@link RedisServerOptions.tls}). */
export interface RedisTlsFiles {
  /** The server's certificate; it must name 127.0.0.1. */
  cert: string;
  /** The certificate's private key. */
  key: string;
  /** CA that signed `cert`, and that client certificates must be signed by. */
  ca: string;
  /**
   * Require a client certificate (`tls-auth-clients yes`; default no). The helper's own PING
   * then presents `cert`, which must allow client authentication too.
   */
  authClients?: boolean;
}

/** A private `redis-server` started by {@link startRedisServer}. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>`, or `rediss://…` with {@link RedisServerOptions.tls}. */
  readonly url: string;
  readonly port: number;
  /** The server's own working directory (append-only files live here). */
  readonly dir: string;
  /**
   * The current process (a new one after {@link restart}): its pid for sampling, and its
   * `exited`/`stopping` to tell a crash from a requested stop.
   */
  readonly child: Child;
  /** The command-line flags that set persistence and memory, as passed to redis-server. */
  readonly flags: readonly string[];
  /** The server's recent log output, for assertions and failure messages. */
  logs(): string;
  /** Shuts the server down (SIGTERM, SIGKILL if it lingers) and deletes its directory. */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL, a crash) and waits until the process is gone; keeps the data. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and directory (stopping it first if it runs). */
  restart(): Promise<void>;
}

/**
 * Resolves with `child`, a redis-server just spawned on `port`, once `answers()` says it answers
 * PING; throws with its log when it exits first or does not answer within
 * {@link READY_TIMEOUT_MS} (then it is stopped).
 */
export async function untilAnswering(
  child: Child,
  port: number,
  answers: () => Promise<boolean>,
): Promise<Child> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!child.running) {
      await child.exited;
      if (child.spawnError) {
        throw new Error(
          `could not run redis-server (is it installed and on PATH?): ${child.spawnError.message}`,
        );
      }
      throw new Error(`redis-server on port ${port} exited during start:\n${child.logs()}`);
    }
    if (await answers()) return child;
    await sleep(50);
  }
  await child.stop(0);
  throw new Error(
    `redis-server on port ${port} did not answer PING within ${READY_TIMEOUT_MS} ms:\n${child.logs()}`,
  );
}

/** How long a start may take before it is reported as failed. */
const READY_TIMEOUT_MS = 10_000;
/** How long a polite shutdown may take before the process is killed. */
const EXIT_TIMEOUT_MS = 10_000;
/** Port collisions with other processes are rare; a few fresh ports settle them. */
const MAX_PORT_ATTEMPTS = 3;
/** Logs of earlier processes (before a restart) kept in {@link RedisServer.logs}, bounded. */
const MAX_LOG_CHARS = 64 * 1024;

/**
 * Starts a private `redis-server` bound to 127.0.0.1 on a free port, with its own temporary
 * directory, and resolves once it answers PING.
 *
 * Each call gets a server of its own, so a test may crash, restart or fill it without touching the
 * shared Redis on port 6379 that other tests use, and the bench measures a Redis nothing else uses.
 *
 * @throws when `redis-server` is not installed, exits during start, or does not answer PING within
 *   10 seconds; the message includes the server's log.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  // Servers and directories never stopped are cleaned up when this process exits.
  const dir = tempDirUntilExit(options.dirPrefix ?? 'sluice-redis-');
  const flags = [
    '--save',
    '',
    // The file's other flags only with it on: they would mean nothing, yet show up in the
    // bench's report.
    ...(options.appendOnly === false
      ? ['--appendonly', 'no']
      : appendOnlyFileFlags(options.appendfsync ?? 'always')),
    ...(options.maxmemoryPolicy ? ['--maxmemory-policy', options.maxmemoryPolicy] : []),
    ...(options.maxmemory ? ['--maxmemory', options.maxmemory] : []),
  ];
  const tls = options.tls;
  const portArgs = (port: number): string[] =>
    tls
      ? [
          '--port',
          '0',
          '--tls-port',
          String(port),
          '--tls-cert-file',
          tls.cert,
          '--tls-key-file',
          tls.key,
          '--tls-ca-cert-file',
          tls.ca,
          '--tls-auth-clients',
          tls.authClients ? 'yes' : 'no',
        ]
      : ['--port', String(port)];
  const args = (port: number): string[] => [
    ...portArgs(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--daemonize',
    'no',
    ...flags,
  ];

  const launch = async (port: number): Promise<Child> => {
    const child = new Child('redis-server', 'redis-server', args(port), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return untilAnswering(child, port, () => answersPing(port, tls));
  };

  let port = 0;
  let current: Child | undefined;
  let lastLog = '';
  for (let attempt = 1; current === undefined; attempt += 1) {
    port = await freePort();
    try {
      current = await launch(port);
    } catch (err) {
      // The failed process's log is in the message; a collision is worth a fresh port.
      const collided = /address already in use/i.test(err instanceof Error ? err.message : '');
      if (!collided || attempt >= MAX_PORT_ATTEMPTS) {
        await removeTempDir(dir);
        throw err;
      }
    }
  }

  let child: Child = current;
  let stopped = false;
  const url = `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`;

  return {
    url,
    port,
    dir,
    flags,
    get child() {
      return child;
    },
    logs: () => (lastLog + child.logs()).slice(-MAX_LOG_CHARS),
    async stop() {
      if (stopped) return;
      stopped = true;
      await child.stop(EXIT_TIMEOUT_MS);
      await removeTempDir(dir);
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (!child.running) return;
      child.stopping = true;
      child.process.kill(signal);
      if ((await raceTimeout(child.exited, EXIT_TIMEOUT_MS)) === undefined) {
        throw new Error(`redis-server on port ${port} ignored ${signal} for ${EXIT_TIMEOUT_MS} ms`);
      }
    },
    async restart() {
      if (stopped) throw new Error(`redis-server on port ${port} was stopped; start a new one`);
      await child.stop(EXIT_TIMEOUT_MS);
      lastLog = (lastLog + child.logs()).slice(-MAX_LOG_CHARS);
      child = await launch(port);
    },
  };
}

/**
 * One PING over a raw socket (TLS with `tls`). A raw socket, not a client library, because a
 * client would keep reconnecting in the background while the server is still starting.
 * `+PONG` only: a server still loading its append-only file answers `-LOADING`.
 */
async function answersPing(port: number, tls?: RedisTlsFiles): Promise<boolean> {
  return new Promise((resolve) => {
    const socket: Socket = tls
      ? tlsConnect({
          host: '127.0.0.1',
          port,
          ca: readFileSync(tls.ca),
          ...(tls.authClients ? { cert: readFileSync(tls.cert), key: readFileSync(tls.key) } : {}),
        })
      : connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once(tls ? 'secureConnect' : 'connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
