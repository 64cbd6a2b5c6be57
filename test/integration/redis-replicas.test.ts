import { readdir, readFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  CreateDeliveryStreamCommand,
  DeleteDeliveryStreamCommand,
  FirehoseClient,
  ListDeliveryStreamsCommand,
  PutRecordBatchCommand,
  PutRecordCommand,
  ServiceUnavailableException,
} from '@aws-sdk/client-firehose';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/env.js';
import { checkRedis } from '../../src/redis/redis-checks.js';
import { ReplicationBarrier } from '../../src/redis/replication-barrier.js';
import { startService, type Service } from '../../src/service.js';
import { streamKeys } from '../../src/streams/keys.js';
import {
  cleanupAfterEach,
  eventually,
  FAST,
  s3Destination,
  tempDir,
  type Cleanups,
} from '../support/e2e.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { uniqueName } from '../support/unique.js';

/**
 * `SLUICE_REDIS_MIN_REPLICAS`: a put is acknowledged only once its records reached the replicas
 * (Redis WAIT). Against a real primary and replica on loopback: the replica is paused
 * (SIGSTOP) to make replication lag as long as a test needs, the primary is killed (SIGKILL)
 * and the replica promoted (REPLICAOF NO ONE) as a failover would.
 */

const cleanups = cleanupAfterEach();
const BUCKET = 'replicated';

interface Pair {
  primary: RedisServer;
  replica: RedisServer;
  /** Connections for assertions and control, closed by the cleanups. */
  onPrimary: Redis;
  onReplica: Redis;
  /**
   * Cuts the replication link for good (a network partition): nothing the primary writes from
   * now on reaches the replica, not even what is in flight.
   */
  cutLink(): void;
}

/**
 * A loopback TCP relay the replica reaches its primary through, so a test can cut the link:
 * pausing the replica (SIGSTOP) would not do, as the kernel still takes in what the primary
 * sends, and the replica reads it once resumed.
 */
async function replicationLink(c: Cleanups, primaryPort: number) {
  const sockets = new Set<Socket>();
  let cut = false;
  const server = createServer((replicaSide) => {
    if (cut) {
      replicaSide.destroy();
      return;
    }
    const primarySide = connect(primaryPort, '127.0.0.1');
    for (const socket of [replicaSide, primarySide]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        replicaSide.destroy();
        primarySide.destroy();
      });
    }
    replicaSide.pipe(primarySide);
    primarySide.pipe(replicaSide);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  c.add(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    port: (server.address() as AddressInfo).port,
    cut: () => {
      cut = true;
      for (const socket of sockets) socket.destroy();
    },
  };
}

async function replicatedPair(c: Cleanups): Promise<Pair> {
  const [primary, replica] = await Promise.all([
    startRedisServer({ appendOnly: false }),
    startRedisServer({ appendOnly: false }),
  ]);
  c.add(
    () => primary.stop(),
    () => replica.stop(),
  );
  const onPrimary = new Redis(primary.url, { maxRetriesPerRequest: 1, lazyConnect: true });
  const onReplica = new Redis(replica.url, { maxRetriesPerRequest: 1, lazyConnect: true });
  onPrimary.on('error', () => undefined);
  onReplica.on('error', () => undefined);
  await Promise.all([onPrimary.connect(), onReplica.connect()]);
  c.add(
    () => onPrimary.disconnect(),
    () => onReplica.disconnect(),
  );
  // Redis waits 5 s for more replicas before a full sync by default; one is all there is.
  await onPrimary.config('SET', 'repl-diskless-sync-delay', '0');
  const link = await replicationLink(c, primary.port);
  await onReplica.call('REPLICAOF', '127.0.0.1', String(link.port));
  await eventually('the replica in sync with the primary', async () => {
    const info = await onPrimary.info('replication');
    return /connected_slaves:1/.test(info) && /slave0:.*state=online/.test(info);
  });
  return { primary, replica, onPrimary, onReplica, cutLink: link.cut };
}

/** A whole Sluice (API and delivery) on `redisUrl`, delivering S3 objects under `dataDir`. */
async function sluiceOn(
  c: Cleanups,
  redisUrl: string,
  dataDir: string,
  env: Record<string, string> = {},
): Promise<{ service: Service; firehose: FirehoseClient }> {
  const service = await startService(
    loadSettings({
      ...FAST,
      SLUICE_REDIS_URL: redisUrl,
      SLUICE_DATA_DIR: dataDir,
      SLUICE_HOST: '127.0.0.1',
      SLUICE_PORT: '0',
      SLUICE_METRICS: 'false',
      SLUICE_TRANSFORM_WORKERS: '1',
      // Some of these stop after their Redis was killed: nothing is left to wait for.
      SLUICE_SHUTDOWN_TIMEOUT_MS: '3000',
      ...env,
    }),
    pino({ level: 'silent' }),
  );
  c.add(() => service.stop());
  const firehose = new FirehoseClient({
    endpoint: service.url!,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    maxAttempts: 1,
  });
  c.add(() => firehose.destroy());
  return { service, firehose };
}

