import type { FastifyInstance } from 'fastify';
import { buildApp } from './api/app.js';
import { RecordBuffer } from './buffer/record-buffer.js';
import { SealTicker } from './buffer/seal-ticker.js';
import { Sweeper } from './buffer/sweeper.js';
import type { Settings } from './config/env.js';
import { applyStreamsFile } from './config/streams-file.js';
import { BatchStore } from './delivery/batch-store.js';
import { DeliveryQueues } from './delivery/delivery-queues.js';
import { DeliveryDriver } from './delivery/driver.js';
import { StreamWorkers } from './delivery/stream-workers.js';
import { LocalObjectStore } from './destinations/local/local-object-store.js';
import type { ObjectStore } from './destinations/object-store.js';
import { S3Destination } from './destinations/s3/s3-destination.js';
import { S3ObjectStore } from './destinations/s3/s3-object-store.js';
import { closeRedis, connectRedis, openRedis } from './redis/connect.js';
import { checkRedis } from './redis/redis-checks.js';
import { StreamRegistry } from './streams/registry.js';
import type { Logger } from './telemetry/logger.js';
import { join } from 'node:path';

/** A running Sluice process. */
export interface Service {
  /** The API's base URL, when this process serves the API. */
  url: string | undefined;
  /** Stops accepting, finishes in-flight work (bounded by the shutdown timeout), disconnects. */
  stop(): Promise<void>;
}

/** Where S3 deliveries go, from `SLUICE_S3_ENDPOINT`. */
export function objectStoreFor(settings: Settings): ObjectStore {
  const endpoint = settings.SLUICE_S3_ENDPOINT;
  if (endpoint === '') return new LocalObjectStore(join(settings.SLUICE_DATA_DIR, 's3'));
  return new S3ObjectStore({
    endpoint: endpoint === 'aws' ? undefined : endpoint,
    region: settings.SLUICE_S3_REGION,
    forcePathStyle: settings.SLUICE_S3_FORCE_PATH_STYLE,
  });
}

/**
 * The composition root: wires Redis, the registry, the buffer, the API and the delivery
 * workers for the configured role, and starts them. Redis must already answer (see main.ts).
 */
export async function startService(settings: Settings, log: Logger): Promise<Service> {
  const redis = openRedis(settings.SLUICE_REDIS_URL);
  redis.commands.on('error', (error: Error) => log.warn({ err: error }, 'redis connection error'));
  redis.queue.on('error', (error: Error) => log.warn({ err: error }, 'redis connection error'));
  await connectRedis(redis);

  const check = await checkRedis(redis.commands);
  for (const warning of check.warnings) log.warn(warning);
  if (check.errors.length > 0) {
    await closeRedis(redis);
    throw new Error(check.errors.join('\n'));
  }

  const registry = new StreamRegistry(redis.commands, settings);
  if (settings.SLUICE_CONFIG !== '') {
    const summary = await applyStreamsFile(settings.SLUICE_CONFIG, registry, settings, log);
    log.info({ file: settings.SLUICE_CONFIG, ...summary }, 'streams file applied');
  }

  const batches = new BatchStore(redis.commands);
  const queues = new DeliveryQueues(redis.queue, batches);
  const buffer = new RecordBuffer(
    redis.commands,
    settings.SLUICE_MAX_BACKLOG_MB * 1024 * 1024,
    (stream, batchId) => queues.enqueue(stream, batchId),
  );
  const streamNames = () => registry.listAllNames();
  const serveApi = settings.SLUICE_ROLE !== 'worker';
  const deliver = settings.SLUICE_ROLE !== 'api';

  let app: FastifyInstance | undefined;
  let ticker: SealTicker | undefined;
  let url: string | undefined;
  if (serveApi) {
    app = buildApp({ settings, redis: redis.commands, registry, buffer, log });
    url = await app.listen({ host: settings.SLUICE_HOST, port: settings.SLUICE_PORT });
    ticker = new SealTicker(buffer, streamNames, settings.SLUICE_SEAL_TICK_MS, log);
    ticker.start();
  }

  let workers: StreamWorkers | undefined;
  let sweeper: Sweeper | undefined;
  let objectStore: ObjectStore | undefined;
  if (deliver) {
    objectStore = objectStoreFor(settings);
    const driver = new DeliveryDriver({
      batches,
      registry,
      s3: new S3Destination(objectStore, batches),
      retentionMs: settings.SLUICE_RETENTION_SECONDS * 1000,
      log,
    });
    workers = new StreamWorkers({
      connection: redis.queue,
      redis: redis.commands,
      registry,
      queues,
      driver,
      concurrency: settings.SLUICE_DELIVERY_CONCURRENCY,
      retryBaseMs: settings.SLUICE_RETRY_BASE_MS,
      retryMaxMs: settings.SLUICE_RETRY_MAX_MS,
      log,
    });
    await workers.start();
    sweeper = new Sweeper(batches, queues, streamNames, settings.SLUICE_SWEEP_AFTER_MS, log);
    sweeper.start();
  }

  log.info(
    {
      role: settings.SLUICE_ROLE,
      url,
      redis: settings.SLUICE_REDIS_URL,
      s3: objectStore?.description,
    },
    'sluice started',
  );

  let stopping: Promise<void> | undefined;
  const stop = async () => {
    // Order: stop taking records, then stop sealing, then let deliveries finish, then close.
    await app?.close();
    await ticker?.stop();
    await sweeper?.stop();
    await workers?.close(settings.SLUICE_SHUTDOWN_TIMEOUT_MS);
    await queues.close();
    await objectStore?.close();
    await closeRedis(redis);
    log.info('sluice stopped');
  };
  return {
    url,
    stop: () => (stopping ??= stop()),
  };
}
