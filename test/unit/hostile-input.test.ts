import { deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeContentEncoding } from '../../src/api/content-encoding.js';
import { scanPutRecordBatchBody } from '../../src/api/firehose/put-record-batch-body.js';
import { MAX_NESTING_DEPTH, nestsDeeperThan } from '../../src/config/json-nesting.js';
import { parseInput } from '../../src/config/validation.js';
import {
  CreateDeliveryStreamInputSchema,
  UpdateDestinationInputSchema,
  type UpdateDestinationInput,
} from '../../src/streams/stream-definition.js';
import { FirehoseError } from '../../src/errors/catalogue.js';
import { firehoseErrorOf } from '../support/firehose-error.js';

/** A deterministic generator, so a failure names a reproducible case. */
function prng(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

/** Nesting depth of a parsed JSON value, the body itself being level 1. */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

describe('nestsDeeperThan', () => {
  it('agrees with the parsed depth on generated JSON with tricky strings', () => {
    const random = prng(11);
    const pieces = ['[', ']', '{', '}', '"', '\\', '\\"', '\\\\', 'é', 'a', ' '];
    const text = () =>
      Array.from(
        { length: Math.floor(random() * 8) },
        () => pieces[Math.floor(random() * pieces.length)],
      ).join('');
    const value = (budget: number): unknown => {
      const pick = random();
      if (budget === 0 || pick < 0.3) return pick < 0.15 ? text() : Math.floor(pick * 100);
      const n = Math.floor(random() * 4);
      if (pick < 0.65) return Array.from({ length: n }, () => value(budget - 1));
      return Object.fromEntries(Array.from({ length: n }, () => [text(), value(budget - 1)]));
    };
    for (let round = 0; round < 500; round++) {
      const json = JSON.stringify(value(Math.floor(random() * 12)), null, round % 2 ? 1 : 0);
      const depth = depthOf(JSON.parse(json));
      const bytes = Buffer.from(json);
      expect(nestsDeeperThan(bytes, depth), json).toBe(false);
      if (depth > 0) expect(nestsDeeperThan(bytes, depth - 1), json).toBe(true);
    }
  });

  it('finds a million levels without recursion', () => {
    const levels = 1_000_000;
    expect(nestsDeeperThan(Buffer.from('['.repeat(levels) + ']'.repeat(levels)), 64)).toBe(true);
    expect(nestsDeeperThan(Buffer.from('{"a":'.repeat(levels)), 64)).toBe(true);
  });

  it('leaves an unterminated string to JSON.parse', () => {
    expect(nestsDeeperThan(Buffer.from(`{"a":"${'['.repeat(100)}`), 64)).toBe(false);
  });
});

describe('parseInput on hostile input (also the SLUICE_CONFIG streams file path)', () => {
  const request = {
    DeliveryStreamName: 's',
    ExtendedS3DestinationConfiguration: {
      RoleARN: 'arn:aws:iam::000000000000:role/firehose',
      BucketARN: 'arn:aws:s3:::bucket',
    },
  };

  it('never reads members named __proto__, constructor or prototype', () => {
    for (const member of ['__proto__', 'constructor', 'prototype']) {
      const input: unknown = JSON.parse(`{"${member}":${JSON.stringify(request)}}`);
      const error = firehoseErrorOf(() => parseInput(CreateDeliveryStreamInputSchema, input));
      expect(error.type, member).toBe('ValidationException');
      expect(error.message, member).toBe(
        "1 validation error detected: Value null at 'deliveryStreamName' failed to satisfy constraint: Member must not be null",
      );

      const update: UpdateDestinationInput = parseInput(
        UpdateDestinationInputSchema,
        JSON.parse(
          `{"DeliveryStreamName":"s","CurrentDeliveryStreamVersionId":"1","DestinationId":"d",` +
            `"ExtendedS3DestinationUpdate":{"${member}":{"BucketARN":"arn:aws:s3:::polluted"}}}`,
        ),
      );
      expect(update.ExtendedS3DestinationUpdate, member).toEqual({});
      expect(Object.getPrototypeOf(update.ExtendedS3DestinationUpdate), member).toBe(
        Object.prototype,
      );
    }
  });

  it('refuses input nested past the limit with SerializationException, at any depth', () => {
    for (const levels of [MAX_NESTING_DEPTH, 100_000]) {
      let deep: unknown = 'x';
      for (let i = 0; i < levels; i++) deep = i % 2 ? [deep] : { a: deep };
      const error = firehoseErrorOf(() =>
        parseInput(CreateDeliveryStreamInputSchema, { ...request, Extra: deep }),
      );
      expect(error).toBeInstanceOf(FirehoseError);
      expect(error.type).toBe('SerializationException');
      expect(error.message).toBe(
        `Request body nests objects and lists deeper than ${MAX_NESTING_DEPTH} levels`,
      );
    }
  });

  it('reads input nested up to the limit', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < MAX_NESTING_DEPTH - 1; i++) deep = [deep];
    expect(parseInput(CreateDeliveryStreamInputSchema, { ...request, Extra: deep })).toMatchObject({
      DeliveryStreamName: 's',
    });
  });
});

describe('scanPutRecordBatchBody', () => {
  it('leaves bodies with prototype member names to the generic parser', () => {
    for (const body of [
      '{"__proto__":{"DeliveryStreamName":"s","Records":[]}}',
      '{"DeliveryStreamName":"s","Records":[],"__proto__":{}}',
      '{"DeliveryStreamName":"s","Records":[{"__proto__":{"Data":"YQ=="}}]}',
      '{"DeliveryStreamName":"s","Records":[{"Data":"YQ==","constructor":1}]}',
    ]) {
      expect(scanPutRecordBatchBody(Buffer.from(body)), body).toBeUndefined();
    }
  });
});

describe('decodeContentEncoding', () => {
  const body = Buffer.from('{"DeliveryStreamName":"s"}');

  it('decodes gzip, x-gzip and deflate, in any case, with identity anywhere in a list', async () => {
    for (const [header, sent] of [
      [undefined, body],
      ['identity', body],
      ['', body],
      ['gzip', gzipSync(body)],
      [' GZIP ', gzipSync(body)],
      ['x-gzip', gzipSync(body)],
      ['identity, gzip, identity', gzipSync(body)],
      ['deflate', deflateSync(body)],
    ] as const) {
      expect(await decodeContentEncoding(header, sent, 1024), String(header)).toEqual(body);
    }
  });

  it('inflates up to the limit exactly, and refuses one byte more', async () => {
    const sent = gzipSync(body);
    expect(await decodeContentEncoding('gzip', sent, body.length)).toEqual(body);
    await expect(decodeContentEncoding('gzip', sent, body.length - 1)).rejects.toMatchObject({
      type: 'RequestEntityTooLargeException',
      message: `Request body is larger than ${body.length - 1} bytes after decoding its Content-Encoding gzip`,
    });
  });

  it('refuses codings it does not decode, quoting at most a few hundred characters', async () => {
    for (const header of ['br', 'zstd', 'gzip, deflate', 'compress', 'x'.repeat(10_000)]) {
      const error: unknown = await decodeContentEncoding(header, body, 1024).catch(
        (e: unknown) => e,
      );
      expect(error, header).toBeInstanceOf(FirehoseError);
      expect((error as FirehoseError).type, header).toBe('SerializationException');
      expect((error as FirehoseError).message.length, header).toBeLessThan(400);
    }
  });
});
