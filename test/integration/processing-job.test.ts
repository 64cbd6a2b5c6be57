import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeChunk, encodeChunkFromBuffers } from '../../src/formats/chunk-frame.js';
import { PartitionBuffer } from '../../src/buffer/partition-buffer.js';
import { RecordBuffer } from '../../src/buffer/record-buffer.js';
import { loadSettings } from '../../src/config/env.js';
import { parseInput } from '../../src/config/validation.js';
import { BatchStore } from '../../src/delivery/batch-store.js';
import type { DeliveryJobData } from '../../src/delivery/delivery-queues.js';
import { DeliveryDriver, RetryableDeliveryError } from '../../src/delivery/driver.js';
import { ProcessingJob } from '../../src/delivery/processing-job.js';
import { LocalObjectStore } from '../../src/destinations/local/local-object-store.js';
import { BackupWriter } from '../../src/error-output/backup-writer.js';
import { ErrorOutputWriter } from '../../src/error-output/error-output-writer.js';
import { parseErrorRecords } from '../../src/error-output/error-records.js';
import { TransformHost } from '../../src/processors/transforms/transform-host.js';
import { batchKeys, streamKeys } from '../../src/streams/keys.js';
import { StreamRegistry } from '../../src/streams/registry.js';
import {
  CreateDeliveryStreamInputSchema,
  definitionFromCreateInput,
} from '../../src/streams/stream-definition.js';
import type { TelemetryEvent } from '../../src/telemetry/events.js';
import { TEST_REDIS_URL } from '../support/global-setup.js';
import { removeStreams } from '../support/shared-redis.js';
import { uniqueName } from '../support/unique.js';

/**
 * The first stage of streams with processing, one job at a time against real Redis, real
 * worker threads and the local object store: what a processed batch becomes (partition
 * buffers, error output), the active-partition limit, a transform that cannot load within and
 * after the retention window, and the telemetry it reports.
 */

const settings = loadSettings({ SLUICE_REDIS_URL: TEST_REDIS_URL });
const ROLE = 'arn:aws:iam::123456789012:role/firehose';
const KIT = new URL('../../dist/src/processors/transforms/transform-kit.js', import.meta.url).href;
const log = pino({ level: 'silent' });
const RETENTION_MS = 60_000;

let redis: Redis;
let root: string;
let transformsDir: string;
let host: TransformHost;
let registry: StreamRegistry;
let buffer: RecordBuffer;
let partitions: PartitionBuffer;
let batches: BatchStore;
let events: TelemetryEvent[];
let sealed: string[];
let driver: DeliveryDriver;
let clock: number;
const created: string[] = [];

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  root = await mkdtemp(join(tmpdir(), 'sluice-processing-'));
  transformsDir = await mkdtemp(join(tmpdir(), 'sluice-processing-transforms-'));
  await writeFile(
    join(transformsDir, 'keys.mjs'),
    `import { defineTransform, ok, failed } from '${KIT}';
export default defineTransform({ decode: 'json', delimiter: '\\n', record(event) {
  if (event.fail) return failed('asked to fail');
  return ok({ ...event, seen: true }, { partitionKeys: { customer: String(event.customer) } });
} });
`,
  );
  host = new TransformHost({
    transformsDir,
    workers: 2,
    timeoutMs: 5_000,
    memoryLimitMb: 128,
    log,
  });
  registry = new StreamRegistry(redis, settings);
  buffer = new RecordBuffer(redis, 1 << 30, () => Promise.resolve());
  batches = new BatchStore(redis);
});

afterAll(async () => {
  await removeStreams(redis, created);
  await host.close();
  await redis.quit();
  await rm(root, { recursive: true, force: true });
  await rm(transformsDir, { recursive: true, force: true });
});

beforeEach(() => {
  events = [];
  sealed = [];
  clock = Date.now();
  const store = new LocalObjectStore(root);
  const errorOutput = new ErrorOutputWriter(store, redis);
  partitions = new PartitionBuffer(redis, (_stream, id) => {
    sealed.push(id);
    return Promise.resolve();
  });
  const telemetry = { emit: (event: TelemetryEvent) => events.push(event) };
  driver = new DeliveryDriver({
    batches,
    registry,
    services: { objectStore: store, httpResponseTimeoutMs: 5_000 },
    errorOutput,
    backup: new BackupWriter(store),
    retentionMs: RETENTION_MS,
    processing: new ProcessingJob({
      batches,
      partitions,
      errorOutput,
      transforms: host,
      activePartitionLimit: 2,
      retentionMs: RETENTION_MS,
      maxDecompressedBytes: 1 << 20,
      log,
      telemetry,
      now: () => clock,
    }),
    log,
    telemetry,
    now: () => clock,
  });
});

