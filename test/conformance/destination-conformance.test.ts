import { createHash, randomBytes } from 'node:crypto';

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  CreateDeliveryStreamCommand,
  PutRecordBatchCommand,
  type FirehoseClient,
  type ProcessingConfiguration,
} from '@aws-sdk/client-firehose';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { DESTINATION_KINDS, kindByCreateMember } from '../../src/destinations/registry.js';
import { Cleanups, cleanupAfterAll, eventually, startRedis, tempDir } from '../support/e2e.js';
import { streamKeys } from '../../src/streams/keys.js';
import type { RedisServer } from '../support/redis-server.js';
import { uniqueName } from '../support/unique.js';
import type {
  DeliveredWrite,
  DestinationHarness,
  DestinationTarget,
  ErrorOutputObject,
  StreamOptions,
} from './destination-harness.js';
import { httpEndpointHarness } from './http-endpoint-harness.js';
import { localDirectoryHarness } from './local-directory-harness.js';
import { openSearchHarness } from './opensearch-harness.js';
import { postgresHarness } from './postgres-harness.js';
import { s3rverHarness } from './s3rver-harness.js';
import {
  firehoseClient,
  startChild,
  startInProcess,
  type SluiceUnderTest,
} from './sluice-under-test.js';
import { deadBatchContents, endedAttempts, streamState } from './stream-state.js';

/**
 * One conformance suite for every registered destination, each against its real server: the
 * same scenarios, with the expectations Firehose's semantics give each destination. S3
 * destinations keep what they cannot deliver in Sluice's Redis dead set; destinations with an
 * S3 error bucket write it to the error output there.
 *
 * Sluice runs in this process where no signal is involved, and as a child process for SIGKILL
 * and SIGTERM. All of them share one private Redis (in-process workers take every stream of
 * the Redis they serve, so the shared one is out), emptied after each test.
 */

const HARNESSES: readonly DestinationHarness[] = [
  localDirectoryHarness('S3DestinationConfiguration'),
  s3rverHarness('ExtendedS3DestinationConfiguration'),
  httpEndpointHarness(),
  openSearchHarness('AmazonopensearchserviceDestinationConfiguration'),
  openSearchHarness('ElasticsearchDestinationConfiguration'),
  postgresHarness(),
];

/** The transform kit as built, for transforms written to a temporary directory. */
const KIT_URL = new URL('../../dist/src/processors/transforms/transform-kit.js', import.meta.url)
  .href;

/** How long a restarted process may take to take over the jobs a killed one held. */
const TAKEOVER_DRAIN_MS = 75_000;
/** Bound on a test that kills or stops a child process and starts another. */
const PROCESS_TEST_MS = 150_000;
/** Failed attempts a retry test waits for before the destination recovers. */
const FAILED_ATTEMPTS = 3;

const file = cleanupAfterAll();
const cleanups = new Cleanups();
let redisServer: RedisServer;
let redis: Redis;

beforeAll(async () => {
  redisServer = await startRedis(file);
  redis = new Redis(redisServer.url, { maxRetriesPerRequest: 2 });
  file.add(() => redis.quit());
});

afterEach(async () => {
  await cleanups.run();
  // Nothing a test leaves (a stream, a dead batch, a queue) reaches the next one.
  await redis.flushall();
});

describe('the conformance harnesses', () => {
  it('cover every registered destination kind', () => {
    const covered = new Set<string>(HARNESSES.map((h) => h.member));
    const registered = DESTINATION_KINDS.map((k) => k.createMember);
    expect(registered.filter((member) => !covered.has(member))).toEqual([]);
  });
});

