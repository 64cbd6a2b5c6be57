import { randomUUID } from 'node:crypto';
import {
  CreateDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  DeleteDeliveryStreamCommand,
  FirehoseClient,
  PutRecordCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-firehose';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeChunk, encodeChunkFromBuffers } from '../../src/formats/chunk-frame.js';
import { RecordBuffer } from '../../src/buffer/record-buffer.js';
import { RedisScript } from '../../src/redis/redis-script.js';
import {
  APPEND_SCRIPT,
  appendScriptKeys,
  BATCH_OVERHEAD_BYTES,
  CHUNK_OVERHEAD_BYTES,
  COMPLETE_SCRIPT,
  DEAD_LETTER_SCRIPT,
  SEAL_DUE_SCRIPT,
} from '../../src/buffer/scripts.js';
import { loadSettings } from '../../src/config/env.js';
import { BatchStore } from '../../src/delivery/batch-store.js';
import { openRedis } from '../../src/redis/connect.js';
import { startService } from '../../src/service.js';
import { appendReceiptKey, batchKeys, streamKeys, streamPrefix } from '../../src/streams/keys.js';
import {
  cleanupAfterAll,
  eventually,
  FAST,
  s3Destination,
  startRedis,
  tempDir,
} from '../support/e2e.js';
import { TEST_REDIS_URL } from '../support/global-setup.js';
import { keysLeftBehind, removeStreams } from '../support/shared-redis.js';
import { startTestApi, type TestApi } from '../support/test-api.js';
import { uniqueName } from '../support/unique.js';

/**
 * The buffer's Lua scripts against real Redis: every invalid argument or stored value is
 * refused with a precise error before anything is written (Redis does not roll back a script
 * that fails half-way), zero and 2^53-scale values are counted exactly, and the backlog cap
 * counts what Redis really holds.
 */

const MAX = Number.MAX_SAFE_INTEGER;
const appendScript = new RedisScript(APPEND_SCRIPT, 7);
const sealDueScript = new RedisScript(SEAL_DUE_SCRIPT, 5);
const completeScript = new RedisScript(COMPLETE_SCRIPT, 4);
const deadLetterScript = new RedisScript(DEAD_LETTER_SCRIPT, 4);

let redis: Redis;
const created: string[] = [];

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
  await removeStreams(redis, created);
  await redis.quit();
});

/** Declares a stream the way the registry stores it (only what the scripts read). */
async function declareStream(sizeBytes = 1 << 30, intervalMs = 900_000): Promise<string> {
  const name = uniqueName('scripts');
  created.push(name);
  await redis.hset(streamKeys(name).stream, { status: 'ACTIVE', sizeBytes, intervalMs });
  return name;
}

/** Framed chunk of `payloads`, with the counts APPEND is given alongside it. */
function chunkOf(...payloads: Buffer[]) {
  return {
    chunk: encodeChunkFromBuffers(1000, payloads),
    bytes: payloads.reduce((n, p) => n + p.length, 0),
    count: payloads.length,
  };
}

/** What APPEND counts for a chunk (plus {@link BATCH_OVERHEAD_BYTES} when it opens a batch). */
const storedSize = (chunk: Buffer) => chunk.length + CHUNK_OVERHEAD_BYTES;

/** A buffer whose sealed batches stay in the sealed set (nothing enqueues them). */
function bufferWithCap(capBytes = MAX) {
  return new RecordBuffer(redis, capBytes, () => Promise.resolve());
}

async function appendRecords(stream: string, ...payloads: Buffer[]) {
  const c = chunkOf(...payloads);
  const result = await bufferWithCap().append(stream, c.chunk, c.bytes, c.count, 5000);
  if (result.kind !== 'stored') throw new Error(`not stored: ${result.kind}`);
  return result;
}

/** Every key of the stream with its DUMP: equal snapshots mean nothing was written. */
async function snapshot(stream: string): Promise<Record<string, string>> {
  const keys = await redis.keys(`${streamPrefix(stream)}*`);
  const out: Record<string, string> = {};
  for (const key of keys.sort()) out[key] = (await redis.dumpBuffer(key))?.toString('hex') ?? '';
  return out;
}

