import { once } from 'node:events';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { deflateSync, gzipSync } from 'node:zlib';
import {
  DescribeDeliveryStreamCommand,
  FirehoseClient,
  PutRecordBatchCommand,
} from '@aws-sdk/client-firehose';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildApp, type ParsedBody } from '../../src/api/app.js';
import { MAX_NESTING_DEPTH } from '../../src/config/json-nesting.js';
import { decodeChunk } from '../../src/formats/chunk-frame.js';
import { batchKeys, streamKeys } from '../../src/streams/keys.js';
import { injectFirehose, useTestApi, type FirehoseAnswer } from '../support/test-api.js';

const ROLE = 'arn:aws:iam::000000000000:role/firehose';
const BUCKET = 'arn:aws:s3:::bucket';
const JSON_TYPE = 'application/x-amz-json-1.1';
/** What buildApp reads at most (app.ts BODY_LIMIT). */
const BODY_LIMIT = 16 * 1024 * 1024;

const { api, streamName, createStream } = useTestApi({
  prefix: 'hostile',
  removeStreams: 'afterAll',
});

/** Everything a stream holds, to show a refused request changed nothing. */
async function footprint(stream: string) {
  const keys = streamKeys(stream);
  return {
    stream: await api.redis.hgetall(keys.stream),
    stats: await api.redis.hgetall(keys.stats),
    open: await api.redis.hgetall(keys.open),
    sealed: await api.redis.zrange(keys.sealed, 0, '-1'),
  };
}

/** The records in the stream's open buffer, in order. */
async function openRecords(stream: string): Promise<Buffer[]> {
  const open = await api.redis.hget(streamKeys(stream).open, 'id');
  if (open === null) return [];
  const chunks = await api.redis.lrangeBuffer(batchKeys(stream, open).chunks, 0, -1);
  return chunks.flatMap((chunk) => decodeChunk(chunk).map((r) => Buffer.from(r.data)));
}

const batchBody = (stream: string, ...data: string[]) =>
  JSON.stringify({
    DeliveryStreamName: stream,
    Records: data.map((d) => ({ Data: Buffer.from(d).toString('base64') })),
  });

/** A request through fastify's inject (no socket), to the file's API unless `app` is given. */
const inject = (
  operation: string,
  payload: string | Buffer,
  headers: Record<string, string> = {},
  app: FastifyInstance = api.app,
): Promise<FirehoseAnswer> => injectFirehose(app, operation, payload, headers);

/**
 * A request written byte for byte on a socket: header values no HTTP client would send
 * (a latin-1 byte, only spaces, a lone `;`) reach the server exactly as written.
 *
 * @param headerLines extra header lines, each ending in CRLF, as raw bytes.
 */
async function rawRequest(
  operation: string,
  headerLines: Buffer,
  body: Buffer,
): Promise<FirehoseAnswer> {
  const socket = connect(Number(new URL(api.endpoint).port), '127.0.0.1');
  await once(socket, 'connect');
  socket.end(
    Buffer.concat([
      Buffer.from(
        `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n` +
          `X-Amz-Target: Firehose_20150804.${operation}\r\nContent-Length: ${body.length}\r\n`,
      ),
      headerLines,
      Buffer.from('\r\n'),
      body,
    ]),
  );
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
  const headers = new Map(
    lines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as const;
    }),
  );
  return {
    status: Number(statusLine.split(' ')[1]),
    errorType: headers.get('x-amzn-errortype'),
    body: JSON.parse(text.slice(split + 4)) as FirehoseAnswer['body'],
  };
}

/** A second app on the same Redis whose log lines are kept, to look at what it logs. */
function appWithCapturedLog(): { app: FastifyInstance; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  const app = buildApp({
    settings: api.settings,
    redis: api.redis,
    registry: api.registry,
    buffer: api.buffer,
    log: pino({ level: 'debug' }, sink),
  });
  return { app, lines };
}

describe('operation names from the prototype of a JavaScript object', () => {
  it('are UnknownOperationException, and nothing is appended', async () => {
    const stream = await createStream();
    const before = await footprint(stream);
    for (const name of [
      'constructor',
      'toString',
      '__proto__',
      'valueOf',
      'hasOwnProperty',
      'isPrototypeOf',
      'propertyIsEnumerable',
      'toLocaleString',
      '__defineGetter__',
      '__lookupGetter__',
      '',
    ]) {
      const answer = await inject(name, batchBody(stream, 'a'));
      expect(answer, name).toEqual({
        status: 400,
        errorType: 'UnknownOperationException',
        body: {
          __type: 'UnknownOperationException',
          message: `Unknown operation Firehose_20150804.${name}`,
        },
      });
    }
    expect(await footprint(stream)).toEqual(before);
  });
});

