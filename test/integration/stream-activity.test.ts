import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import type { Job, Worker } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RecordBuffer } from '../../src/buffer/record-buffer.js';
import { SealSchedule } from '../../src/buffer/seal-schedule.js';
import { SealTicker } from '../../src/buffer/seal-ticker.js';
import { loadSettings } from '../../src/config/env.js';
import { BatchStore } from '../../src/delivery/batch-store.js';
import { DeliveryQueues, type DeliveryJobData } from '../../src/delivery/delivery-queues.js';
import type { DeliveryDriver } from '../../src/delivery/driver.js';
import { enqueueStranded } from '../../src/delivery/stranded-batches.js';
import { StreamWorkers, type StreamWorkersOptions } from '../../src/delivery/stream-workers.js';
import { encodeChunkFromBuffers } from '../../src/formats/chunk-frame.js';
import {
  ACTIVE_STREAMS_KEY,
  DELETING_STREAMS_KEY,
  SEAL_SCHEDULE_KEY,
  streamKeys,
} from '../../src/streams/keys.js';
import { StreamRegistry } from '../../src/streams/registry.js';
import { definitionFromCreateInput } from '../../src/streams/stream-definition.js';
import { eventually } from '../support/e2e.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { uniqueName } from '../support/unique.js';

/**
 * What an idle stream costs and how work finds the streams that have some: the seal schedule
 * (buffer/seal-schedule.ts) the ticker reads instead of visiting every stream, and the active
 * streams (delivery/active-streams.ts) delivery processes run workers for. Against a private
 * Redis, so that command counts are this test's alone.
 */

const GRACE_MS = 5_000;
const log = pino({ level: 'silent' });
let server: RedisServer;
let redis: Redis;
let queueConnection: Redis;

beforeAll(async () => {
  server = await startRedisServer({ appendOnly: false });
  redis = new Redis(server.url);
  queueConnection = new Redis(server.url, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  await redis.quit();
  await queueConnection.quit();
  await server.stop();
});

const settings = () => loadSettings({ SLUICE_REDIS_URL: server.url });

/** Creates a stream through the registry, buffering by `intervalSeconds`. */
async function createStream(registry: StreamRegistry, intervalSeconds = 60): Promise<string> {
  const name = uniqueName('activity');
  await registry.create(
    definitionFromCreateInput(
      {
        DeliveryStreamName: name,
        ExtendedS3DestinationConfiguration: {
          RoleARN: 'arn:aws:iam::000000000000:role/firehose',
          BucketARN: 'arn:aws:s3:::bucket',
          BufferingHints: { IntervalInSeconds: intervalSeconds, SizeInMBs: 1 },
        },
      },
      settings(),
      Date.now(),
    ),
  );
  return name;
}

function chunk(text: string) {
  const data = Buffer.from(text);
  return { chunk: encodeChunkFromBuffers(1000, [data]), bytes: data.length };
}

/** A ticker on the test's Redis whose hand-offs are recorded (and count as enqueued). */
function tickerFor(registry: StreamRegistry, buffer: RecordBuffer, queues?: DeliveryQueues) {
  const batches = new BatchStore(redis);
  const fallback = new DeliveryQueues(queueConnection, batches);
  return new SealTicker({
    buffer,
    schedule: new SealSchedule(redis, GRACE_MS),
    redis,
    streamNames: () => registry.listAllNames(),
    enqueueStranded: (stream, before) =>
      enqueueStranded(batches, queues ?? fallback, stream, before),
    tickMs: 1000,
    log,
  });
}

/** A buffer with the schedule whose hand-offs are recorded and marked enqueued. */
function scheduledBuffer(schedule = new SealSchedule(redis, GRACE_MS)) {
  const sealed: string[] = [];
  const batches = new BatchStore(redis);
  const buffer = new RecordBuffer(
    redis,
    1 << 30,
    async (stream, id) => {
      sealed.push(id);
      await batches.markEnqueued(stream, id);
    },
    undefined,
    schedule,
  );
  return { buffer, sealed };
}

async function commandsProcessed(): Promise<number> {
  const info = await redis.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1]);
}