/**
 * Runs APPEND with valid arguments for a one-record chunk, naming the open batch (or a new one
 * when none is open), `args` replacing some (1-based). Calls with the same `receipt` are the
 * same call, as a resend after a lost reply is.
 */
async function runAppend(
  stream: string,
  args: Record<number, string | Buffer> = {},
  receipt: string = randomUUID(),
) {
  const keys = streamKeys(stream);
  const open = await redis.hget(keys.open, 'id');
  const batchId = open ?? `candidate-${randomUUID()}`;
  const c = chunkOf(Buffer.from('abc'));
  const argv: (string | Buffer)[] = [
    open === null ? 'new' : 'open',
    batchId,
    c.chunk,
    String(c.bytes),
    String(c.count),
    '5000',
    String(MAX),
    '60000',
  ];
  for (const [i, value] of Object.entries(args)) argv[Number(i) - 1] = value;
  return appendScript.run(
    redis,
    appendScriptKeys(stream, batchId, appendReceiptKey(stream, receipt)),
    argv,
  );
}

/** Runs APPEND of a one-record chunk naming batch `batchId` as `mode` ('new' or 'open'). */
function runAppendNaming(stream: string, mode: 'new' | 'open', batchId: string) {
  const c = chunkOf(Buffer.from('abc'));
  return appendScript.run(
    redis,
    appendScriptKeys(stream, batchId, appendReceiptKey(stream, randomUUID())),
    [mode, batchId, c.chunk, String(c.bytes), '1', '5000', String(MAX), '60000'],
  );
}

function runComplete(stream: string, batchId: string) {
  const keys = streamKeys(stream);
  const batch = batchKeys(stream, batchId);
  return completeScript.run(redis, [keys.stats, keys.sealed, batch.meta, batch.chunks], [batchId]);
}

function runDeadLetter(stream: string, batchId: string, now: string, reason: string) {
  const keys = streamKeys(stream);
  return deadLetterScript.run(
    redis,
    [keys.stats, keys.sealed, batchKeys(stream, batchId).meta, keys.dead],
    [batchId, now, reason],
  );
}

/** Runs SEAL_DUE on the stream's open batch (a made-up id when none is open). */
async function runSealDue(stream: string, now: string, force: string) {
  const keys = streamKeys(stream);
  const batchId = (await redis.hget(keys.open, 'id')) ?? 'none-open';
  const batch = batchKeys(stream, batchId);
  return sealDueScript.run(
    redis,
    [keys.stream, keys.open, keys.sealed, batch.meta, batch.chunks],
    [batchId, now, force],
  );
}

/** Asserts that `run` fails with `message` and leaves every key of `stream` as it was. */
async function expectRefusedUnchanged(
  stream: string,
  run: () => Promise<unknown>,
  message: RegExp,
): Promise<void> {
  const before = await snapshot(stream);
  await expect(run()).rejects.toThrow(message);
  expect(await snapshot(stream)).toEqual(before);
}

const twoChunk = chunkOf(Buffer.from('a'), Buffer.from('b')).chunk;

