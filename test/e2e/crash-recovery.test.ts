import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  CreateDeliveryStreamCommand,
  FirehoseClient,
  PutRecordBatchCommand,
} from '@aws-sdk/client-firehose';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';

import { streamKeys } from '../../src/streams/keys.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import { startSluice, type SluiceProcess } from '../support/sluice-process.js';
import { uniqueName } from '../support/unique.js';

/**
 * Non-negotiables 1 and 3 end to end: a SIGKILL of the only Sluice process, at moments when
 * batches are open, sealed, queued and being delivered, loses no acknowledged record and
 * duplicates none once a new process has taken over the same Redis.
 */

const RECORDS_PER_REQUEST = 100;
/** About 1 KiB per record, so a 1 MiB buffer seals every ten requests or so. */
const RECORD_PADDING = 1000;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/**
 * A job whose worker was killed is taken over once its lock expires and a stalled-job check
 * has seen it twice (about 20 s with the service's settings), so the drain wait allows more.
 */
const DRAIN_TIMEOUT_MS = 75_000;
const TEST_TIMEOUT_MS = 150_000;

/** Settings that keep sealing, retries and sweeping fast enough for a test. */
const FAST = {
  SLUICE_SEAL_TICK_MS: '50',
  SLUICE_RETRY_BASE_MS: '100',
  SLUICE_RETRY_MAX_MS: '1000',
  SLUICE_SWEEP_AFTER_MS: '500',
};

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  // Reverse order: clients and services before the servers they use.
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
    // One attempt: a request that dies with the process must count as unacknowledged, not be
    // retried into the next process where its fate would blur.
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  });
  cleanups.push(() => Promise.resolve(client.destroy()));
  return client;
}

async function startServers(): Promise<{ redisServer: RedisServer; s3: S3Server; redis: Redis }> {
  const [redisServer, s3] = await Promise.all([startRedisServer(), startS3Server()]);
  cleanups.push(
    () => redisServer.stop(),
    () => s3.stop(),
  );
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 2 });
  cleanups.push(() => redis.quit());
  return { redisServer, s3, redis };
}

async function startService(redisServer: RedisServer, s3: S3Server): Promise<SluiceProcess> {
  const sluice = await startSluice({
    env: { ...s3.sluiceEnv, ...FAST, SLUICE_REDIS_URL: redisServer.url },
  });
  cleanups.push(() => sluice.kill());
  return sluice;
}

async function createStream(client: FirehoseClient, bucket: string): Promise<string> {
  const name = uniqueName('crash');
  await client.send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: name,
      ExtendedS3DestinationConfiguration: {
        RoleARN: 'arn:aws:iam::000000000000:role/firehose',
        BucketARN: `arn:aws:s3:::${bucket}`,
        BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
      },
    }),
  );
  return name;
}

/** What the producer learnt about each record it sent. */
interface Tally {
  /** Records answered with a RecordId: Sluice promised they are durable. */
  acked: Map<string, string>;
  /** Records whose request failed or was refused: they may or may not have been stored. */
  unacked: Map<string, string>;
  /** Requests answered with FailedPutCount 0. */
  ackedRequests: number;
  /** Errors seen while `killed` was still false: a healthy service should answer every request. */
  errorsBeforeKill: string[];
  killed: boolean;
}

function newTally(): Tally {
  return {
    acked: new Map(),
    unacked: new Map(),
    ackedRequests: 0,
    errorsBeforeKill: [],
    killed: false,
  };
}

/** One newline-terminated JSON record with a unique id. */
function recordText(id: string): string {
  return `${JSON.stringify({ id, pad: 'x'.repeat(RECORD_PADDING) })}\n`;
}

/**
 * Sends PutRecordBatch requests of {@link RECORDS_PER_REQUEST} records from `lanes` concurrent
 * loops until `maxRequests` were sent or `stop()` says so, and files every record in `tally`.
 */
