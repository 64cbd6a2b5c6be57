import { readFileSync } from 'node:fs';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { PipelineRecord, SendResult } from '../../src/destinations/destination-kind.js';
import { classifyHttpResponse } from '../../src/destinations/http/classify.js';
import {
  normalizeHttpEndpoint,
  type StoredHttpEndpointDestination,
} from '../../src/destinations/http/config.js';
import { planHttpDelivery } from '../../src/destinations/http/plan.js';
import {
  buildHttpRequest,
  encodeHttpBody,
  type HttpEndpointRequest,
} from '../../src/destinations/http/request.js';
import {
  MAX_RESPONSE_BYTES,
  ResponseTimeoutError,
  sendHttpRequest,
  type HttpEndpointResponse,
} from '../../src/destinations/http/sender.js';
import { cleanupAfterEach, eventually } from '../support/e2e.js';
import { freePort, listenOnLoopback } from '../support/free-port.js';
import { makeTestCertificates } from '../support/tls-certs.js';

const cleanups = cleanupAfterEach();

const STREAM_ARN = 'arn:aws:firehose:eu-west-1:123456789012:deliverystream/clicks';
const KEY = 'loopback-access-key';
/** Generous: only the timeout test waits on purpose, with its own short timeout. */
const services = { httpResponseTimeoutMs: 10_000 };

/** What a test server saw of one request. */
interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

/**
 * A loopback HTTP server (HTTPS with `tls`) whose every request is read whole, recorded, then
 * handed to `handler`. Closed after the test.
 */
async function startServer(
  handler: Handler,
  tls?: { cert: Buffer; key: Buffer },
): Promise<{ server: Server; origin: string; received: Received[] }> {
  const received: Received[] = [];
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({ method: req.method, url: req.url, headers: req.headers, body });
      handler(req, res, body);
    });
  };
  const server = tls ? createTlsServer(tls, listener) : createServer(listener);
  const port = await listenOnLoopback(server);
  cleanups.add(() => closeServer(server));
  return { server, origin: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, received };
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** How many connections the server still has open. */
function openConnections(server: Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}

/** The sender leaves nothing open: the server sees every connection closed. */
async function expectNoConnectionLeft(server: Server): Promise<void> {
  await eventually(
    'the connection to be closed',
    async () => (await openConnections(server)) === 0,
    {
      timeoutMs: 5_000,
    },
  );
}

function destination(
  url: string,
  contentEncoding: 'NONE' | 'GZIP' = 'NONE',
): StoredHttpEndpointDestination {
  return normalizeHttpEndpoint(
    {
      EndpointConfiguration: { Url: url, AccessKey: KEY },
      RequestConfiguration: {
        ContentEncoding: contentEncoding,
        CommonAttributes: [{ AttributeName: 'env', AttributeValue: 'test' }],
      },
      S3Configuration: {
        RoleARN: 'arn:aws:iam::123456789012:role/firehose',
        BucketARN: 'arn:aws:s3:::http-backup',
      },
    },
    'HttpEndpointDestinationConfiguration',
  );
}

const RECORDS: PipelineRecord[] = [
  { id: 'a', position: 0, arrivalMs: 1, data: Buffer.from('{"n":1}\n') },
  { id: 'b', position: 1, arrivalMs: 2, data: Buffer.from([0, 1, 2, 0xfe, 0xff]) },
  { id: 'c', position: 2, arrivalMs: 3, data: Buffer.alloc(0) },
];

/** The request the driver would make for `url`: encoded, compressed when the plan says so. */
function requestFor(url: string, contentEncoding: 'NONE' | 'GZIP' = 'NONE'): HttpEndpointRequest {
  const config = destination(url, contentEncoding);
  const plan = planHttpDelivery(config, {
    streamName: 'clicks',
    streamArn: STREAM_ARN,
    versionId: 1,
    batchId: `batch-${Math.random()}`,
    firstArrivalMs: 1,
  });
  const encoded = encodeHttpBody(plan, RECORDS, 1_700_000_000_000);
  return buildHttpRequest(plan, contentEncoding === 'GZIP' ? gzipSync(encoded) : encoded, config);
}

/** The protocol's acknowledgement of a request (Content-Length set: Firehose requires it). */
function acknowledge(req: IncomingMessage, res: ServerResponse): void {
  const json = JSON.stringify({
    requestId: req.headers['x-amz-firehose-request-id'],
    timestamp: Date.now(),
  });
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(json)),
  });
  res.end(json);
}

function responseOf(result: SendResult<HttpEndpointResponse>): HttpEndpointResponse {
  if ('error' in result) throw new Error(`expected a response, got ${String(result.error)}`);
  return result.response;
}

