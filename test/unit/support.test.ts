import { Readable } from 'node:stream';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freePort } from '../support/free-port.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import { uniqueName } from '../support/unique.js';

describe('test support helpers', () => {
  let redis: RedisServer | undefined;
  let s3: S3Server | undefined;

  beforeAll(async () => {
    [redis, s3] = await Promise.all([startRedisServer(), startS3Server()]);
  });

  afterAll(async () => {
    await Promise.all([redis?.stop(), s3?.stop()]);
  });

  it('gives a free loopback port', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65_536);
  });

  it('gives unique Firehose-valid names, even from long or odd prefixes', () => {
    const names = new Set<string>();
    for (const prefix of ['put record', 'x'.repeat(100), '', 'ä/b']) {
      const name = uniqueName(prefix);
      expect(name).toMatch(/^[a-zA-Z0-9_.-]{1,64}$/);
      names.add(name);
    }
    expect(names.size).toBe(4);
  });

  it('runs a private redis-server that keeps acknowledged writes across SIGKILL', async () => {
    if (!redis) throw new Error('redis-server did not start');
    expect(redis.port).not.toBe(6379);
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    try {
      await client.set('k', 'v');
      await redis.kill('SIGKILL');
      await redis.restart();
      expect(await client.get('k')).toBe('v');
    } finally {
      client.disconnect();
    }
  });

  it('runs s3rver: put, list and get through the S3 client', async () => {
    if (!s3) throw new Error('s3rver did not start');
    const bucket = 'support-test';
    await s3.createBucket(bucket);
    const body = Buffer.from('{"a":1}\n');
    for (const key of ['b/2', 'a/1']) {
      await s3.client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: 'application/json',
          ContentEncoding: 'gzip',
        }),
      );
    }
    expect(await s3.listKeys(bucket)).toEqual(['a/1', 'b/2']);
    const object = await s3.getObject(bucket, 'a/1');
    expect(object.body.equals(body)).toBe(true);
    expect(object.contentType).toBe('application/json');
    expect(object.contentEncoding).toBe('gzip');
  });

  it('lists an object only once it is whole, not while its bytes arrive', async () => {
    if (!s3) throw new Error('s3rver did not start');
    const bucket = 'support-whole';
    await s3.createBucket(bucket);
    const half = Buffer.alloc(1024 * 1024, 0x61);
    let sendRest: () => void = () => undefined;
    const restAllowed = new Promise<void>((resolve) => (sendRest = resolve));
    let firstHalfSent: () => void = () => undefined;
    const firstHalf = new Promise<void>((resolve) => (firstHalfSent = resolve));
    // A body that stops half-way until the listing below has been made.
    const body = Readable.from(
      (async function* () {
        yield half;
        firstHalfSent();
        await restAllowed;
        yield half;
      })(),
    );
    const putting = s3.client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'big',
        Body: body,
        ContentLength: 2 * half.length,
      }),
    );
    try {
      await firstHalf;
      // Long enough for s3rver to have received and written what was sent.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await s3.listKeys(bucket)).toEqual([]);
    } finally {
      sendRest();
      await putting;
    }
    expect(await s3.listKeys(bucket)).toEqual(['big']);
    expect((await s3.getObject(bucket, 'big')).body.equals(Buffer.concat([half, half]))).toBe(true);
  });
});