async function produce(options: {
  client: FirehoseClient;
  stream: string;
  run: string;
  lanes: number;
  maxRequests: number;
  /** Pause of each lane between requests, to shape the load (never asserted on). */
  pauseMs: number;
  stop: () => boolean;
  tally: Tally;
}): Promise<void> {
  const { client, stream, run, tally } = options;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (!options.stop() && next < options.maxRequests) {
      const request = next;
      next += 1;
      const records = Array.from({ length: RECORDS_PER_REQUEST }, (_, i) => {
        const id = `${run}-${request * RECORDS_PER_REQUEST + i}`;
        return { id, text: recordText(id) };
      });
      try {
        const out = await client.send(
          new PutRecordBatchCommand({
            DeliveryStreamName: stream,
            Records: records.map((r) => ({ Data: Buffer.from(r.text) })),
          }),
        );
        const answers = out.RequestResponses ?? [];
        records.forEach((r, i) => {
          const answer = answers[i];
          const ok =
            answers.length === records.length &&
            answer?.RecordId !== undefined &&
            answer.ErrorCode === undefined;
          (ok ? tally.acked : tally.unacked).set(r.id, r.text);
        });
        if (out.FailedPutCount === 0) tally.ackedRequests += 1;
      } catch (error) {
        for (const r of records) tally.unacked.set(r.id, r.text);
        if (!tally.killed) tally.errorsBeforeKill.push(String(error));
      }
      if (options.pauseMs > 0) await sleep(options.pauseMs);
    }
  };
  await Promise.all(Array.from({ length: options.lanes }, lane));
}

/** Polls `check` every 100 ms until it is true; fails with `describe()` and the log tail. */
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

/**
 * Waits until every accepted record of `stream` has left the backlog: nothing open, the
 * backlog counter at 0. Fails at once if a batch was dead-lettered, which here means lost.
 */
