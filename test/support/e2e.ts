import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  CreateDeliveryStreamCommand,
  FirehoseClient,
  PutRecordBatchCommand,
  type ExtendedS3DestinationConfiguration,
  type PutRecordBatchCommandOutput,
} from '@aws-sdk/client-firehose';
import { Redis } from 'ioredis';
import { afterAll, afterEach, expect } from 'vitest';

import { redisAnswers } from '../../src/redis/connect.js';
import { streamKeys } from '../../src/streams/keys.js';
import { freePort } from './free-port.js';
import { startRedisServer, type RedisServer, type RedisServerOptions } from './redis-server.js';
import { startS3Server, type S3Server } from './s3-server.js';
import { startSluice, type SluiceProcess } from './sluice-process.js';
import { uniqueName } from './unique.js';

/**
 * What the end-to-end tests (`test/e2e/`) share: they run Sluice as a real process against
 * private Redis and S3 servers, so they all need the same set-up, clean-up, waiting and
 * reading back of deliveries.
 */

/** The random UUID that ends the name of every object Sluice delivers, as a RegExp source. */
export const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/**
 * Settings that keep sealing, retries and sweeping fast enough for a test, so that a test
 * waits for seconds, not the minutes the production defaults would take.
 */
export const FAST: Readonly<Record<string, string>> = {
  SLUICE_SEAL_TICK_MS: '50',
  SLUICE_RETRY_BASE_MS: '100',
  SLUICE_RETRY_MAX_MS: '1000',
  SLUICE_SWEEP_AFTER_MS: '500',
};

/**
 * How long a drain may take after a process died with deliveries in hand: the new process
 * takes over a job only once its lock expired and a stalled-job check has seen it twice
 * (about 20 s with the service's settings), so this allows more than three times that.
 */
export const DRAIN_AFTER_TAKEOVER_MS = 75_000;

/** Records in one PutRecordBatch request of {@link requestRecords}. */
export const RECORDS_PER_REQUEST = 100;

/** The end of `text` (with `…` when cut), so a failure message shows recent logs, not megabytes. */
export function tail(text: string, chars = 6000): string {
  return text.length > chars ? `…${text.slice(-chars)}` : text;
}

/** `text` with every RegExp metacharacter escaped, to match it literally inside a pattern. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The name of an object Sluice delivered for `stream` under the default key layout (no
 * `Prefix`): `YYYY/MM/DD/HH/<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>`. The date path is
 * the hour of the batch's oldest record, and so is the name's timestamp, hence the
 * back-references.
 *
 * @param version - RegExp source for the stream version in the name; any by default.
 */
export function objectKeyPattern(stream: string, version = '\\d+'): RegExp {
  return new RegExp(
    `^(\\d{4})/(\\d{2})/(\\d{2})/(\\d{2})/${escapeRegExp(stream)}-${version}-\\1-\\2-\\3-\\4-\\d{2}-\\d{2}-${UUID}$`,
  );
}

/** One step that undoes part of a test's set-up: stops a server, closes a client. */
export type Cleanup = () => unknown;

/**
 * What a test (or a file's tests) must undo when it ends, passed or failed. Helpers that start
 * something take one and register its undoing there, so a test cannot forget it.
 */
export class Cleanups {
  readonly #pending: Cleanup[] = [];

  /** Registers cleanups; they run newest first, so register a server before its clients. */
  add(...cleanups: Cleanup[]): void {
    this.#pending.push(...cleanups);
  }

  /**
   * Runs and forgets every registered cleanup, newest first. A failing one is ignored and the
   * rest still run: after a failed test things are often half gone (a killed process, a closed
   * connection), and that must neither hide the test's own failure nor leave servers behind.
   */
  async run(): Promise<void> {
    for (const cleanup of this.#pending.splice(0).reverse()) {
      try {
        await cleanup();
      } catch {
        // Ignored, see above.
      }
    }
  }
}

