import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { DescribeDeliveryStreamCommand, UpdateDestinationCommand } from '@aws-sdk/client-firehose';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';

import { streamKeys } from '../../src/streams/keys.js';
import {
  cleanupAfterEach,
  createS3Stream,
  deliveredRecords,
  DRAIN_AFTER_TAKEOVER_MS,
  escapeRegExp,
  eventually,
  expectExactlyOnce,
  FAST,
  firehoseFor,
  ONE_BOUNDED_ATTEMPT,
  putRecordBatch,
  putRecordOutcome,
  requestRecords,
  startServers,
  startService,
  tail,
  UUID,
  waitForDrain,
  type Servers,
} from '../support/e2e.js';
import { startBlackHole } from '../support/black-hole.js';
import type { SluiceProcess } from '../support/sluice-process.js';

/**
 * SIGTERM is an orderly stop: the API closes first, in-flight deliveries get a bounded time,
 * the process exits 0, and every acknowledged record is still in Redis for the next process.
 */

const BUCKET = 'shutdown';
const REQUESTS = 25;
/** Short, so a stop does not wait long for a delivery that can never finish. */
const SHUTDOWN_TIMEOUT_MS = 2_000;
/** Far beyond the shutdown timeout plus closing connections; only a hang reaches it. */
const STOP_BOUND_MS = 20_000;

const cleanups = cleanupAfterEach();

/** The private servers, with {@link BUCKET} created. */
async function startServersWithBucket(): Promise<Servers> {
  const servers = await startServers(cleanups);
  await servers.s3.createBucket(BUCKET);
  return servers;
}

