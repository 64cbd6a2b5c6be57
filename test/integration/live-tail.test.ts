import { request as httpRequest } from 'node:http';
import {
  CreateDeliveryStreamCommand,
  FirehoseClient,
  PutRecordCommand,
} from '@aws-sdk/client-firehose';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { SigV4Verifier } from '../../src/api/auth/sigv4-verifier.js';
import { RecordBuffer } from '../../src/buffer/record-buffer.js';
import { loadSettings } from '../../src/config/env.js';
import { BatchStore } from '../../src/delivery/batch-store.js';
import { DeliveryQueues } from '../../src/delivery/delivery-queues.js';
import {
  closeRedis,
  connectRedis,
  openRedis,
  type RedisConnections,
} from '../../src/redis/connect.js';
import { RedisScript } from '../../src/redis/redis-script.js';
import { streamKeys, streamPrefix } from '../../src/streams/keys.js';
import { StreamRegistry } from '../../src/streams/registry.js';
import { LiveTail, type TailPage } from '../../src/tail/live-tail.js';
import { TAILED_STREAMS_KEY, tailKeys } from '../../src/tail/tail-keys.js';
import {
  CAPTURE_RECORDS_PER_SECOND,
  PREVIEW_BYTES,
  RING_MAX_AGE_MS,
  RING_RECORDS,
} from '../../src/tail/tail-limits.js';
import { TAIL_CAPTURE_SCRIPT } from '../../src/tail/tail-scripts.js';
import { eventually, putRecordBatch, s3Destination } from '../support/e2e.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { uniqueName } from '../support/unique.js';

/**
 * The live tail end to end: two API processes (two apps, each with its own Redis connections,
 * buffer and LiveTail) on one private Redis, records put through A and read through B's
 * `GET /admin/v1/tail`, as with several `SLUICE_ROLE=api` processes.
 */

/** One API process of the test. */
interface ApiProcess {
  endpoint: string;
  app: FastifyInstance;
  tail: LiveTail;
  firehose: FirehoseClient;
  connections: RedisConnections;
  /** What the tail's capture reported (it must stay quiet). */
  warnings: string[];
  close(): Promise<void>;
}

/**
 * Starts an API process on the Redis at `redisUrl`; with `tailRedis`, its live tail uses that
 * connection instead of the process's own.
 */
async function startApiProcess(
  redisUrl: string,
  options: { auth?: SigV4Verifier; tailRedis?: Redis } = {},
): Promise<ApiProcess> {
  const settings = loadSettings({ SLUICE_REDIS_URL: redisUrl, SLUICE_PORT: '0' });
  const connections = openRedis(settings.SLUICE_REDIS_URL);
  connections.commands.on('error', () => undefined);
  connections.queue.on('error', () => undefined);
  await connectRedis(connections);
  const redis = connections.commands;
  const queues = new DeliveryQueues(connections.queue, new BatchStore(redis));
  const buffer = new RecordBuffer(redis, settings.SLUICE_MAX_BACKLOG_MB * 1024 * 1024, (s, id) =>
    queues.enqueue(s, id),
  );
  const warnings: string[] = [];
  const tail = new LiveTail({
    redis: options.tailRedis ?? redis,
    log: { warn: (details, message) => warnings.push(`${message} ${JSON.stringify(details)}`) },
  });
  const app = buildApp({
    settings,
    redis,
    registry: new StreamRegistry(redis, settings),
    buffer,
    log: pino({ level: 'silent' }),
    tail,
    auth: options.auth,
  });
  const endpoint = await app.listen({ host: '127.0.0.1', port: 0 });
  const firehose = new FirehoseClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
  let closed = false;
  return {
    endpoint,
    app,
    tail,
    firehose,
    connections,
    warnings,
    async close() {
      if (closed) return;
      closed = true;
      firehose.destroy();
      await app.close();
      await queues.close();
      await closeRedis(connections);
    },
  };
}

let redisServer: RedisServer;
let a: ApiProcess;
let b: ApiProcess;