describe('deeply nested JSON', () => {
  const nested = (levels: number, open: string, close: string) =>
    open.repeat(levels) + close.repeat(levels);

  it('is a SerializationException at any depth past the limit, logged as nothing', async () => {
    const stream = await createStream();
    const before = await footprint(stream);
    const { app, lines } = appWithCapturedLog();
    try {
      const records = `"Records":[{"Data":"YQ=="}]`;
      for (const deep of [
        nested(100_000, '[', ']'),
        `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`,
        // Just past the limit, even as the whole body.
        nested(MAX_NESTING_DEPTH + 1, '[', ']'),
      ]) {
        for (const [operation, body] of [
          ['PutRecordBatch', `{"DeliveryStreamName":"${stream}",${records},"Extra":${deep}}`],
          ['PutRecord', `{"DeliveryStreamName":"${stream}","Record":{"Data":"YQ==","X":${deep}}}`],
          ['CreateDeliveryStream', `{"DeliveryStreamName":"${stream}","Tags":${deep}}`],
          ['UpdateDestination', `{"ExtendedS3DestinationUpdate":{"BucketARN":${deep}}}`],
          ['ListDeliveryStreams', deep],
        ] as const) {
          expect(await inject(operation, body, {}, app), `${operation} ${deep.length}`).toEqual({
            status: 400,
            errorType: 'SerializationException',
            body: {
              __type: 'SerializationException',
              message: `Request body nests objects and lists deeper than ${MAX_NESTING_DEPTH} levels`,
            },
          });
        }
      }
      expect(lines).toEqual([]);
    } finally {
      await app.close();
    }
    expect(await footprint(stream)).toEqual(before);
  });

  it('is read as usual up to the limit', async () => {
    const stream = await createStream();
    // The body is level 1, so a member holding lists nested to level 64 is the deepest allowed.
    const deepest = nested(MAX_NESTING_DEPTH - 1, '[', ']');
    const answer = await inject(
      'PutRecordBatch',
      `{"DeliveryStreamName":"${stream}","Records":[{"Data":"YQ=="}],"Extra":${deepest}}`,
    );
    expect(answer.status).toBe(200);
    expect(await openRecords(stream)).toEqual([Buffer.from('a')]);
  });

  it('counts only brackets outside strings', async () => {
    const stream = await createStream();
    const data = `[{"\\"${'['.repeat(100)}`;
    const answer = await inject(
      'PutRecordBatch',
      `{"DeliveryStreamName":"${stream}","Records":[{"Data":"YQ=="}],"Extra":${JSON.stringify(data)}}`,
    );
    expect(answer.status).toBe(200);
  });
});

describe('a Content-Type that cannot be parsed, or none', () => {
  const cases: [label: string, headerLines: Buffer, shown: string][] = [
    ['a lone semicolon', Buffer.from('Content-Type: ;\r\n'), `got ';'`],
    ['only spaces', Buffer.from('Content-Type:     \r\n'), `got ''`],
    [
      'a latin-1 byte',
      Buffer.concat([
        Buffer.from(`Content-Type: ${JSON_TYPE}`),
        Buffer.from([0xe9]),
        Buffer.from('\r\n'),
      ]),
      `got '${JSON_TYPE}\u00e9'`,
    ],
    ['a missing header', Buffer.alloc(0), 'got none'],
  ];

  it.each(cases)(
    'is a SerializationException on the wire: %s, and nothing is appended',
    async (_label, headerLines, shown) => {
      const stream = await createStream();
      const before = await footprint(stream);
      for (const body of [Buffer.from(batchBody(stream, 'a')), Buffer.alloc(0)]) {
        const answer = await rawRequest('PutRecordBatch', headerLines, body);
        expect(answer).toEqual({
          status: 400,
          errorType: 'SerializationException',
          body: {
            __type: 'SerializationException',
            message: `Content-Type must be ${JSON_TYPE}, ${shown}`,
          },
        });
      }
      expect(await footprint(stream)).toEqual(before);
    },
  );

  it('is a SerializationException through inject as well', async () => {
    const stream = await createStream();
    const before = await footprint(stream);
    for (const contentType of [';', ' ', 'application/', '/', 'a b/c']) {
      const answer = await inject('PutRecordBatch', batchBody(stream, 'a'), {
        'content-type': contentType,
      });
      expect(answer.status, contentType).toBe(400);
      expect(answer.errorType, contentType).toBe('SerializationException');
    }
    expect(await footprint(stream)).toEqual(before);
  });
});

