import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  CreateDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  FirehoseClient,
  PutRecordBatchCommand,
  UpdateDestinationCommand,
} from '@aws-sdk/client-firehose';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';

import { streamKeys } from '../../src/streams/keys.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import { startSluice, type SluiceProcess } from '../support/sluice-process.js';
import { uniqueName } from '../support/unique.js';

/**
 * SIGTERM is an orderly stop: the API closes first, in-flight deliveries get a bounded time,
 * the process exits 0, and every acknowledged record is still in Redis for the next process.
 */

const BUCKET = 'shutdown';
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const RECORDS_PER_REQUEST = 100;
const REQUESTS = 25;
/** Short, so a stop does not wait long for a delivery that can never finish. */
const SHUTDOWN_TIMEOUT_MS = 2_000;
/** Far beyond the shutdown timeout plus closing connections; only a hang reaches it. */
const STOP_BOUND_MS = 20_000;
/** Abandoned jobs are taken over after their lock expires and a stalled check (about 20 s). */
const DRAIN_TIMEOUT_MS = 75_000;

const FAST = {
  SLUICE_SEAL_TICK_MS: '50',
  SLUICE_RETRY_BASE_MS: '100',
  SLUICE_RETRY_MAX_MS: '1000',
  SLUICE_SWEEP_AFTER_MS: '500',
};

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

function tail(text: string, chars = 6000): string {
  return text.length > chars ? `…${text.slice(-chars)}` : text;
}

function firehoseFor(sluice: SluiceProcess): FirehoseClient {
  const client = new FirehoseClient({
    endpoint: sluice.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  });
  cleanups.push(() => Promise.resolve(client.destroy()));
  return client;
}

/**
 * A TCP server that accepts connections and never answers: an S3 endpoint behind which every
 * delivery stays in flight, so the shutdown deterministically meets running deliveries.
 */
async function startBlackHole(): Promise<{ endpoint: string; connections: () => number }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('black hole has no port');
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { endpoint: `http://127.0.0.1:${address.port}`, connections: () => connections };
}

/**
 * One PutRecord on a fresh connection (no keep-alive agent), answered with what happened:
 * `HTTP <status>` or the socket error code.
 */
