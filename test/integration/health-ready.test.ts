import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

import { buildApp } from '../../src/api/app.js';
import { RecordBuffer } from '../../src/buffer/record-buffer.js';
import { BatchStore } from '../../src/delivery/batch-store.js';
import { DeliveryQueues } from '../../src/delivery/delivery-queues.js';
import type { DeliveryDriver } from '../../src/delivery/driver.js';
import { StreamWorkers } from '../../src/delivery/stream-workers.js';
import { loadSettings } from '../../src/config/env.js';
import { closeRedis, connectRedis, openRedis } from '../../src/redis/connect.js';
import { startService, type Service } from '../../src/service.js';
import { definitionFromCreateInput } from '../../src/streams/stream-definition.js';
import { StreamRegistry } from '../../src/streams/registry.js';
import { Readiness } from '../../src/telemetry/readiness.js';
import { cleanupAfterEach, eventually, tempDir, type Cleanups } from '../support/e2e.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { uniqueName } from '../support/unique.js';

/**
 * `GET /health` (the process answers) and `GET /ready` (Redis answers, the delivery workers
 * run where the role delivers, not shutting down), on the real service against a private
 * redis-server that the tests stop and start; and the image's HEALTHCHECK command against it.
 */

const cleanups = cleanupAfterEach();
const execFileAsync = promisify(execFile);

interface Probe {
  status: number;
  body: { status: string; checks?: Record<string, string>; failed?: string[] };
}

async function probe(url: string, path: '/health' | '/ready'): Promise<Probe> {
  const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: (await response.json()) as Probe['body'] };
}

async function privateRedis(cleanups: Cleanups): Promise<RedisServer> {
  const server = await startRedisServer({ appendOnly: false });
  cleanups.add(() => server.stop());
  return server;
}

async function serviceOn(
  cleanups: Cleanups,
  redis: RedisServer,
  env: Record<string, string> = {},
): Promise<{ service: Service; url: string }> {
  const settings = loadSettings({
    SLUICE_REDIS_URL: redis.url,
    SLUICE_HOST: '127.0.0.1',
    SLUICE_PORT: '0',
    SLUICE_DATA_DIR: await tempDir(cleanups, 'sluice-ready-'),
    ...env,
  });
  const service = await startService(settings, pino({ level: 'silent' }));
  cleanups.add(() => service.stop());
  if (service.url === undefined) throw new Error('the service serves no API');
  return { service, url: service.url };
}

/** The image's HEALTHCHECK command (the script after `CMD node -e`), from the Dockerfile. */
function imageHealthcheck(): string {
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
  const match = /HEALTHCHECK[^\n]*\\\n\s*CMD node -e "(.*)"\n/.exec(dockerfile);
  if (match?.[1] === undefined) throw new Error('no `CMD node -e "…"` HEALTHCHECK in Dockerfile');
  return match[1];
}

/** Runs the image's HEALTHCHECK with `env`; resolves with its exit code. */
async function runHealthcheck(env: Record<string, string>): Promise<number> {
  try {
    await execFileAsync(process.execPath, ['-e', imageHealthcheck()], {
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: 15_000,
    });
    return 0;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw error;
  }
}

describe('GET /health and GET /ready', () => {
  it('role all: both 200 once the delivery workers run, with every check named', async () => {
    const redis = await privateRedis(cleanups);
    const { url } = await serviceOn(cleanups, redis);
    expect(await probe(url, '/health')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await probe(url, '/ready')).toEqual({
      status: 200,
      body: {
        status: 'ready',
        checks: { redis: 'ok', deliveryWorkers: 'ok', shutdown: 'ok' },
      },
    });
  });

  it('role api: no delivery-worker check', async () => {
    const redis = await privateRedis(cleanups);
    const { url } = await serviceOn(cleanups, redis, { SLUICE_ROLE: 'api' });
    expect(await probe(url, '/ready')).toEqual({
      status: 200,
      body: { status: 'ready', checks: { redis: 'ok', shutdown: 'ok' } },
    });
  });

  it('Redis unreachable: /health stays 200, /ready answers 503 naming redis, and recovers', async () => {
    const redis = await privateRedis(cleanups);
    const { url } = await serviceOn(cleanups, redis);
    expect((await probe(url, '/ready')).status).toBe(200);

    await redis.kill('SIGKILL');
    const down = await probe(url, '/ready');
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('not ready');
    expect(down.body.failed).toContain('redis');
    expect(down.body.checks?.redis).not.toBe('ok');
    expect(down.body.checks?.shutdown).toBe('ok');
    expect(await probe(url, '/health')).toEqual({ status: 200, body: { status: 'ok' } });

    await redis.restart();
    await eventually('/ready to answer 200 again', async () => {
      const again = await probe(url, '/ready');
      return again.status === 200 && again.body.checks?.redis === 'ok';
    });
  });

  it('the probes need no signature when access keys are required', async () => {
    const redis = await privateRedis(cleanups);
    const { url } = await serviceOn(cleanups, redis, {
      SLUICE_ACCESS_KEYS: 'AKIDHEALTH:health-check-secret',
    });
    expect((await probe(url, '/health')).status).toBe(200);
    expect((await probe(url, '/ready')).status).toBe(200);
    // Anything else still does.
    const unsigned = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'Firehose_20150804.ListDeliveryStreams',
      },
      body: '{}',
    });
    expect(unsigned.status).toBe(400);
  });
});