/** A {@link Cleanups} that is run after each test of the calling file (call at top level). */
export function cleanupAfterEach(): Cleanups {
  const cleanups = new Cleanups();
  afterEach(() => cleanups.run());
  return cleanups;
}

/** A {@link Cleanups} that is run after all tests of the calling file (call at top level). */
export function cleanupAfterAll(): Cleanups {
  const cleanups = new Cleanups();
  afterAll(() => cleanups.run());
  return cleanups;
}

/** A fresh temporary directory, deleted by `cleanups`. */
export async function tempDir(cleanups: Cleanups, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.add(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A private redis-server (see {@link startRedisServer}), stopped by `cleanups`. */
export async function startRedis(
  cleanups: Cleanups,
  options?: RedisServerOptions,
): Promise<RedisServer> {
  const server = await startRedisServer(options);
  cleanups.add(() => server.stop());
  return server;
}

/** Connect timeout of a PING probe: loopback connects at once, so this only bounds a stuck one. */
export const PROBE_TIMEOUT_MS = 1_000;

/** Waits until nothing answers PING at `url` any more. */
export async function redisGone(url: string, timeoutMs = 15_000): Promise<void> {
  await eventually(
    `nothing to answer at ${url}`,
    async () => !(await redisAnswers(url, PROBE_TIMEOUT_MS)),
    { timeoutMs },
  );
}

/**
 * Has `cleanups` shut down (SHUTDOWN NOSAVE) whatever Redis still answers at `url` and wait
 * until it is gone: a redis-server Sluice started itself (SLUICE_REDIS_AUTOSTART) outlives a
 * test that fails before Sluice stops it. Register it after the Redis's data directory, so it
 * runs before that directory's removal.
 */
export function shutDownRedisLeftAt(cleanups: Cleanups, url: string): void {
  cleanups.add(async () => {
    if (!(await redisAnswers(url, PROBE_TIMEOUT_MS))) return;
    const admin = new Redis(url, { lazyConnect: true, retryStrategy: () => null });
    admin.on('error', () => undefined);
    await admin.connect();
    await admin.shutdown('NOSAVE').catch(() => undefined);
    admin.disconnect();
    await redisGone(url);
  });
}

/** Where an autostarting Sluice is to find or start its Redis, from {@link autostartSetup}. */
export interface AutostartSetup {
  /** A loopback Redis URL on a free port. */
  url: string;
  /** A fresh `SLUICE_DATA_DIR`; Sluice keeps the Redis it starts under `<dataDir>/redis`. */
  dataDir: string;
  /** `SLUICE_REDIS_URL`, `SLUICE_REDIS_AUTOSTART=true` and `SLUICE_DATA_DIR` for Sluice. */
  env: Record<string, string>;
}

/**
 * A loopback Redis URL on a free port and a fresh data directory for an autostarting Sluice,
 * both undone by `cleanups`: whatever still answers at the URL when the test ends is shut
 * down (see {@link shutDownRedisLeftAt}), so a failing test leaves no redis-server behind.
 */
export async function autostartSetup(cleanups: Cleanups): Promise<AutostartSetup> {
  const url = `redis://127.0.0.1:${await freePort()}`;
  const dataDir = await tempDir(cleanups, 'sluice-autostart-');
  shutDownRedisLeftAt(cleanups, url);
  const env = {
    SLUICE_REDIS_URL: url,
    SLUICE_REDIS_AUTOSTART: 'true',
    SLUICE_DATA_DIR: dataDir,
  };
  return { url, dataDir, env };
}

/** The private servers a Sluice process under test uses, from {@link startServers}. */
export interface Servers {
  redisServer: RedisServer;
  s3: S3Server;
  /** A client of `redisServer`, for reading Sluice's state. */
  redis: Redis;
  /** The environment that points Sluice at both servers; spread it into {@link startService}. */
  sluiceEnv: Readonly<Record<string, string>>;
}

/**
 * Starts a private redis-server and a private S3 server (in parallel), and a Redis client for
 * assertions; all are stopped by `cleanups`. Private servers, because these tests crash,
 * restart and inspect them, which a shared server would not survive.
 */
export async function startServers(cleanups: Cleanups): Promise<Servers> {
  const [redisServer, s3] = await Promise.all([startRedisServer(), startS3Server()]);
  cleanups.add(
    () => redisServer.stop(),
    () => s3.stop(),
  );
  // Few retries: a command that cannot reach the server should fail the test, not stall it.
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 2 });
  cleanups.add(() => redis.quit());
  return {
    redisServer,
    s3,
    redis,
    sluiceEnv: { ...s3.sluiceEnv, SLUICE_REDIS_URL: redisServer.url },
  };
}