describe.each(HARNESSES)('$name', (harness) => {
  const kind = kindByCreateMember(harness.member);
  const routing = harness.failureRouting;
  const slowAnswers = harness.inFlightWindow === 'slow-answer';
  /** The destination keeps JSON documents: records meant to be delivered are JSON objects. */
  const documents = harness.records === 'json-documents';

  beforeAll(() => harness.start());
  afterAll(() => harness.stop());

  /** A fresh target, closed after the test. */
  async function newTarget(): Promise<DestinationTarget> {
    const target = await harness.target();
    cleanups.add(() => target.close());
    return target;
  }

  /** The environment of a Sluice delivering to this harness, on the private Redis. */
  function sluiceEnv(extra: Record<string, string> = {}): Record<string, string> {
    return { ...harness.env(), SLUICE_REDIS_URL: redisServer.url, ...extra };
  }

  it('declares what its destination kind does', () => {
    expect(kind, `${harness.member} is registered`).toBeDefined();
    expect(kind?.failureOutputType).toBe(
      routing.kind === 'error-output' ? routing.type : undefined,
    );
    const partial = harness.partialRetry;
    expect(kind?.maxRecordsPerRequest).toBe(
      'maxRecordsPerRequest' in partial ? partial.maxRecordsPerRequest : undefined,
    );
  });

  it('delivers every record byte for byte and in order, once: text, binary, empty and large records', async () => {
    const target = await newTarget();
    const sluice = await startInProcess(cleanups, sluiceEnv());
    const client = firehoseClient(cleanups, sluice);
    const stream = await createStream(client, target, { sizeMBs: 5, intervalSeconds: 1 });
    const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const first = documents
      ? [
          Buffer.from('{"n":1}\n'),
          Buffer.from('{}\n'),
          Buffer.from(`{"bytes":"${allBytes.toString('base64')}"}\n`),
          Buffer.from('{"text":"ünïcødé ✓ 𝄞"}\n', 'utf8'),
        ]
      : [
          Buffer.from('{"n":1}\n'),
          Buffer.alloc(0),
          allBytes,
          Buffer.from('ünïcødé ✓ 𝄞\r\n', 'utf8'),
        ];
    const second = documents
      ? [
          Buffer.from(`{"large":"${randomBytes(300_000).toString('base64')}"}\n`),
          Buffer.from('{}\n'),
          Buffer.from('{"last":true}\n'),
        ]
      : [randomBytes(300_000), Buffer.alloc(0), Buffer.from('last, no newline')];
    // Two requests a few milliseconds apart: one batch, sealed by age.
    await put(client, stream, first);
    await put(client, stream, second);
    await waitForDrain(stream, sluice);

    const sent = [...first, ...second];
    const writes = await target.delivered();
    expect(writes.map((w) => w.identity)).toHaveLength(1);
    const write = writes[0] as DeliveredWrite;
    expectSameBytes(write.bytes, Buffer.concat(sent), 'the delivered bytes');
    if (write.records !== undefined) {
      expect(write.records.map((r) => r.length)).toEqual(sent.map((r) => r.length));
      write.records.forEach((r, i) => expectSameBytes(r, sent[i] as Buffer, `record ${i}`));
    }
    expect(await target.errorOutput()).toEqual([]);
    expect(await streamState(redis, stream)).toMatchObject({ dead: 0, deliveredBatches: 1 });
  });

  it(
    'after a SIGKILL in the middle of a delivery and a restart, delivers every record once, a repeat rewriting the same identity',
    async () => {
      const target = await newTarget();
      const env = sluiceEnv();
      const first = await startChild(cleanups, env);
      const client = firehoseClient(cleanups, first);
      let sent: Buffer[];
      let stream: string;
      let batches: number;
      if (slowAnswers) {
        // The destination takes each write and answers a second later, after the kill.
        target.slowDeliveries(1_000);
        stream = await createStream(client, target, { sizeMBs: 1, intervalSeconds: 0 });
        const a = jsonLines('kill-a', 100, 200);
        const b = jsonLines('kill-b', 100, 200);
        await put(client, stream, a);
        await put(client, stream, b);
        sent = [...a, ...b];
        batches = 2;
      } else {
        // Nothing can be slowed: one batch of 36 MB, whose write takes tens of milliseconds.
        stream = await createStream(client, target, { sizeMBs: 32, intervalSeconds: 900 });
        sent = [];
        for (let i = 0; i < 9; i++) {
          const records = jsonLines(`kill-${i}`, 500, 8_000);
          await put(client, stream, records);
          sent.push(...records);
        }
        batches = 1;
      }
      await target.deliveryInFlight(30_000);
      await first.kill();
      const killed = await streamState(redis, stream);
      expect(killed.backlogRecords, 'records still undelivered when the kill landed').toBe(
        sent.length,
      );

      await target.recover();
      const second = await startChild(cleanups, env);
      await waitForDrain(stream, second, TAKEOVER_DRAIN_MS);
      const writes = await target.delivered();
      expectExactlyOnce(sent, writes);
      expect(new Set(writes.map((w) => w.identity)).size, 'one identity per batch').toBe(batches);
      expect(await streamState(redis, stream)).toMatchObject({
        dead: 0,
        deliveredBatches: batches,
      });
      const attempts = target.attempts();
      if (attempts !== undefined) {
        const tries = countBy(attempts.map((a) => a.identity));
        expect(
          Math.max(...tries.values()),
          'the batch caught in flight was written again, under its identity',
        ).toBeGreaterThanOrEqual(2);
        expect(tries.size).toBe(batches);
      }
    },
    PROCESS_TEST_MS,
  );

  /** Whether the kind takes ProcessingConfiguration (Firehose's plain S3 destination does not). */
  const processes = 'ProcessingConfiguration' in (kind?.createSchema as { shape?: object }).shape!;

  it(
    processes
      ? 'after a SIGKILL in the middle of processing and a restart, delivers every transformed record once'
      : 'has no ProcessingConfiguration (Firehose’s plain S3 destination): processing does not apply',
    async () => {
      if (!processes) {
        expect(harness.member).toBe('S3DestinationConfiguration');
        return;
      }
      const target = await newTarget();
      const transforms = await tempDir(cleanups, 'sluice-conformance-transforms-');
      // The tag goes inside a JSON document, so that it stays one.
      const [tag, skip]: [string, number] = documents ? ['{"T":1,', 1] : ['T:', 0];
      // A transform slow enough (about 1 ms a record) for the kill to land while it runs.
      await writeFile(
        join(transforms, 'tag.mjs'),
        `import { defineTransform } from '${KIT_URL}';
export default defineTransform({ decode: 'bytes', record(data) {
  const until = performance.now() + 1;
  while (performance.now() < until);
  return Buffer.concat([Buffer.from(${JSON.stringify(tag)}), data.subarray(${skip})]);
} });
`,
      );
      const env = sluiceEnv({ SLUICE_TRANSFORMS_DIR: transforms });
      const first = await startChild(cleanups, env);
      const client = firehoseClient(cleanups, first);
      const stream = await createStream(
        client,
        target,
        { sizeMBs: 1, intervalSeconds: 1 },
        {
          Enabled: true,
          Processors: [
            {
              Type: 'Lambda',
              Parameters: [
                { ParameterName: 'LambdaArn', ParameterValue: 'sluice:transform:tag' },
                { ParameterName: 'BufferSizeInMBs', ParameterValue: '0.2' },
                { ParameterName: 'BufferIntervalInSeconds', ParameterValue: '0' },
              ],
            },
          ],
        },
      );
      const sent: Buffer[] = [];
      const requests = 10;
      for (let i = 0; i < requests; i++) {
        const records = jsonLines(`process-${i}`, 300, 1_000);
        await put(client, stream, records);
        sent.push(...records);
      }
      // Each request is a batch of its own (BufferIntervalInSeconds 0); kill once two are
      // processed and before all are.
      await eventually('two batches processed', async () => (await processedBatches(stream)) >= 2, {
        timeoutMs: 30_000,
        state: () => first.logs(),
      });
      await first.kill();
      expect(await processedBatches(stream), 'batches processed when the kill landed').toBeLessThan(
        requests,
      );

      const second = await startChild(cleanups, env);
      await waitForDrain(stream, second, TAKEOVER_DRAIN_MS);
      const transformed = sent.map((record) =>
        Buffer.concat([Buffer.from(tag), record.subarray(skip)]),
      );
      expectExactlyOnce(transformed, await target.delivered());
      expect(await streamState(redis, stream)).toMatchObject({ dead: 0 });
      expect(await processedBatches(stream)).toBe(requests);
    },
    PROCESS_TEST_MS,
  );

  /** How many of the stream's batches were processed whole into its partition buffers. */
  async function processedBatches(stream: string): Promise<number> {
    return Number((await redis.hget(streamKeys(stream).stats, 'processedBatches')) ?? 0);
  }

  it('retries a failing delivery and, once the destination recovers, delivers every record once under one identity', async () => {
    const target = await newTarget();
    await target.failRetryable();
    const sluice = await startInProcess(cleanups, sluiceEnv());
    const client = firehoseClient(cleanups, sluice);
    const stream = await createStream(client, target, { sizeMBs: 1, intervalSeconds: 0 });
    const sent = jsonLines('retry', 50, 100);
    await put(client, stream, sent);
    await eventually(
      `${FAILED_ATTEMPTS} failed delivery attempts`,
      async () => (await endedAttempts(redis, stream)) >= FAILED_ATTEMPTS,
      { state: () => sluice.logs() },
    );
    expect(await target.delivered()).toEqual([]);

    await target.recover();
    await waitForDrain(stream, sluice);
    const writes = await target.delivered();
    expectExactlyOnce(sent, writes);
    expect(writes).toHaveLength(1);
    const attempts = target.attempts();
    if (attempts !== undefined) {
      expect(new Set(attempts.map((a) => a.identity)).size, 'one identity on every attempt').toBe(
        1,
      );
      expect(attempts.filter((a) => !a.accepted).length).toBeGreaterThanOrEqual(FAILED_ATTEMPTS);
      expect(attempts.filter((a) => a.accepted)).toHaveLength(1);
    }
    expect(await streamState(redis, stream)).toMatchObject({ dead: 0, deliveredBatches: 1 });
  });

  const partial = harness.partialRetry;
  if ('notApplicable' in partial) {
    it(`partial retry does not apply: ${partial.notApplicable}`, () => {
      expect(kind?.maxRecordsPerRequest).toBeUndefined();
      expect(kind?.planPart === undefined, 'the kind has no planPart').toBe(true);
    });
  } else {
    const max = partial.maxRecordsPerRequest;
    it.each([
      { which: 'first', outcomes: ['retryable', 'ok'] as const },
      { which: 'second', outcomes: ['ok', 'retryable'] as const },
    ])(
      `sends a batch of over ${max} records as several requests and, when the $which fails, resends only its records under its own identity`,
      async ({ outcomes }) => {
        const target = await newTarget();
        const sluice = await startInProcess(cleanups, sluiceEnv());
        const client = firehoseClient(cleanups, sluice);
        // 100-byte records: the request that crosses 1 MiB (the 21st) seals the batch.
        const stream = await createStream(client, target, { sizeMBs: 1, intervalSeconds: 900 });
        target.scriptRequests?.(outcomes);
        const sent = jsonLines('split', max + 500, 100);
        for (let i = 0; i < sent.length; i += 500)
          await put(client, stream, sent.slice(i, i + 500));
        await waitForDrain(stream, sluice);

        const attempts = target.attempts() ?? [];
        const failed = outcomes.indexOf('retryable');
        const succeeded = 1 - failed;
        expect(attempts.map((a) => a.records)).toEqual([max, 500, failed === 0 ? max : 500]);
        const [one, two, retry] = attempts;
        expect(one?.identity).not.toBe(two?.identity);
        expect(retry?.identity, 'the retry keeps the failed request identity').toBe(
          attempts[failed]?.identity,
        );
        expect(retry?.accepted).toBe(true);
        expect(attempts[succeeded]?.accepted).toBe(true);

        const writes = await target.delivered();
        expectExactlyOnce(sent, writes);
        const byIdentity = new Map(writes.map((w) => [w.identity, w]));
        expectRecords(byIdentity.get(one?.identity ?? '')?.records, sent.slice(0, max));
        expectRecords(byIdentity.get(two?.identity ?? '')?.records, sent.slice(max));
        expect(await target.errorOutput()).toEqual([]);
        expect(await streamState(redis, stream)).toMatchObject({ dead: 0, deliveredBatches: 1 });
      },
    );
  }

  /** Records of every kind an error output or dead set must keep exactly. */
  function failingRecords(run: string): Buffer[] {
    return [...jsonLines(run, 10, 60), Buffer.from([0, 1, 2, 255, 10, 13]), Buffer.alloc(0)];
  }

  if (routing.kind === 'error-output') {
    it(`sends a batch the destination refuses for good to the error output at once, without a retry (${routing.type})`, async () => {
      const target = await newTarget();
      await target.failPermanent();
      const sluice = await startInProcess(cleanups, sluiceEnv());
      const client = firehoseClient(cleanups, sluice);
      const stream = await createStream(client, target, { sizeMBs: 1, intervalSeconds: 0 });
      const sent = failingRecords('permanent');
      await put(client, stream, sent);
      const objects = await waitForErrorOutput(target, stream, sluice, sent.length);

      expect(objects).toHaveLength(1);
      const [object] = objects as [ErrorOutputObject];
      expect(object.key).toContain(`${routing.type}/`);
      expectRecords(
        object.records.map((r) => r.rawData),
        sent,
      );
      for (const record of object.records) {
        expect(record.code).toBe(routing.permanentCode);
        expect(record.message).toMatch(routing.permanentMessage ?? /413/);
      }
      expect(object.lines.map((l) => l.attemptsMade)).toEqual(sent.map(() => 1));
      expect(target.attempts(), 'one attempt, no retry').toHaveLength(1);
      expect(await endedAttempts(redis, stream), 'one attempt, no retry').toBe(1);
      expect(await target.delivered()).toEqual([]);
      expect(await streamState(redis, stream)).toMatchObject({ dead: 0, backlogRecords: 0 });
    });

    it(`writes the records to the error output once the retry window ends (${routing.type})`, async () => {
      const target = await newTarget();
      await target.failRetryable();
      const sluice = await startInProcess(cleanups, sluiceEnv());
      const client = firehoseClient(cleanups, sluice);
      const stream = await createStream(client, target, {
        sizeMBs: 1,
        intervalSeconds: 0,
        retrySeconds: 1,
      });
      const sent = failingRecords('window');
      await put(client, stream, sent);
      const objects = await waitForErrorOutput(target, stream, sluice, sent.length);

      const attempts = target.attempts() ?? [];
      expect(attempts.length).toBeGreaterThanOrEqual(2);
      expect(new Set(attempts.map((a) => a.identity)).size, 'one identity on every attempt').toBe(
        1,
      );
      expect(attempts.filter((a) => a.accepted)).toEqual([]);
      expect(objects).toHaveLength(1);
      const [object] = objects as [ErrorOutputObject];
      expectRecords(
        object.records.map((r) => r.rawData),
        sent,
      );
      for (const record of object.records) {
        expect(record.code).toBe(routing.retryableCode);
        expect(record.message).toMatch(/window\b.* ended after \d+ attempts/);
      }
      expect(object.lines.map((l) => l.attemptsMade)).toEqual(sent.map(() => attempts.length));
      expect(await target.delivered()).toEqual([]);
      expect(await streamState(redis, stream)).toMatchObject({ dead: 0, backlogRecords: 0 });
    });

    it('keeps a batch queued while its error output cannot be written, and writes it exactly once when it can', async () => {
      const target = await newTarget();
      const faults = target.errorOutputFaults;
      if (faults === undefined) throw new Error(`${harness.name} has no error-output faults`);
      await target.failPermanent();
      await faults.break();
      const sluice = await startInProcess(cleanups, sluiceEnv());
      const client = firehoseClient(cleanups, sluice);
      const stream = await createStream(client, target, { sizeMBs: 1, intervalSeconds: 0 });
      const sent = failingRecords('kept');
      await put(client, stream, sent);
      await eventually(
        '2 failed attempts to write the error output',
        async () => (await endedAttempts(redis, stream)) >= 2,
        { state: () => sluice.logs() },
      );
      expect(await streamState(redis, stream)).toMatchObject({
        dead: 0,
        backlogRecords: sent.length,
        deliveredBatches: 0,
      });
      expect(await target.errorOutput()).toEqual([]);
      expect(target.attempts(), 'the refused batch is not sent again').toHaveLength(1);

      // The stuck error-output write holds back its own stream only.
      const healthy = await newTarget();
      const flowing = await createStream(client, healthy, { sizeMBs: 1, intervalSeconds: 0 });
      const others = documents ? jsonLines('flowing', 12, 60) : failingRecords('flowing');
      await put(client, flowing, others);
      await waitForDrain(flowing, sluice);
      expectExactlyOnce(others, await healthy.delivered());
      expect(await streamState(redis, stream)).toMatchObject({ backlogRecords: sent.length });

      await faults.repair();
      const objects = await waitForErrorOutput(target, stream, sluice, sent.length);
      expect(objects).toHaveLength(1);
      expectRecords(
        (objects[0] as ErrorOutputObject).records.map((r) => r.rawData),
        sent,
      );
      expect(await target.delivered()).toEqual([]);
      expect(target.attempts(), 'the refused batch is not sent again').toHaveLength(1);
      expect(await streamState(redis, stream)).toMatchObject({ dead: 0, deliveredBatches: 1 });
    });
  } else {
    it('keeps a batch no retry can deliver in the dead set at once, says why, and writes no error output', async () => {
      const target = await newTarget();
      await target.failPermanent();
      const sluice = await startInProcess(cleanups, sluiceEnv());
      const client = firehoseClient(cleanups, sluice);
      const stream = await createStream(client, target, { sizeMBs: 1, intervalSeconds: 0 });
      const sent = failingRecords('permanent');
      await put(client, stream, sent);
      const dead = await waitForDeadSet(stream, sluice);

      expect(dead).toHaveLength(1);
      const [batch] = dead as [(typeof dead)[number]];
      expect(batch.reason).toContain(routing.permanentCode);
      expect(batch.reason).toMatch(/permanent failure/);
      expect(batch.reason).toMatch(/dead set/);
      expectRecords(batch.records, sent);
      expect(await endedAttempts(redis, stream), 'one attempt, no retry').toBe(1);
      expect((target.attempts() ?? []).length, 'no retry').toBeLessThanOrEqual(1);
      expect(await target.delivered()).toEqual([]);
      expect(await target.errorOutput()).toEqual([]);
      expect(await streamState(redis, stream)).toMatchObject({ backlogRecords: 0 });
    });

    it('keeps a batch in the dead set once its retention ends, says why, and writes no error output', async () => {
      const target = await newTarget();
      await target.failRetryable();
      const sluice = await startInProcess(cleanups, sluiceEnv({ SLUICE_RETENTION_SECONDS: '3' }));
      const client = firehoseClient(cleanups, sluice);
      const stream = await createStream(client, target, { sizeMBs: 1, intervalSeconds: 0 });
      const sent = failingRecords('retention');
      await put(client, stream, sent);
      const dead = await waitForDeadSet(stream, sluice);

      expect(dead).toHaveLength(1);
      const [batch] = dead as [(typeof dead)[number]];
      const ended = /window\b.* ended after (\d+) attempts/.exec(batch.reason);
      expect(ended, batch.reason).not.toBeNull();
      const attemptsMade = Number(ended?.[1]);
      expect(attemptsMade).toBeGreaterThanOrEqual(2);
      expect(batch.reason).toMatch(routing.retryableReason);
      expect(batch.reason).toMatch(/dead set/);
      expectRecords(batch.records, sent);
      const attempts = target.attempts();
      if (attempts !== undefined) {
        expect(attempts).toHaveLength(attemptsMade);
        expect(new Set(attempts.map((a) => a.identity)).size).toBe(1);
      }
      expect(await target.delivered()).toEqual([]);
      expect(await target.errorOutput()).toEqual([]);
      expect(await streamState(redis, stream)).toMatchObject({ backlogRecords: 0 });
    });

    it('has no error output whose failure could hold a batch: its failures stay in Redis', () => {
      expect(kind?.failureOutputType).toBeUndefined();
    });
  }

  it(
    'on SIGTERM with a batch in flight and records buffered, exits 0 in time, and with a restart delivers every record once',
    async () => {
      const target = await newTarget();
      const env = sluiceEnv({ SLUICE_SHUTDOWN_TIMEOUT_MS: '10000' });
      const first = await startChild(cleanups, env);
      const client = firehoseClient(cleanups, first);
      const stream = await createStream(client, target, { sizeMBs: 1, intervalSeconds: 1 });
      target.slowDeliveries(1_500);
      // Over 1 MiB: sealed at once, and delivered (slowly, where that can be done).
      const inFlight = jsonLines('flight', 300, 4_000);
      await put(client, stream, inFlight);
      if (slowAnswers) await target.deliveryInFlight(30_000);
      // Buffered: the seal ticker stops before its second is up.
      const buffered = jsonLines('buffered', 20, 100);
      await put(client, stream, buffered);
      const exit = await first.stop('SIGTERM', 15_000);
      expect(exit, first.logs()).toEqual({ code: 0, signal: null });
      if (slowAnswers) {
        // The delivery in flight was finished before the exit.
        expectExactlyOnce(inFlight, await target.delivered());
        expect(await streamState(redis, stream)).toMatchObject({
          open: true,
          backlogRecords: buffered.length,
        });
      }

      await target.recover();
      const second = await startChild(cleanups, env);
      await waitForDrain(stream, second);
      expectExactlyOnce([...inFlight, ...buffered], await target.delivered());
      expect(await streamState(redis, stream)).toMatchObject({ dead: 0, deliveredBatches: 2 });
    },
    PROCESS_TEST_MS,
  );

  /** Waits until the stream's records have all left the backlog; a dead batch fails at once. */
  async function waitForDrain(stream: string, sluice: SluiceUnderTest, timeoutMs = 30_000) {
    await eventually(
      `the backlog of ${stream} to drain`,
      async () => {
        const state = await streamState(redis, stream);
        if (state.dead > 0) throw new Error(`a batch was dead-lettered\n${sluice.logs()}`);
        return state.backlogRecords === 0 && !state.open;
      },
      {
        timeoutMs,
        state: async () =>
          `${JSON.stringify(await streamState(redis, stream))}\n--- sluice log ---\n${sluice.logs()}`,
      },
    );
  }

  /** Waits until the stream's dead set holds a batch, and returns the set's contents. */
  async function waitForDeadSet(stream: string, sluice: SluiceUnderTest) {
    await eventually(
      `a dead-lettered batch of ${stream}`,
      async () => (await streamState(redis, stream)).dead > 0,
      { timeoutMs: 20_000, state: () => sluice.logs() },
    );
    return deadBatchContents(redis, stream);
  }

  /**
   * Waits until the error output holds `records` records and the backlog is empty (the batch
   * completed), and returns the objects.
   */
  async function waitForErrorOutput(
    target: DestinationTarget,
    stream: string,
    sluice: SluiceUnderTest,
    records: number,
  ): Promise<ErrorOutputObject[]> {
    return eventually(
      `${records} records in the error output`,
      async () => {
        const objects = await target.errorOutput();
        const written = objects.reduce((sum, o) => sum + o.records.length, 0);
        const state = await streamState(redis, stream);
        return written >= records && state.backlogRecords === 0 ? objects : undefined;
      },
      { timeoutMs: 20_000, state: () => sluice.logs() },
    );
  }
});

