import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { oneShotRedis, redisAnswers } from './connect.js';

/** Hosts for which Sluice may start a Redis itself: only this machine's. */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Whether `url` points at this machine. */
export function isLoopbackRedis(url: string): boolean {
  return LOOPBACK.has(new URL(url).hostname);
}

/** Whether `redis-server` can be run. */
export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Starts `redis-server` for `url` with its data under `dataDir` (append-only file on, no
 * eviction), detached so that it outlives a crash of Sluice: a restarted Sluice finds its
 * records still there. Resolves once it answers PING.
 *
 * @throws Error when it does not answer within `timeoutMs` (the message points at its log).
 */
export async function startEmbeddedRedis(url: string, dataDir: string, timeoutMs = 10_000) {
  const parsed = new URL(url);
  const dir = resolve(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'redis.log');
  const log = openSync(logFile, 'a');
  const child = spawn(
    'redis-server',
    [
      '--port',
      parsed.port || '6379',
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
      ...(parsed.password ? ['--requirepass', decodeURIComponent(parsed.password)] : []),
    ],
    { detached: true, stdio: ['ignore', log, log] },
  );
  child.unref();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await redisAnswers(url, 500)) return { dir, logFile, pid: child.pid };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`started redis-server for ${url} but it did not answer; see ${logFile}`);
}

/**
 * Shuts down a Redis that Sluice started: SHUTDOWN flushes the append-only file first, so the
 * next start finds every buffered record. Errors are ignored: the server may already be gone.
 */
export async function stopEmbeddedRedis(url: string): Promise<void> {
  const client = oneShotRedis(url);
  try {
    await client.connect();
    await client.shutdown();
  } catch {
    // A closed connection is how SHUTDOWN answers.
  } finally {
    client.disconnect();
  }
}
