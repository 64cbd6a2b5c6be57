import { availableParallelism } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './api/app.js';
import { answerProbe } from './api/health-routes.js';
import { startMetricsServer, type MetricsServer } from './api/metrics-server.js';
import { Metrics } from './telemetry/metrics.js';
import { ReplicationBarrier } from './redis/replication-barrier.js';
import { crossSlotPipeline } from './redis/cross-slot-pipeline.js';
import { COUNTED_STREAMS_KEY, streamKeys } from './streams/keys.js';
import { RecordBuffer } from './buffer/record-buffer.js';
import { SealSchedule } from './buffer/seal-schedule.js';
import { SealTicker } from './buffer/seal-ticker.js';
import { PartitionBuffer } from './buffer/partition-buffer.js';
import { ProcessingJob } from './delivery/processing-job.js';
import { ParquetEncoder } from './formats/parquet/parquet-encoder.js';
import { TableCatalog } from './formats/parquet/table-catalog.js';
import { TransformHost } from './processors/transforms/transform-host.js';
import { enqueueStranded } from './delivery/stranded-batches.js';
import type { Settings } from './config/env.js';
import { applyStreamsFile } from './streams/streams-file.js';
import { loadAccessKeys, type AccessKeys } from './api/auth/access-keys.js';
import { StreamHistory } from './console/stream-history.js';
import { SigV4Verifier } from './api/auth/sigv4-verifier.js';
import { isLoopbackHost } from './api/auth/loopback.js';
import { loadTls, type TlsMaterial } from './config/tls.js';
import { BatchStore } from './delivery/batch-store.js';
import { DeliveryQueues } from './delivery/delivery-queues.js';
import { DeliveryDriver } from './delivery/driver.js';
import { BackupWriter } from './error-output/backup-writer.js';
import { ErrorOutputWriter } from './error-output/error-output-writer.js';
import { Replayer } from './error-output/replay.js';
import { LiveTail } from './tail/live-tail.js';
import { StreamWorkers } from './delivery/stream-workers.js';
import { LocalObjectStore } from './destinations/local/local-object-store.js';
import type { ObjectStore } from './destinations/object-store.js';
import { S3ObjectStore } from './destinations/s3/s3-object-store.js';
import { RedshiftConnections } from './destinations/redshift/connections.js';
import { OpenSearchClients } from './destinations/opensearch/clients.js';
import { loadOpenSearchEndpoints } from './destinations/opensearch/endpoints.js';
import { closeRedis, connectRedis, openRedis } from './redis/connect.js';
import { checkRedis } from './redis/redis-checks.js';
import { StreamRegistry } from './streams/registry.js';
import { Readiness } from './telemetry/readiness.js';
import type { Logger } from './telemetry/logger.js';
import { redactUrlCredentials } from './telemetry/redact.js';
import { remaining, TIMED_OUT, withinTime } from './lifecycle/time-limit.js';
import { join, resolve } from 'node:path';

/** A running Sluice process. */
export interface Service {
  /** The API's base URL, when this process serves the API. */
  url: string | undefined;
  /**
   * Stops accepting, finishes in-flight work, disconnects; done by `deadline` (a `Date.now()`
   * value; `SLUICE_SHUTDOWN_TIMEOUT_MS` from now by default) whatever is stuck, abandoning
   * work that is still running then (it is in Redis, and is picked up again).
   */
  stop(deadline?: number): Promise<void>;
}

/**
 * Part of the shutdown budget kept for closing connections once requests and deliveries are no
 * longer waited for (at most a quarter of the budget).
 */
const CLOSE_RESERVE_MS = 1_000;

/**
 * Largest a record may become when the Decompression processor gunzips it: CloudWatch Logs
 * sends at most 1 MiB compressed per record, which real log data does not inflate past this;
 * a larger result is a gzip bomb and fails the record instead of exhausting memory.
 */
const MAX_DECOMPRESSED_RECORD_BYTES = 64 * 1024 * 1024;

