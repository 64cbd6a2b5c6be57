import { FirehoseClient } from '@aws-sdk/client-firehose';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { RecordBuffer } from '../../src/buffer/record-buffer.js';
import { loadSettings, type Settings } from '../../src/config/env.js';
import { BatchStore } from '../../src/delivery/batch-store.js';
import { DeliveryQueues } from '../../src/delivery/delivery-queues.js';
import { closeRedis, connectRedis, openRedis } from '../../src/redis/connect.js';
import { StreamRegistry } from '../../src/streams/registry.js';
import { TEST_REDIS_URL } from './global-setup.js';

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
 */
export async function startTestApi(env: Record<string, string> = {}): Promise<TestApi> {
  const settings = loadSettings({ SLUICE_REDIS_URL: TEST_REDIS_URL, SLUICE_PORT: '0', ...env });
  // The service's own connections, so Redis outages behave in tests as they do in production.
  const connections = openRedis(settings.SLUICE_REDIS_URL);
  connections.commands.on('error', () => undefined);
  connections.queue.on('error', () => undefined);
  await connectRedis(connections);
  const { commands: redis, queue: queueConnection } = connections;
  const registry = new StreamRegistry(redis, settings);
  const batches = new BatchStore(redis);
  const queues = new DeliveryQueues(queueConnection, batches);
  const buffer = new RecordBuffer(redis, settings.SLUICE_MAX_BACKLOG_MB * 1024 * 1024, (s, id) =>
    queues.enqueue(s, id),
  );
  const app = buildApp({ settings, redis, registry, buffer, log: pino({ level: 'silent' }) });
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
