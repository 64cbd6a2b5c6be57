import {
  CreateDeliveryStreamCommand,
  PutRecordBatchCommand,
  PutRecordCommand,
  ResourceNotFoundException,
  ServiceUnavailableException,
} from '@aws-sdk/client-firehose';
import { describe, expect, it } from 'vitest';
import { decodeChunk } from '../../src/formats/chunk-frame.js';
import { parseRecordId } from '../../src/buffer/record-id.js';
import { batchKeys, streamKeys } from '../../src/streams/keys.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startTestApi, useTestApi } from '../support/test-api.js';
import { uniqueName } from '../support/unique.js';

const { api, streamName, createStream } = useTestApi({ prefix: 'dp', removeStreams: 'afterAll' });

/** Raw request, for inputs the SDK would never send. */
async function raw(
  body: string,
  target = 'PutRecordBatch',
  contentType = 'application/x-amz-json-1.1',
) {
  const response = await fetch(api.endpoint, {
    method: 'POST',
    headers: { 'content-type': contentType, 'x-amz-target': `Firehose_20150804.${target}` },
    body,
  });
  return {
    status: response.status,
    errorType: response.headers.get('x-amzn-errortype'),
    body: (await response.json()) as { __type?: string; message?: string },
  };
}

/** Everything the stream holds: its counters and open buffer. */
async function footprint(stream: string) {
  const keys = streamKeys(stream);
  return {
    stats: await api.redis.hgetall(keys.stats),
    open: await api.redis.hgetall(keys.open),
    sealed: await api.redis.zrange(keys.sealed, 0, '-1'),
  };
}

const record = (bytes: number) => ({ Data: Buffer.alloc(bytes, 97).toString('base64') });

