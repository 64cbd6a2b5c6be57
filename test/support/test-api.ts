import {
  CreateDeliveryStreamCommand,
  FirehoseClient,
  type ExtendedS3DestinationConfiguration,
} from '@aws-sdk/client-firehose';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { RecordBuffer } from '../../src/buffer/record-buffer.js';
import { loadSettings, type Settings } from '../../src/config/env.js';
import { BatchStore } from '../../src/delivery/batch-store.js';
import { DeliveryQueues } from '../../src/delivery/delivery-queues.js';
import { closeRedis, connectRedis, openRedis } from '../../src/redis/connect.js';
import { StreamRegistry } from '../../src/streams/registry.js';
import type { Telemetry } from '../../src/telemetry/events.js';
import { s3Destination } from './e2e.js';
import { TEST_REDIS_URL } from './global-setup.js';
import { removeStreams } from './shared-redis.js';
import { uniqueName } from './unique.js';

/** An in-process Firehose API on a loopback port, backed by real Redis. */
export interface TestApi {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** The unmodified AWS SDK client, pointed at {@link endpoint}. */
  firehose: FirehoseClient;
  /** A command connection to the same Redis, for assertions. */
  redis: Redis;
  settings: Settings;
  registry: StreamRegistry;
  buffer: RecordBuffer;
  queues: DeliveryQueues;
  app: FastifyInstance;
  close(): Promise<void>;
}

/**
 * Starts the real API (the same `buildApp` the service uses) on a free port. Sealed batches
 * are enqueued on their BullMQ queues; no worker runs, so nothing is delivered.
 *
 * @param env settings overrides, as environment variables (e.g. `SLUICE_MAX_BACKLOG_MB`,
 *   `SLUICE_REDIS_URL`).
 * @param telemetry where the API reports records received and throttled; nowhere by default.
 */
export async function startTestApi(
  env: Record<string, string> = {},
  telemetry?: Telemetry,
): Promise<TestApi> {
  const settings = loadSettings({ SLUICE_REDIS_URL: TEST_REDIS_URL, SLUICE_PORT: '0', ...env });
  // The service's own connections, so Redis outages behave in tests as they do in production.
  const connections = openRedis(settings.SLUICE_REDIS_URL);
  connections.commands.on('error', () => undefined);
  connections.queue.on('error', () => undefined);
  await connectRedis(connections);
  const { queue: queueConnection } = connections;
  // One Redis (the shared test Redis), never a cluster: the single-node client.
  const redis = connections.commands as Redis;
  const registry = new StreamRegistry(redis, settings);
  const batches = new BatchStore(redis);
  const queues = new DeliveryQueues(queueConnection, batches);
  const buffer = new RecordBuffer(redis, settings.SLUICE_MAX_BACKLOG_MB * 1024 * 1024, (s, id) =>
    queues.enqueue(s, id),
  );
  const app = buildApp({
    settings,
    redis,
    registry,
    buffer,
    telemetry,
    log: pino({ level: 'silent' }),
  });
  const endpoint = await app.listen({ host: '127.0.0.1', port: 0 });
  const firehose = new FirehoseClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
  return {
    endpoint,
    firehose,
    redis,
    settings,
    registry,
    buffer,
    queues,
    app,
    async close() {
      firehose.destroy();
      await app.close();
      await queues.close();
      await closeRedis(connections);
    },
  };
}

/** An answer of the Firehose API, as {@link injectFirehose} reads it. */
export interface FirehoseAnswer {
  status: number;
  /** The `x-amzn-errortype` header, when there is one. */
  errorType: string | undefined;
  body: { __type?: string; message?: string } & Record<string, unknown>;
}

/**
 * One unsigned Firehose request through fastify's inject (no socket): `operation` with
 * `payload` as the body, the AWS JSON 1.1 content type and target, and `headers` on top (they
 * win, so a test can send a wrong content type).
 */
export async function injectFirehose(
  app: FastifyInstance,
  operation: string,
  payload: string | Buffer,
  headers: Record<string, string> = {},
): Promise<FirehoseAnswer> {
  const response = await app.inject({
    method: 'POST',
    url: '/',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `Firehose_20150804.${operation}`,
      ...headers,
    },
    payload,
  });
  const errorType = response.headers['x-amzn-errortype'];
  return {
    status: response.statusCode,
    errorType: typeof errorType === 'string' ? errorType : undefined,
    body: response.json(),
  };
}

/** Options for {@link useTestApi}. */
export interface UseTestApiOptions {
  /** Start of every stream name {@link FileTestApi.streamName} makes, e.g. what the file tests. */
  prefix: string;
  /** When the file's streams leave the shared Redis: after each test, or once after all. */
  removeStreams: 'afterEach' | 'afterAll';
  /** Settings overrides, as for {@link startTestApi}. */
  env?: Record<string, string>;
}

/** The API the tests of one file share, from {@link useTestApi}. */
export interface FileTestApi {
  /**
   * The file's API. It starts in a `beforeAll` hook, which fills this object in: read its
   * fields inside tests and hooks only (taking the object itself at top level is fine).
   */
  readonly api: TestApi;
  /** Notes `name` as a stream of this file, to be removed from the shared Redis; returns it. */
  track: (name: string) => string;
  /** A unique stream name ({@link uniqueName}), tracked; it starts with the file's prefix by default. */
  streamName: (prefix?: string) => string;
  /**
   * Creates a stream named by {@link streamName} that delivers to a bucket named `bucket` (see
   * {@link s3Destination}), and returns its name. Unless `config` says otherwise it buffers up
   * to the largest size and the longest interval, so nothing seals while a test looks at it.
   */
  createStream: (config?: Partial<ExtendedS3DestinationConfiguration>) => Promise<string>;
}

/**
 * Registers the hooks that give the tests of the calling file (call at top level) one
 * {@link startTestApi}: started before them, closed after them. The streams they create
 * through it are removed from the shared Redis, so no test leaves work behind for a Sluice
 * process that later runs against the same Redis.
 */
export function useTestApi(options: UseTestApiOptions): FileTestApi {
  const { prefix, env = {} } = options;
  // Filled in by beforeAll, so that tests and helpers can hold the object from the start.
  const api = {} as TestApi;
  let started: TestApi | undefined;
  const names: string[] = [];
  beforeAll(async () => {
    started = await startTestApi(env);
    Object.assign(api, started);
  });
  const remove = async () => {
    if (started) await removeStreams(started.redis, names.splice(0));
  };
  if (options.removeStreams === 'afterEach') afterEach(remove);
  afterAll(async () => {
    await remove();
    await started?.close();
  });
  const track = (name: string): string => {
    names.push(name);
    return name;
  };
  const streamName = (namePrefix = prefix): string => track(uniqueName(namePrefix));
  return {
    api,
    track,
    streamName,
    createStream: async (config = {}) => {
      const name = streamName();
      await api.firehose.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: name,
          ExtendedS3DestinationConfiguration: s3Destination('bucket', {
            BufferingHints: { SizeInMBs: 128, IntervalInSeconds: 900 },
            ...config,
          }),
        }),
      );
      return name;
    },
  };
}
