import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TIMED_OUT, withinTime } from '../lifecycle/time-limit.js';
import { redactUrlCredentials } from '../telemetry/redact.js';
import { appendOnlyFileFlags } from './append-only-file.js';
import { oneShotRedis, redisAnswers } from './connect.js';

/**
 * The redis-server Sluice runs itself for a loopback `SLUICE_REDIS_URL` when none answers.
 *
 * Its lifecycle: whatever Sluice starts, Sluice stops, on every way out it can act on (start-up
 * failure, signal, second signal, uncaught error). Only a process that is killed outright
 * (SIGKILL, power loss) leaves it running; the next start finds it by its directory, says so,
 * uses it and stops it in turn.
 */

/** Hosts for which Sluice may start a Redis itself: only this machine's. */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** How long sending SHUTDOWN to a Redis not spawned here may take. */
const ASK_TIMEOUT_MS = 1_000;

/** The client name Sluice's own Redis connections carry (see connect.ts). */
const SLUICE_CLIENT_NAME = 'sluice';

/** Whether `url` points at this machine. */
export function isLoopbackRedis(url: string): boolean {
  return LOOPBACK.has(new URL(url).hostname);
}

/** Whether `redis-server` can be run. */
export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** The directory of the embedded Redis's data under `dataDir`. */
export function embeddedRedisDir(dataDir: string): string {
  return resolve(dataDir, 'redis');
}

/** A redis-server this process is responsible for stopping. */
export interface EmbeddedRedis {
  /** Its working directory (the append-only file lives here). */
  readonly dir: string;
  /** Its log file. */
  readonly logFile: string;
  /** Its process id, when this process started it. */
  readonly pid: number | undefined;
  /**
   * Shuts it down as SHUTDOWN does (the append-only file is flushed, so the next start finds
   * every record) and waits until it is gone, at most `timeoutMs`; 0 asks and does not wait,
   * for an exit that must not be delayed (a second signal): Redis then finishes its orderly
   * shutdown on its own. Never throws.
   *
   * @returns whether it is known to be gone.
   */
  stop(timeoutMs: number): Promise<boolean>;
}

/** Options for {@link startEmbeddedRedis}. */
export interface StartOptions {
  /** How long it may take to answer PING (10 s by default). */
  timeoutMs?: number;
  /**
   * Called as soon as the process exists, before it answers: a signal that arrives while it
   * starts must find it, or the process would exit and leave it running.
   */
  onSpawned?: (redis: EmbeddedRedis) => void;
}

/**
 * Starts `redis-server` for `url` with its data under `dataDir` (append-only file on, no
 * eviction), detached so that Ctrl-C in a terminal reaches Sluice only, and Sluice decides when
 * it stops. The password of `url`, if any, is passed on standard input, not on the command line
 * where every local user could read it. Resolves once it answers PING.
 *
 * @throws Error when it exits or does not answer within `timeoutMs` (the message points at its
 *   log); a server still starting then is stopped first.
 */
export async function startEmbeddedRedis(
  url: string,
  dataDir: string,
  options: StartOptions = {},
): Promise<EmbeddedRedis> {
  const { timeoutMs = 10_000, onSpawned } = options;
  const parsed = new URL(url);
  const dir = embeddedRedisDir(dataDir);
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'redis.log');
  const log = openSync(logFile, 'a');
  const child = spawn(
    'redis-server',
    [
      // Configuration from standard input first (see below), then the flags.
      '-',
      '--port',
      parsed.port || '6379',
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      ...appendOnlyFileFlags('everysec'),
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
    ],
    { detached: true, stdio: ['pipe', log, log] },
  );
  // The child has its own copy of the log's descriptor.
  closeSync(log);
  child.on('error', () => undefined);
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(
    parsed.password ? `requirepass ${configString(decodeURIComponent(parsed.password))}\n` : '',
  );
  child.unref();
  const embedded = spawnedRedis(child, dir, logFile);
  onSpawned?.(embedded);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !exited(child)) {
    if (await redisAnswers(url, 500)) return embedded;
    await new Promise((r) => setTimeout(r, 100));
  }
  await embedded.stop(5_000);
  throw new Error(
    `started redis-server for ${redactUrlCredentials(url)} but it did not answer; see ${logFile}`,
  );
}

/** How a Redis found answering at the URL relates to this process. */
export type FoundRedis =
  /** Not in Sluice's data directory: somebody else's, used and left alone. */
  | { kind: 'external' }
  /** Sluice's embedded Redis, in use by another running Sluice process: used, left to it. */
  | { kind: 'shared'; dir: string }
  /** Sluice's embedded Redis left running by an earlier run: this process stops it at exit. */
  | { kind: 'left-running'; redis: EmbeddedRedis };

/**
 * Tells whether the Redis answering at `url` is the embedded Redis of `dataDir` (its working
 * directory is `<dataDir>/redis`), and if so whether another running Sluice uses it (a client
 * named `sluice` is connected). Any failure to tell counts as external.
 */
export async function identifyRedis(url: string, dataDir: string): Promise<FoundRedis> {
  const own = safeRealpath(embeddedRedisDir(dataDir));
  if (own === undefined) return { kind: 'external' };
  const client = oneShotRedis(url);
  try {
    await client.connect();
    const [, dir] = (await client.config('GET', 'dir')) as [string, string];
    if (safeRealpath(dir) !== own) return { kind: 'external' };
    const clients = (await client.client('LIST')) as string;
    const inUse = clients.split('\n').some((line) => line.includes(` name=${SLUICE_CLIENT_NAME} `));
    if (inUse) return { kind: 'shared', dir: own };
    return { kind: 'left-running', redis: adoptedRedis(url, own) };
  } catch {
    return { kind: 'external' };
  } finally {
    client.disconnect();
  }
}

/** A Redis this process spawned: stopped by signal, which needs neither a connection nor auth. */
function spawnedRedis(child: ChildProcess, dir: string, logFile: string): EmbeddedRedis {
  const gone = new Promise<void>((resolve) => {
    if (exited(child)) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    dir,
    logFile,
    pid: child.pid,
    async stop(timeoutMs) {
      // Redis handles SIGTERM as SHUTDOWN: it flushes the append-only file, then exits.
      if (!exited(child)) child.kill('SIGTERM');
      return (await withinTime(gone, timeoutMs)) !== TIMED_OUT;
    },
  };
}

/**
 * A Redis an earlier run started: stopped with SHUTDOWN over a connection, which takes a moment
 * even when the caller does not want to wait for the server to be gone.
 */
function adoptedRedis(url: string, dir: string): EmbeddedRedis {
  return {
    dir,
    logFile: join(dir, 'redis.log'),
    pid: undefined,
    async stop(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      const client = oneShotRedis(url, ASK_TIMEOUT_MS);
      try {
        await withinTime(
          client.connect().then(() => client.shutdown()),
          Math.max(timeoutMs, ASK_TIMEOUT_MS),
        );
      } catch {
        // A closed connection is how SHUTDOWN answers.
      } finally {
        client.disconnect();
      }
      while (Date.now() < deadline) {
        if (!(await redisAnswers(url, 500))) return true;
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    },
  };
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function safeRealpath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * `value` as a double-quoted redis.conf string: every byte hex-escaped, so no character of a
 * password can end the string or the line.
 */
function configString(value: string): string {
  const hex = [...Buffer.from(value, 'utf8')]
    .map((byte) => `\\x${byte.toString(16).padStart(2, '0')}`)
    .join('');
  return `"${hex}"`;
}