describe('PutRecordBatch', () => {
  it('stores the batch as one chunk, answers ids in order, and compact JSON', async () => {
    const stream = await createStream();
    const data = Array.from({ length: 500 }, (_, i) => Buffer.from(`{"n":${i}}\n`));
    const response = await fetch(api.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'Firehose_20150804.PutRecordBatch',
      },
      body: JSON.stringify({
        DeliveryStreamName: stream,
        Records: data.map((d) => ({ Data: d.toString('base64') })),
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(response.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    const text = await response.text();
    // fluent-bit matches this literal substring.
    expect(text.startsWith('{"Encrypted":false,"FailedPutCount":0,"RequestResponses":[')).toBe(
      true,
    );
    const ids = (
      JSON.parse(text) as { RequestResponses: { RecordId: string }[] }
    ).RequestResponses.map((r) => r.RecordId);
    expect(new Set(ids).size).toBe(500);
    const first = parseRecordId(ids[0]!)!;
    expect(parseRecordId(ids[499]!)).toEqual({ ...first, position: 499 });
    const chunks = await api.redis.lrangeBuffer(batchKeys(stream, first.batchId).chunks, 0, -1);
    expect(chunks).toHaveLength(1);
    expect(decodeChunk(chunks[0]!).map((r) => Buffer.from(r.data))).toEqual(data);
  });

  it('reads bodies outside the usual shape with the generic parser, to the same effect', async () => {
    const stream = await createStream();
    // An escaped slash (as PHP's json_encode writes) and an extra member: the byte scanner
    // leaves both to JSON.parse.
    const body = `{"DeliveryStreamName":"${stream}","Records":[{"Data":"YS\\/x"}],"Extra":true}`;
    const result = await raw(body);
    expect(result.status).toBe(200);
    const open = await api.redis.hget(streamKeys(stream).open, 'id');
    const [chunk] = await api.redis.lrangeBuffer(batchKeys(stream, open!).chunks, 0, -1);
    expect(decodeChunk(chunk!).map((r) => Buffer.from(r.data))).toEqual([
      Buffer.from('YS/x', 'base64'),
    ]);
  });

  it('works through the unmodified AWS SDK', async () => {
    const stream = await createStream();
    const result = await api.firehose.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: stream,
        Records: [{ Data: Buffer.from('a') }, { Data: new Uint8Array() }],
      }),
    );
    expect(result.FailedPutCount).toBe(0);
    expect(result.Encrypted).toBe(false);
    expect(result.RequestResponses).toHaveLength(2);
    expect((await footprint(stream)).stats).toMatchObject({
      backlogRecords: '2',
      backlogBytes: '1',
    });
  });

  it('rejects a missing stream with ResourceNotFoundException and stores nothing', async () => {
    const stream = uniqueName('missing');
    const error = await api.firehose
      .send(
        new PutRecordBatchCommand({
          DeliveryStreamName: stream,
          Records: [{ Data: Buffer.from('x') }],
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect((error as Error).message).toBe(
      `Firehose ${stream} under account 000000000000 not found.`,
    );
    expect((error as ResourceNotFoundException).$metadata.httpStatusCode).toBe(400);
    expect(await api.redis.exists(streamKeys(stream).stats, streamKeys(stream).open)).toBe(0);
  });

  it.each([
    {
      what: '501 records',
      body: (s: string) => ({
        DeliveryStreamName: s,
        Records: Array.from({ length: 501 }, () => record(1)),
      }),
      type: 'ValidationException',
      message:
        /^1 validation error detected: Value '.*' at 'records' failed to satisfy constraint: Member must have length less than or equal to 500$/,
    },
    {
      what: 'no records',
      body: (s: string) => ({ DeliveryStreamName: s, Records: [] }),
      type: 'ValidationException',
      message:
        /at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1$/,
    },
    {
      what: 'a batch over 4 MiB',
      body: (s: string) => ({
        DeliveryStreamName: s,
        Records: [...Array.from({ length: 4 }, () => record(1_000_000)), record(194_305)],
      }),
      type: 'InvalidArgumentException',
      message: /^Records size exceeds 4 MB limit$/,
    },
    {
      what: 'a record over 1,024,000 bytes',
      body: (s: string) => ({ DeliveryStreamName: s, Records: [record(1), record(1_024_001)] }),
      type: 'ValidationException',
      message:
        /at 'records\.2\.member\.data' failed to satisfy constraint: Member must have length less than or equal to 1024000$/,
    },
    {
      what: 'invalid base64',
      body: (s: string) => ({
        DeliveryStreamName: s,
        Records: [record(3), { Data: 'not base64!' }],
      }),
      type: 'SerializationException',
      message: /can not be converted to a Blob/,
    },
    {
      what: 'a record without Data',
      body: (s: string) => ({ DeliveryStreamName: s, Records: [{}] }),
      type: 'ValidationException',
      message:
        /at 'records\.1\.member\.data' failed to satisfy constraint: Member must not be null$/,
    },
    {
      what: 'Records that is not a list',
      body: (s: string) => ({ DeliveryStreamName: s, Records: 'abc' }),
      type: 'SerializationException',
      message: /records/,
    },
  ])('rejects $what with $type, appending nothing', async ({ body, type, message }) => {
    const stream = await createStream();
    const result = await raw(JSON.stringify(body(stream)));
    expect(result.status).toBe(400);
    expect(result.body.__type).toBe(type);
    expect(result.errorType).toBe(type);
    expect(result.body.message).toMatch(message);
    expect(await footprint(stream)).toEqual({ stats: {}, open: {}, sealed: [] });
  });

  it('accepts a batch of exactly 4 MiB and a record of exactly 1,024,000 bytes', async () => {
    const stream = await createStream();
    const exact = [
      ...Array.from({ length: 4 }, () => record(1_024_000)),
      record(4 * 1024 * 1024 - 4_096_000),
    ];
    const result = await raw(JSON.stringify({ DeliveryStreamName: stream, Records: exact }));
    expect(result.status).toBe(200);
    expect((await footprint(stream)).stats.backlogBytes).toBe(String(4 * 1024 * 1024));
  });

  it.each([
    {
      name: 'bad name!',
      constraint: 'Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+',
    },
    { name: 'x'.repeat(65), constraint: 'Member must have length less than or equal to 64' },
    { name: '', constraint: 'Member must have length greater than or equal to 1' },
  ])('rejects the stream name $name', async ({ name, constraint }) => {
    const result = await raw(JSON.stringify({ DeliveryStreamName: name, Records: [record(1)] }));
    expect(result.status).toBe(400);
    expect(result.body.__type).toBe('ValidationException');
    expect(result.body.message).toContain(
      `at 'deliveryStreamName' failed to satisfy constraint: ${constraint}`,
    );
  });

  it('answers "Slow down." per record past the backlog cap, storing nothing', async () => {
    const small = await startTestApi({ SLUICE_MAX_BACKLOG_MB: '1' });
    try {
      const stream = streamName('bp');
      await small.firehose.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: stream,
          ExtendedS3DestinationConfiguration: {
            RoleARN: 'arn:aws:iam::000000000000:role/firehose',
            BucketARN: 'arn:aws:s3:::bucket',
          },
        }),
      );
      const big = {
        DeliveryStreamName: stream,
        Records: [{ Data: Buffer.alloc(1_000_000) }, { Data: Buffer.alloc(100_000) }],
      };
      expect((await small.firehose.send(new PutRecordBatchCommand(big))).FailedPutCount).toBe(0);
      const refused = await small.firehose.send(new PutRecordBatchCommand(big));
      expect(refused.FailedPutCount).toBe(2);
      expect(refused.RequestResponses).toEqual([
        { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' },
        { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' },
      ]);
      const single = await small.firehose
        .send(
          new PutRecordCommand({ DeliveryStreamName: stream, Record: { Data: Buffer.from('x') } }),
        )
        .catch((e: unknown) => e);
      expect(single).toBeInstanceOf(ServiceUnavailableException);
      expect((single as ServiceUnavailableException).$metadata.httpStatusCode).toBe(503);
      expect(await small.redis.hget(streamKeys(stream).stats, 'backlogRecords')).toBe('2');
    } finally {
      await small.close();
    }
  });
});

describe('PutRecord', () => {
  it('stores one record and answers its id', async () => {
    const stream = await createStream();
    const result = await api.firehose.send(
      new PutRecordCommand({ DeliveryStreamName: stream, Record: { Data: Buffer.from('hello') } }),
    );
    expect(result.Encrypted).toBe(false);
    const id = parseRecordId(result.RecordId!)!;
    const chunks = await api.redis.lrangeBuffer(batchKeys(stream, id.batchId).chunks, 0, -1);
    expect(decodeChunk(chunks[id.chunkIndex]!)[0]?.data.toString()).toBe('hello');
  });

  it('rejects a missing Record and a record over 1,024,000 bytes', async () => {
    const stream = await createStream();
    const missing = await raw(JSON.stringify({ DeliveryStreamName: stream }), 'PutRecord');
    expect(missing.body.message).toContain(
      "at 'record' failed to satisfy constraint: Member must not be null",
    );
    const over = await raw(
      JSON.stringify({ DeliveryStreamName: stream, Record: record(1_024_001) }),
      'PutRecord',
    );
    expect(over.body.__type).toBe('ValidationException');
    expect(over.body.message).toContain(
      "at 'record.data' failed to satisfy constraint: Member must have length less than or equal to 1024000",
    );
    expect(await footprint(stream)).toEqual({ stats: {}, open: {}, sealed: [] });
  });
});

describe('the AWS JSON 1.1 envelope', () => {
  it('rejects malformed JSON, a non-object body and a wrong content type', async () => {
    const malformed = await raw('{"DeliveryStreamName": ');
    expect(malformed).toMatchObject({ status: 400, body: { __type: 'SerializationException' } });
    const array = await raw('[1,2]');
    expect(array).toMatchObject({ status: 400, body: { __type: 'SerializationException' } });
    const wrongType = await raw('{}', 'ListDeliveryStreams', 'text/plain');
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.__type).toBe('SerializationException');
    expect(wrongType.body.message).toContain('application/x-amz-json-1.1');
  });

  it('rejects unknown operations, a missing target and other paths', async () => {
    const unknown = await raw('{}', 'DescribeEverything');
    expect(unknown).toMatchObject({ status: 400, body: { __type: 'UnknownOperationException' } });
    const noTarget = await fetch(api.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      body: '{}',
    });
    expect(noTarget.status).toBe(400);
    expect(((await noTarget.json()) as { __type: string }).__type).toBe(
      'UnknownOperationException',
    );
    const otherPath = await fetch(`${api.endpoint}/v1/streams`, { method: 'GET' });
    expect(((await otherPath.json()) as { __type: string }).__type).toBe(
      'UnknownOperationException',
    );
  });

  it('keeps error bodies to __type and message', async () => {
    const result = await raw('{}', 'PutRecord');
    expect(Object.keys(result.body).sort()).toEqual(['__type', 'message']);
  });
});

describe('when Redis is unreachable', () => {
  let redisServer: RedisServer;
  it('answers 503 ServiceUnavailableException at once, and readiness says so', async () => {
    redisServer = await startRedisServer({ appendOnly: false });
    const isolated = await startTestApi({ SLUICE_REDIS_URL: redisServer.url });
    try {
      const stream = uniqueName('down');
      await isolated.firehose.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: stream,
          ExtendedS3DestinationConfiguration: {
            RoleARN: 'arn:aws:iam::000000000000:role/firehose',
            BucketARN: 'arn:aws:s3:::bucket',
          },
        }),
      );
      await redisServer.kill('SIGKILL');
      const error = await isolated.firehose
        .send(
          new PutRecordCommand({ DeliveryStreamName: stream, Record: { Data: Buffer.from('x') } }),
        )
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServiceUnavailableException);
      expect((error as ServiceUnavailableException).$metadata.httpStatusCode).toBe(503);
      // Readiness says so; liveness (/health) does not depend on Redis.
      expect((await fetch(`${isolated.endpoint}/ready`)).status).toBe(503);
    } finally {
      await isolated.close();
      await redisServer.stop();
    }
  });
});