function errorOf(result: SendResult<HttpEndpointResponse>): unknown {
  if ('response' in result)
    throw new Error(`expected an error, got HTTP ${result.response.status}`);
  return result.error;
}

describe('HTTP endpoint sender', () => {
  it('POSTs the protocol request unchanged and a conforming 200 delivers', async () => {
    const { server, origin, received } = await startServer((req, res) => acknowledge(req, res));
    const request = requestFor(`${origin}/ingest/v1?token=abc&x=1`);

    const result = await sendHttpRequest(request, services);

    const response = responseOf(result);
    expect(response.status).toBe(200);
    expect(response.tooLarge).toBe(false);
    expect(classifyHttpResponse(request, result)).toMatchObject({ kind: 'delivered' });
    expect(received).toHaveLength(1);
    const [seen] = received;
    expect(seen?.method).toBe('POST');
    expect(seen?.url).toBe('/ingest/v1?token=abc&x=1');
    expect(seen?.headers).toMatchObject({
      'content-type': 'application/json',
      'content-length': String(request.body.length),
      'user-agent': 'Amazon Kinesis Data Firehose Agent/1.0',
      'x-amz-firehose-protocol-version': '1.0',
      'x-amz-firehose-request-id': request.requestId,
      'x-amz-firehose-source-arn': STREAM_ARN,
      'x-amz-firehose-access-key': KEY,
      'x-amz-firehose-common-attributes': '{"commonAttributes":{"env":"test"}}',
    });
    expect(seen?.headers).not.toHaveProperty('content-encoding');
    expect(seen?.body.equals(request.body)).toBe(true);
    const body = JSON.parse(seen?.body.toString('utf8') ?? '') as { records: { data: string }[] };
    expect(body.records.map((r) => Buffer.from(r.data, 'base64'))).toEqual(
      RECORDS.map((r) => r.data),
    );
    await expectNoConnectionLeft(server);
  });

  it('sends a gzip body with Content-Encoding gzip that decompresses to the protocol JSON', async () => {
    const { origin, received } = await startServer((req, res) => acknowledge(req, res));
    const request = requestFor(`${origin}/`, 'GZIP');

    const result = await sendHttpRequest(request, services);

    expect(classifyHttpResponse(request, result)).toMatchObject({ kind: 'delivered' });
    const [seen] = received;
    expect(seen?.headers['content-encoding']).toBe('gzip');
    const json = JSON.parse(gunzipSync(seen?.body ?? Buffer.alloc(0)).toString('utf8')) as {
      requestId: string;
      timestamp: number;
      records: { data: string }[];
    };
    expect(json.requestId).toBe(request.requestId);
    expect(json.timestamp).toBe(1_700_000_000_000);
    expect(json.records.map((r) => Buffer.from(r.data, 'base64'))).toEqual(
      RECORDS.map((r) => r.data),
    );
  });

  it('does not take a 200 without Content-Length (a chunked answer), as Firehose does not', async () => {
    const { origin } = await startServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({ requestId: req.headers['x-amz-firehose-request-id'], timestamp: 1 }),
      );
    });
    const request = requestFor(`${origin}/`);

    const result = await sendHttpRequest(request, services);

    expect(responseOf(result).headers['transfer-encoding']).toBe('chunked');
    expect(classifyHttpResponse(request, result)).toMatchObject({
      kind: 'retry',
      code: 'HttpEndpoint.InvalidResponseFromDestination',
    });
  });

  it('reports a 500 with its body, to be retried', async () => {
    const { server, origin } = await startServer((_req, res) => {
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end('{"errorMessage":"database down"}');
    });
    const request = requestFor(`${origin}/`);

    const result = await sendHttpRequest(request, services);

    expect(responseOf(result)).toMatchObject({ status: 500, tooLarge: false });
    expect(classifyHttpResponse(request, result)).toEqual({
      kind: 'retry',
      code: 'HttpEndpoint.DestinationException',
      reason:
        'The following response was received from the endpoint destination. 500: {"errorMessage":"database down"}',
    });
    await expectNoConnectionLeft(server);
  });

  it('does not follow a redirect', async () => {
    const { origin, received } = await startServer((_req, res) => {
      res.writeHead(307, { Location: '/elsewhere', 'Content-Length': '0' });
      res.end();
    });
    const request = requestFor(`${origin}/`);

    const result = await sendHttpRequest(request, services);

    expect(responseOf(result).status).toBe(307);
    expect(received).toHaveLength(1);
    expect(classifyHttpResponse(request, result)).toMatchObject({
      kind: 'retry',
      code: 'HttpEndpoint.DestinationException',
    });
  });

  it('gives up on an endpoint that does not answer within the timeout, closing the connection', async () => {
    // Reads the request, never answers.
    const { server, origin, received } = await startServer(() => undefined);
    const request = requestFor(`${origin}/`);

    const result = await sendHttpRequest(request, { httpResponseTimeoutMs: 300 });

    const error = errorOf(result);
    expect(error).toBeInstanceOf(ResponseTimeoutError);
    expect(received).toHaveLength(1);
    expect(classifyHttpResponse(request, result)).toEqual({
      kind: 'retry',
      code: 'HttpEndpoint.RequestTimeout',
      reason:
        'The endpoint did not answer within 300 ms (the response timeout); the request was abandoned.',
    });
    await expectNoConnectionLeft(server);
  });

  it('gives up on a body that trickles in past the timeout', async () => {
    const { server, origin } = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
      res.write('{"requestId":');
    });
    const request = requestFor(`${origin}/`);

    const result = await sendHttpRequest(request, { httpResponseTimeoutMs: 300 });

    expect(errorOf(result)).toBeInstanceOf(ResponseTimeoutError);
    await expectNoConnectionLeft(server);
  });

  it('reports a connection the endpoint destroys as a reset', async () => {
    const { origin } = await startServer((req) => req.socket.destroy());
    const request = requestFor(`${origin}/`);

    const result = await sendHttpRequest(request, services);

    expect((errorOf(result) as { code?: string }).code).toBe('ECONNRESET');
    expect(classifyHttpResponse(request, result)).toMatchObject({
      kind: 'retry',
      code: 'HttpEndpoint.ConnectionReset',
    });
  });

  it('reports a response cut off in its body as a reset', async () => {
    const { origin } = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
      res.write('{"requestId":', () => res.socket?.destroy());
    });
    const request = requestFor(`${origin}/`);

    const result = await sendHttpRequest(request, services);

    expect((errorOf(result) as { code?: string }).code).toBe('ECONNRESET');
    expect(classifyHttpResponse(request, result)).toMatchObject({
      kind: 'retry',
      code: 'HttpEndpoint.ConnectionReset',
    });
  });

  it('reports a closed port as a failed connection', async () => {
    const port = await freePort();
    const request = requestFor(`http://127.0.0.1:${port}/`);

    const result = await sendHttpRequest(request, services);

    expect((errorOf(result) as { code?: string }).code).toBe('ECONNREFUSED');
    expect(classifyHttpResponse(request, result)).toMatchObject({
      kind: 'retry',
      code: 'HttpEndpoint.ConnectionFailed',
    });
  });

  it('stops reading a response body past 1 MiB', async () => {
    const { server, origin } = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      // Far more than the cap, in pieces: the sender must stop, not buffer it all.
      const piece = Buffer.alloc(256 * 1024, 0x20);
      let sent = 0;
      const more = (): void => {
        while (sent < 64 && res.write(piece)) sent += 1;
        if (sent < 64) res.once('drain', more);
        else res.end();
      };
      res.on('error', () => undefined);
      more();
    });
    const request = requestFor(`${origin}/`);

    const result = await sendHttpRequest(request, services);

    const response = responseOf(result);
    expect(response.tooLarge).toBe(true);
    expect(response.body.length).toBe(MAX_RESPONSE_BYTES + 1);
    expect(classifyHttpResponse(request, result)).toMatchObject({
      kind: 'retry',
      code: 'HttpEndpoint.ResponseTooLarge',
    });
    await expectNoConnectionLeft(server);
  });

  it('reads a response of exactly 1 MiB whole', async () => {
    const { origin } = await startServer((req, res) => {
      const json = JSON.stringify({
        requestId: req.headers['x-amz-firehose-request-id'],
        timestamp: 1,
        errorMessage: '',
      });
      const padded = Buffer.alloc(MAX_RESPONSE_BYTES, 0x20);
      padded.write(json);
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': String(padded.length),
      });
      res.end(padded);
    });
    const request = requestFor(`${origin}/`);

    const result = await sendHttpRequest(request, services);

    expect(responseOf(result)).toMatchObject({ tooLarge: false });
    expect(responseOf(result).body.length).toBe(MAX_RESPONSE_BYTES);
    expect(classifyHttpResponse(request, result)).toMatchObject({ kind: 'delivered' });
  });

  it('reports a TLS endpoint with an untrusted certificate as a handshake failure', async () => {
    const certs = await makeTestCertificates(cleanups);
    const tls = { cert: readFileSync(certs.server.cert), key: readFileSync(certs.server.key) };
    const { origin, received } = await startServer((req, res) => acknowledge(req, res), tls);
    const request = requestFor(origin);

    const result = await sendHttpRequest(request, services);

    expect(received).toHaveLength(0);
    expect(classifyHttpResponse(request, result)).toMatchObject({
      kind: 'retry',
      code: 'HttpEndpoint.SSLHandshakeFailure',
    });
  });
});