describe('APPEND refuses invalid arguments, writing nothing', () => {
  it.each([
    {
      arg: 1,
      value: 'candidate',
      message: /ARGV\[1\] \(what the batch id is\) must be 'new' or 'open', got 'candidate'/,
    },
    { arg: 2, value: '', message: /ARGV\[2\] \(batch id\) must be a non-empty string/ },
    {
      arg: 2,
      value: 'another-batch',
      message:
        /KEYS\[6\] and KEYS\[7\] must be the metadata and chunk keys of batch 'another-batch'/,
    },
    { arg: 4, value: 'abc', message: /ARGV\[4\] \(payload bytes\) must be an integer/ },
    { arg: 4, value: '-1', message: /ARGV\[4\] \(payload bytes\) must be an integer from 0 / },
    { arg: 4, value: '3.0', message: /ARGV\[4\] \(payload bytes\) must be an integer/ },
    { arg: 4, value: '3e0', message: /ARGV\[4\] \(payload bytes\) must be an integer/ },
    {
      arg: 4,
      value: String(2 ** 53),
      message: /ARGV\[4\] \(payload bytes\).*got '9007199254740992'/,
    },
    // Over HINCRBY's signed 64-bit range too.
    { arg: 4, value: '99999999999999999999', message: /ARGV\[4\] \(payload bytes\)/ },
    { arg: 5, value: '0', message: /ARGV\[5\] \(record count\) must be an integer from 1 to / },
    { arg: 6, value: 'now', message: /ARGV\[6\] \(now\) must be an integer/ },
    { arg: 6, value: '-1', message: /ARGV\[6\] \(now\) must be an integer/ },
    { arg: 7, value: '', message: /ARGV\[7\] \(backlog cap\) must be an integer .*got ''/ },
    { arg: 7, value: '18446744073709551616', message: /ARGV\[7\] \(backlog cap\)/ },
    { arg: 3, value: Buffer.alloc(0), message: /ARGV\[3\] \(chunk\) must start with a 13-byte/ },
    {
      arg: 3,
      value: Buffer.concat([Buffer.from([2]), chunkOf(Buffer.from('abc')).chunk.subarray(1)]),
      message:
        /ARGV\[3\] \(chunk\) must start with a 13-byte header of version 1, got 20 bytes starting 2/,
    },
    {
      arg: 3,
      value: twoChunk,
      message:
        /ARGV\[3\] \(chunk\) holds 2 records in 23 bytes, but ARGV\[5\] and ARGV\[4\] say 1 records of 3 payload bytes, framed in 20 bytes/,
    },
  ])('argument $arg = "$value"', async ({ arg, value, message }) => {
    const stream = await declareStream();
    await appendRecords(stream, Buffer.from('first'));
    await expectRefusedUnchanged(stream, () => runAppend(stream, { [arg]: value }), message);
  });

  it('treats "-0" as 0 and never stores -0', async () => {
    const stream = await declareStream();
    const c = chunkOf(Buffer.alloc(0));
    const reply = (await runAppend(stream, { 3: c.chunk, 4: '-0' })) as unknown[];
    expect(reply[0]).toBe(0);
    expect(await redis.hget(streamKeys(stream).stats, 'backlogBytes')).toBe('0');
    expect(await redis.hget(streamKeys(stream).open, 'bytes')).toBe('0');
  });
});

describe('APPEND refuses invalid stored values, writing nothing', () => {
  it.each([
    {
      key: 'stream',
      field: 'sizeBytes',
      value: 'big',
      message: /stream field 'sizeBytes' must be an integer/,
    },
    { key: 'stream', field: 'intervalMs', value: '1.5', message: /stream field 'intervalMs'/ },
    {
      key: 'stats',
      field: 'backlogBytes',
      value: 'NaN',
      message: /stats field 'backlogBytes' must be an integer/,
    },
    {
      key: 'stats',
      field: 'backlogStoredBytes',
      value: String(MAX),
      message: new RegExp(
        `stats field 'backlogStoredBytes' is ${MAX}: adding \\d+ would leave the range`,
      ),
    },
    {
      key: 'open',
      field: 'bytes',
      value: '-1',
      message: /open buffer field 'bytes' must be an integer from 0 /,
    },
    {
      key: 'open',
      field: 'firstArrivalMs',
      value: '',
      message: /open buffer field 'firstArrivalMs'/,
    },
    {
      key: 'open',
      field: 'records',
      value: String(MAX),
      message: new RegExp(`open buffer field 'records' is ${MAX}: adding 1 would leave`),
    },
  ] as const)('$key field $field = "$value"', async ({ key, field, value, message }) => {
    const stream = await declareStream();
    await appendRecords(stream, Buffer.from('first'));
    await redis.hset(streamKeys(stream)[key], field, value);
    await expectRefusedUnchanged(
      stream,
      () => runAppend(stream),
      new RegExp(`ERR sluice APPEND: ${message.source}`),
    );
  });

  it('refuses a stream hash without intervalMs', async () => {
    const stream = await declareStream();
    await redis.hdel(streamKeys(stream).stream, 'intervalMs');
    await expectRefusedUnchanged(
      stream,
      () => runAppend(stream),
      /stream field 'intervalMs' must be an integer .*got nothing/,
    );
  });
});