/** Creates a stream delivering to `target` and returns its name. */
async function createStream(
  client: FirehoseClient,
  target: DestinationTarget,
  options: StreamOptions,
  processing?: ProcessingConfiguration,
): Promise<string> {
  const name = uniqueName('conformance');
  const members = target.members(options);
  if (processing !== undefined) {
    for (const member of Object.values(members) as unknown[]) {
      (member as { ProcessingConfiguration?: ProcessingConfiguration }).ProcessingConfiguration =
        processing;
    }
  }
  await client.send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: name,
      DeliveryStreamType: 'DirectPut',
      ...members,
    }),
  );
  return name;
}

/** One PutRecordBatch; every record must be acknowledged. */
async function put(client: FirehoseClient, stream: string, records: readonly Buffer[]) {
  const out = await client.send(
    new PutRecordBatchCommand({
      DeliveryStreamName: stream,
      Records: records.map((data) => ({ Data: data })),
    }),
  );
  expect(out.FailedPutCount, JSON.stringify(out.RequestResponses?.find((r) => r.ErrorCode))).toBe(
    0,
  );
}

/**
 * `count` newline-terminated JSON records of `bytes` bytes each (at least what the id takes),
 * unique by their id `<run>-<n>`.
 */
function jsonLines(run: string, count: number, bytes: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const bare = `{"id":"${run}-${i}","pad":""}\n`;
    const pad = 'x'.repeat(Math.max(0, bytes - bare.length));
    return Buffer.from(`{"id":"${run}-${i}","pad":"${pad}"}\n`);
  });
}