async function scheduled(stream: string): Promise<number | undefined> {
  const score = await redis.zscore(SEAL_SCHEDULE_KEY, stream);
  return score === null ? undefined : Number(score);
}

describe('the seal schedule', () => {
  it('lets a tick read one key, however many idle streams exist', async () => {
    const registry = new StreamRegistry(redis, settings());
    for (let i = 0; i < 300; i++) await createStream(registry);
    const ticker = tickerFor(registry, scheduledBuffer().buffer);
    // The first tick reconciles (reads every stream once); the ones after read the schedule.
    await ticker.tick();
    const before = await commandsProcessed();
    for (let i = 0; i < 20; i++) await ticker.tick();
    // 20 ticks, one ZRANGEBYSCORE each, and the INFO call that counts.
    expect((await commandsProcessed()) - before).toBe(21);
  });

  it('seals a buffer at its deadline, learnt from the put, and forgets the stream once it holds nothing', async () => {
    const registry = new StreamRegistry(redis, settings());
    const stream = await createStream(registry, 30);
    const { buffer, sealed } = scheduledBuffer();
    const ticker = tickerFor(registry, buffer);
    const t0 = Date.now();
    await ticker.tick(t0);
    const c = chunk('a');
    expect((await buffer.append(stream, c.chunk, c.bytes, 1, t0)).kind).toBe('stored');
    // Opening the buffer asked for a look now; the look schedules the deadline.
    expect(await scheduled(stream)).toBe(t0);
    await ticker.tick(t0);
    expect(await scheduled(stream)).toBe(t0 + 30_000);
    await ticker.tick(t0 + 29_999);
    expect(sealed).toEqual([]);
    await ticker.tick(t0 + 30_000);
    expect(sealed).toHaveLength(1);
    expect(await scheduled(stream)).toBeUndefined();
  });

  it('seals within the grace a buffer whose opener died before saying so', async () => {
    const registry = new StreamRegistry(redis, settings());
    const stream = await createStream(registry, 1);
    // The touch after the append fails, as if the process died between the two.
    class DyingSchedule extends SealSchedule {
      override async touch(name: string, atMs: number): Promise<void> {
        if (atMs === t0) throw new Error('process died');
        await super.touch(name, atMs);
      }
    }
    const t0 = Date.now();
    const { buffer, sealed } = scheduledBuffer(new DyingSchedule(redis, GRACE_MS));
    const ticker = tickerFor(registry, buffer);
    await ticker.tick(t0 - 1);
    const c = chunk('a');
    expect((await buffer.append(stream, c.chunk, c.bytes, 1, t0)).kind).toBe('stored');
    expect(await scheduled(stream)).toBe(t0 + GRACE_MS);
    await ticker.tick(t0 + 1000);
    expect(sealed).toEqual([]);
    await ticker.tick(t0 + GRACE_MS);
    expect(sealed).toHaveLength(1);
  });

  it('enqueues within the grace a batch sealed by a process that died before enqueueing it', async () => {
    const registry = new StreamRegistry(redis, settings());
    const stream = await createStream(registry);
    await redis.hset(streamKeys(stream).stream, 'sizeBytes', 1);
    const batches = new BatchStore(redis);
    const queues = new DeliveryQueues(queueConnection, batches);
    const buffer = new RecordBuffer(
      redis,
      1 << 30,
      () => Promise.reject(new Error('died')),
      undefined,
      new SealSchedule(redis, GRACE_MS),
    );
    const ticker = tickerFor(registry, buffer, queues);
    const t0 = Date.now();
    await ticker.tick(t0 - 1);
    const c = chunk('sealed by size at once');
    const stored = await buffer.append(stream, c.chunk, c.bytes, 1, t0);
    if (stored.kind !== 'stored' || stored.sealedBatchId === undefined)
      throw new Error('not sealed');
    await ticker.tick(t0 + GRACE_MS - 1);
    expect(await queues.queue(stream).getJob(stored.sealedBatchId)).toBeUndefined();
    await ticker.tick(t0 + GRACE_MS);
    expect((await queues.queue(stream).getJob(stored.sealedBatchId))?.data).toEqual({
      stream,
      batchId: stored.sealedBatchId,
    });
    expect(await redis.zscore(ACTIVE_STREAMS_KEY, stream)).not.toBeNull();
    expect(await redis.zcard(streamKeys(stream).sealed)).toBe(0);
    expect(await scheduled(stream)).toBeUndefined();
    await queues.obliterate(stream);
    await queues.close();
  });

  it('finds buffers the schedule does not know (an older version) in its reconciling pass', async () => {
    const registry = new StreamRegistry(redis, settings());
    const stream = await createStream(registry, 1);
    const unscheduled = new RecordBuffer(redis, 1 << 30, () => Promise.resolve());
    const t0 = Date.now();
    const c = chunk('a');
    await unscheduled.append(stream, c.chunk, c.bytes, 1, t0);
    expect(await scheduled(stream)).toBeUndefined();
    const { buffer, sealed } = scheduledBuffer();
    await tickerFor(registry, buffer).tick(t0 + 1000);
    // Found, then sealed in the same tick: it was due.
    expect(sealed).toHaveLength(1);
    expect(await redis.exists(streamKeys(stream).open)).toBe(0);
  });

  it('reconciles within seconds after a visit failed, not at the next regular pass', async () => {
    const registry = new StreamRegistry(redis, settings());
    const lost = await createStream(registry, 1);
    const failing = await createStream(registry);
    // Redis failing over: one stream's visit fails.
    class FailingBuffer extends RecordBuffer {
      override async sealIfDue(name: string, nowMs: number): Promise<string | undefined> {
        if (name === failing) throw new Error('CLUSTERDOWN The cluster is down');
        return super.sealIfDue(name, nowMs);
      }
    }
    const ticker = tickerFor(registry, new FailingBuffer(redis, 1 << 30, () => Promise.resolve()));
    await ticker.tick();
    try {
      // A buffer whose schedule entry the failover lost, and the visit that fails.
      const t0 = Date.now();
      const c = chunk('a');
      await new RecordBuffer(redis, 1 << 30, () => Promise.resolve()).append(
        lost,
        c.chunk,
        c.bytes,
        1,
        t0,
      );
      expect(await scheduled(lost)).toBeUndefined();
      await new SealSchedule(redis, GRACE_MS).touch(failing, t0);
      await ticker.tick();
      // Five seconds on, not five minutes: the reconciling pass finds the buffer, due by then.
      await ticker.tick(Date.now() + 5_000);
      expect(await redis.exists(streamKeys(lost).open)).toBe(0);
    } finally {
      await redis.zrem(SEAL_SCHEDULE_KEY, failing);
    }
  });

  it('keeps a stream whose visit took longer than the grace: a put during it could not lower the lease', async () => {
    const registry = new StreamRegistry(redis, settings());
    const stream = await createStream(registry);
    // Sealing stalls (Redis slow) for more than the grace while the visit runs.
    class StallingBuffer extends RecordBuffer {
      override async sealIfDue(name: string, nowMs: number): Promise<string | undefined> {
        vi.setSystemTime(Date.now() + GRACE_MS + 1000);
        return super.sealIfDue(name, nowMs);
      }
    }
    const ticker = tickerFor(registry, new StallingBuffer(redis, 1 << 30, () => Promise.resolve()));
    await ticker.tick(Date.now());
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const started = Date.now();
      await new SealSchedule(redis, GRACE_MS).touch(stream, started);
      await ticker.tick();
      // Nothing is left to seal, yet the stream stays until its lease ends.
      expect(await scheduled(stream)).toBe(started + 2 * GRACE_MS);
    } finally {
      vi.useRealTimers();
      await redis.zrem(SEAL_SCHEDULE_KEY, stream);
    }
  });

  it('keeps a put that came during a visit: the lease is settled only if untouched', async () => {
    const schedule = new SealSchedule(redis, GRACE_MS);
    const stream = uniqueName('lease');
    const lease = await schedule.lease(stream, 1_000);
    expect(lease).toBe(1_000 + 2 * GRACE_MS);
    await schedule.touch(stream, 1_000 + GRACE_MS);
    await schedule.settle(stream, lease, undefined);
    expect(await scheduled(stream)).toBe(1_000 + GRACE_MS);
    // Untouched: settled to the next time, or removed.
    const second = await schedule.lease(stream, 2_000);
    await schedule.settle(stream, second, 9_000);
    expect(await scheduled(stream)).toBe(9_000);
    const third = await schedule.lease(stream, 3_000);
    await schedule.settle(stream, third, undefined);
    expect(await scheduled(stream)).toBeUndefined();
    // A touch never moves a stream later.
    await schedule.touch(stream, 5_000);
    await schedule.touch(stream, 7_000);
    expect(await scheduled(stream)).toBe(5_000);
    await redis.zrem(SEAL_SCHEDULE_KEY, stream);
  });
});