describe('APPEND and SEAL_DUE write only to the batch the caller names', () => {
  it("APPEND naming a batch that is not open ('open') answers the open one and writes nothing", async () => {
    const stream = await declareStream();
    const open = await appendRecords(stream, Buffer.from('first'));
    for (const [mode, named, answer] of [
      ['open', 'sealed-meanwhile', open.batchId],
      ['new', 'fresh-id', open.batchId],
    ] as const) {
      const before = await snapshot(stream);
      const reply = await runAppendNaming(stream, mode, named);
      expect(reply).toEqual([5, answer]);
      expect(await snapshot(stream)).toEqual(before);
    }
  });

  it('APPEND naming a batch as open when none is answers so, and writes nothing', async () => {
    const stream = await declareStream();
    const before = await snapshot(stream);
    const reply = await runAppendNaming(stream, 'open', 'sealed-meanwhile');
    expect(reply).toEqual([5, null]);
    expect(await snapshot(stream)).toEqual(before);
  });

  it('SEAL_DUE naming another batch than the open one answers the open one and seals nothing', async () => {
    const stream = await declareStream();
    const open = await appendRecords(stream, Buffer.from('first'));
    const keys = streamKeys(stream);
    const batch = batchKeys(stream, 'read-before-a-seal');
    const before = await snapshot(stream);
    const reply = await sealDueScript.run(
      redis,
      [keys.stream, keys.open, keys.sealed, batch.meta, batch.chunks],
      ['read-before-a-seal', '10000000', '1'],
    );
    expect(reply).toEqual([2, open.batchId]);
    expect(await snapshot(stream)).toEqual(before);
    expect(await runSealDue(stream, '10000000', '1')).toEqual([1, open.batchId]);
    expect(await runSealDue(stream, '10000000', '1')).toEqual([0]);
  });
});

describe('APPEND stores a call once, also when the call is sent again', () => {
  it('a repeated call answers the first reply and writes nothing', async () => {
    const stream = await declareStream();
    await appendRecords(stream, Buffer.from('before'));
    const receipt = randomUUID();
    const first = await runAppend(stream, {}, receipt);
    const before = await snapshot(stream);
    expect(await runAppend(stream, {}, receipt)).toEqual(first);
    expect(await snapshot(stream)).toEqual(before);
    expect(await redis.hget(streamKeys(stream).stats, 'backlogRecords')).toBe('2');
  });

  it('a repeated call that sealed a batch answers the same sealed batch and seals nothing', async () => {
    const stream = await declareStream(1 << 30, 0);
    const receipt = randomUUID();
    const first = (await runAppend(stream, {}, receipt)) as unknown[];
    expect(first[3]).toBe(first[1]);
    const before = await snapshot(stream);
    expect(await runAppend(stream, {}, receipt)).toEqual(first);
    expect(await snapshot(stream)).toEqual(before);
    expect(await redis.zcard(streamKeys(stream).sealed)).toBe(1);
  });

  it('calls in flight when the connection is cut are stored at most once, acknowledged ones exactly once', async () => {
    const stream = await declareStream();
    // Sluice's own command connection: ioredis resends, after reconnecting, every command
    // whose reply the cut lost, scripts that already ran included.
    const { commands, queue } = openRedis(TEST_REDIS_URL);
    // The cuts are the point of the test; the service logs these, here they are expected.
    commands.on('error', () => undefined);
    await commands.connect();
    queue.disconnect();
    const buffer = new RecordBuffer(commands, MAX, () => Promise.resolve());
    const stored = new Set<string>();
    let sent = 0;
    try {
      for (let round = 0; round < 10; round += 1) {
        const id = String(await commands.client('ID'));
        const calls = Array.from({ length: 200 }, () => {
          const payload = `record-${(sent += 1)}`;
          const c = chunkOf(Buffer.from(payload));
          return buffer
            .append(stream, c.chunk, c.bytes, c.count, 5000)
            .then((result) => {
              if (result.kind === 'stored') stored.add(payload);
            })
            .catch(() => undefined);
        });
        await redis.client('KILL', 'ID', id);
        await Promise.all(calls);
        await eventually('the command connection to be back', async () =>
          (await commands.ping().catch(() => undefined)) === 'PONG' ? true : undefined,
        );
      }
    } finally {
      commands.disconnect();
    }
    const keys = streamKeys(stream);
    const batchId = (await redis.hget(keys.open, 'id')) ?? '';
    const chunks = await redis.lrangeBuffer(batchKeys(stream, batchId).chunks, 0, -1);
    const found = chunks.flatMap((chunk) => decodeChunk(chunk).map((r) => r.data.toString()));
    const counts = new Map<string, number>();
    for (const payload of found) counts.set(payload, (counts.get(payload) ?? 0) + 1);
    expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
    expect([...stored].filter((payload) => counts.get(payload) !== 1)).toEqual([]);
    expect(stored.size).toBeGreaterThan(0);
    expect(Number(await redis.hget(keys.stats, 'backlogRecords'))).toBe(found.length);
  });
});