async function createStream(firehose: FirehoseClient, intervalSeconds = 1): Promise<string> {
  const stream = uniqueName('replicas');
  await firehose.send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: stream,
      ExtendedS3DestinationConfiguration: s3Destination(BUCKET, {
        Prefix: `${stream}/`,
        BufferingHints: { SizeInMBs: 1, IntervalInSeconds: intervalSeconds },
      }),
    }),
  );
  return stream;
}

function put(firehose: FirehoseClient, stream: string, records: readonly string[]) {
  return firehose.send(
    new PutRecordBatchCommand({
      DeliveryStreamName: stream,
      Records: records.map((r) => ({ Data: Buffer.from(r) })),
    }),
  );
}

/** Records the stream's buffer on `redis` counts as accepted and not yet delivered. */
async function backlogRecords(redis: Redis, stream: string): Promise<number> {
  return Number((await redis.hget(streamKeys(stream).stats, 'backlogRecords')) ?? 0);
}

/** Every line of the objects delivered for `stream` under `dataDir`'s local S3 store. */
async function deliveredLines(dataDir: string, stream: string): Promise<string[]> {
  const dir = join(dataDir, 's3', BUCKET, stream);
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  const texts = await Promise.all(files.map((f) => readFile(f, 'utf8')));
  return texts.join('').split('\n').filter(Boolean).sort();
}

describe('SLUICE_REDIS_MIN_REPLICAS=1', () => {
  it('acknowledges a put only once the replica holds its records', async () => {
    const pair = await replicatedPair(cleanups);
    const dataDir = await tempDir(cleanups, 'sluice-replicas-');
    const { firehose } = await sluiceOn(cleanups, pair.primary.url, dataDir, {
      SLUICE_REDIS_MIN_REPLICAS: '1',
    });
    const stream = await createStream(firehose, 60);
    let acknowledged = 0;
    for (let request = 0; request < 20; request += 1) {
      const answer = await put(firehose, stream, [`{"n":${request}}\n`, `{"m":${request}}\n`]);
      expect(answer.FailedPutCount).toBe(0);
      acknowledged += 2;
      // Read at once, with no waiting: acknowledged means the replica has it already.
      expect(await backlogRecords(pair.onReplica, stream)).toBe(acknowledged);
    }
  });

  it('answers ServiceUnavailableException when the replica does not confirm in time, without stalling other requests', async () => {
    const pair = await replicatedPair(cleanups);
    const dataDir = await tempDir(cleanups, 'sluice-replicas-');
    const { firehose } = await sluiceOn(cleanups, pair.primary.url, dataDir, {
      SLUICE_REDIS_MIN_REPLICAS: '1',
      SLUICE_REDIS_REPLICA_TIMEOUT_MS: '1500',
    });
    const stream = await createStream(firehose, 60);
    process.kill(pair.replica.child.pid, 'SIGSTOP');
    let resumed = false;
    const resume = () => {
      if (!resumed) process.kill(pair.replica.child.pid, 'SIGCONT');
      resumed = true;
    };
    cleanups.add(resume);

    let putSettled = false;
    const batches = Promise.all(
      [0, 1, 2].map((i) => put(firehose, stream, [`{"a":${i}}\n`, `{"b":${i}}\n`])),
    ).finally(() => (putSettled = true));
    // The control plane keeps answering while the puts wait for the replica: their WAIT has a
    // connection of its own.
    const listed = await firehose.send(new ListDeliveryStreamsCommand({}));
    expect(listed.DeliveryStreamNames).toContain(stream);
    expect(putSettled).toBe(false);

    for (const answer of await batches) {
      expect(answer.FailedPutCount).toBe(2);
      for (const entry of answer.RequestResponses ?? []) {
        expect(entry.RecordId).toBeUndefined();
        expect(entry.ErrorCode).toBe('ServiceUnavailableException');
        expect(entry.ErrorMessage).toBe(
          'Records not acknowledged: 0 of the 1 Redis replicas SLUICE_REDIS_MIN_REPLICAS asks for confirmed them within 1500 ms. Send them again (they may then be delivered twice).',
        );
      }
    }
    const single = await firehose
      .send(
        new PutRecordCommand({ DeliveryStreamName: stream, Record: { Data: Buffer.from('x') } }),
      )
      .catch((error: unknown) => error);
    expect(single).toBeInstanceOf(ServiceUnavailableException);
    expect((single as Error).message).toMatch(/^Records not acknowledged: 0 of the 1 /);

    resume();
    await eventually('the replica back in sync', async () =>
      /slave0:.*state=online.*lag=[01]\b/.test(await pair.onPrimary.info('replication')),
    );
    const after = await put(firehose, stream, ['{"after":1}\n']);
    expect(after.FailedPutCount).toBe(0);
    // The refused puts were stored all the same (they are delivered; a producer's resend may
    // repeat them): 3 batches of 2, 1 record, and the acknowledged one.
    expect(await backlogRecords(pair.onReplica, stream)).toBe(8);
  });

  it('loses no acknowledged record when the primary dies and the replica takes over', async () => {
    const pair = await replicatedPair(cleanups);
    const dataDir = await tempDir(cleanups, 'sluice-replicas-');
    const first = await sluiceOn(cleanups, pair.primary.url, dataDir, {
      SLUICE_REDIS_MIN_REPLICAS: '1',
    });
    // A long interval: nothing is delivered before the failover.
    const stream = await createStream(first.firehose, 900);
    const acknowledged: string[] = [];
    for (let request = 0; request < 30; request += 1) {
      const records = Array.from({ length: 10 }, (_, i) => `{"r":${request},"i":${i}}`);
      const answer = await put(
        first.firehose,
        stream,
        records.map((r) => `${r}\n`),
      );
      if (answer.FailedPutCount === 0) acknowledged.push(...records);
    }
    expect(acknowledged).toHaveLength(300);
    await pair.primary.kill('SIGKILL');
    await first.service.stop();
    await pair.onReplica.call('REPLICAOF', 'NO', 'ONE');

    const second = await sluiceOn(cleanups, pair.replica.url, dataDir);
    // The stream's definition and every acknowledged record came over. Deleting the stream
    // seals its buffer at once (rather than after the interval), and it is delivered.
    expect(await backlogRecords(pair.onReplica, stream)).toBe(300);
    await second.firehose.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: stream }));
    const delivered = await eventually(
      'every acknowledged record delivered from the promoted replica',
      async () => {
        const lines = await deliveredLines(dataDir, stream);
        return lines.length >= 300 ? lines : undefined;
      },
    );
    expect(delivered).toEqual([...acknowledged].sort());
  });
});