/**
 * Starts Sluice (see {@link startSluice}) with `env`, and has `cleanups` SIGKILL it if it still
 * runs: a test that means to stop it gracefully does so itself, and asserts on how it ended.
 */
export async function startService(
  cleanups: Cleanups,
  env: Record<string, string>,
): Promise<SluiceProcess> {
  const sluice = await startSluice({ env });
  cleanups.add(() => sluice.kill());
  return sluice;
}

/** Options for {@link firehoseFor}. */
export interface FirehoseOptions {
  /**
   * Attempts per request; 1 by default: a failure surfaces at once, and a request that dies
   * with a process is not replayed into the next one, where its fate would blur.
   */
  maxAttempts?: number;
  /** Bound on connecting; unbounded (the SDK's default) when not given. */
  connectionTimeoutMs?: number;
  /** Bound on a whole request; unbounded (the SDK's default) when not given. */
  requestTimeoutMs?: number;
}

/**
 * For clients of a process a test kills or stops: one attempt, so that a request that dies
 * with the process counts as unacknowledged rather than being retried into the next process,
 * where its fate would blur; and bounds, so that a request nothing answers fails the test
 * instead of hanging it.
 */
export const ONE_BOUNDED_ATTEMPT: Readonly<FirehoseOptions> = {
  maxAttempts: 1,
  connectionTimeoutMs: 5_000,
  requestTimeoutMs: 30_000,
};

/** The unmodified AWS SDK Firehose client, pointed at `sluice` and destroyed by `cleanups`. */
export function firehoseFor(
  cleanups: Cleanups,
  sluice: Pick<SluiceProcess, 'url'>,
  options: FirehoseOptions = {},
): FirehoseClient {
  const { maxAttempts = 1, connectionTimeoutMs, requestTimeoutMs } = options;
  const bounded = connectionTimeoutMs !== undefined || requestTimeoutMs !== undefined;
  const client = new FirehoseClient({
    endpoint: sluice.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    maxAttempts,
    ...(bounded
      ? {
          requestHandler: {
            connectionTimeout: connectionTimeoutMs,
            requestTimeout: requestTimeoutMs,
          },
        }
      : {}),
  });
  cleanups.add(() => client.destroy());
  return client;
}

/**
 * An ExtendedS3 destination delivering to `bucket`, with any other field from `config`. The
 * role is never checked by Sluice; it is there because Firehose requires one.
 */
export function s3Destination(
  bucket: string,
  config: Partial<ExtendedS3DestinationConfiguration> = {},
): ExtendedS3DestinationConfiguration {
  return {
    RoleARN: 'arn:aws:iam::000000000000:role/firehose',
    BucketARN: `arn:aws:s3:::${bucket}`,
    ...config,
  };
}

/**
 * Creates a stream named `<prefix>-<unique suffix>` that delivers to `bucket` (see
 * {@link s3Destination}), and returns its name.
 */
export async function createS3Stream(
  client: FirehoseClient,
  prefix: string,
  bucket: string,
  config: Partial<ExtendedS3DestinationConfiguration> = {},
): Promise<string> {
  const name = uniqueName(prefix);
  await client.send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: name,
      ExtendedS3DestinationConfiguration: s3Destination(bucket, config),
    }),
  );
  return name;
}

