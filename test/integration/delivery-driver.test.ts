import { mkdtemp, rm, writeFile, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeChunkFromBuffers } from '../../src/formats/chunk-frame.js';
import { RecordBuffer } from '../../src/buffer/record-buffer.js';
import { loadSettings } from '../../src/config/env.js';
import { parseInput } from '../../src/config/validation.js';
import { BatchStore } from '../../src/delivery/batch-store.js';
import type { DeliveryJobData } from '../../src/delivery/delivery-queues.js';
import { DeliveryDriver, RetryableDeliveryError } from '../../src/delivery/driver.js';
import { LocalObjectStore } from '../../src/destinations/local/local-object-store.js';
import { BackupWriter } from '../../src/error-output/backup-writer.js';
import { ErrorOutputWriter } from '../../src/error-output/error-output-writer.js';
import { parseErrorRecords } from '../../src/error-output/error-records.js';
import { batchKeys, streamKeys } from '../../src/streams/keys.js';
import { StreamRegistry } from '../../src/streams/registry.js';
import {
  CreateDeliveryStreamInputSchema,
  definitionFromCreateInput,
} from '../../src/streams/stream-definition.js';
import type { TelemetryEvent } from '../../src/telemetry/events.js';
import { TEST_REDIS_URL } from '../support/global-setup.js';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.js';
import { removeStreams } from '../support/shared-redis.js';
import { uniqueName } from '../support/unique.js';

/**
 * The driver's own rules, one attempt at a time (jobs are called directly, not through
 * BullMQ, so that each test decides when the next attempt runs): retries, the retry window,
 * request groups and partial retry, the error output and its failure, backups, telemetry.
 */

const settings = loadSettings({ SLUICE_REDIS_URL: TEST_REDIS_URL });
const ROLE = 'arn:aws:iam::123456789012:role/firehose';
const log = pino({ level: 'silent' });

let redis: Redis;
let root: string;
let receiver: HttpReceiver;
let registry: StreamRegistry;
let buffer: RecordBuffer;
let batches: BatchStore;
let events: TelemetryEvent[];
let driver: DeliveryDriver;
let clock: number;
const created: string[] = [];

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  root = await mkdtemp(join(tmpdir(), 'sluice-driver-'));
  receiver = await startHttpReceiver();
  registry = new StreamRegistry(redis, settings);
  buffer = new RecordBuffer(redis, 1 << 30, () => Promise.resolve());
  batches = new BatchStore(redis);
});

afterAll(async () => {
  await removeStreams(redis, created);
  await redis.quit();
  await receiver.close();
  await rm(root, { recursive: true, force: true });
});

beforeEach(() => {
  receiver.reset();
  events = [];
  clock = Date.now();
  const store = new LocalObjectStore(root);
  driver = new DeliveryDriver({
    batches,
    registry,
    services: { objectStore: store, httpResponseTimeoutMs: 5_000 },
    errorOutput: new ErrorOutputWriter(store, redis),
    backup: new BackupWriter(store),
    retentionMs: 60_000,
    log,
    telemetry: { emit: (event) => events.push(event) },
    now: () => clock,
  });
});

/** Creates an HTTP endpoint stream whose error output goes to `bucket` in the local store. */
async function httpStream(bucket: string, extra: Record<string, unknown> = {}): Promise<string> {
  const name = uniqueName('drv');
  created.push(name);
  const def = definitionFromCreateInput(
    parseInput(CreateDeliveryStreamInputSchema, {
      DeliveryStreamName: name,
      HttpEndpointDestinationConfiguration: {
        EndpointConfiguration: { Url: receiver.url, Name: 'receiver', AccessKey: 'k' },
        RetryOptions: { DurationInSeconds: 60 },
        S3Configuration: { RoleARN: ROLE, BucketARN: `arn:aws:s3:::${bucket}` },
        ...extra,
      },
    }),
    settings,
    Date.now(),
  );
  await registry.create(def);
  return name;
}

/** Appends `records` in requests of at most 500, seals the batch, and returns its id. */
async function sealedBatch(stream: string, records: readonly Buffer[]): Promise<string> {
  for (let start = 0; start < records.length; start += 500) {
    const part = records.slice(start, start + 500);
    const bytes = part.reduce((n, r) => n + r.length, 0);
    const result = await buffer.append(
      stream,
      encodeChunkFromBuffers(clock, part),
      bytes,
      part.length,
      clock,
    );
    expect(result.kind).toBe('stored');
  }
  const batchId = await buffer.sealIfDue(stream, clock, true);
  if (batchId === undefined) throw new Error('nothing sealed');
  await batches.markEnqueued(stream, batchId);
  return batchId;
}

function job(stream: string, batchId: string, attemptsMade: number): Job<DeliveryJobData> {
  return { data: { stream, batchId }, attemptsMade } as Job<DeliveryJobData>;
}

const records = (n: number, tag = 'r') =>
  Array.from({ length: n }, (_, i) => Buffer.from(`${tag}-${i}\n`));

/** Every error-output record under `bucket` in the local store. */
async function errorRecords(bucket: string) {
  const files = await listFiles(join(root, bucket));
  const out = [];
  for (const file of files) out.push(...parseErrorRecords(await readFile(file)));
  return out;
}

async function listFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await listFiles(path)));
    else if (!entry.name.endsWith('.partial')) found.push(path);
  }
  return found;
}