describe('while draining', () => {
  /** The app as the service builds it, over a private Redis, with its readiness at hand. */
  async function drainableApp(cleanups: Cleanups) {
    const redisServer = await privateRedis(cleanups);
    const settings = loadSettings({ SLUICE_REDIS_URL: redisServer.url });
    const connections = openRedis(settings.SLUICE_REDIS_URL);
    connections.commands.on('error', () => undefined);
    connections.queue.on('error', () => undefined);
    await connectRedis(connections);
    cleanups.add(() => closeRedis(connections));
    const redis = connections.commands;
    const readiness = new Readiness().add('deliveryWorkers', () => undefined);
    const app = buildApp({
      settings,
      redis,
      registry: new StreamRegistry(redis, settings),
      buffer: new RecordBuffer(redis, 1024 * 1024, () => Promise.resolve()),
      log: pino({ level: 'silent' }),
      readiness,
    });
    cleanups.add(() => app.close());
    return { app, readiness };
  }

  it('from the moment shutdown starts, /ready is 503 naming shutdown, puts are refused, /health is 200', async () => {
    const { app, readiness } = await drainableApp(cleanups);
    expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);

    readiness.drain();
    const ready = await app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({
      status: 'not ready',
      checks: { redis: 'ok', deliveryWorkers: 'ok', shutdown: 'the process is shutting down' },
      failed: ['shutdown'],
    });
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);

    const put = await app.inject({
      method: 'POST',
      url: '/',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'Firehose_20150804.PutRecord',
      },
      payload: JSON.stringify({ DeliveryStreamName: 'any', Record: { Data: 'eA==' } }),
    });
    expect(put.statusCode).toBe(503);
    expect(put.headers['x-amzn-errortype']).toBe('ServiceUnavailableException');
    expect(put.json()).toEqual({
      __type: 'ServiceUnavailableException',
      message: 'Sluice is shutting down; retry.',
    });
  });

  it('closing the app drains its readiness too', async () => {
    const { app, readiness } = await drainableApp(cleanups);
    expect(readiness.draining).toBe(false);
    await app.close();
    expect(readiness.draining).toBe(true);
    expect((await readiness.report(1000)).failed).toEqual(['shutdown']);
  });

  it('a check that hangs or throws fails alone, with what went wrong', async () => {
    const readiness = new Readiness()
      .add('hangs', () => new Promise<undefined>(() => undefined))
      .add('throws', () => {
        throw new Error('connect ECONNREFUSED redis://user:pa55word@10.0.0.1:6379');
      })
      .add('fine', () => undefined);
    const report = await readiness.report(50);
    expect(report).toEqual({
      ready: false,
      checks: {
        hangs: 'no answer within 50 ms',
        throws: 'connect ECONNREFUSED redis://***@10.0.0.1:6379',
        fine: 'ok',
        shutdown: 'ok',
      },
      failed: ['hangs', 'throws'],
    });
  });
});

describe('the deliveryWorkers check', () => {
  it('fails while the workers start and once they stop; passes while every stream has a running worker', async () => {
    const redisServer = await privateRedis(cleanups);
    const settings = loadSettings({ SLUICE_REDIS_URL: redisServer.url });
    const connections = openRedis(settings.SLUICE_REDIS_URL);
    await connectRedis(connections);
    cleanups.add(() => closeRedis(connections));
    const registry = new StreamRegistry(connections.commands, settings);
    const queues = new DeliveryQueues(connections.queue, new BatchStore(connections.commands));
    cleanups.add(() => queues.close());
    const workers = new StreamWorkers({
      connection: connections.queue,
      redis: connections.commands,
      registry,
      queues,
      // No batch is ever sealed here: the driver is never called.
      driver: {} as DeliveryDriver,
      concurrency: 1,
      retryBaseMs: 100,
      retryMaxMs: 100,
      log: pino({ level: 'silent' }),
      pollIntervalMs: 50,
    });
    cleanups.add(() => workers.close(5_000));

    expect(workers.notRunning()).toBe('delivery workers are starting');
    await workers.start();
    expect(workers.notRunning()).toBeUndefined();

    const stream = uniqueName('ready-workers');
    await registry.create(
      definitionFromCreateInput(
        {
          DeliveryStreamName: stream,
          ExtendedS3DestinationConfiguration: {
            RoleARN: 'arn:aws:iam::000000000000:role/firehose',
            BucketARN: 'arn:aws:s3:::bucket',
          },
        },
        settings,
        Date.now(),
      ),
    );
    // A worker runs for a stream whose queue has jobs: it is listed as active.
    await queues.active.add(stream);
    await eventually('a worker for the new stream', () => workers.streams().includes(stream));
    expect(workers.notRunning()).toBeUndefined();

    await workers.close(5_000);
    expect(workers.notRunning()).toBe('delivery workers are stopping');
  });
});

describe("the image's HEALTHCHECK", () => {
  it('passes when /ready answers 200, fails when Redis is down; a worker-only container passes', async () => {
    const redis = await privateRedis(cleanups);
    const { url } = await serviceOn(cleanups, redis);
    const port = new URL(url).port;
    expect(await runHealthcheck({ SLUICE_PORT: port })).toBe(0);
    await redis.kill('SIGKILL');
    expect(await runHealthcheck({ SLUICE_PORT: port })).toBe(1);
    expect(await runHealthcheck({ SLUICE_PORT: port, SLUICE_ROLE: 'worker' })).toBe(0);
  });
});