/** One PutRecordBatch of `records` (a string is sent as its UTF-8 bytes) into `stream`. */
export async function putRecordBatch(
  client: FirehoseClient,
  stream: string,
  records: readonly (Buffer | string)[],
): Promise<PutRecordBatchCommandOutput> {
  return client.send(
    new PutRecordBatchCommand({
      DeliveryStreamName: stream,
      Records: records.map((record) => ({
        Data: typeof record === 'string' ? Buffer.from(record) : record,
      })),
    }),
  );
}

/** A record of {@link requestRecords}: its id and its bytes as sent. */
export interface SentRecord {
  id: string;
  text: string;
}

/**
 * The {@link RECORDS_PER_REQUEST} records of request number `request` of a run: ids
 * `<run>-<n>`, unique across requests, each a newline-terminated JSON line of about 1 KiB, so a
 * 1 MiB buffer seals every ten requests or so.
 *
 * @param run - sets this run's ids apart from any earlier one's in the same bucket.
 */
export function requestRecords(run: string, request: number): SentRecord[] {
  return Array.from({ length: RECORDS_PER_REQUEST }, (_, i) => {
    const id = `${run}-${request * RECORDS_PER_REQUEST + i}`;
    return { id, text: `${JSON.stringify({ id, pad: 'x'.repeat(1000) })}\n` };
  });
}

/** A request for {@link requestOutcome}. */
export interface OutcomeRequest {
  method: 'GET' | 'POST';
  /** Path (and query) on the server, starting with `/`. */
  path: string;
  headers?: Record<string, string>;
  /** How long the request may go without activity before it counts as `TIMEOUT`; 30 s by default. */
  timeoutMs?: number;
}

/**
 * One request to `url` on a fresh connection (no keep-alive agent), answered with what
 * happened: `HTTP <status>`, or the socket error's code (`TIMEOUT` when the request stalled),
 * for tests about requests the server cuts off, refuses or drops.
 */
export async function requestOutcome(
  url: string,
  options: OutcomeRequest,
  body?: string,
): Promise<string> {
  return new Promise((resolve) => {
    const req = request(
      `${url}${options.path}`,
      {
        method: options.method,
        agent: false,
        timeout: options.timeoutMs ?? 30_000,
        headers: options.headers,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(`HTTP ${res.statusCode}`));
        res.on('error', () => resolve(`HTTP ${res.statusCode}`));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end(body);
  });
}

/**
 * One PutRecord of `data` into `stream`, sent by {@link requestOutcome}: for a put whose fate a
 * test needs whatever happens to its connection.
 */
export async function putRecordOutcome(
  url: string,
  stream: string,
  data: string,
  timeoutMs?: number,
): Promise<string> {
  return requestOutcome(
    url,
    {
      method: 'POST',
      path: '/',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'Firehose_20150804.PutRecord',
      },
      timeoutMs,
    },
    JSON.stringify({
      DeliveryStreamName: stream,
      Record: { Data: Buffer.from(data).toString('base64') },
    }),
  );
}

/** Options for {@link eventually}. */
export interface EventuallyOptions {
  /** 30 s by default. */
  timeoutMs?: number;
  /** The process whose log tail explains a timeout. */
  sluice?: SluiceProcess;
  /** Describes the state waited on, for the timeout's message. */
  state?: () => string | Promise<string>;
}

/**
 * Polls `check` every 100 ms until it returns something other than `undefined` or `false`,
 * and returns that. Fails after the timeout with `what`, the state and Sluice's log tail;
 * an error `check` throws fails at once.
 */
export async function eventually<T>(
  what: string,
  check: () => T | false | undefined | Promise<T | false | undefined>,
  options: EventuallyOptions = {},
): Promise<T> {
  const { timeoutMs = 30_000, sluice, state } = options;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    await sleep(100);
  }
  const described = state ? ` ${await state()}` : '';
  const logs = sluice ? `\n--- sluice log tail ---\n${tail(sluice.logs())}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${described}${logs}`);
}