describe('the delivery workers', () => {
  // The streams the seal schedule's tests left with backlogs would get workers too.
  beforeAll(async () => {
    await redis.flushall();
  });

  /** The workers `workers` runs, by stream (its private map). */
  function runningOf(workers: StreamWorkers): Map<string, { worker: Worker }> {
    return (workers as unknown as { workers: Map<string, { worker: Worker }> }).workers;
  }

  function workersFor(
    registry: StreamRegistry,
    queues: DeliveryQueues,
    process: DeliveryDriver['process'],
    overrides: Partial<StreamWorkersOptions> = {},
  ) {
    return new StreamWorkers({
      connection: queueConnection,
      redis,
      registry,
      queues,
      driver: { process } as DeliveryDriver,
      concurrency: 1,
      retryBaseMs: 60_000,
      retryMaxMs: 60_000,
      log,
      pollIntervalMs: 50,
      idleMs: 300,
      ...overrides,
    });
  }

  it('run for streams with jobs only, and retire once the queue stays empty; a stream waiting on a retry keeps its worker', async () => {
    const registry = new StreamRegistry(redis, settings());
    const idle = await createStream(registry);
    const delivered = await createStream(registry);
    const failing = await createStream(registry);
    const queues = new DeliveryQueues(queueConnection, new BatchStore(redis));
    const done: string[] = [];
    const workers = workersFor(registry, queues, (job: Job<DeliveryJobData, string>) => {
      if (job.data.stream === failing) return Promise.reject(new Error('destination down'));
      done.push(job.data.batchId);
      return Promise.resolve('delivered');
    });
    try {
      await workers.start();
      expect(workers.streams()).toEqual([]);
      const before = await commandsProcessed();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      // About 20 polls of one command (and a deletion check a second): never per stream.
      expect((await commandsProcessed()) - before).toBeLessThan(60);

      await queues.enqueue(delivered, 'batch-1');
      await queues.enqueue(failing, 'batch-2');
      // Delivered means its stream got a worker; the failing one gets one too (a poll later,
      // perhaps, if the two jobs came on either side of a poll).
      await eventually('the job delivered', () => done.includes('batch-1'));
      await eventually('a worker for the failing stream', () =>
        workers.streams().includes(failing),
      );
      await eventually('the idle worker retired', () => !workers.streams().includes(delivered));
      expect(await redis.zscore(ACTIVE_STREAMS_KEY, delivered)).toBeNull();
      // The failing stream's job waits for its retry: its worker stays.
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(workers.streams()).toEqual([failing]);
      // Still listed. Each idle check takes it out for the two round trips that count its queue
      // (retireIfEmpty) and puts it back, so a single read may fall in between: read until seen.
      await eventually(
        'the failing stream still listed',
        async () => (await redis.zscore(ACTIVE_STREAMS_KEY, failing)) !== null,
        { timeoutMs: 1_000 },
      );
      expect(workers.streams()).not.toContain(idle);
    } finally {
      await workers.close(5_000);
      await queues.obliterate(failing);
      await queues.obliterate(delivered);
      await queues.close();
    }
  });

  it('after a failure, replace a worker whose loop ended and relist a stream whose entry was lost, within seconds', async () => {
    const registry = new StreamRegistry(redis, settings());
    const stream = await createStream(registry);
    const queues = new DeliveryQueues(queueConnection, new BatchStore(redis));
    const done: string[] = [];
    let listedWhileDelivering: string | null = null;
    let workerWhileDelivering: Worker | undefined;
    // Idle workers never retire here: the failure below must be the only reason a worker stops.
    const workers = workersFor(
      registry,
      queues,
      async (job: Job<DeliveryJobData, string>) => {
        if (job.data.batchId === 'batch-2') {
          listedWhileDelivering = await redis.zscore(ACTIVE_STREAMS_KEY, stream);
          workerWhileDelivering = running().get(stream)?.worker;
        }
        done.push(job.data.batchId);
        return 'delivered';
      },
      { idleMs: 60_000 },
    );
    const running = () => runningOf(workers);
    // The stream's backlog is what the reconciling pass looks for.
    await redis.hset(streamKeys(stream).stats, 'backlogRecords', 1);
    try {
      await workers.start();
      await queues.enqueue(stream, 'batch-1');
      await eventually('the first job delivered', () => done.includes('batch-1'));
      // As a failover can leave things: the active set lost the stream's entry, and the
      // worker's loop ended on an error it did not survive, while a job waits. In this order,
      // so that no sync can see the stopped worker while the entry still stands (it would
      // start the replacement at once, and the relisting would go untested).
      const stopped = running().get(stream)?.worker;
      expect(stopped).toBeDefined();
      await redis.zrem(ACTIVE_STREAMS_KEY, stream);
      await stopped?.close();
      await queues
        .queue(stream)
        .add('deliver', { stream, batchId: 'batch-2' }, { jobId: 'batch-2' });
      // Without the failure, the next reconciling pass would be minutes away.
      await eventually('the job delivered by a new worker', () => done.includes('batch-2'), {
        timeoutMs: 15_000,
      });
      expect(workerWhileDelivering).toBeDefined();
      expect(workerWhileDelivering).not.toBe(stopped);
      expect(listedWhileDelivering).not.toBeNull();
      expect(await redis.zscore(ACTIVE_STREAMS_KEY, stream)).not.toBeNull();
    } finally {
      await workers.close(5_000);
      await queues.obliterate(stream);
      await queues.close();
    }
  });

  it('replace a worker whose loop runs but takes no jobs while some wait or are due, and no other', async () => {
    const registry = new StreamRegistry(redis, settings());
    const stream = await createStream(registry);
    const queues = new DeliveryQueues(queueConnection, new BatchStore(redis));
    const done: { batchId: string; worker: Worker | undefined }[] = [];
    let releaseLong: () => void = () => undefined;
    const longRunning = new Promise<void>((resolve) => (releaseLong = resolve));
    const workers = workersFor(
      registry,
      queues,
      async (job: Job<DeliveryJobData, string>) => {
        if (job.data.batchId === 'long') await longRunning;
        done.push({ batchId: job.data.batchId, worker: running().get(stream)?.worker });
        return 'delivered';
      },
      { stuckMs: 1_000 },
    );
    const running = () => runningOf(workers);
    const delivered = (batchId: string) => done.some((d) => d.batchId === batchId);
    try {
      await workers.start();
      // A job delivered for longer than stuckMs, with another waiting behind it (concurrency
      // 1): the worker is busy, not stuck, and stays.
      await queues.enqueue(stream, 'long');
      await eventually('the long job taken', () => running().has(stream));
      const busy = running().get(stream)?.worker;
      await queues.enqueue(stream, 'behind');
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(running().get(stream)?.worker).toBe(busy);
      releaseLong();
      await eventually('both delivered', () => delivered('long') && delivered('behind'));
      expect(done.map((d) => d.worker)).toEqual([busy, busy]);

      // As a failover can leave a worker: its loop runs on, waiting for an answer that never
      // comes (here: its next take of a job never returns).
      const stuck = running().get(stream)?.worker;
      Object.assign(stuck ?? {}, { moveToActive: () => new Promise(() => undefined) });
      await queues.enqueue(stream, 'waiting');
      await eventually('the waiting job delivered by a new worker', () => delivered('waiting'), {
        timeoutMs: 20_000,
      });
      const replacement = done.find((d) => d.batchId === 'waiting')?.worker;
      expect(replacement).toBeDefined();
      expect(replacement).not.toBe(stuck);
      expect(done.filter((d) => d.batchId === 'waiting')).toHaveLength(1);

      // The same with a retry waiting out its backoff (a delayed job): the worker promotes it
      // when it is due, so a stuck one would leave it delayed for ever.
      Object.assign(replacement ?? {}, { moveToActive: () => new Promise(() => undefined) });
      await queues
        .queue(stream)
        .add('deliver', { stream, batchId: 'retrying' }, { jobId: 'retrying', delay: 300 });
      await eventually('the retried job delivered by a new worker', () => delivered('retrying'), {
        timeoutMs: 20_000,
      });
      const third = done.find((d) => d.batchId === 'retrying')?.worker;
      expect(third).toBeDefined();
      expect([stuck, replacement]).not.toContain(third);
    } finally {
      releaseLong();
      await workers.close(5_000);
      await queues.obliterate(stream);
      await queues.close();
    }
  }, 60_000);

  /** Workers that record the batches they deliver and log warnings where the test reads them. */
  function recordingWorkers(
    registry: StreamRegistry,
    queues: DeliveryQueues,
    overrides: Partial<StreamWorkersOptions> = {},
  ) {
    const done: string[] = [];
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString());
        callback();
      },
    });
    const workers = workersFor(
      registry,
      queues,
      (job: Job<DeliveryJobData, string>) => {
        done.push(job.data.batchId);
        return Promise.resolve('delivered');
      },
      { log: pino({ level: 'warn' }, sink), ...overrides },
    );
    return { workers, done, lines };
  }

  it('keep starting workers while a retired one never closes, and report it', async () => {
    const registry = new StreamRegistry(redis, settings());
    const first = await createStream(registry);
    const second = await createStream(registry);
    const queues = new DeliveryQueues(queueConnection, new BatchStore(redis));
    const { workers, done, lines } = recordingWorkers(registry, queues);
    const running = () => runningOf(workers);
    let closeForReal: () => Promise<void> = () => Promise.resolve();
    try {
      await workers.start();
      await queues.enqueue(first, 'batch-1');
      await eventually('the first job delivered', () => done.includes('batch-1'));
      // As BullMQ's close does for a worker whose Redis Cluster connection lost every node (a
      // killed master): it waits for the connection's 'end', and ioredis' Cluster.disconnect()
      // while reconnecting never emits one.
      const hanging = running().get(first)?.worker;
      expect(hanging).toBeDefined();
      closeForReal = hanging?.close.bind(hanging) ?? closeForReal;
      Object.assign(hanging ?? {}, { close: () => new Promise(() => undefined) });
      await eventually('the idle worker retired', () => !running().has(first));
      await queues.enqueue(second, 'batch-2');
      await eventually('the next stream delivered', () => done.includes('batch-2'), {
        timeoutMs: 10_000,
      });
      await eventually(
        'the close reported',
        () => lines.some((line) => line.includes('has not closed')),
        { timeoutMs: 10_000 },
      );
      const report = lines.find((line) => line.includes('has not closed')) ?? '{}';
      expect(JSON.parse(report)).toMatchObject({ stream: first, waitedMs: 5_000 });
    } finally {
      await workers.close(5_000);
      await closeForReal();
      await queues.obliterate(first);
      await queues.obliterate(second);
      await queues.close();
    }
  }, 30_000);

  it('start another sync beside one that stalled, and report what it waits on', async () => {
    const registry = new StreamRegistry(redis, settings());
    const stream = await createStream(registry);
    const queues = new DeliveryQueues(queueConnection, new BatchStore(redis));
    const { workers, done, lines } = recordingWorkers(registry, queues, { stalledSyncMs: 1_000 });
    const list = queues.active.list.bind(queues.active);
    try {
      await workers.start();
      // The next read of the active streams never answers, as a command on a connection a
      // failover left behind may not.
      let stalls = 1;
      Object.assign(queues.active, {
        list: () => (stalls-- > 0 ? new Promise<string[]>(() => undefined) : list()),
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(stalls).toBe(0);
      await queues.enqueue(stream, 'batch-1');
      await eventually('the job delivered', () => done.includes('batch-1'), { timeoutMs: 10_000 });
      const report = lines.find((line) => line.includes('stream sync stalled')) ?? '{}';
      expect(JSON.parse(report)).toMatchObject({ step: 'listing the active streams' });
      expect((JSON.parse(report) as { tookMs: number }).tookMs).toBeGreaterThanOrEqual(1_000);
    } finally {
      await workers.close(5_000);
      await queues.obliterate(stream);
      await queues.close();
    }
  }, 30_000);

  it('remove a deleted stream once drained, found through the list of deleting streams', async () => {
    const registry = new StreamRegistry(redis, settings());
    const stream = await createStream(registry);
    const queues = new DeliveryQueues(queueConnection, new BatchStore(redis));
    const workers = workersFor(registry, queues, () => Promise.resolve('delivered'));
    try {
      await workers.start();
      await registry.markDeleting(stream);
      expect(await redis.sismember(DELETING_STREAMS_KEY, stream)).toBe(1);
      // Its buffers are sealed at once.
      expect(Number(await redis.zscore(SEAL_SCHEDULE_KEY, stream))).toBeLessThanOrEqual(Date.now());
      await eventually(
        'the stream removed',
        async () => (await registry.get(stream)) === undefined,
      );
      expect(await redis.sismember(DELETING_STREAMS_KEY, stream)).toBe(0);
    } finally {
      await workers.close(5_000);
      await queues.close();
    }
  });

  it('list at start the streams a version without these lists left DELETING or with jobs', async () => {
    const registry = new StreamRegistry(redis, settings());
    const deleting = await createStream(registry);
    const queued = await createStream(registry);
    // A backlog only in its open buffer: no job, so no worker.
    const buffered = await createStream(registry);
    await redis.hset(streamKeys(deleting).stream, 'status', 'DELETING');
    for (const stream of [queued, buffered]) {
      await redis.hset(streamKeys(stream).stats, 'backlogRecords', 3);
    }
    const queues = new DeliveryQueues(queueConnection, new BatchStore(redis));
    // A job added by a version that did not list the stream as active.
    await queues.queue(queued).add('deliver', { stream: queued, batchId: 'b' }, { delay: 60_000 });
    const workers = workersFor(registry, queues, () => Promise.resolve('delivered'));
    try {
      await workers.start();
      expect(await registry.get(deleting)).toBeUndefined();
      expect(await redis.zscore(ACTIVE_STREAMS_KEY, queued)).not.toBeNull();
      expect(await redis.zscore(ACTIVE_STREAMS_KEY, buffered)).toBeNull();
      await eventually('a worker for the stream with a job', () =>
        workers.streams().includes(queued),
      );
      expect(workers.streams()).not.toContain(buffered);
    } finally {
      await workers.close(5_000);
      await queues.obliterate(queued);
      await queues.close();
    }
  });
});

describe('the queue objects of a process', () => {
  it('are closed once unused for ten minutes, and made again when next needed', async () => {
    const queues = new DeliveryQueues(queueConnection, new BatchStore(redis));
    const [quiet, busy] = [uniqueName('quiet'), uniqueName('busy')];
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      queues.queue(quiet);
      queues.queue(busy);
      vi.setSystemTime(Date.now() + 6 * 60_000);
      queues.queue(busy);
      expect(queues.size).toBe(2);
      vi.setSystemTime(Date.now() + 5 * 60_000);
      // Asked for 5 minutes ago: kept; the other, 11 minutes ago: closed.
      queues.queue(busy);
      expect(queues.size).toBe(1);
      await queues.enqueue(quiet, 'batch-again');
      expect((await queues.queue(quiet).getJob('batch-again'))?.data).toEqual({
        stream: quiet,
        batchId: 'batch-again',
      });
    } finally {
      vi.useRealTimers();
      await queues.obliterate(quiet);
      await queues.close();
    }
  });
});
