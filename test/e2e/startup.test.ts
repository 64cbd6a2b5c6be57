import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

import {
  DescribeDeliveryStreamCommand,
  ListDeliveryStreamsCommand,
  type CreateDeliveryStreamCommandInput,
} from '@aws-sdk/client-firehose';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';

import { AOF_REWRITE_MIN_BYTES } from '../../src/redis/append-only-file.js';
import { redisAnswers } from '../../src/redis/connect.js';
import {
  autostartSetup,
  cleanupAfterEach,
  createS3Stream,
  eventually,
  firehoseFor,
  objectKeyPattern,
  PROBE_TIMEOUT_MS,
  putRecordBatch,
  s3Destination,
  startRedis,
  startService,
  tail,
  tempDir,
} from '../support/e2e.js';
import { freePort } from '../support/free-port.js';
import { runUntilExit } from '../support/run-until-exit.js';
import { uniqueName } from '../support/unique.js';

/**
 * How the process starts: settings and Redis are checked up front with plain messages that
 * say what to fix, a missing local Redis is started when allowed, and without an S3 endpoint
 * deliveries land in the data directory.
 */

const cleanups = cleanupAfterEach();

/** Every file below `dir`, as paths relative to it. */
async function filesBelow(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

describe('invalid settings', () => {
  it.each([
    ['SLUICE_PORT', 'abc'],
    ['SLUICE_REDIS_URL', 'http://x'],
  ])('%s=%s: exits with code 2 and names the setting and the fix', async (name, value) => {
    // A Redis URL nothing answers at, so a wrongly accepted setting can touch no shared Redis.
    const nowhere = `redis://127.0.0.1:${await freePort()}`;
    const ended = await runUntilExit({ SLUICE_REDIS_URL: nowhere, [name]: value });
    const output = `${ended.stdout}${ended.stderr}`;
    expect(ended.code, output).toBe(2);
    expect(ended.stderr).toContain(name);
    expect(ended.stderr).toContain('Fix:');
  });
});

describe('Redis checks', () => {
  it('refuses a Redis that evicts keys (maxmemory-policy allkeys-lru)', async () => {
    const redis = await startRedis(cleanups, { maxmemoryPolicy: 'allkeys-lru' });
    const ended = await runUntilExit({ SLUICE_REDIS_URL: redis.url });
    const output = `${ended.stdout}${ended.stderr}`;
    expect(ended.signal, output).toBeNull();
    expect(ended.code, output).not.toBe(0);
    expect(output).toContain('maxmemory-policy');
    expect(output).toContain('allkeys-lru');
    expect(output).toMatch(/Fix:.*noeviction/);
  });

  it('starts on a Redis without persistence, with a warning that says so', async () => {
    const redis = await startRedis(cleanups, { appendOnly: false });
    const sluice = await startService(cleanups, { SLUICE_REDIS_URL: redis.url });
    const line = await sluice.waitForLog(/persistence/i, 10_000);
    const record = JSON.parse(line) as { level?: number; msg?: string };
    // pino's level 40 is warn.
    expect(record.level, line).toBe(40);
    expect(record.msg).toMatch(/appendonly/);
    const exit = await sluice.stop();
    expect(exit, tail(sluice.logs())).toEqual({ code: 0, signal: null });
  });

  it('starts redis-server itself when none answers at a loopback URL and autostart is on', async () => {
    // If the test fails before Sluice's clean exit, the Redis it started is shut down.
    const { url, dataDir, env } = await autostartSetup(cleanups);
    const sluice = await startService(cleanups, env);
    const line = await sluice.waitForLog(/started redis-server/, 10_000);
    expect(line).toContain(join(dataDir, 'redis'));

    const files = await filesBelow(join(dataDir, 'redis'));
    expect(
      files.some((f) => /appendonly[^/]*\.aof/.test(f)),
      `files: ${files.join(', ')}`,
    ).toBe(true);
    const admin = new Redis(url, { maxRetriesPerRequest: 1 });
    try {
      expect(await admin.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await admin.config('GET', 'maxmemory-policy')).toEqual([
        'maxmemory-policy',
        'noeviction',
      ]);
      expect(await admin.config('GET', 'auto-aof-rewrite-min-size')).toEqual([
        'auto-aof-rewrite-min-size',
        String(AOF_REWRITE_MIN_BYTES),
      ]);
    } finally {
      admin.disconnect();
    }

    // It works as a Redis for Sluice, too.
    await createS3Stream(firehoseFor(cleanups, sluice), 'autostart', 'autostart', {
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 60 },
    });
    const exit = await sluice.stop();
    expect(exit, tail(sluice.logs())).toEqual({ code: 0, signal: null });
    // A clean exit shuts down the Redis Sluice started; its append-only file keeps the data.
    expect(await redisAnswers(url, PROBE_TIMEOUT_MS)).toBe(false);
  });

  it('without a Redis and with autostart off, exits and says how to get one', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const ended = await runUntilExit({ SLUICE_REDIS_URL: url, SLUICE_REDIS_AUTOSTART: 'false' });
    const output = `${ended.stdout}${ended.stderr}`;
    expect(ended.signal, output).toBeNull();
    expect(ended.code, output).not.toBe(0);
    expect(ended.stderr).toContain(url);
    expect(ended.stderr).toContain('SLUICE_REDIS_URL');
    expect(ended.stderr).toMatch(/start redis|redis-server|docker compose/i);
  });
});