beforeAll(async () => {
  redisServer = await startRedisServer();
  a = await startApiProcess(redisServer.url);
  b = await startApiProcess(redisServer.url);
});
afterAll(async () => {
  expect(a?.warnings).toEqual([]);
  expect(b?.warnings).toEqual([]);
  await a?.close();
  await b?.close();
  await redisServer?.stop();
});

async function createStream(prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await a.firehose.send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: name,
      ExtendedS3DestinationConfiguration: s3Destination('bucket', {
        BufferingHints: { SizeInMBs: 128, IntervalInSeconds: 900 },
      }),
    }),
  );
  return name;
}

/** `GET /admin/v1/tail` of `process` with `query`, over HTTP. */
async function tailRequest(
  process: ApiProcess,
  query: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL('/admin/v1/tail', process.endpoint);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A page read through B, which must answer 200. */
async function readPage(query: Record<string, string>): Promise<TailPage> {
  const { status, body } = await tailRequest(b, query);
  expect(status, JSON.stringify(body)).toBe(200);
  return body as unknown as TailPage;
}

/**
 * Starts tailing `stream` through B and waits until A captures its puts (A reads which streams
 * are tailed about once a second): probe records are put through A until one shows up.
 *
 * @returns the cursor after the probe.
 */
async function startTailing(stream: string): Promise<string> {
  let cursor = (await readPage({ stream, wait: '0' })).cursor;
  let probes = 0;
  await eventually('A to capture a probe record', async () => {
    probes += 1;
    await a.firehose.send(
      new PutRecordCommand({
        DeliveryStreamName: stream,
        Record: { Data: Buffer.from(`probe ${probes}`) },
      }),
    );
    const page = await readPage({ stream, cursor, wait: '1' });
    cursor = page.cursor;
    return page.records.length > 0;
  });
  await eventually('captures to settle', () => a.tail.capturesInFlight === 0);
  return cursor;
}

/** Pages read through B from `cursor` until `done` says enough; returns them all. */
async function readUntil(
  stream: string,
  cursor: string,
  done: (records: number, skipped: number) => boolean,
): Promise<{ records: TailPage['records']; skipped: number; cursor: string }> {
  const records: TailPage['records'] = [];
  let skipped = 0;
  let at = cursor;
  await eventually('the tail to show the records', async () => {
    const page = await readPage({ stream, cursor: at, wait: '1' });
    records.push(...page.records);
    skipped += page.skipped;
    at = page.cursor;
    return done(records.length, skipped);
  });
  return { records, skipped, cursor: at };
}

/** Every key of the private Redis that belongs to a tail: rings, budgets, the index. */
async function tailKeysInRedis(): Promise<string[]> {
  const redis = a.connections.commands;
  const keys = [...(await redis.keys('*}:tail*')), ...(await redis.keys(TAILED_STREAMS_KEY))];
  return keys.sort();
}

describe('live tail', () => {
  // First: before any tail exists on this Redis.
  it('captures nothing, and leaves no key, while nobody tails', async () => {
    const stream = await createStream('tail-idle');
    const before = await zrangebyscoreCalls();
    const started = Date.now();
    for (let i = 0; i < 30; i++) {
      await a.firehose.send(
        new PutRecordCommand({
          DeliveryStreamName: stream,
          Record: { Data: Buffer.from(`r${i}`) },
        }),
      );
    }
    await putRecordBatch(
      a.firehose,
      stream,
      Array.from({ length: 500 }, (_, i) => `{"n":${i}}`),
    );
    const seconds = Math.ceil((Date.now() - started) / 1000);
    expect(a.tail.capturesInFlight).toBe(0);
    expect(await tailKeysInRedis()).toEqual([]);
    // Which streams are tailed is asked about once a second, not once per put.
    const calls = (await zrangebyscoreCalls()) - before;
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThanOrEqual(seconds + 1);
  });

  it('shows records put through one process to a tail read through another, decoded', async () => {
    const stream = await createStream('tail-decode');
    const cursor = await startTailing(stream);
    const before = Date.now();
    const records = [
      Buffer.from('{"page":"/a","n":1}\n'),
      Buffer.from('plain text, with a tab\tand ünïcödé\n'),
      Buffer.from([0x00, 0x01, 0x02, 0xff]),
      Buffer.from('a\u0001b'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('42'),
    ];
    const answer = await putRecordBatch(a.firehose, stream, records);
    expect(answer.FailedPutCount).toBe(0);
    const after = Date.now();
    const seen = await readUntil(stream, cursor, (n) => n >= records.length);
    expect(seen.skipped).toBe(0);
    expect(
      seen.records.map(({ encoding, preview, truncated, bytes }) => [
        encoding,
        preview,
        truncated,
        bytes,
      ]),
    ).toEqual([
      ['json', '{"page":"/a","n":1}\n', false, records[0]?.length],
      ['text', 'plain text, with a tab\tand ünïcödé\n', false, records[1]?.length],
      ['base64', 'AAEC/w==', false, 4],
      ['base64', Buffer.from('a\u0001b').toString('base64'), false, 3],
      ['base64', Buffer.from([0xc3, 0x28]).toString('base64'), false, 2],
      ['json', '42', false, 2],
    ]);
    for (const record of seen.records) {
      expect(record.at).toBeGreaterThanOrEqual(before - 1);
      expect(record.at).toBeLessThanOrEqual(after);
    }
    expect(seen.cursor).toBe(seen.records.at(-1)?.seq);
    // Seqs grow: the order of the ring is the order of capture.
    const seqs = seen.records.map((r) => r.seq);
    expect([...seqs].sort(compareSeq)).toEqual(seqs);
  });

  it('caps previews at PREVIEW_BYTES of the data, on a character boundary', async () => {
    const stream = await createStream('tail-preview');
    const cursor = await startTailing(stream);
    const euros = '€'.repeat(2000); // 6,000 bytes, 3 a character
    const json = JSON.stringify({ text: 'x'.repeat(6000) });
    const binary = Buffer.alloc(5000, 0x80);
    await putRecordBatch(a.firehose, stream, [euros, json, binary]);
    const seen = await readUntil(stream, cursor, (n) => n >= 3);
    const [text, parsed, bytes] = seen.records;
    expect(text).toMatchObject({ encoding: 'text', truncated: true, bytes: 6000 });
    expect(text?.preview).toBe('€'.repeat(Math.floor(PREVIEW_BYTES / 3)));
    expect(parsed).toMatchObject({ encoding: 'json', truncated: true, bytes: json.length });
    expect(parsed?.preview).toBe(json.slice(0, PREVIEW_BYTES));
    expect(bytes).toMatchObject({ encoding: 'base64', truncated: true, bytes: 5000 });
    expect(Buffer.from(bytes?.preview ?? '', 'base64')).toEqual(binary.subarray(0, PREVIEW_BYTES));
  });

  it('samples at most CAPTURE_RECORDS_PER_SECOND records a second, counting the rest as skipped', async () => {
    const stream = await createStream('tail-sample');
    const cursor = await startTailing(stream);
    const count = 500;
    await putRecordBatch(
      a.firehose,
      stream,
      Array.from({ length: count }, (_, n) => JSON.stringify({ n })),
    );
    const seen = await readUntil(stream, cursor, (n, skipped) => n + skipped >= count);
    expect(seen.records.length).toBeGreaterThanOrEqual(1);
    expect(seen.records.length).toBeLessThanOrEqual(CAPTURE_RECORDS_PER_SECOND);
    expect(seen.records.length + seen.skipped).toBe(count);
    // Spread over the request, in order.
    const ns = seen.records.map((r) => (JSON.parse(r.preview) as { n: number }).n);
    expect([...ns].sort((x, y) => x - y)).toEqual(ns);
    expect(new Set(ns).size).toBe(ns.length);
    expect(ns.at(-1)).toBeGreaterThan(count / 2);
  });

  it('keeps a ring of at most RING_RECORDS records that expires after RING_MAX_AGE_MS', async () => {
    const stream = uniqueName('tail-ring');
    const keys = tailKeys(stream);
    const script = new RedisScript(TAIL_CAPTURE_SCRIPT, 2);
    const redis = a.connections.commands;
    // Every call in a second of its own, each with a full second's budget.
    for (let second = 0; second < 15; second++) {
      const args: (string | number)[] = [
        CAPTURE_RECORDS_PER_SECOND,
        RING_RECORDS,
        RING_MAX_AGE_MS,
        0,
      ];
      args.push(CAPTURE_RECORDS_PER_SECOND + 5);
      for (let i = 0; i < CAPTURE_RECORDS_PER_SECOND + 5; i++) args.push(1, 1, 'text', 'x', 0);
      const [added, carried] = (await script.run(redis, [keys.ring, keys.rate(second)], args)) as [
        number,
        number,
      ];
      expect([added, carried]).toEqual([CAPTURE_RECORDS_PER_SECOND, 0]);
    }
    expect(await redis.xlen(keys.ring)).toBe(RING_RECORDS);
    const ttl = await redis.pttl(keys.ring);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(RING_MAX_AGE_MS);
    // The first entry of each call counts the 5 the budget left out.
    const entries = await redis.xrange(keys.ring, '-', '+');
    const skipped = entries.map(([, fields]) => Number(fields[fields.indexOf('skipped') + 1]));
    expect(skipped.filter((n) => n === 5).length).toBe(RING_RECORDS / CAPTURE_RECORDS_PER_SECOND);
    // A spent budget adds nothing and hands back what it left out.
    const spent = (await script.run(
      redis,
      [keys.ring, keys.rate(14)],
      [CAPTURE_RECORDS_PER_SECOND, RING_RECORDS, RING_MAX_AGE_MS, 3, 1, 1, 1, 'text', 'x', 0],
    )) as [number, number];
    expect(spent).toEqual([0, 4]);
    expect(await redis.pttl(keys.rate(14))).toBeLessThanOrEqual(2000);
    await redis.del(keys.ring, keys.rate(14));
  });

  it('counts the records a slow reader missed when the ring moved past its cursor', async () => {
    const stream = await createStream('tail-behind');
    const cursor = await startTailing(stream);
    const keys = tailKeys(stream);
    const script = new RedisScript(TAIL_CAPTURE_SCRIPT, 2);
    // 15 captures, each in a budget second of its own: 20 records added and 5 left out by each,
    // 300 added in all, so the ring (RING_RECORDS) has trimmed its first 100 and the cursor's.
    const calls = 15;
    const offered = CAPTURE_RECORDS_PER_SECOND + 5;
    for (let second = 0; second < calls; second++) {
      const args: (string | number)[] = [
        CAPTURE_RECORDS_PER_SECOND,
        RING_RECORDS,
        RING_MAX_AGE_MS,
        0,
        offered,
      ];
      for (let i = 0; i < offered; i++) args.push(Date.now(), 1, 'text', `${second}.${i}`, 0);
      await script.run(a.connections.commands, [keys.ring, keys.rate(second)], args);
    }
    expect(await a.connections.commands.xlen(keys.ring)).toBe(RING_RECORDS);
    const seen = await readUntil(stream, cursor, (n, skipped) => n + skipped >= calls * offered);
    expect(seen.records).toHaveLength(RING_RECORDS);
    // Everything since the cursor is accounted for: shown, sampled out, or trimmed.
    expect(seen.records.length + seen.skipped).toBe(calls * offered);
    expect(seen.records[0]?.preview).toBe(`5.0`);
    // The 5 trimmed captures whole, and the 5 the sixth left out before its first record.
    expect(seen.records[0]?.skippedBefore).toBe(5 * offered + 5);
    // Ids stay ordered as Redis orders them, and the cursor goes on from the last one.
    const seqs = seen.records.map((r) => r.seq);
    expect([...seqs].sort(compareSeq)).toEqual(seqs);
    expect(seen.cursor).toBe(seqs.at(-1));
  });

  it('shows PutRecord records too, starting a cursorless tail with the last minute', async () => {
    const stream = await createStream('tail-put-record');
    await startTailing(stream);
    await a.firehose.send(
      new PutRecordCommand({
        DeliveryStreamName: stream,
        Record: { Data: Buffer.from('{"one":1}') },
      }),
    );
    await eventually('the record to be captured', async () => {
      const page = await readPage({ stream, wait: '0' });
      return page.records.at(-1)?.preview === '{"one":1}';
    });
    const page = await readPage({ stream, wait: '0', limit: '1' });
    expect(page.records).toHaveLength(1);
    expect(page.records[0]).toMatchObject({ encoding: 'json', preview: '{"one":1}', bytes: 9 });
    expect(page.cursor).toBe(page.records[0]?.seq);
  });

  it('shows records sent to the HTTP records endpoint', async () => {
    const stream = await createStream('tail-http-lines');
    const cursor = await startTailing(stream);
    const response = await fetch(new URL(`/v1/streams/${stream}/records`, a.endpoint), {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: '{"line":1}\n{"line":2}\n',
    });
    expect(response.status).toBe(200);
    const { records } = await readUntil(stream, cursor, (n) => n >= 2);
    expect(records.map((r) => r.preview)).toEqual(['{"line":1}\n', '{"line":2}\n']);
  });

  it('answers a long poll as soon as a record arrives', async () => {
    const stream = await createStream('tail-long-poll');
    const cursor = await startTailing(stream);
    const started = Date.now();
    const waiting = readPage({ stream, cursor, wait: '20' });
    await eventually('the read to wait', () => b.tail.readsInProgress === 1);
    await putRecordBatch(a.firehose, stream, ['arrived']);
    const page = await waiting;
    expect(page.records.map((r) => r.preview)).toEqual(['arrived']);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('answers an empty page with the same cursor when the wait ends', async () => {
    const stream = await createStream('tail-quiet');
    const cursor = await startTailing(stream);
    const page = await readPage({ stream, cursor, wait: '1' });
    expect(page).toEqual({ stream, cursor, records: [], skipped: 0 });
    const direct = await b.tail.read(stream, { cursor, waitMs: 0 });
    expect(direct).toEqual({ stream, cursor, records: [], skipped: 0 });
  });

  it('stops waiting when the client goes away', async () => {
    const stream = await createStream('tail-gone');
    const url = new URL('/admin/v1/tail', b.endpoint);
    url.search = new URLSearchParams({ stream, wait: '20' }).toString();
    const request = httpRequest(url);
    request.on('error', () => undefined);
    request.end();
    await eventually('the read to wait', () => b.tail.readsInProgress === 1);
    request.destroy();
    await eventually('the read to stop', () => b.tail.readsInProgress === 0);
  });

  it('ends a read early when its signal aborts', async () => {
    const stream = await createStream('tail-abort');
    const controller = new AbortController();
    const reading = b.tail.read(stream, { waitMs: 20_000, signal: controller.signal });
    await eventually('the read to wait', () => b.tail.readsInProgress === 1);
    controller.abort();
    const page = await reading;
    expect(page.records).toEqual([]);
    expect(b.tail.readsInProgress).toBe(0);
  });

  it('answers a waiting read when the app closes, so shutdown does not wait it out', async () => {
    const stream = await createStream('tail-close');
    const c = await startApiProcess(redisServer.url);
    try {
      const waiting = tailRequest(c, { stream, wait: '20' });
      await eventually('the read to wait', () => c.tail.readsInProgress === 1);
      const started = Date.now();
      await c.app.close();
      const answer = await waiting;
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ stream, records: [], skipped: 0 });
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await c.close();
    }
  });

  it('refuses invalid parameters with 400 InvalidParameter naming the parameter', async () => {
    const stream = await createStream('tail-params');
    const cases: [Record<string, string>, string][] = [
      [{}, 'stream: is required'],
      [{ stream: 'no spaces' }, 'stream:'],
      [{ stream, wait: '21' }, 'wait: must be whole seconds from 0 to 20'],
      [{ stream, wait: 'soon' }, 'wait: must be whole seconds from 0 to 20'],
      [{ stream, limit: '0' }, `limit: must be a whole number from 1 to ${RING_RECORDS}`],
      [{ stream, limit: '201' }, `limit: must be a whole number from 1 to ${RING_RECORDS}`],
      [{ stream, cursor: 'latest' }, 'cursor: must be the cursor of a previous answer'],
      [{ stream, follow: '1' }, 'unknown parameter follow'],
    ];
    for (const [query, message] of cases) {
      const { status, body } = await tailRequest(b, query);
      expect({ query, status, error: body.error }).toEqual({
        query,
        status: 400,
        error: 'InvalidParameter',
      });
      expect(body.message).toContain(message);
    }
  });

  it('answers 404 StreamNotFound for a stream that does not exist', async () => {
    const stream = uniqueName('tail-missing');
    const { status, body } = await tailRequest(b, { stream, wait: '0' });
    expect(status).toBe(404);
    expect(body).toEqual({
      error: 'StreamNotFound',
      message: `there is no delivery stream "${stream}" at this Sluice`,
    });
    // Nothing is marked tailed for it.
    expect(await a.connections.commands.zscore(TAILED_STREAMS_KEY, stream)).toBeNull();
    expect(await a.connections.commands.keys(`${streamPrefix(stream)}*`)).toEqual([]);
  });

  it('never fails or changes a put when capturing fails, and says so once', async () => {
    const stream = await createStream('tail-failing');
    // The tail's own Redis: it says the stream is tailed, then refuses every write (out of
    // memory), while the puts are stored in the process's Redis as always.
    const tailServer = await startRedisServer({ maxmemoryPolicy: 'noeviction' });
    const tailRedis = new Redis(tailServer.url, { enableOfflineQueue: false, lazyConnect: true });
    await tailRedis.connect();
    const c = await startApiProcess(redisServer.url, { tailRedis });
    try {
      await tailRedis.zadd(TAILED_STREAMS_KEY, Date.now() + 600_000, stream);
      await tailRedis.config('SET', 'maxmemory', '1');
      const secret = 'do-not-log-this-record';
      let puts = 0;
      let records = 0;
      const firehose = c.firehose;
      await eventually('a capture to fail', async () => {
        const answer = await putRecordBatch(firehose, stream, [secret, secret]);
        expect(answer.FailedPutCount).toBe(0);
        expect(answer.RequestResponses?.every((r) => r.RecordId !== undefined)).toBe(true);
        puts += 1;
        records += 2;
        return c.warnings.length > 0;
      });
      // More failing captures, over more than a second: still the one line.
      const until = Date.now() + 1500;
      while (Date.now() < until) {
        const answer = await putRecordBatch(firehose, stream, [secret]);
        expect(answer.FailedPutCount).toBe(0);
        puts += 1;
        records += 1;
      }
      await eventually('captures to settle', () => c.tail.capturesInFlight === 0);
      expect(puts).toBeGreaterThan(2);
      expect(c.warnings).toHaveLength(1);
      expect(c.warnings[0]).toContain('live tail capture failed');
      // The writes failed, not the question which streams are tailed.
      expect(c.warnings[0]).toMatch(/OOM|maxmemory/);
      expect(c.warnings[0]).not.toContain(secret);
      // Every record was stored.
      const stats = streamKeys(stream).stats;
      expect(Number(await a.connections.commands.hget(stats, 'backlogRecords'))).toBe(records);
    } finally {
      await c.close();
      tailRedis.disconnect();
      await tailServer.stop();
    }
  });

  it('is behind the same signature check as every admin route', async () => {
    const stream = await createStream('tail-signed');
    const c = await startApiProcess(redisServer.url, {
      auth: new SigV4Verifier({ keys: new Map([['AKIDTAIL', 'tail-secret']]) }),
    });
    try {
      const { status, body } = await tailRequest(c, { stream, wait: '0' });
      expect(status).toBe(400);
      expect(body.__type).toBe('MissingAuthenticationTokenException');
      expect(c.tail.readsInProgress).toBe(0);
    } finally {
      await c.close();
    }
  });
});

/** How often the private Redis ran ZRANGEBYSCORE (what the capture side asks). */
async function zrangebyscoreCalls(): Promise<number> {
  const info = await a.connections.commands.info('commandstats');
  const match = /cmdstat_zrangebyscore:calls=(\d+)/.exec(info);
  return match ? Number(match[1]) : 0;
}

/** Orders tail seqs (`<ms>-<n>`) as Redis does. */
function compareSeq(x: string, y: string): number {
  const [xm = 0n, xn = 0n] = x.split('-').map(BigInt);
  const [ym = 0n, yn = 0n] = y.split('-').map(BigInt);
  return xm === ym ? Number(xn - yn) : xm < ym ? -1 : 1;
}
