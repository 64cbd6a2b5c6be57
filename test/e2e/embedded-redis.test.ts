import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';

import { killOnExit } from '../../devtools/children.js';
import { redisAnswers } from '../../src/redis/connect.js';
import { startBlackHole } from '../support/black-hole.js';
import {
  autostartSetup,
  cleanupAfterEach,
  createS3Stream,
  eventually,
  firehoseFor,
  PROBE_TIMEOUT_MS,
  putRecordBatch,
  redisGone,
  startService,
  tail,
  tempDir,
  type Cleanups,
} from '../support/e2e.js';
import { runUntilExit } from '../support/run-until-exit.js';

/**
 * The redis-server Sluice starts itself (SLUICE_REDIS_AUTOSTART) is Sluice's to stop, on every
 * way out: a failed start-up, SIGTERM, a second signal. One left behind by a killed process is
 * found by the next start, which says so and takes it over.
 */

const cleanups = cleanupAfterEach();

describe('a redis-server Sluice started', () => {
  it('is stopped when the start-up fails afterwards (a streams file that cannot be read)', async () => {
    const { url, dataDir, env } = await autostartSetup(cleanups);
    const ended = await runUntilExit({
      ...env,
      SLUICE_CONFIG: join(dataDir, 'no-such-streams.json'),
    });
    const output = `${ended.stdout}${ended.stderr}`;
    expect(ended.code, output).toBe(1);
    expect(output).toContain('started redis-server');
    expect(output).toContain('no-such-streams.json');
    // Stopped before the exit, not some time after it.
    expect(await redisAnswers(url, PROBE_TIMEOUT_MS)).toBe(false);
  });

  it('is stopped when the start-up fails afterwards (SLUICE_PORT in use)', async () => {
    const { url, env } = await autostartSetup(cleanups);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    cleanups.add(() => new Promise((resolve) => taken.close(resolve)));
    const address = taken.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const ended = await runUntilExit({ ...env, SLUICE_PORT: String(address.port) });
    const output = `${ended.stdout}${ended.stderr}`;
    expect(ended.code, output).toBe(1);
    expect(output).toContain('EADDRINUSE');
    expect(await redisAnswers(url, PROBE_TIMEOUT_MS)).toBe(false);
  });

  it('is stopped on a second signal too, which exits at once', async () => {
    const { url, env } = await autostartSetup(cleanups);
    const blackHole = await startBlackHole(cleanups);
    const sluice = await startService(cleanups, {
      ...env,
      SLUICE_S3_ENDPOINT: blackHole.endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      SLUICE_SEAL_TICK_MS: '50',
      // Long enough that only the second signal can end the shutdown in time.
      SLUICE_SHUTDOWN_TIMEOUT_MS: '600000',
    });
    await sluice.waitForLog(/started redis-server/);
    // A delivery that never ends keeps the first signal's shutdown waiting.
    const client = firehoseFor(cleanups, sluice);
    const stream = await createS3Stream(client, 'second-signal', 'second-signal', {
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
    });
    expect((await putRecordBatch(client, stream, ['{"a":1}\n'])).FailedPutCount).toBe(0);
    await eventually('a delivery to be in flight', () => blackHole.connections() > 0, { sluice });

    process.kill(sluice.pid, 'SIGINT');
    await sluice.waitForLog(/shutting down/);
    const exit = await sluice.stop('SIGINT', 10_000);
    // 130 = 128 + SIGINT's number: the second signal ended it.
    expect(exit, tail(sluice.logs())).toEqual({ code: 130, signal: null });
    await redisGone(url);
  });

  it('left running by a killed process is taken over by the next start, which says so and stops it', async () => {
    const { url, env } = await autostartSetup(cleanups);
    const first = await startService(cleanups, env);
    await first.waitForLog(/started redis-server/);
    await first.kill();
    // SIGKILL gives Sluice no chance: its Redis is still there, with the data.
    expect(await redisAnswers(url, PROBE_TIMEOUT_MS)).toBe(true);

    const second = await startService(cleanups, env);
    const line = await second.waitForLog(/earlier Sluice run/);
    expect(line).toContain('stopping it at exit');
    expect(second.logs()).not.toContain('started redis-server');
    const exit = await second.stop();
    expect(exit, tail(second.logs())).toEqual({ code: 0, signal: null });
    expect(await redisAnswers(url, PROBE_TIMEOUT_MS)).toBe(false);
  });

  it('is shared with, and left to, the process that started it', async () => {
    const { url, env } = await autostartSetup(cleanups);
    const owner = await startService(cleanups, env);
    await owner.waitForLog(/started redis-server/);
    const other = await startService(cleanups, env);
    await other.waitForLog(/another running Sluice process/);
    expect((await other.stop()).code, tail(other.logs())).toBe(0);
    expect(await redisAnswers(url, PROBE_TIMEOUT_MS)).toBe(true);
    expect((await owner.stop()).code, tail(owner.logs())).toBe(0);
    expect(await redisAnswers(url, PROBE_TIMEOUT_MS)).toBe(false);
  });
});

describe('a Redis Sluice did not start', () => {
  it('is left running at exit, even on loopback', async () => {
    const { url, dataDir, env } = await autostartSetup(cleanups);
    // Not Sluice's: a streams file that cannot be read fails the start after Redis answered.
    const file = join(dataDir, 'bad.json');
    await writeFile(file, 'not json');
    const admin = await startRedisAt(cleanups, url);
    const ended = await runUntilExit({ ...env, SLUICE_CONFIG: file });
    expect(ended.code, `${ended.stdout}${ended.stderr}`).toBe(1);
    expect(await admin.ping()).toBe('PONG');
  });
});

/** A redis-server on `url`'s port, outside Sluice's data directory; stopped by `cleanups`. */
async function startRedisAt(cleanups: Cleanups, url: string): Promise<Redis> {
  const dir = await tempDir(cleanups, 'sluice-other-redis-');
  const child = spawn(
    'redis-server',
    ['--port', new URL(url).port, '--bind', '127.0.0.1', '--dir', dir, '--save', ''],
    { stdio: 'ignore' },
  );
  killOnExit(child);
  cleanups.add(() => child.kill('SIGKILL'));
  await eventually('the other redis-server to answer', () => redisAnswers(url, PROBE_TIMEOUT_MS));
  const admin = new Redis(url, { maxRetriesPerRequest: 1 });
  cleanups.add(() => admin.disconnect());
  return admin;
}