describe('members named __proto__, constructor or prototype', () => {
  it('are ignored by UpdateDestination: the bucket stays as it was', async () => {
    const stream = await createStream();
    for (const member of ['__proto__', 'constructor', 'prototype']) {
      const { DeliveryStreamDescription: current } = await api.firehose.send(
        new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream }),
      );
      const answer = await inject(
        'UpdateDestination',
        `{"DeliveryStreamName":"${stream}","CurrentDeliveryStreamVersionId":"${current?.VersionId}",` +
          `"DestinationId":"destinationId-000000000001",` +
          `"ExtendedS3DestinationUpdate":{"${member}":{"BucketARN":"arn:aws:s3:::polluted"}}}`,
      );
      expect(answer.status, member).toBe(200);
      const { DeliveryStreamDescription: after } = await api.firehose.send(
        new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream }),
      );
      const destination = after?.Destinations?.[0];
      expect(destination?.ExtendedS3DestinationDescription?.BucketARN, member).toBe(BUCKET);
      expect(destination?.S3DestinationDescription?.BucketARN, member).toBe(BUCKET);
    }
  });

  it('do not carry a CreateDeliveryStream: it is missing its DeliveryStreamName', async () => {
    const name = streamName('hostile-proto');
    const request = JSON.stringify({
      DeliveryStreamName: name,
      ExtendedS3DestinationConfiguration: { RoleARN: ROLE, BucketARN: BUCKET },
    });
    for (const member of ['__proto__', 'constructor', 'prototype']) {
      const answer = await inject('CreateDeliveryStream', `{"${member}":${request}}`);
      expect(answer, member).toEqual({
        status: 400,
        errorType: 'ValidationException',
        body: {
          __type: 'ValidationException',
          message:
            "1 validation error detected: Value null at 'deliveryStreamName' failed to satisfy constraint: Member must not be null",
        },
      });
    }
    expect(await api.registry.get(name)).toBeUndefined();
  });

  it('do not carry records or a stream name into a put', async () => {
    const stream = await createStream();
    const before = await footprint(stream);
    const records = `"Records":[{"Data":"YQ=="}]`;
    for (const [operation, body, path] of [
      [
        'PutRecordBatch',
        `{"__proto__":{"DeliveryStreamName":"${stream}",${records}}}`,
        'deliveryStreamName',
      ],
      ['PutRecordBatch', `{"DeliveryStreamName":"${stream}","__proto__":{${records}}}`, 'records'],
      [
        'PutRecordBatch',
        `{"DeliveryStreamName":"${stream}","Records":[{"__proto__":{"Data":"YQ=="}}]}`,
        'records.1.member.data',
      ],
      [
        'PutRecord',
        `{"DeliveryStreamName":"${stream}","Record":{"__proto__":{"Data":"YQ=="}}}`,
        'record.data',
      ],
    ] as const) {
      const answer = await inject(operation, body);
      expect(answer.errorType, body).toBe('ValidationException');
      expect(answer.body.message, body).toBe(
        `1 validation error detected: Value null at '${path}' failed to satisfy constraint: Member must not be null`,
      );
    }
    expect(await footprint(stream)).toEqual(before);
  });
});