/** A write's records: as the destination kept them, or its bytes split after each `\n`. */
function recordsOf(write: DeliveredWrite): readonly Buffer[] {
  if (write.records !== undefined) return write.records;
  const records: Buffer[] = [];
  let start = 0;
  for (let end = write.bytes.indexOf(10); end >= 0; end = write.bytes.indexOf(10, start)) {
    records.push(write.bytes.subarray(start, end + 1));
    start = end + 1;
  }
  if (start < write.bytes.length) records.push(write.bytes.subarray(start));
  return records;
}

/**
 * Every record of `sent` delivered exactly once and unaltered, nothing else delivered, and a
 * write repeated under one identity carrying exactly what its first did.
 */
function expectExactlyOnce(sent: readonly Buffer[], writes: readonly DeliveredWrite[]): void {
  const first = new Map<string, DeliveredWrite>();
  const altered: string[] = [];
  for (const write of writes) {
    const earlier = first.get(write.identity);
    if (earlier === undefined) first.set(write.identity, write);
    else if (!earlier.bytes.equals(write.bytes)) altered.push(write.identity);
  }
  const delivered = countBy([...first.values()].flatMap(recordsOf).map(label));
  const expected = new Set(sent.map(label));
  const missing = [...expected].filter((r) => !delivered.has(r));
  const duplicated = [...delivered].filter(([r, n]) => expected.has(r) && n > 1).map(([r]) => r);
  const foreign = [...delivered.keys()].filter((r) => !expected.has(r));
  const first20 = (list: string[]) => list.slice(0, 20);
  expect(
    {
      altered,
      missing: first20(missing),
      missingCount: missing.length,
      duplicated: first20(duplicated),
      duplicatedCount: duplicated.length,
      foreign: first20(foreign),
    },
    `of ${sent.length} records sent, in ${writes.length} writes`,
  ).toEqual({
    altered: [],
    missing: [],
    missingCount: 0,
    duplicated: [],
    duplicatedCount: 0,
    foreign: [],
  });
}

/** `actual` holds exactly the records of `expected`, in order. */
function expectRecords(actual: readonly Buffer[] | undefined, expected: readonly Buffer[]): void {
  expect(actual?.map(label)).toEqual(expected.map(label));
}

/** Two buffers are equal; a difference is reported by its offset, not as megabytes of bytes. */
function expectSameBytes(actual: Buffer, expected: Buffer, what: string): void {
  let differsAt = -1;
  for (let i = 0; i < Math.max(actual.length, expected.length); i++) {
    if (actual[i] !== expected[i]) {
      differsAt = i;
      break;
    }
  }
  expect({ length: actual.length, differsAt }, what).toEqual({
    length: expected.length,
    differsAt: -1,
  });
}

/**
 * A record's readable stand-in that still tells any two different records apart: its id (JSON
 * records) or first bytes, its length and a digest of all its bytes.
 */
function label(record: Buffer): string {
  const id = /^\{"id":"([^"]+)"/.exec(record.toString('latin1'))?.[1];
  const shown = id ?? `bytes ${record.subarray(0, 16).toString('hex')}`;
  const digest = createHash('sha256').update(record).digest('hex').slice(0, 16);
  return `${shown} (${record.length} bytes, sha256 ${digest})`;
}

function countBy(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}