/** A partitioned S3 stream whose transform is `transform`, delivering to `bucket`. */
async function partitionedStream(bucket: string, transform: string): Promise<string> {
  const name = uniqueName('proc');
  created.push(name);
  const def = definitionFromCreateInput(
    parseInput(CreateDeliveryStreamInputSchema, {
      DeliveryStreamName: name,
      ExtendedS3DestinationConfiguration: {
        RoleARN: ROLE,
        BucketARN: `arn:aws:s3:::${bucket}`,
        Prefix: 'c=!{partitionKeyFromLambda:customer}/',
        ErrorOutputPrefix: 'errors/!{firehose:error-output-type}/',
        BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 60 },
        DynamicPartitioningConfiguration: { Enabled: true },
        ProcessingConfiguration: {
          Enabled: true,
          Processors: [
            {
              Type: 'Lambda',
              Parameters: [
                { ParameterName: 'LambdaArn', ParameterValue: `sluice:transform:${transform}` },
                { ParameterName: 'NumberOfRetries', ParameterValue: '0' },
              ],
            },
          ],
        },
      },
    }),
    settings,
    Date.now(),
  );
  await registry.create(def);
  return name;
}

async function sealedBatch(stream: string, records: readonly string[]): Promise<string> {
  const buffers = records.map((r) => Buffer.from(r));
  const bytes = buffers.reduce((n, r) => n + r.length, 0);
  const result = await buffer.append(
    stream,
    encodeChunkFromBuffers(clock, buffers),
    bytes,
    buffers.length,
    clock,
  );
  expect(result.kind).toBe('stored');
  const batchId = await buffer.sealIfDue(stream, clock, true);
  if (batchId === undefined) throw new Error('nothing sealed');
  return batchId;
}

function job(stream: string, batchId: string, attemptsMade = 0): Job<DeliveryJobData> {
  return { data: { stream, batchId }, attemptsMade } as Job<DeliveryJobData>;
}

/** Every error-output line under `bucket`, as JSON, with its payload decoded. */
async function errorRecords(bucket: string) {
  const out: (Record<string, unknown> & { data: string })[] = [];
  for (const file of await listFiles(join(root, bucket, 'errors'))) {
    const body = await readFile(file);
    // Read through the error-record reader too: every line must be a valid error record.
    const parsed = parseErrorRecords(body);
    const lines = body
      .toString('utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    lines.forEach((line, i) => out.push({ ...line, data: parsed[i]?.rawData.toString() ?? '' }));
  }
  return out;
}

async function listFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return found;
  }
  for (const entry of entries) {
    const path = join(dir, entry);
    if ((await stat(path)).isDirectory()) found.push(...(await listFiles(path)));
    else found.push(path);
  }
  return found;
}

/** The records held by the stream's open partition buffers, by partition keys JSON. */
async function openPartitionRecords(stream: string): Promise<Map<string, string[]>> {
  const keys = streamKeys(stream);
  const out = new Map<string, string[]>();
  for (const pid of await redis.zrange(keys.partitions, '0', '-1')) {
    const open = await redis.hgetall(`${keys.partitionPrefix}${pid}`);
    const chunks = await redis.lrangeBuffer(batchKeys(stream, open.id ?? '').chunks, 0, -1);
    out.set(
      open.partition ?? '',
      chunks.flatMap((chunk) => decodeChunk(chunk).map((r) => r.data.toString())),
    );
  }
  return out;
}