async function probe(url: string, stream: string): Promise<string> {
  const body = JSON.stringify({
    DeliveryStreamName: stream,
    Record: { Data: Buffer.from('{"probe":true}\n').toString('base64') },
  });
  return new Promise((resolve) => {
    const req = request(
      `${url}/`,
      {
        method: 'POST',
        agent: false,
        timeout: 5_000,
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'Firehose_20150804.PutRecord',
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(`HTTP ${res.statusCode}`));
        res.on('error', () => resolve(`HTTP ${res.statusCode}`));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end(body);
  });
}

async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  sluice: SluiceProcess,
  describeState: () => string | Promise<string> = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what} ${await describeState()}\n--- sluice log tail ---\n${tail(sluice.logs())}`,
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface Setup {
  redisServer: RedisServer;
  s3: S3Server;
  redis: Redis;
}

async function startServers(): Promise<Setup> {
  const [redisServer, s3] = await Promise.all([startRedisServer(), startS3Server()]);
  cleanups.push(
    () => redisServer.stop(),
    () => s3.stop(),
  );
  await s3.createBucket(BUCKET);
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 2 });
  cleanups.push(() => redis.quit());
  return { redisServer, s3, redis };
}

async function startService(setup: Setup, env: Record<string, string> = {}) {
  const sluice = await startSluice({
    env: {
      ...setup.s3.sluiceEnv,
      ...FAST,
      SLUICE_REDIS_URL: setup.redisServer.url,
      SLUICE_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      ...env,
    },
  });
  cleanups.push(() => sluice.kill());
  return sluice;
}

/**
 * Creates a stream that seals by size only (1 MiB; a minute is far longer than the test runs
 * before the SIGTERM) and puts {@link REQUESTS} requests into it, about 2.5 MiB: two batches
 * sealed by size and handed to delivery, the rest left in the open buffer.
 *
 * @returns the stream and every acknowledged record by id.
 */
async function fillStream(
  sluice: SluiceProcess,
  redis: Redis,
  options: { waitForAFirstDelivery: boolean },
): Promise<{ stream: string; sent: Map<string, string> }> {
  const client = firehoseFor(sluice);
  const stream = uniqueName('sigterm');
  await client.send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: stream,
      ExtendedS3DestinationConfiguration: {
        RoleARN: 'arn:aws:iam::000000000000:role/firehose',
        BucketARN: `arn:aws:s3:::${BUCKET}`,
        BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 60 },
      },
    }),
  );
  const run = randomBytes(4).toString('hex');
  const sent = new Map<string, string>();
  for (let r = 0; r < REQUESTS; r += 1) {
    const texts = Array.from({ length: RECORDS_PER_REQUEST }, (_, i) => {
      const id = `${run}-${r * RECORDS_PER_REQUEST + i}`;
      return `${JSON.stringify({ id, pad: 'x'.repeat(1000) })}\n`;
    });
    const out = await client.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: stream,
        Records: texts.map((t) => ({ Data: Buffer.from(t) })),
      }),
    );
    expect(out.FailedPutCount).toBe(0);
    for (const text of texts) sent.set((JSON.parse(text) as { id: string }).id, text);
    if (options.waitForAFirstDelivery && r === Math.floor(REQUESTS / 2)) {
      // Half the requests are over 1 MiB, so one batch is sealed: once it is delivered the
      // worker is running, and the batch the next requests seal is delivered right away,
      // close to the SIGTERM that follows them.
      await waitUntil(
        'a first delivered batch',
        async () => Number(await redis.hget(streamKeys(stream).stats, 'deliveredBatches')) >= 1,
        30_000,
        sluice,
      );
    }
  }
  expect(await redis.exists(streamKeys(stream).open), 'records left buffered').toBe(1);
  return { stream, sent };
}

/**
 * Sends SIGTERM and, from the moment the process logs that it is shutting down until it is
 * gone, keeps trying puts on fresh connections: each must be refused or answered 503. Then
 * the process must have exited 0 after logging 'sluice stopped'.
 */
async function sigtermRefusingPuts(sluice: SluiceProcess, stream: string): Promise<void> {
  const stopping = sluice.stop('SIGTERM', STOP_BOUND_MS);
  // Handled at once so that a stop that fails surfaces at the await below, not as an
  // unhandled rejection while the probes run.
  void stopping.catch(() => undefined);
  await sluice.waitForLog(/shutting down/, 10_000);
  let exited = false;
  void sluice.exited.then(() => {
    exited = true;
  });
  const outcomes: string[] = [];
  const probeDeadline = Date.now() + STOP_BOUND_MS + 10_000;
  while (!exited && Date.now() < probeDeadline) {
    outcomes.push(await probe(sluice.url, stream));
    await sleep(50);
  }
  const exit = await stopping;
  expect(exit, tail(sluice.logs())).toEqual({ code: 0, signal: null });
  expect(sluice.logs()).toContain('sluice stopped');
  const accepted = outcomes.filter(
    (o) => !['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'HTTP 503'].includes(o),
  );
  expect(accepted, `probe outcomes during shutdown: ${outcomes.join(', ')}`).toEqual([]);
}

/**
 * Starts a new process on the same Redis (delivering to the real S3 server), shortens the
 * stream's interval so the buffered remainder seals now rather than after a minute, waits
 * until the backlog is delivered and checks every acknowledged record arrived exactly once,
 * byte for byte.
 */
async function restartAndCheckExactlyOnce(
  setup: Setup,
  stream: string,
  sent: Map<string, string>,
): Promise<void> {
  const { redis, s3 } = setup;
  const second = await startService(setup);
  const client = firehoseFor(second);
  const description = (
    await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream }))
  ).DeliveryStreamDescription;
  const destinationId = description?.Destinations?.[0]?.DestinationId;
  expect(destinationId).toBeDefined();
  await client.send(
    new UpdateDestinationCommand({
      DeliveryStreamName: stream,
      CurrentDeliveryStreamVersionId: description?.VersionId,
      DestinationId: destinationId,
      ExtendedS3DestinationUpdate: { BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 } },
    }),
  );

  const keys = streamKeys(stream);
  const state = async () =>
    JSON.stringify({
      backlogRecords: await redis.hget(keys.stats, 'backlogRecords'),
      open: await redis.exists(keys.open),
      dead: await redis.zcard(keys.dead),
    });
  await waitUntil(
    `the backlog of ${stream} to drain`,
    async () =>
      (await redis.hget(keys.stats, 'backlogRecords')) === '0' &&
      (await redis.exists(keys.open)) === 0,
    DRAIN_TIMEOUT_MS,
    second,
    state,
  );
  expect(await redis.zcard(keys.dead), 'dead-lettered batches').toBe(0);

  const layout = new RegExp(
    `^\\d{4}/\\d{2}/\\d{2}/\\d{2}/${escapeRegExp(stream)}-\\d+-\\d{4}(-\\d{2}){5}-${UUID}$`,
  );
  const counts = new Map<string, number>();
  const altered: string[] = [];
  for (const key of await s3.listKeys(BUCKET)) {
    expect(key).toMatch(layout);
    const body = (await s3.getObject(BUCKET, key)).body.toString('utf8');
    expect(body.endsWith('\n'), `${key} ends inside a record`).toBe(true);
    for (const line of body.slice(0, -1).split('\n')) {
      const id = (JSON.parse(line) as { id: string }).id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
      if (sent.get(id) !== `${line}\n`) altered.push(id);
    }
  }
  const missing = [...sent.keys()].filter((id) => !counts.has(id));
  const duplicated = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  expect({
    missing: missing.slice(0, 20),
    missingCount: missing.length,
    duplicated: duplicated.slice(0, 20),
    altered: altered.slice(0, 20),
  }).toEqual({ missing: [], missingCount: 0, duplicated: [], altered: [] });
  expect(counts.size).toBe(sent.size);
}

describe('SIGTERM', () => {
  it('with records buffered and batches being delivered, refuses puts, exits 0 and loses nothing', async () => {
    const setup = await startServers();
    const first = await startService(setup);
    const { stream, sent } = await fillStream(first, setup.redis, { waitForAFirstDelivery: true });
    // At once: the last sealed batch is queued or being delivered, the rest is buffered.
    await sigtermRefusingPuts(first, stream);
    await restartAndCheckExactlyOnce(setup, stream, sent);
  }, 150_000);

  it('abandons a delivery that does not finish within SLUICE_SHUTDOWN_TIMEOUT_MS, exits 0 and loses nothing', async () => {
    const setup = await startServers();
    const blackHole = await startBlackHole();
    const first = await startService(setup, { SLUICE_S3_ENDPOINT: blackHole.endpoint });
    const { stream, sent } = await fillStream(first, setup.redis, {
      waitForAFirstDelivery: false,
    });
    await waitUntil(
      'a delivery to reach the unanswering S3 endpoint',
      () => blackHole.connections() > 0,
      30_000,
      first,
    );
    await sigtermRefusingPuts(first, stream);
    // Nothing was delivered (the endpoint never answered), and nothing was lost.
    expect(await setup.redis.hget(streamKeys(stream).stats, 'backlogRecords')).toBe(
      String(sent.size),
    );
    await restartAndCheckExactlyOnce(setup, stream, sent);
  }, 150_000);
});