describe('without SLUICE_S3_ENDPOINT', () => {
  it('delivers to <SLUICE_DATA_DIR>/s3/<bucket>/<key> with the S3 key layout, byte for byte', async () => {
    const redis = await startRedis(cleanups);
    const sluice = await startService(cleanups, {
      SLUICE_REDIS_URL: redis.url,
      SLUICE_SEAL_TICK_MS: '50',
    });
    const client = firehoseFor(cleanups, sluice);
    const bucket = 'local-bucket';
    const stream = await createS3Stream(client, 'local', bucket, {
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
    });
    const records = [
      Buffer.from('{"n":1}\n'),
      Buffer.from([0, 1, 2, 0xfe, 0xff, 0x0a]),
      Buffer.from('{"n":"ü"}\n'),
    ];
    // One request is one chunk, and a chunk is never split between batches: one object.
    const out = await putRecordBatch(client, stream, records);
    expect(out.FailedPutCount).toBe(0);

    const root = join(sluice.dataDir, 's3', bucket);
    const files = await eventually(
      `an object under ${root}`,
      async () => {
        // `.partial` files are objects still being written.
        const done = (await filesBelow(root)).filter((f) => !f.endsWith('.partial'));
        return done.length > 0 ? done : undefined;
      },
      { sluice },
    );
    expect(files).toHaveLength(1);
    const [file] = files as [string];
    expect(file).toMatch(objectKeyPattern(stream, '1'));
    expect(await readFile(join(root, file))).toEqual(Buffer.concat(records));
  });
});

describe('SLUICE_CONFIG', () => {
  it('creates the declared streams at start, and a restart with the same file changes nothing', async () => {
    const redis = await startRedis(cleanups);
    const stream = uniqueName('declared');
    const declared: CreateDeliveryStreamCommandInput = {
      DeliveryStreamName: stream,
      DeliveryStreamType: 'DirectPut',
      ExtendedS3DestinationConfiguration: s3Destination('declared', {
        BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 30 },
        Prefix: 'declared/',
        CompressionFormat: 'GZIP',
      }),
    };
    const file = join(await tempDir(cleanups, 'sluice-config-'), 'streams.json');
    await writeFile(file, JSON.stringify({ DeliveryStreams: [declared] }));
    const env = { SLUICE_REDIS_URL: redis.url, SLUICE_CONFIG: file };

    const first = await startService(cleanups, env);
    const before = (
      await firehoseFor(cleanups, first).send(
        new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream }),
      )
    ).DeliveryStreamDescription;
    expect(before?.DeliveryStreamStatus).toBe('ACTIVE');
    expect(before?.DeliveryStreamType).toBe('DirectPut');
    const destination = before?.Destinations?.[0]?.ExtendedS3DestinationDescription;
    expect(destination?.BucketARN).toBe('arn:aws:s3:::declared');
    expect(destination?.Prefix).toBe('declared/');
    expect(destination?.CompressionFormat).toBe('GZIP');
    expect(destination?.BufferingHints).toEqual({ SizeInMBs: 1, IntervalInSeconds: 30 });
    expect((await first.stop()).code, tail(first.logs())).toBe(0);

    const second = await startService(cleanups, env);
    const client = firehoseFor(cleanups, second);
    const after = (
      await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream }))
    ).DeliveryStreamDescription;
    expect(after?.VersionId).toBe(before?.VersionId);
    expect(after?.CreateTimestamp).toEqual(before?.CreateTimestamp);
    expect(after?.Destinations).toEqual(before?.Destinations);
    const listed = await client.send(new ListDeliveryStreamsCommand({}));
    expect(listed.DeliveryStreamNames?.filter((n) => n === stream)).toEqual([stream]);
  });
});