/**
 * Waits until every accepted record of `stream` has left the backlog: nothing open, the
 * backlog counter at 0. Fails at once if a batch was dead-lettered, which in these tests means
 * lost.
 */
export async function waitForDrain(
  redis: Redis,
  stream: string,
  sluice: SluiceProcess,
  timeoutMs = 30_000,
): Promise<void> {
  const keys = streamKeys(stream);
  const state = async () => {
    const [backlog, open, sealed, dead] = await Promise.all([
      redis.hget(keys.stats, 'backlogRecords'),
      redis.exists(keys.open),
      redis.zcard(keys.sealed),
      redis.zcard(keys.dead),
    ]);
    return { backlog, open, sealed, dead };
  };
  await eventually(
    `the backlog of ${stream} to drain`,
    async () => {
      const s = await state();
      if (s.dead > 0) {
        throw new Error(
          `${s.dead} batch(es) of ${stream} were dead-lettered\n--- sluice log tail ---\n${tail(sluice.logs())}`,
        );
      }
      return s.backlog === '0' && s.open === 0;
    },
    { timeoutMs, sluice, state: async () => JSON.stringify(await state()) },
  );
}

/** A delivered record: the object it is in and its bytes (newline included). */
export interface Delivered {
  key: string;
  text: string;
}

/**
 * Reads every object in `bucket` and splits it into newline-terminated JSON records, filed by
 * their `id`. Every key must match `layout`, and every object must end at a record boundary.
 */
export async function deliveredRecords(
  s3: S3Server,
  bucket: string,
  layout: RegExp,
): Promise<{ keys: string[]; byId: Map<string, Delivered[]> }> {
  const keys = await s3.listKeys(bucket);
  const byId = new Map<string, Delivered[]>();
  for (const key of keys) {
    expect(key).toMatch(layout);
    const body = (await s3.getObject(bucket, key)).body.toString('utf8');
    expect(body.endsWith('\n'), `${key} ends inside a record`).toBe(true);
    for (const line of body.slice(0, -1).split('\n')) {
      const id = (JSON.parse(line) as { id: string }).id;
      const seen = byId.get(id) ?? [];
      seen.push({ key, text: `${line}\n` });
      byId.set(id, seen);
    }
  }
  return { keys, byId };
}

/**
 * Every record of `acked` (id to bytes) delivered exactly once and byte for byte, no record
 * twice, and nothing delivered that is in neither `acked` nor `unacked` (records whose fate the
 * sender does not know: they may or may not be delivered).
 */
export function expectExactlyOnce(
  acked: ReadonlyMap<string, string>,
  byId: ReadonlyMap<string, Delivered[]>,
  unacked: ReadonlyMap<string, string> = new Map(),
): void {
  const missing: string[] = [];
  const altered: string[] = [];
  for (const [id, text] of acked) {
    const copies = byId.get(id);
    if (copies === undefined) missing.push(id);
    else if (copies[0]?.text !== text) altered.push(id);
  }
  const duplicated = [...byId]
    .filter(([, copies]) => copies.length > 1)
    .map(([id, copies]) => `${id} in ${copies.map((c) => c.key).join(', ')}`);
  const foreign = [...byId.keys()].filter((id) => !acked.has(id) && !unacked.has(id));
  // Only the first few of each, so a total loss does not print thousands of ids.
  const first = (list: string[]) => list.slice(0, 20);
  expect(
    {
      missing: first(missing),
      missingCount: missing.length,
      duplicated: first(duplicated),
      duplicatedCount: duplicated.length,
      altered: first(altered),
      foreign: first(foreign),
    },
    `of ${acked.size} acknowledged records`,
  ).toEqual({
    missing: [],
    missingCount: 0,
    duplicated: [],
    duplicatedCount: 0,
    altered: [],
    foreign: [],
  });
}