/** A Sluice process on `servers` with fast settings and a short shutdown timeout. */
async function startFastService(
  servers: Servers,
  env: Record<string, string> = {},
): Promise<SluiceProcess> {
  return startService(cleanups, {
    ...servers.sluiceEnv,
    ...FAST,
    SLUICE_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    ...env,
  });
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
  const client = firehoseFor(cleanups, sluice, ONE_BOUNDED_ATTEMPT);
  const stream = await createS3Stream(client, 'sigterm', BUCKET, {
    BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 60 },
  });
  const run = randomBytes(4).toString('hex');
  const sent = new Map<string, string>();
  for (let r = 0; r < REQUESTS; r += 1) {
    const records = requestRecords(run, r);
    const out = await putRecordBatch(
      client,
      stream,
      records.map((record) => record.text),
    );
    expect(out.FailedPutCount).toBe(0);
    for (const { id, text } of records) sent.set(id, text);
    if (options.waitForAFirstDelivery && r === Math.floor(REQUESTS / 2)) {
      // Half the requests are over 1 MiB, so one batch is sealed: once it is delivered the
      // worker is running, and the batch the next requests seal is delivered right away,
      // close to the SIGTERM that follows them.
      await eventually(
        'a first delivered batch',
        async () => Number(await redis.hget(streamKeys(stream).stats, 'deliveredBatches')) >= 1,
        { sluice },
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
    outcomes.push(await putRecordOutcome(sluice.url, stream, '{"probe":true}\n', 5_000));
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
  servers: Servers,
  stream: string,
  sent: Map<string, string>,
): Promise<void> {
  const { redis, s3 } = servers;
  const second = await startFastService(servers);
  const client = firehoseFor(cleanups, second, ONE_BOUNDED_ATTEMPT);
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

  await waitForDrain(redis, stream, second, DRAIN_AFTER_TAKEOVER_MS);
  expect(await redis.zcard(streamKeys(stream).dead), 'dead-lettered batches').toBe(0);

  const layout = new RegExp(
    `^\\d{4}/\\d{2}/\\d{2}/\\d{2}/${escapeRegExp(stream)}-\\d+-\\d{4}(-\\d{2}){5}-${UUID}$`,
  );
  const { byId } = await deliveredRecords(s3, BUCKET, layout);
  expectExactlyOnce(sent, byId);
}

describe('SIGTERM', () => {
  it('with records buffered and batches being delivered, refuses puts, exits 0 and loses nothing', async () => {
    const servers = await startServersWithBucket();
    const first = await startFastService(servers);
    const { stream, sent } = await fillStream(first, servers.redis, {
      waitForAFirstDelivery: true,
    });
    // At once: the last sealed batch is queued or being delivered, the rest is buffered.
    await sigtermRefusingPuts(first, stream);
    await restartAndCheckExactlyOnce(servers, stream, sent);
  }, 150_000);

  it('abandons a delivery that does not finish within SLUICE_SHUTDOWN_TIMEOUT_MS, exits 0 and loses nothing', async () => {
    const servers = await startServersWithBucket();
    const blackHole = await startBlackHole(cleanups);
    const first = await startFastService(servers, { SLUICE_S3_ENDPOINT: blackHole.endpoint });
    const { stream, sent } = await fillStream(first, servers.redis, {
      waitForAFirstDelivery: false,
    });
    await eventually(
      'a delivery to reach the unanswering S3 endpoint',
      () => blackHole.connections() > 0,
      { sluice: first },
    );
    await sigtermRefusingPuts(first, stream);
    // Nothing was delivered (the endpoint never answered), and nothing was lost.
    expect(await servers.redis.hget(streamKeys(stream).stats, 'backlogRecords')).toBe(
      String(sent.size),
    );
    await restartAndCheckExactlyOnce(servers, stream, sent);
  }, 150_000);
});

describe('SIGTERM while Redis is unreachable', () => {
  /** Beyond the shutdown timeout: what closing a Redis-less process may add, with room to spare. */
  const EXIT_MARGIN_MS = 10_000;

  /**
   * Fills a stream whose deliveries hang (an S3 endpoint that never answers), waits until one
   * is in flight, then stops Redis cleanly (its append-only file keeps every acknowledged
   * record), the way an outage meets a shutdown.
   */
  async function deliveriesInFlightThenRedisDown(shutdownTimeoutMs: number) {
    const servers = await startServersWithBucket();
    const blackHole = await startBlackHole(cleanups);
    const sluice = await startFastService(servers, {
      SLUICE_S3_ENDPOINT: blackHole.endpoint,
      SLUICE_SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
    });
    const { stream, sent } = await fillStream(sluice, servers.redis, {
      waitForAFirstDelivery: false,
    });
    await eventually(
      'a delivery to reach the unanswering S3 endpoint',
      () => blackHole.connections() > 0,
      { sluice },
    );
    // The test's own client reconnects by itself once Redis is back.
    servers.redis.on('error', () => undefined);
    await servers.redisServer.kill('SIGTERM');
    return { servers, sluice, stream, sent };
  }

  /** Redis back on its data, nothing acknowledged missing, then delivered by a new process. */
  async function restartEverythingAndCheck(
    servers: Servers,
    stream: string,
    sent: Map<string, string>,
  ): Promise<void> {
    await servers.redisServer.restart();
    expect(await servers.redis.hget(streamKeys(stream).stats, 'backlogRecords')).toBe(
      String(sent.size),
    );
    await restartAndCheckExactlyOnce(servers, stream, sent);
  }

  it('exits within SLUICE_SHUTDOWN_TIMEOUT_MS, and a restart delivers every acknowledged record', async () => {
    const timeoutMs = 3_000;
    const { servers, sluice, stream, sent } = await deliveriesInFlightThenRedisDown(timeoutMs);
    // Rejects (after killing it) when the process is still running past the bound.
    const exit = await sluice.stop('SIGTERM', timeoutMs + EXIT_MARGIN_MS);
    const logs = sluice.logs();
    expect(exit.signal, tail(logs)).toBeNull();
    // 0 when every step ended in time (abandoning the stuck deliveries), 1 when the deadline
    // cut the shutdown short; either way the process is gone and nothing is lost.
    if (exit.code === 0) expect(logs).toContain('sluice stopped');
    else expect([exit.code, logs]).toEqual([1, expect.stringMatching(/did not finish within/)]);
    await restartEverythingAndCheck(servers, stream, sent);
  }, 180_000);

  it('a second SIGTERM exits at once with code 143, and a restart delivers every acknowledged record', async () => {
    // Far longer than the test waits: only the second signal can end this shutdown in time.
    const { servers, sluice, stream, sent } = await deliveriesInFlightThenRedisDown(600_000);
    process.kill(sluice.pid, 'SIGTERM');
    await sluice.waitForLog(/shutting down/, 10_000);
    const exit = await sluice.stop('SIGTERM', EXIT_MARGIN_MS);
    expect(exit, tail(sluice.logs())).toEqual({ code: 143, signal: null });
    expect(sluice.logs()).toContain('second signal');
    await restartEverythingAndCheck(servers, stream, sent);
  }, 180_000);
});