async function waitForDrain(redis: Redis, stream: string, sluice: SluiceProcess): Promise<void> {
  const keys = streamKeys(stream);
  const state = async () => {
    const [backlog, open, sealed, dead] = await Promise.all([
      redis.hget(keys.stats, 'backlogRecords'),
      redis.exists(keys.open),
      redis.zcard(keys.sealed),
      redis.zcard(keys.dead),
    ]);
    return { backlog, open, sealed, dead };
  };
  await waitUntil(
    `the backlog of ${stream} to drain`,
    async () => {
      const s = await state();
      if (s.dead > 0) {
        throw new Error(
          `${s.dead} batch(es) of ${stream} were dead-lettered\n--- sluice log tail ---\n${tail(sluice.logs())}`,
        );
      }
      return s.backlog === '0' && s.open === 0;
    },
    DRAIN_TIMEOUT_MS,
    sluice,
    async () => JSON.stringify(await state()),
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A delivered record: the object it is in and its bytes (newline included). */
interface Delivered {
  key: string;
  text: string;
}

/**
 * Reads every object in `bucket` and splits it into records. Every object must have
 * Firehose's key layout and end at a record boundary.
 */
async function deliveredRecords(
  s3: S3Server,
  bucket: string,
  stream: string,
): Promise<{ keys: string[]; byId: Map<string, Delivered[]> }> {
  // The date path is the hour of the batch's oldest record, and so is the name's timestamp.
  const layout = new RegExp(
    `^(\\d{4})/(\\d{2})/(\\d{2})/(\\d{2})/${escapeRegExp(stream)}-\\d+-\\1-\\2-\\3-\\4-\\d{2}-\\d{2}-${UUID}$`,
  );
  const keys = await s3.listKeys(bucket);
  const byId = new Map<string, Delivered[]>();
  for (const key of keys) {
    expect(key).toMatch(layout);
    const body = (await s3.getObject(bucket, key)).body.toString('utf8');
    expect(body.endsWith('\n'), `${key} ends inside a record`).toBe(true);
    for (const line of body.slice(0, -1).split('\n')) {
      const id = (JSON.parse(line) as { id: string }).id;
      const seen = byId.get(id) ?? [];
      seen.push({ key, text: `${line}\n` });
      byId.set(id, seen);
    }
  }
  return { keys, byId };
}

/**
 * Every acknowledged record delivered exactly once and byte for byte, no record twice,
 * nothing delivered that was never sent.
 */
function checkExactlyOnce(tally: Tally, byId: Map<string, Delivered[]>): void {
  const missing: string[] = [];
  const altered: string[] = [];
  for (const [id, text] of tally.acked) {
    const copies = byId.get(id);
    if (copies === undefined) missing.push(id);
    else if (copies[0]?.text !== text) altered.push(id);
  }
  const duplicated = [...byId]
    .filter(([, copies]) => copies.length > 1)
    .map(([id, copies]) => `${id} in ${copies.map((c) => c.key).join(', ')}`);
  const foreign = [...byId.keys()].filter((id) => !tally.acked.has(id) && !tally.unacked.has(id));
  const first = (list: string[]) => list.slice(0, 20);
  expect(
    {
      missing: first(missing),
      missingCount: missing.length,
      duplicated: first(duplicated),
      duplicatedCount: duplicated.length,
      altered: first(altered),
      foreign: first(foreign),
    },
    `of ${tally.acked.size} acknowledged records`,
  ).toEqual({
    missing: [],
    missingCount: 0,
    duplicated: [],
    duplicatedCount: 0,
    altered: [],
    foreign: [],
  });
}

describe('crash recovery', () => {
  it(
    'a SIGKILL of Sluice after acknowledgements and a restart deliver every acknowledged record exactly once',
    async () => {
      const { redisServer, s3, redis } = await startServers();
      const bucket = 'crash-recovery';
      await s3.createBucket(bucket);
      const first = await startService(redisServer, s3);
      const stream = await createStream(firehoseFor(first), bucket);

      const tally = newTally();
      const run = randomBytes(4).toString('hex');
      // Paced so that production is still going when the kill comes: requests are in
      // flight, a buffer is open and batches are sealed, queued and being delivered.
      const producing = produce({
        client: firehoseFor(first),
        stream,
        run,
        lanes: 2,
        maxRequests: 400,
        pauseMs: 20,
        stop: () => tally.killed,
        tally,
      });
      // Kill once the worker is demonstrably delivering (two batches done) and enough is
      // acknowledged for several more batches to be open, queued or in flight.
      const delivered = async () =>
        Number((await redis.hget(streamKeys(stream).stats, 'deliveredBatches')) ?? 0);
      await waitUntil(
        '30 acknowledged requests and 2 delivered batches',
        async () =>
          tally.errorsBeforeKill.length > 0 ||
          (tally.ackedRequests >= 30 && (await delivered()) >= 2),
        30_000,
        first,
        async () =>
          `(acknowledged requests: ${tally.ackedRequests}, delivered batches: ${await delivered()})`,
      );
      expect(tally.errorsBeforeKill, 'requests failed before the kill').toEqual([]);
      await first.kill();
      tally.killed = true;
      await producing;
      expect(tally.acked.size).toBeGreaterThanOrEqual(30 * RECORDS_PER_REQUEST);

      const second = await startService(redisServer, s3);
      await waitForDrain(redis, stream, second);

      const { keys, byId } = await deliveredRecords(s3, bucket, stream);
      expect(keys.length, 'objects delivered').toBeGreaterThan(1);
      checkExactlyOnce(tally, byId);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a SIGKILL while deliveries fail and retry, then a fixed destination and a restart, deliver every acknowledged record exactly once',
    async () => {
      const { redisServer, s3, redis } = await startServers();
      // Not created yet: every delivery fails with NoSuchBucket, which Sluice retries.
      const bucket = 'created-late';
      const first = await startService(redisServer, s3);
      const stream = await createStream(firehoseFor(first), bucket);

      const tally = newTally();
      await produce({
        client: firehoseFor(first),
        stream,
        run: randomBytes(4).toString('hex'),
        lanes: 2,
        maxRequests: 30,
        pauseMs: 0,
        stop: () => false,
        tally,
      });
      expect(tally.errorsBeforeKill, 'requests failed before the kill').toEqual([]);
      expect(tally.acked.size).toBe(30 * RECORDS_PER_REQUEST);
      await first.waitForLog(/delivery failed; will retry/, 30_000);
      // Every batch is sealed and has been attempted at least once, so the kill hits jobs
      // that are delayed for their next attempt or running one.
      await waitUntil(
        'every batch to be sealed',
        async () => (await redis.exists(streamKeys(stream).open)) === 0,
        30_000,
        first,
      );
      await first.kill();
      tally.killed = true;

      await s3.createBucket(bucket);
      const second = await startService(redisServer, s3);
      await waitForDrain(redis, stream, second);

      const { byId } = await deliveredRecords(s3, bucket, stream);
      checkExactlyOnce(tally, byId);
      expect(tally.unacked.size).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );
});