describe('counting zero and 2^53-scale values exactly', () => {
  it('stores, seals, completes and dead-letters 0-byte records', async () => {
    const stream = await declareStream(1 << 20, 0);
    const store = new BatchStore(redis);
    const empty = chunkOf(Buffer.alloc(0));
    const first = await appendRecords(stream, Buffer.alloc(0));
    const second = await appendRecords(stream, Buffer.alloc(0));
    expect(first.sealedBatchId).toBe(first.batchId);
    expect(await redis.hgetall(streamKeys(stream).stats)).toEqual({
      backlogBytes: '0',
      backlogRecords: '2',
      backlogStoredBytes: String(2 * (storedSize(empty.chunk) + BATCH_OVERHEAD_BYTES)),
    });
    expect(await store.complete(stream, first.batchId)).toBe(true);
    expect(await store.deadLetter(stream, second.batchId, 'gone', 7)).toBe(true);
    expect(await redis.hgetall(streamKeys(stream).stats)).toEqual({
      backlogBytes: '0',
      backlogRecords: '0',
      backlogStoredBytes: '0',
      deliveredBatches: '1',
      deliveredRecords: '1',
      deliveredBytes: '0',
      deadBatches: '1',
      deadRecords: '1',
    });
    expect(await redis.exists(...Object.values(batchKeys(stream, first.batchId)))).toBe(0);
    expect(await redis.zcard(streamKeys(stream).sealed)).toBe(0);
  });

  it('adds up to 2^53 - 1 exactly and refuses one more, writing nothing', async () => {
    const stream = await declareStream();
    await redis.hset(streamKeys(stream).stats, 'backlogBytes', String(MAX - 3));
    await appendRecords(stream, Buffer.from('abc'));
    expect(await redis.hget(streamKeys(stream).stats, 'backlogBytes')).toBe(String(MAX));
    await expectRefusedUnchanged(
      stream,
      () => runAppend(stream, { 3: chunkOf(Buffer.from('x')).chunk, 4: '1' }),
      new RegExp(`stats field 'backlogBytes' is ${MAX}: adding 1 would leave the range`),
    );
  });

  it('completes into counters near 2^53 exactly, and refuses an overflow writing nothing', async () => {
    const stream = await declareStream(1);
    const a = await appendRecords(stream, Buffer.from('12345'));
    const b = await appendRecords(stream, Buffer.from('12345'));
    await redis.hset(streamKeys(stream).stats, 'deliveredBytes', String(MAX - 5));
    expect(await runComplete(stream, a.batchId)).toBe(1);
    expect(await redis.hget(streamKeys(stream).stats, 'deliveredBytes')).toBe(String(MAX));
    await expectRefusedUnchanged(
      stream,
      () => runComplete(stream, b.batchId),
      new RegExp(`ERR sluice COMPLETE: stats field 'deliveredBytes' is ${MAX}: adding 5 would`),
    );
  });
});

