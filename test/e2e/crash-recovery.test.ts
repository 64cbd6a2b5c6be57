import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import type { FirehoseClient } from '@aws-sdk/client-firehose';
import { describe, expect, it } from 'vitest';

import { streamKeys } from '../../src/streams/keys.js';
import {
  cleanupAfterEach,
  createS3Stream,
  deliveredRecords,
  DRAIN_AFTER_TAKEOVER_MS,
  eventually,
  expectExactlyOnce,
  FAST,
  firehoseFor,
  objectKeyPattern,
  ONE_BOUNDED_ATTEMPT,
  putRecordBatch,
  RECORDS_PER_REQUEST,
  requestRecords,
  startServers,
  startService,
  waitForDrain,
  type Servers,
} from '../support/e2e.js';
import type { SluiceProcess } from '../support/sluice-process.js';

/**
 * Non-negotiables 1 and 3 end to end: a SIGKILL of the Sluice process started, at moments when
 * batches are open, sealed, queued and being delivered, loses no acknowledged record and
 * duplicates none once a new process has taken over the same Redis. With the default
 * `SLUICE_PROCESSES` that process is the supervisor, whose API and delivery processes then
 * exit by themselves; test/e2e/supervisor.test.ts kills a single child instead.
 */

const TEST_TIMEOUT_MS = 150_000;

const cleanups = cleanupAfterEach();

/** A Sluice process on `servers` with fast sealing, retries and sweeping. */
function startFastService(servers: Servers): Promise<SluiceProcess> {
  return startService(cleanups, { ...servers.sluiceEnv, ...FAST });
}

/** A stream into `bucket` that seals at 1 MiB or after a second. */
function createStream(client: FirehoseClient, bucket: string): Promise<string> {
  return createS3Stream(client, 'crash', bucket, {
    BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
  });
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
      const records = requestRecords(run, next);
      next += 1;
      try {
        const out = await putRecordBatch(
          client,
          stream,
          records.map((r) => r.text),
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

describe('crash recovery', () => {
  it(
    'a SIGKILL of Sluice after acknowledgements and a restart deliver every acknowledged record exactly once',
    async () => {
      const servers = await startServers(cleanups);
      const { s3, redis } = servers;
      const bucket = 'crash-recovery';
      await s3.createBucket(bucket);
      const first = await startFastService(servers);
      const stream = await createStream(firehoseFor(cleanups, first, ONE_BOUNDED_ATTEMPT), bucket);

      const tally = newTally();
      const run = randomBytes(4).toString('hex');
      // Paced so that production is still going when the kill comes: requests are in
      // flight, a buffer is open and batches are sealed, queued and being delivered.
      const producing = produce({
        client: firehoseFor(cleanups, first, ONE_BOUNDED_ATTEMPT),
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
      await eventually(
        '30 acknowledged requests and 2 delivered batches',
        async () =>
          tally.errorsBeforeKill.length > 0 ||
          (tally.ackedRequests >= 30 && (await delivered()) >= 2),
        {
          sluice: first,
          state: async () =>
            `(acknowledged requests: ${tally.ackedRequests}, delivered batches: ${await delivered()})`,
        },
      );
      expect(tally.errorsBeforeKill, 'requests failed before the kill').toEqual([]);
      await first.kill();
      tally.killed = true;
      await producing;
      expect(tally.acked.size).toBeGreaterThanOrEqual(30 * RECORDS_PER_REQUEST);

      const second = await startFastService(servers);
      await waitForDrain(redis, stream, second, DRAIN_AFTER_TAKEOVER_MS);

      const { keys, byId } = await deliveredRecords(s3, bucket, objectKeyPattern(stream));
      expect(keys.length, 'objects delivered').toBeGreaterThan(1);
      expectExactlyOnce(tally.acked, byId, tally.unacked);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a SIGKILL while deliveries fail and retry, then a fixed destination and a restart, deliver every acknowledged record exactly once',
    async () => {
      const servers = await startServers(cleanups);
      const { s3, redis } = servers;
      // Not created yet: every delivery fails with NoSuchBucket, which Sluice retries.
      const bucket = 'created-late';
      const first = await startFastService(servers);
      const stream = await createStream(firehoseFor(cleanups, first, ONE_BOUNDED_ATTEMPT), bucket);

      const tally = newTally();
      await produce({
        client: firehoseFor(cleanups, first, ONE_BOUNDED_ATTEMPT),
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
      await eventually(
        'every batch to be sealed',
        async () => (await redis.exists(streamKeys(stream).open)) === 0,
        { sluice: first },
      );
      await first.kill();
      tally.killed = true;

      await s3.createBucket(bucket);
      const second = await startFastService(servers);
      await waitForDrain(redis, stream, second, DRAIN_AFTER_TAKEOVER_MS);

      const { byId } = await deliveredRecords(s3, bucket, objectKeyPattern(stream));
      expectExactlyOnce(tally.acked, byId, tally.unacked);
      expect(tally.unacked.size).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );
});
