import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';

import {
  cleanupAfterEach,
  createS3Stream,
  eventually,
  firehoseFor,
  putRecordBatch,
  shutDownRedisLeftAt,
  startRedis,
  startService,
  tail,
  tempDir,
} from '../support/e2e.js';
import { freePort } from '../support/free-port.js';
import { runUntilExit } from '../support/run-until-exit.js';

/**
 * No credential from the settings ever appears in what Sluice writes (stdout and stderr, every
 * line), whichever way a run goes: started, refused settings, no Redis, a Redis that refuses
 * the password, its own Redis started. URLs are shown with `***` for their user-info.
 */

const cleanups = cleanupAfterEach();

/**
 * A password with characters that must be percent-encoded in a URL (`@`, `/`, `:`), so that
 * both its raw and its encoded form are checked.
 */
function newSecret(): { raw: string; encoded: string } {
  const raw = `pw@${randomBytes(6).toString('hex')}/:${randomBytes(6).toString('hex')}`;
  return { raw, encoded: encodeURIComponent(raw) };
}

/** Fails, quoting the lines, if `output` contains `secret` in any form. */
function expectNoSecret(output: string, secret: { raw: string; encoded: string }): void {
  expect(output.length).toBeGreaterThan(0);
  for (const form of [secret.raw, secret.encoded, JSON.stringify(secret.raw).slice(1, -1)]) {
    const lines = output.split('\n').filter((line) => line.includes(form));
    expect(lines, `lines containing the secret (${form})`).toEqual([]);
  }
}

/** A private Redis that requires `password`. */
async function redisWithPassword(password: string) {
  const server = await startRedis(cleanups);
  const admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
  await admin.config('SET', 'requirepass', password);
  admin.disconnect();
  return server;
}

describe('credentials in settings never reach the output', () => {
  it('a run that starts, takes records, fails deliveries and stops', async () => {
    const secret = newSecret();
    const s3Secret = newSecret();
    const redis = await redisWithPassword(secret.raw);
    const redisUrl = `redis://:${secret.encoded}@127.0.0.1:${redis.port}`;
    const sluice = await startService(cleanups, {
      SLUICE_REDIS_URL: redisUrl,
      // Nothing listens there: deliveries fail, and their failures are logged.
      SLUICE_S3_ENDPOINT: `http://user:${s3Secret.encoded}@127.0.0.1:${await freePort()}`,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      SLUICE_SEAL_TICK_MS: '50',
      SLUICE_RETRY_BASE_MS: '100',
      SLUICE_RETRY_MAX_MS: '200',
      // Redis is gone when it stops: the shutdown then ends on this bound.
      SLUICE_SHUTDOWN_TIMEOUT_MS: '3000',
    });
    const started = await sluice.waitForLog(/sluice started/);
    const client = firehoseFor(cleanups, sluice);
    const stream = await createS3Stream(client, 'redact', 'redact', {
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
    });
    expect((await putRecordBatch(client, stream, ['{"a":1}\n'])).FailedPutCount).toBe(0);
    await sluice.waitForLog(/delivery failed/, 30_000);
    // Redis going away makes the clients log their connection errors too.
    await redis.kill('SIGKILL');
    await sluice.waitForLog(/redis connection error/);
    await sluice.stop();
    expectNoSecret(sluice.logs(), secret);
    expectNoSecret(sluice.logs(), s3Secret);
    expect(started).toContain(`redis://***@127.0.0.1:${redis.port}`);
  });

  it.each([
    ['SLUICE_REDIS_URL', (s: string) => `redis://:${s}@127.0.0.1:99999`],
    ['SLUICE_REDIS_URL', (s: string) => `http://admin:${s}@127.0.0.1:6379`],
    ['SLUICE_S3_ENDPOINT', (s: string) => `ftp://admin:${s}@minio.example`],
  ])('a refused setting: %s', async (name, value) => {
    const secret = newSecret();
    const ended = await runUntilExit({
      SLUICE_REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      [name]: value(secret.encoded),
    });
    const output = `${ended.stdout}${ended.stderr}`;
    expectNoSecret(output, secret);
    expect(ended.code, output).toBe(2);
    expect(ended.stderr).toContain(`${name}=`);
    expect(ended.stderr).toContain('***@');
  });

  it('no Redis at the URL', async () => {
    const secret = newSecret();
    const port = await freePort();
    const ended = await runUntilExit({
      SLUICE_REDIS_URL: `redis://admin:${secret.encoded}@127.0.0.1:${port}`,
    });
    const output = `${ended.stdout}${ended.stderr}`;
    expectNoSecret(output, secret);
    expect(ended.code, output).toBe(1);
    expect(ended.stderr).toContain(`no Redis answers at redis://***@127.0.0.1:${port}`);
  });

  it('a Redis that refuses the password', async () => {
    const secret = newSecret();
    const redis = await redisWithPassword(newSecret().raw);
    const ended = await runUntilExit({
      SLUICE_REDIS_URL: `redis://:${secret.encoded}@127.0.0.1:${redis.port}`,
      SLUICE_REDIS_AUTOSTART: 'true',
    });
    const output = `${ended.stdout}${ended.stderr}`;
    expectNoSecret(output, secret);
    expect(ended.code, output).toBe(1);
    expect(ended.stderr).toMatch(/refused the credentials.*WRONGPASS/);
  });

  it('its own Redis, started with the password (which is not on its command line either)', async () => {
    const secret = newSecret();
    const port = await freePort();
    const url = `redis://:${secret.encoded}@127.0.0.1:${port}`;
    const dataDir = await tempDir(cleanups, 'sluice-redact-');
    const sluice = await startService(cleanups, {
      SLUICE_REDIS_URL: url,
      SLUICE_REDIS_AUTOSTART: 'true',
      SLUICE_DATA_DIR: dataDir,
    });
    // Shut down by the test if Sluice failed to: registered after the directory's removal.
    shutDownRedisLeftAt(cleanups, url);
    const line = await sluice.waitForLog(/started redis-server/);
    const redisPid = (JSON.parse(line) as { redisPid: number }).redisPid;
    const commandLine = (await readFile(`/proc/${redisPid}/cmdline`)).toString('latin1');
    expect(commandLine).toContain('redis-server');

    // The Redis really requires the password.
    const anonymous = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 0 });
    anonymous.on('error', () => undefined);
    cleanups.add(() => anonymous.disconnect());
    await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);

    const client = firehoseFor(cleanups, sluice);
    await createS3Stream(client, 'own', 'own');
    const exit = await sluice.stop();
    expect(exit, tail(sluice.logs())).toEqual({ code: 0, signal: null });
    const redisLog = await readFile(join(dataDir, 'redis', 'redis.log'), 'utf8');
    await eventually('the redis-server to be gone', async () => {
      try {
        await readFile(`/proc/${redisPid}/cmdline`);
        return false;
      } catch {
        return true;
      }
    });
    expectNoSecret(sluice.logs(), secret);
    expectNoSecret(redisLog, secret);
    expectNoSecret(commandLine, secret);
  });
});