describe('COMPLETE, DEAD_LETTER and SEAL_DUE refuse invalid input, writing nothing', () => {
  async function sealedBatch() {
    const stream = await declareStream(1);
    const result = await appendRecords(stream, Buffer.from('payload'));
    return { stream, batchId: result.batchId };
  }

  it('COMPLETE: empty batch id', async () => {
    const { stream } = await sealedBatch();
    await expectRefusedUnchanged(
      stream,
      () => runComplete(stream, ''),
      /ERR sluice COMPLETE: ARGV\[1\] \(batch id\) must be a non-empty string/,
    );
  });

  it.each([
    { field: 'bytes', value: 'x', message: /batch field 'bytes' must be an integer .*got 'x'/ },
    { field: 'records', value: '-2', message: /batch field 'records' must be an integer/ },
    { field: 'storedBytes', value: '1e3', message: /batch field 'storedBytes' must be an integer/ },
  ])(
    'COMPLETE and DEAD_LETTER: batch field $field = "$value"',
    async ({ field, value, message }) => {
      const { stream, batchId } = await sealedBatch();
      await redis.hset(batchKeys(stream, batchId).meta, field, value);
      await expectRefusedUnchanged(stream, () => runComplete(stream, batchId), message);
      await expectRefusedUnchanged(
        stream,
        () => runDeadLetter(stream, batchId, '9', 'why'),
        message,
      );
    },
  );

  it('COMPLETE: a stats counter that is not an integer', async () => {
    const { stream, batchId } = await sealedBatch();
    await redis.hset(streamKeys(stream).stats, 'backlogRecords', 'many');
    await expectRefusedUnchanged(
      stream,
      () => runComplete(stream, batchId),
      /stats field 'backlogRecords' must be an integer from -9007199254740991 to/,
    );
  });

  it.each([
    {
      now: 'later',
      reason: 'why',
      message: /ERR sluice DEAD_LETTER: ARGV\[2\] \(now\) must be an integer/,
    },
    {
      now: '9',
      reason: '',
      message: /ERR sluice DEAD_LETTER: ARGV\[3\] \(reason\) must be a non-empty string/,
    },
  ])('DEAD_LETTER: now "$now", reason "$reason"', async ({ now, reason, message }) => {
    const { stream, batchId } = await sealedBatch();
    await expectRefusedUnchanged(
      stream,
      () => runDeadLetter(stream, batchId, now, reason),
      message,
    );
  });

  it('DEAD_LETTER: a dead counter at 2^53 - 1', async () => {
    const { stream, batchId } = await sealedBatch();
    await redis.hset(streamKeys(stream).stats, 'deadBatches', String(MAX));
    await expectRefusedUnchanged(
      stream,
      () => runDeadLetter(stream, batchId, '9', 'why'),
      new RegExp(`stats field 'deadBatches' is ${MAX}: adding 1 would leave`),
    );
  });

  it.each([
    { now: '', force: '0', message: /ERR sluice SEAL_DUE: ARGV\[2\] \(now\) must be an integer/ },
    {
      now: '10',
      force: 'yes',
      message: /ERR sluice SEAL_DUE: ARGV\[3\] \(force\) must be '0' or '1', got 'yes'/,
    },
  ])('SEAL_DUE: now "$now", force "$force"', async ({ now, force, message }) => {
    const stream = await declareStream();
    await appendRecords(stream, Buffer.from('open'));
    await expectRefusedUnchanged(stream, () => runSealDue(stream, now, force), message);
  });

  it.each([
    {
      key: 'open',
      field: 'firstArrivalMs',
      value: 'soon',
      message: /open buffer field 'firstArrivalMs'/,
    },
    { key: 'open', field: 'storedBytes', value: '-5', message: /open buffer field 'storedBytes'/ },
    { key: 'stream', field: 'intervalMs', value: 'x', message: /stream field 'intervalMs'/ },
  ] as const)('SEAL_DUE: $key field $field = "$value"', async ({ key, field, value, message }) => {
    const stream = await declareStream();
    await appendRecords(stream, Buffer.from('open'));
    await redis.hset(streamKeys(stream)[key], field, value);
    await expectRefusedUnchanged(
      stream,
      () => runSealDue(stream, String(10_000_000), '0'),
      new RegExp(`ERR sluice SEAL_DUE: ${message.source}`),
    );
  });
});