describe('without SLUICE_REDIS_MIN_REPLICAS', () => {
  it('acknowledges on the primary alone, so a failover can lose what the replica had not received', async () => {
    const pair = await replicatedPair(cleanups);
    const dataDir = await tempDir(cleanups, 'sluice-replicas-');
    const { firehose, service } = await sluiceOn(cleanups, pair.primary.url, dataDir);
    const stream = await createStream(firehose, 900);
    await eventually('the stream on the replica', async () =>
      (await pair.onReplica.exists(streamKeys(stream).stream)) === 1 ? true : undefined,
    );
    pair.cutLink();
    const answer = await put(firehose, stream, ['{"lost":1}\n', '{"lost":2}\n']);
    expect(answer.FailedPutCount).toBe(0);
    expect(await backlogRecords(pair.onPrimary, stream)).toBe(2);
    await pair.primary.kill('SIGKILL');
    await service.stop();
    await pair.onReplica.call('REPLICAOF', 'NO', 'ONE');
    expect(await backlogRecords(pair.onReplica, stream)).toBe(0);
  });
});

describe('the start-up check', () => {
  it('refuses a replica as SLUICE_REDIS_URL, and warns when fewer replicas are connected than asked for', async () => {
    const pair = await replicatedPair(cleanups);
    const dataDir = await tempDir(cleanups, 'sluice-replicas-');
    await expect(sluiceOn(cleanups, pair.replica.url, dataDir)).rejects.toThrow(
      `Redis at SLUICE_REDIS_URL is a replica (of 127.0.0.1:`,
    );
    expect((await checkRedis(pair.onPrimary, 1)).warnings.join('\n')).not.toMatch(/replica/);
    expect((await checkRedis(pair.onPrimary, 2)).warnings).toContain(
      'SLUICE_REDIS_MIN_REPLICAS is 2 but Redis has 1 replica(s) connected: every put is refused (ServiceUnavailableException) until 2 are.',
    );
  });
});

describe('ReplicationBarrier', () => {
  it('confirms many concurrent writes with few WAITs (one covers every write answered before it)', async () => {
    const pair = await replicatedPair(cleanups);
    const writer = new Redis(pair.primary.url, { maxRetriesPerRequest: 1 });
    cleanups.add(() => writer.disconnect());
    const barrier = new ReplicationBarrier(writer, 1, 5_000);
    await pair.onPrimary.config('RESETSTAT');
    const key = uniqueName('barrier');
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        await writer.rpush(key, String(i));
        return barrier.confirm(writer);
      }),
    );
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const stats = await pair.onPrimary.info('commandstats');
    const waits = Number(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? 0);
    expect(waits).toBeGreaterThanOrEqual(1);
    expect(waits).toBeLessThan(10);
    expect(await pair.onReplica.llen(key)).toBe(50);
  });

  it('refuses settings WAIT cannot honour', () => {
    const redis = {} as Redis;
    expect(() => new ReplicationBarrier(redis, 0, 100)).toThrow(RangeError);
    expect(() => new ReplicationBarrier(redis, 1, 0)).toThrow(RangeError);
  });
});