describe('Content-Encoding', () => {
  it('gzip and deflate bodies are decoded and stored', async () => {
    const stream = await createStream();
    const gzip = await inject('PutRecordBatch', gzipSync(batchBody(stream, 'g1', 'g2')), {
      'content-encoding': 'gzip',
    });
    expect(gzip.status).toBe(200);
    expect(gzip.body.FailedPutCount).toBe(0);
    const deflate = await inject('PutRecordBatch', deflateSync(batchBody(stream, 'd1')), {
      'content-encoding': 'Deflate',
    });
    expect(deflate.status).toBe(200);
    const identity = await inject('PutRecordBatch', batchBody(stream, 'i1'), {
      'content-encoding': 'identity',
    });
    expect(identity.status).toBe(200);
    expect(await openRecords(stream)).toEqual(['g1', 'g2', 'd1', 'i1'].map((s) => Buffer.from(s)));
  });

  it('keeps the bytes as received for request signatures', async () => {
    const stream = await createStream();
    const { app } = appWithCapturedLog();
    const raws: Buffer[] = [];
    app.addHook('preHandler', (request, _reply, done) => {
      raws.push((request.body as ParsedBody).raw);
      done();
    });
    try {
      const sent = gzipSync(batchBody(stream, 'signed'));
      const answer = await inject('PutRecordBatch', sent, { 'content-encoding': 'gzip' }, app);
      expect(answer.status).toBe(200);
      expect(raws).toEqual([sent]);
    } finally {
      await app.close();
    }
  });

  it('works from the AWS SDK compressing its requests', async () => {
    const stream = await createStream();
    const firehose = new FirehoseClient({
      endpoint: api.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
    let compressedRequests = 0;
    // What @smithy/middleware-compression does for services whose model allows compressed
    // requests: gzip the serialized body early in the build step, before the length is set
    // and the request is signed.
    firehose.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { body?: unknown; headers: Record<string, string> };
        const { body } = request;
        if (typeof body === 'string' || body instanceof Uint8Array) {
          const compressed = gzipSync(body);
          request.body = compressed;
          request.headers['content-encoding'] = 'gzip';
          request.headers['content-length'] = String(compressed.length);
          compressedRequests++;
        }
        return next(args);
      },
      { step: 'build', priority: 'high', name: 'gzipRequestBody' },
    );
    try {
      const result = await firehose.send(
        new PutRecordBatchCommand({
          DeliveryStreamName: stream,
          Records: [{ Data: Buffer.from('sdk-1') }, { Data: Buffer.from('sdk-2') }],
        }),
      );
      expect(result.FailedPutCount).toBe(0);
      const described = await firehose.send(
        new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream }),
      );
      expect(described.DeliveryStreamDescription?.DeliveryStreamName).toBe(stream);
      expect(compressedRequests).toBe(2);
    } finally {
      firehose.destroy();
    }
    expect(await openRecords(stream)).toEqual([Buffer.from('sdk-1'), Buffer.from('sdk-2')]);
  });

  it('refuses unknown or stacked encodings and corrupt bytes precisely, appending nothing', async () => {
    const stream = await createStream();
    const before = await footprint(stream);
    const body = batchBody(stream, 'x');
    const cases: [encoding: string, payload: string | Buffer, message: string][] = [
      [
        'br',
        body,
        "Content-Encoding 'br' is not supported: Sluice decodes one of gzip, deflate or identity",
      ],
      [
        'gzip, gzip',
        gzipSync(gzipSync(body)),
        "Content-Encoding 'gzip, gzip' is not supported: Sluice decodes one of gzip, deflate or identity",
      ],
      ['gzip', body, 'Request body is not valid gzip (Content-Encoding): incorrect header check'],
      [
        'gzip',
        gzipSync(body).subarray(0, 20),
        'Request body is not valid gzip (Content-Encoding): unexpected end of file',
      ],
    ];
    for (const [encoding, payload, message] of cases) {
      expect(
        await inject('PutRecordBatch', payload, { 'content-encoding': encoding }),
        encoding,
      ).toEqual({
        status: 400,
        errorType: 'SerializationException',
        body: { __type: 'SerializationException', message },
      });
    }
    expect(await footprint(stream)).toEqual(before);
  });

  it('stops inflating a gzip bomb at the body limit: RequestEntityTooLargeException', async () => {
    const stream = await createStream();
    const before = await footprint(stream);
    // 64 MiB of valid JSON in a few hundred KiB: without the bound it would inflate in full.
    const head = `{"DeliveryStreamName":"${stream}","Records":[{"Data":"`;
    const bomb = gzipSync(
      Buffer.concat([Buffer.from(head), Buffer.alloc(64 * 1024 * 1024, 'A'), Buffer.from('"}]}')]),
      { level: 1 },
    );
    expect(bomb.length).toBeLessThan(BODY_LIMIT);
    expect(await inject('PutRecordBatch', bomb, { 'content-encoding': 'gzip' })).toEqual({
      status: 413,
      errorType: 'RequestEntityTooLargeException',
      body: {
        __type: 'RequestEntityTooLargeException',
        message: `Request body is larger than ${BODY_LIMIT} bytes after decoding its Content-Encoding gzip`,
      },
    });
    expect(await footprint(stream)).toEqual(before);
  });
});