describe('the processing job', () => {
  it('transforms a batch into partition buffers, failures and over-limit records to the error output', async () => {
    const bucket = `proc-${Date.now()}`;
    const stream = await partitionedStream(bucket, 'keys');
    const batchId = await sealedBatch(stream, [
      '{"customer":"a","n":1}',
      '{"customer":"b","n":2}',
      '{"customer":"a","n":3}',
      '{"customer":"c","n":4}',
      '{"fail":true}',
    ]);
    expect(await driver.process(job(stream, batchId))).toBe('processed 1 chunks');
    // The batch is gone: its records live on in the partition buffers (the limit is 2).
    expect(await batches.getMeta(stream, batchId)).toBeUndefined();
    const open = await openPartitionRecords(stream);
    const keyOf = (customer: string) => JSON.stringify({ query: {}, lambda: { customer } });
    expect([...open.keys()].sort()).toEqual([keyOf('a'), keyOf('b')]);
    expect(open.get(keyOf('a'))).toEqual([
      '{"customer":"a","n":1,"seen":true}\n',
      '{"customer":"a","n":3,"seen":true}\n',
    ]);
    const failed = await errorRecords(bucket);
    expect(failed.map((r) => [r.errorCode, r.data]).sort()).toEqual([
      ['DynamicPartitioning.PartitionCountExceeded', '{"customer":"c","n":4,"seen":true}\n'],
      ['Lambda.ProcessingFailedStatus', '{"fail":true}'],
    ]);
    expect(await redis.hgetall(streamKeys(stream).stats)).toMatchObject({
      backlogRecords: '3',
      processedBatches: '1',
    });
    expect(events).toContainEqual({
      type: 'processing.completed',
      stream,
      recordsIn: 5,
      recordsOut: 4,
      bytesOut: expect.any(Number) as number,
      dropped: 0,
      failed: 1,
      invocations: 1,
      transformMs: expect.any(Number) as number,
    });
    expect(events).toContainEqual({
      type: 'partitions.written',
      stream,
      partitions: 2,
      overLimitRecords: 1,
      perPartition: [
        { keys: keyOf('a'), records: 2, bytes: 70 },
        { keys: keyOf('b'), records: 1, bytes: 35 },
      ],
    });
    // A repeated job (a crash after the commit) finds the batch gone and adds nothing.
    expect(await driver.process(job(stream, batchId, 1))).toBe('already delivered');
    expect((await openPartitionRecords(stream)).get(keyOf('a'))).toHaveLength(2);

    // Due partitions seal into batches that the driver delivers, named by their partition.
    const ids = await partitions.sealDue(stream, clock + 60_000);
    expect(ids).toHaveLength(2);
    for (const id of ids) {
      expect(await driver.process(job(stream, id))).toMatch(/^delivered to /);
    }
    const objects = (await listFiles(join(root, bucket))).filter((f) => !f.includes('/errors/'));
    expect(objects.map((f) => f.slice(join(root, bucket).length + 1).split('/')[0]).sort()).toEqual(
      ['c=a', 'c=b'],
    );
  });

  it('resumes a batch a crash left part-processed from its first unprocessed chunk', async () => {
    const bucket = `proc-resume-${Date.now()}`;
    const stream = await partitionedStream(bucket, 'keys');
    const pad = 'x'.repeat(4_500);
    const chunkOf = (c: number) =>
      Array.from({ length: 250 }, (_, n) => JSON.stringify({ customer: 'r', c, n, pad }));
    // Three requests of 1.1 MB: one batch of three chunks (the first stage seals at 4 MiB).
    for (const c of [0, 1]) {
      const buffers = chunkOf(c).map((r) => Buffer.from(r));
      const bytes = buffers.reduce((n, r) => n + r.length, 0);
      await buffer.append(stream, encodeChunkFromBuffers(clock, buffers), bytes, 250, clock);
    }
    const batchId = await sealedBatch(stream, chunkOf(2));
    // As if an earlier attempt had committed chunks 0 and 1, then died.
    await redis.hset(batchKeys(stream, batchId).meta, 'processedChunks', '2');
    expect(await driver.process(job(stream, batchId, 1))).toBe('processed 1 chunks');
    // 1.1 MB passes the partition's 1 MiB: it was sealed into a batch of its own.
    expect(sealed).toHaveLength(1);
    const meta = await batches.getMeta(stream, sealed[0] as string);
    const processed = meta === undefined ? [] : await batches.readRecords(meta);
    expect(processed).toHaveLength(250);
    expect(processed.every((r) => (JSON.parse(r.data.toString()) as { c: number }).c === 2)).toBe(
      true,
    );
    expect(await batches.getMeta(stream, batchId)).toBeUndefined();
  });

  it('retries a batch whose transform cannot load, then fails its records once the retention ends', async () => {
    const bucket = `proc-missing-${Date.now()}`;
    const stream = await partitionedStream(bucket, 'nowhere');
    const batchId = await sealedBatch(stream, ['{"customer":"a"}']);
    await expect(driver.process(job(stream, batchId))).rejects.toThrow(RetryableDeliveryError);
    await expect(driver.process(job(stream, batchId))).rejects.toThrow(/Lambda.ResourceNotFound/);
    expect(await batches.getMeta(stream, batchId)).toMatchObject({ processedChunks: 0 });
    expect(events).toContainEqual({
      type: 'processing.failed',
      stream,
      code: 'Lambda.ResourceNotFound',
      records: 1,
    });
    clock += RETENTION_MS;
    expect(await driver.process(job(stream, batchId, 5))).toBe('processed 1 chunks');
    const failed = await errorRecords(bucket);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ errorCode: 'Lambda.ResourceNotFound', attemptsMade: 6 });
    expect(String(failed[0]?.errorMessage)).toMatch(/within the retention window of 60 s/);
    expect(await batches.getMeta(stream, batchId)).toBeUndefined();
    expect(await redis.hget(streamKeys(stream).stats, 'backlogRecords')).toBe('0');
  });
});