describe('stored-bytes accounting', () => {
  it('counts framed chunks plus overheads, and COMPLETE and DEAD_LETTER release exactly that', async () => {
    const stream = await declareStream();
    const store = new BatchStore(redis);
    const requests = [
      [Buffer.alloc(0)],
      Array.from({ length: 500 }, () => Buffer.alloc(1)),
      [Buffer.alloc(100_000), Buffer.from('x')],
    ];
    let expected = BATCH_OVERHEAD_BYTES;
    let batchId = '';
    for (const payloads of requests) {
      batchId = (await appendRecords(stream, ...payloads)).batchId;
      expected += storedSize(chunkOf(...payloads).chunk);
    }
    const buffer = bufferWithCap();
    expect(await buffer.sealIfDue(stream, 5001, true)).toBe(batchId);
    expect(await redis.hget(batchKeys(stream, batchId).meta, 'storedBytes')).toBe(String(expected));
    expect(await redis.hget(streamKeys(stream).stats, 'backlogStoredBytes')).toBe(String(expected));

    const next = await appendRecords(stream, Buffer.from('y'));
    expect(await store.complete(stream, batchId)).toBe(true);
    const left = storedSize(chunkOf(Buffer.from('y')).chunk) + BATCH_OVERHEAD_BYTES;
    expect(await redis.hget(streamKeys(stream).stats, 'backlogStoredBytes')).toBe(String(left));
    await buffer.sealIfDue(stream, 5002, true);
    expect(await store.deadLetter(stream, next.batchId, 'expired', 9)).toBe(true);
    expect(
      await redis.hmget(streamKeys(stream).stats, 'backlogStoredBytes', 'backlogBytes'),
    ).toEqual(['0', '0']);
  });

  it('releases nothing stored for a batch an older version sealed without counting it', async () => {
    const stream = await declareStream(1);
    const { batchId } = await appendRecords(stream, Buffer.from('old'));
    // What an older version left behind: no storedBytes anywhere.
    await redis.hdel(batchKeys(stream, batchId).meta, 'storedBytes');
    await redis.hdel(streamKeys(stream).stats, 'backlogStoredBytes');
    expect(await new BatchStore(redis).complete(stream, batchId)).toBe(true);
    expect(
      await redis.hmget(streamKeys(stream).stats, 'backlogStoredBytes', 'backlogRecords'),
    ).toEqual(['0', '0']);
  });
});