describe('the delivery driver', () => {
  it('retries a failed request with the same request id, then completes the batch', async () => {
    const stream = await httpStream('retry-errors');
    const sent = records(20);
    const batchId = await sealedBatch(stream, sent);
    receiver.script({ kind: 'status', status: 503 });
    await expect(driver.process(job(stream, batchId, 0))).rejects.toBeInstanceOf(
      RetryableDeliveryError,
    );
    expect(await redis.hget(batchKeys(stream, batchId).meta, 'firstFailureAtMs')).toBe(
      String(clock),
    );
    clock += 1_000;
    expect(await driver.process(job(stream, batchId, 1))).toMatch(/^delivered to POST /);
    expect(receiver.requests.map((r) => r.requestId)).toEqual([
      receiver.requests[0]?.requestId,
      receiver.requests[0]?.requestId,
    ]);
    expect(receiver.accepted).toEqual(sent);
    expect(await redis.exists(batchKeys(stream, batchId).meta)).toBe(0);
    expect(events.map((e) => e.type)).toEqual(['delivery.failed', 'delivery.succeeded']);
    expect(events[0]).toEqual({
      type: 'delivery.failed',
      stream,
      destination: 'HttpEndpoint',
      stage: 'delivery',
      code: 'HttpEndpoint.DestinationException',
      records: 20,
      attempt: 1,
      retrying: true,
    });
    expect(events[1]).toMatchObject({ records: 20, bytes: Buffer.concat(sent).length });
  });

  it('writes the records to the error output once the retry window has ended', async () => {
    const stream = await httpStream('window-errors', { RetryOptions: { DurationInSeconds: 2 } });
    const sent = records(5);
    const batchId = await sealedBatch(stream, sent);
    receiver.always({ kind: 'status', status: 500, errorMessage: 'down' });
    await expect(driver.process(job(stream, batchId, 0))).rejects.toThrow();
    clock += 1_000;
    await expect(driver.process(job(stream, batchId, 1))).rejects.toThrow();
    clock += 1_500;
    expect(await driver.process(job(stream, batchId, 2))).toBe('5 records to the error output');
    const failed = await errorRecords('window-errors');
    expect(failed.map((r) => r.rawData)).toEqual(sent);
    expect(failed[0]?.code).toBe('HttpEndpoint.DestinationException');
    expect(failed[0]?.message).toMatch(/retry window of 2 s ended after 3 attempts/);
    expect(receiver.requests).toHaveLength(3);
    expect(
      events
        .filter((e) => e.type === 'delivery.failed')
        .map((e) => e.type === 'delivery.failed' && [e.attempt, e.retrying, e.records]),
    ).toEqual([
      [1, true, 5],
      [2, true, 5],
      [3, false, 5],
    ]);
  });

  it('keeps a batch whose error output cannot be written, and writes it later without resending', async () => {
    const bucket = `broken-${Date.now()}`;
    const stream = await httpStream(bucket);
    const sent = records(7);
    const batchId = await sealedBatch(stream, sent);
    receiver.always({ kind: 'status', status: 413 });
    // A file where the bucket's directory would go: every write under it fails.
    await writeFile(join(root, bucket), 'not a directory');
    await expect(driver.process(job(stream, batchId, 0))).rejects.toThrow(
      /error output write failed/,
    );
    expect(await redis.hget(batchKeys(stream, batchId).meta, 'failed')).toContain('"reasons"');
    expect(await redis.hget(streamKeys(stream).stats, 'backlogRecords')).toBe('7');

    await rm(join(root, bucket));
    expect(await driver.process(job(stream, batchId, 1))).toBe(
      'failed records written to the error output',
    );
    // 413 is permanent: the endpoint saw the batch once, the retry only wrote it out.
    expect(receiver.requests).toHaveLength(1);
    expect((await errorRecords(bucket)).map((r) => r.rawData)).toEqual(sent);
    expect(await listFiles(join(root, bucket))).toHaveLength(1);
    expect(await redis.exists(batchKeys(stream, batchId).meta)).toBe(0);
    expect(events.filter((e) => e.type === 'error-output.written')).toEqual([
      { type: 'error-output.written', stream, errorOutputType: 'http-endpoint-failed', records: 7 },
    ]);
  });

  it('sends more than 10,000 records as several requests and retries only the failed one', async () => {
    const stream = await httpStream('split-errors', {
      BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 900 },
    });
    const sent = records(10_500, 's');
    const batchId = await sealedBatch(stream, sent);
    receiver.script({ kind: 'ok' }, { kind: 'status', status: 502 });
    await expect(driver.process(job(stream, batchId, 0))).rejects.toThrow();
    const [first, second] = receiver.requests;
    expect(first?.records).toHaveLength(10_000);
    expect(second?.records).toHaveLength(500);
    expect(first?.requestId).not.toBe(second?.requestId);
    expect(
      JSON.parse((await redis.hget(batchKeys(stream, batchId).meta, 'pending')) ?? '[]'),
    ).toHaveLength(500);

    expect(await driver.process(job(stream, batchId, 1))).toMatch(/^delivered/);
    const third = receiver.requests[2];
    expect(receiver.requests).toHaveLength(3);
    expect(third?.requestId).toBe(second?.requestId);
    expect(third?.records).toEqual(sent.slice(10_000));
    expect(receiver.uniqueAccepted()).toEqual(sent);
  });

  it('writes a backup of every record with S3BackupMode AllData, once', async () => {
    const stream = await httpStream('backup-bucket', { S3BackupMode: 'AllData' });
    const sent = records(3, 'b');
    const batchId = await sealedBatch(stream, sent);
    receiver.script({ kind: 'status', status: 500 });
    await expect(driver.process(job(stream, batchId, 0))).rejects.toThrow();
    await driver.process(job(stream, batchId, 1));
    const files = await listFiles(join(root, 'backup-bucket'));
    expect(files).toHaveLength(1);
    expect(await readFile(files[0] as string)).toEqual(Buffer.concat(sent));
    expect((await stat(files[0] as string)).size).toBe(Buffer.concat(sent).length);
    expect(events.filter((e) => e.type === 'backup.written')).toHaveLength(1);
  });
});