/** The keys of a stream that metrics write (its counters) and read at a scrape. */
function metricKeysOf(stream: string) {
  const keys = streamKeys(stream);
  return {
    stream: keys.stream,
    metrics: keys.metrics,
    stats: keys.stats,
    dead: keys.dead,
    partitions: keys.partitions,
    open: keys.open,
  };
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
 * The API's request authentication: a SigV4 verifier over the configured access keys, or none
 * (with a warning when the API is reachable from other machines).
 */
function apiAuth(keys: AccessKeys, settings: Settings, log: Logger): SigV4Verifier | undefined {
  if (keys.size === 0) {
    if (!isLoopbackHost(settings.SLUICE_HOST)) {
      log.warn(
        { host: settings.SLUICE_HOST },
        'the Firehose API accepts requests from other machines without authentication: set SLUICE_ACCESS_KEYS or SLUICE_ACCESS_KEYS_FILE (see docs/authentication.md)',
      );
    }
    return undefined;
  }
  const region = settings.SLUICE_AUTH_ENFORCE_REGION ? settings.SLUICE_REGION : undefined;
  // Key ids only: they are how a user tells which setting took effect; secrets never.
  log.info(
    { accessKeyIds: [...keys.keys()], region: region ?? 'any' },
    'API requests must be signed (SigV4)',
  );
  return new SigV4Verifier({ keys, region });
}

/**
 * The composition root: wires Redis, the registry, the buffer, the API and the delivery
 * workers for the configured role, and starts them. Redis must already answer (see main.ts).
 *
 * @param tls - the TLS files the settings name, as main.ts already read them; read here when
 *   not given.
 */
export async function startService(
  settings: Settings,
  log: Logger,
  tls: TlsMaterial = loadTls(settings),
): Promise<Service> {
  // Before Redis: a bad keys setting stops the start at once, with nothing to undo.
  // The console's sign-in checks the same keys (HTTP Basic, see console/console-auth.ts).
  const accessKeys: AccessKeys =
    settings.SLUICE_ROLE === 'worker' ? new Map() : await loadAccessKeys(settings);
  const auth = settings.SLUICE_ROLE === 'worker' ? undefined : apiAuth(accessKeys, settings, log);
  // Also before Redis: a bad endpoints table stops the start. CreateDeliveryStream checks
  // DomainARNs against it (the kind's verify), delivery connects through it.
  const openSearchEndpoints = loadOpenSearchEndpoints(settings.SLUICE_OPENSEARCH_ENDPOINTS);
  const minReplicas = settings.SLUICE_REDIS_MIN_REPLICAS;
  const redis = openRedis(settings.SLUICE_REDIS_URL, tls.redis, {
    ingest: minReplicas > 0,
    mode: settings.SLUICE_REDIS_MODE,
  });
  redis.commands.on('error', (error: Error) => log.warn({ err: error }, 'redis connection error'));
  redis.queue.on('error', (error: Error) => log.warn({ err: error }, 'redis connection error'));
  redis.ingest?.on('error', (error: Error) => log.warn({ err: error }, 'redis connection error'));
  await connectRedis(redis);

  const check = await checkRedis(redis.commands, minReplicas);
  for (const warning of check.warnings) log.warn(warning);
  if (check.errors.length > 0) {
    await closeRedis(redis);
    throw new Error(check.errors.join('\n'));
  }

  // One catalog per process, so its cache of table files serves every stream.
  const catalog = new TableCatalog(settings.SLUICE_CATALOG_DIR);
  const registry = new StreamRegistry(redis.commands, settings);
  if (settings.SLUICE_CONFIG !== '') {
    const summary = await applyStreamsFile(settings.SLUICE_CONFIG, registry, settings, log, {
      catalog,
      openSearchEndpoints,
    });
    log.info({ file: settings.SLUICE_CONFIG, ...summary }, 'streams file applied');
  }

  const batches = new BatchStore(redis.commands);
  // Debug only: a queue's errors are its connection's, which the listener above logs once per
  // connection, not once per stream.
  const queues = new DeliveryQueues(redis.queue, batches, (error, stream) =>
    log.debug({ err: error, stream }, 'delivery queue error'),
  );
  // Appends confirmed by replicas are made on the connection their WAIT is sent on.
  const appends = redis.ingest ?? redis.commands;
  const buffer = new RecordBuffer(
    appends,
    settings.SLUICE_MAX_BACKLOG_MB * 1024 * 1024,
    (stream, batchId) => queues.enqueue(stream, batchId),
    minReplicas > 0
      ? new ReplicationBarrier(appends, minReplicas, settings.SLUICE_REDIS_REPLICA_TIMEOUT_MS)
      : undefined,
    // On the appends' connection: each touch reaches Redis before the append it covers.
    new SealSchedule(appends, settings.SLUICE_SWEEP_AFTER_MS),
  );
  const commandSchedule = new SealSchedule(redis.commands, settings.SLUICE_SWEEP_AFTER_MS);
  const partitions = new PartitionBuffer(
    redis.commands,
    (stream, batchId) => queues.enqueue(stream, batchId),
    commandSchedule,
  );
  const streamNames = () => registry.listAllNames();
  const serveApi = settings.SLUICE_ROLE !== 'worker';
  const deliver = settings.SLUICE_ROLE !== 'api';

  // Every process counts: the counts are the deployment's, kept in Redis. SLUICE_METRICS only
  // decides whether this process serves them.
  const metrics = new Metrics({
    redis: { ping: () => redis.commands.ping(), pipeline: () => crossSlotPipeline(redis.commands) },
    role: settings.SLUICE_ROLE,
    streamNames,
    countedKey: COUNTED_STREAMS_KEY,
    keysOf: metricKeysOf,
    backlogLimitBytes: settings.SLUICE_MAX_BACKLOG_MB * 1024 * 1024,
    log,
  });
  metrics.start();
  const telemetry = metrics.telemetry;
  const servedMetrics = settings.SLUICE_METRICS ? metrics : undefined;
  // What GET /ready checks besides Redis; drained first thing at shutdown. Checked from the
  // moment the API or the metrics port listens, so the delivery side reads as starting until it has started.
  const readiness = new Readiness();
  let deliveryWorkers: StreamWorkers | undefined;
  if (deliver) {
    readiness.add('deliveryWorkers', () =>
      deliveryWorkers === undefined
        ? 'delivery workers are starting'
        : deliveryWorkers.notRunning(),
    );
  }
  let metricsServer: MetricsServer | undefined;
  if (settings.SLUICE_METRICS_PORT !== 0) {
    try {
      metricsServer = await startMetricsServer(
        servedMetrics,
        settings.SLUICE_HOST,
        settings.SLUICE_METRICS_PORT,
        (path) => answerProbe(path, redis.commands, readiness),
      );
    } catch (error) {
      await metrics.stop();
      await closeRedis(redis);
      throw error;
    }
    log.info({ url: metricsServer.url }, 'metrics and probes served on their own port');
  }

  // One store for deliveries, the error output, backups and replay (which reads it back).
  const objectStore = objectStoreFor(settings);
  // The console's charts: one process of the deployment samples the streams each interval.
  const history = settings.SLUICE_CONSOLE
    ? new StreamHistory({
        redis: redis.commands,
        streamNames,
        onSampleError: (error) => log.warn({ err: error }, 'console chart sampling failed'),
      })
    : undefined;
  history?.start();
  let app: FastifyInstance | undefined;
  let ticker: SealTicker | undefined;
  let url: string | undefined;
  if (serveApi) {
    const replayer = new Replayer({ redis: redis.commands, buffer, store: objectStore });
    app = buildApp(
      {
        settings,
        redis: redis.commands,
        registry,
        buffer,
        log,
        auth,
        telemetry,
        metrics: servedMetrics,
        outside: { catalog, openSearchEndpoints },
        admin: { replayer },
        readiness,
        // One per process: its puts feed the tail, its admin route reads it (from any process).
        tail: new LiveTail({ redis: redis.commands, log }),
        console: history && { history, store: objectStore, accessKeys },
      },
      { https: tls.api },
    );
    // https://… when serving HTTPS: fastify names the scheme by its https option.
    url = await app.listen({ host: settings.SLUICE_HOST, port: settings.SLUICE_PORT });
    ticker = new SealTicker({
      buffer,
      partitions,
      schedule: commandSchedule,
      redis: redis.commands,
      streamNames,
      enqueueStranded: (stream, sealedBeforeMs) =>
        enqueueStranded(batches, queues, stream, sealedBeforeMs),
      tickMs: settings.SLUICE_SEAL_TICK_MS,
      log,
    });
    ticker.start();
  }

  let workers: StreamWorkers | undefined;
  let transforms: TransformHost | undefined;
  let parquet: ParquetEncoder | undefined;
  let redshift: RedshiftConnections | undefined;
  let openSearch: OpenSearchClients | undefined;
  if (deliver) {
    transforms = new TransformHost({
      transformsDir: resolve(settings.SLUICE_TRANSFORMS_DIR),
      workers: settings.SLUICE_TRANSFORM_WORKERS,
      timeoutMs: settings.SLUICE_TRANSFORM_TIMEOUT_SECONDS * 1000,
      memoryLimitMb: settings.SLUICE_TRANSFORM_MEMORY_MB,
      log,
    });
    const errorOutput = new ErrorOutputWriter(
      objectStore,
      redis.commands,
      settings.SLUICE_GZIP_LEVEL,
    );
    // As many Parquet threads as cores: conversion is CPU work, and they idle when unused.
    parquet = new ParquetEncoder(availableParallelism());
    redshift = new RedshiftConnections({
      maxPerEndpoint: settings.SLUICE_DELIVERY_CONCURRENCY,
      secretsFile: settings.SLUICE_REDSHIFT_SECRETS_FILE,
    });
    openSearch = new OpenSearchClients(
      openSearchEndpoints,
      settings.SLUICE_HTTP_RESPONSE_TIMEOUT_MS,
    );
    const driver = new DeliveryDriver({
      batches,
      registry,
      services: {
        objectStore,
        httpResponseTimeoutMs: settings.SLUICE_HTTP_RESPONSE_TIMEOUT_MS,
        parquet,
        redshift,
        opensearch: openSearch,
        deflateLevel: settings.SLUICE_GZIP_LEVEL,
      },
      errorOutput,
      backup: new BackupWriter(objectStore, settings.SLUICE_GZIP_LEVEL),
      catalog,
      retentionMs: settings.SLUICE_RETENTION_SECONDS * 1000,
      telemetry,
      processing: new ProcessingJob({
        batches,
        partitions,
        errorOutput,
        transforms,
        activePartitionLimit: settings.SLUICE_MAX_ACTIVE_PARTITIONS,
        retentionMs: settings.SLUICE_RETENTION_SECONDS * 1000,
        maxDecompressedBytes: MAX_DECOMPRESSED_RECORD_BYTES,
        telemetry,
        log,
      }),
      concurrency: {
        delivery: settings.SLUICE_DELIVERY_CONCURRENCY,
        processing: settings.SLUICE_PROCESSING_CONCURRENCY,
      },
      log,
    });
    workers = new StreamWorkers({
      connection: redis.queue,
      redis: redis.commands,
      registry,
      queues,
      driver,
      // Delivery and processing jobs share a stream's worker; the driver gates each kind.
      concurrency: settings.SLUICE_DELIVERY_CONCURRENCY + settings.SLUICE_PROCESSING_CONCURRENCY,
      retryBaseMs: settings.SLUICE_RETRY_BASE_MS,
      retryMaxMs: settings.SLUICE_RETRY_MAX_MS,
      log,
    });
    deliveryWorkers = workers;
    await workers.start();
  }

  log.info(
    {
      event: 'process.started',
      role: settings.SLUICE_ROLE,
      url,
      redis: redactUrlCredentials(settings.SLUICE_REDIS_URL),
      s3: redactUrlCredentials(objectStore.description),
    },
    'sluice started',
  );

  let stopping: Promise<void> | undefined;
  const stop = async (deadline: number) => {
    // Before anything else: GET /ready fails and puts are refused from this moment.
    readiness.drain();
    // Requests and deliveries get the time left less a reserve, so that closing the
    // connections (and main.ts stopping an embedded Redis) still fits before the deadline.
    const workUntil = deadline - Math.min(CLOSE_RESERVE_MS, Math.floor(remaining(deadline) / 4));
    // Order: stop taking records, then stop sealing, then let deliveries finish, then close.
    // Every wait is bounded: with Redis unreachable, any of them may never end by itself.
    if (app && (await withinTime(app.close(), remaining(workUntil))) === TIMED_OUT) {
      log.warn('API requests still being handled at shutdown were not waited for');
    }
    await withinTime(metricsServer?.close() ?? Promise.resolve(), remaining(workUntil));
    await withinTime(ticker?.stop() ?? Promise.resolve(), remaining(workUntil));
    await workers?.close(remaining(workUntil));
    await withinTime(transforms?.close() ?? Promise.resolve(), remaining(deadline));
    await withinTime(parquet?.close() ?? Promise.resolve(), remaining(deadline));
    await withinTime(redshift?.close() ?? Promise.resolve(), remaining(deadline));
    await withinTime(openSearch?.close() ?? Promise.resolve(), remaining(deadline));
    // After the deliveries: their last counts are written before Redis closes.
    await withinTime(history?.stop() ?? Promise.resolve(), remaining(deadline));
    await withinTime(metrics.stop(), remaining(deadline));
    await withinTime(Promise.all([queues.close(), objectStore.close()]), remaining(deadline));
    await closeRedis(redis, Math.min(CLOSE_RESERVE_MS, remaining(deadline)));
    log.info({ event: 'process.stopped' }, 'sluice stopped');
  };
  return {
    url,
    stop: (deadline = Date.now() + settings.SLUICE_SHUTDOWN_TIMEOUT_MS) =>
      (stopping ??= stop(deadline)),
  };
}