describe('the backlog cap bounds what Redis holds', () => {
  const CAP = 1024 * 1024;
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ SLUICE_MAX_BACKLOG_MB: '1' });
  });
  afterAll(async () => {
    await api.close();
  });

  /** Sum of MEMORY USAGE over every key of the stream (buffer, batches, BullMQ queue). */
  async function memoryOf(stream: string): Promise<number> {
    let total = 0;
    for (const key of await redis.keys(`${streamPrefix(stream)}*`)) {
      total += ((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) as number | null) ?? 0;
    }
    return total;
  }

  it.each([
    { what: '500 records of 0 bytes per request', records: 500, size: 0, intervalS: 900 },
    { what: '500 records of 1 byte per request', records: 500, size: 1, intervalS: 900 },
    {
      what: 'one 0-byte record per request, each its own batch',
      records: 1,
      size: 0,
      intervalS: 0,
    },
  ])('$what', async ({ records, size, intervalS }) => {
    const stream = uniqueName('cap');
    created.push(stream);
    await api.firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: stream,
        ExtendedS3DestinationConfiguration: s3Destination('bucket', {
          BufferingHints: { SizeInMBs: 128, IntervalInSeconds: intervalS },
        }),
      }),
    );
    const body = JSON.stringify({
      DeliveryStreamName: stream,
      Records: Array.from({ length: records }, () => ({
        Data: Buffer.alloc(size, 97).toString('base64'),
      })),
    });
    const perRequest =
      13 +
      4 * records +
      records * size +
      CHUNK_OVERHEAD_BYTES +
      (intervalS === 0 ? BATCH_OVERHEAD_BYTES : 0);
    // Counting payload alone, the cap is never (0 bytes) or only far later reached: this
    // bound is twice what counting stored bytes allows.
    const bound = Math.ceil((2 * CAP) / perRequest);
    let accepted = 0;
    let refused = false;
    while (!refused && accepted < bound) {
      // Plain requests rather than the SDK: the same API path, at a fraction of the client's cost.
      const response = await fetch(api.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'Firehose_20150804.PutRecordBatch',
        },
        body,
      });
      const result = (await response.json()) as {
        FailedPutCount: number;
        RequestResponses: unknown[];
      };
      if (result.FailedPutCount === 0) accepted += 1;
      else {
        expect(result.RequestResponses[0]).toEqual({
          ErrorCode: 'ServiceUnavailableException',
          ErrorMessage: 'Slow down.',
        });
        refused = true;
      }
    }
    expect(refused).toBe(true);
    const stats = await redis.hgetall(streamKeys(stream).stats);
    expect(Number(stats.backlogRecords)).toBe(accepted * records);
    expect(Number(stats.backlogStoredBytes)).toBeLessThanOrEqual(CAP);
    expect(Number(stats.backlogStoredBytes)).toBeGreaterThan(CAP - 2 * perRequest);
    const memory = await memoryOf(stream);
    expect(memory).toBeLessThan(1.5 * CAP);
    expect(memory).toBeGreaterThan(0.5 * CAP);
  });
});

describe('a stream of 0-byte records', () => {
  const suite = cleanupAfterAll();

  it('is delivered, deleted and fully removed, and its name can be used again', async () => {
    // A private Redis: the service's workers take every stream of the Redis they serve. The
    // local object store (SLUICE_S3_ENDPOINT unset) needs no credentials.
    const redisServer = await startRedis(suite);
    const dataDir = await tempDir(suite, 'sluice-zero-');
    const service = await startService(
      loadSettings({
        ...FAST,
        SLUICE_REDIS_URL: redisServer.url,
        SLUICE_DATA_DIR: dataDir,
        SLUICE_HOST: '127.0.0.1',
        SLUICE_PORT: '0',
      }),
      pino({ level: 'silent' }),
    );
    const redisClient = new Redis(redisServer.url);
    suite.add(() => redisClient.quit());
    suite.add(() => service.stop());
    const endpoint = service.url!;
    const firehose = new FirehoseClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
    suite.add(() => firehose.destroy());
    const stream = uniqueName('zero');
    const create = new CreateDeliveryStreamCommand({
      DeliveryStreamName: stream,
      ExtendedS3DestinationConfiguration: s3Destination('deliveries', {
        BufferingHints: { SizeInMBs: 128, IntervalInSeconds: 900 },
      }),
    });
    await firehose.send(create);

    // The exact request of the report.
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'Firehose_20150804.PutRecordBatch',
      },
      body: JSON.stringify({ DeliveryStreamName: stream, Records: [{ Data: '' }] }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { FailedPutCount: number }).FailedPutCount).toBe(0);
    await firehose.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: stream }));

    await eventually('the deleted stream to be removed', async () => {
      const gone = await firehose
        .send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream }))
        .then(() => false)
        .catch((error: unknown) => error instanceof ResourceNotFoundException);
      return gone || undefined;
    });
    expect(await keysLeftBehind(redisClient, stream)).toEqual([]);

    await firehose.send(create);
    const again = await firehose.send(
      new PutRecordCommand({ DeliveryStreamName: stream, Record: { Data: Buffer.alloc(0) } }),
    );
    expect(again.RecordId).toBeDefined();
    expect(await redisClient.hget(streamKeys(stream).stats, 'backlogRecords')).toBe('1');
  });
});
