import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { gzipSync } from 'node:zlib';

import { afterEach, describe, expect, it } from 'vitest';

import { Cleanups } from '../support/e2e.js';
import {
  startHttpReceiver,
  type HttpReceiver,
  type HttpReceiverOptions,
  type ReceiverBehaviour,
} from '../support/http-receiver.js';
import { makeTestCertificates } from '../support/tls-certs.js';

const MIB = 1024 * 1024;
const WAIT_MS = 5_000;
const SOURCE_ARN = 'arn:aws:firehose:us-east-1:000000000000:deliverystream/receiver-test';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

async function receiver(options?: HttpReceiverOptions): Promise<HttpReceiver> {
  const started = await startHttpReceiver(options);
  cleanups.add(() => started.close());
  return started;
}

/** A Firehose request body, built by hand as Firehose builds it. */
function firehoseBody(records: Buffer[], requestId: string = randomUUID()) {
  return {
    requestId,
    timestamp: Date.now(),
    records: records.map((record) => ({ data: record.toString('base64') })),
  };
}

interface PostOptions {
  /** Extra headers, or `null` to leave a default one out. */
  headers?: Record<string, string | null>;
  gzip?: boolean;
  signal?: AbortSignal;
  path?: string;
}

/** POSTs `body` the way Firehose does: its headers, `Content-Length`, optionally gzipped. */
async function post(
  to: HttpReceiver,
  body: ReturnType<typeof firehoseBody> | Buffer,
  options: PostOptions = {},
): Promise<Response> {
  let bytes = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string | null> = {
    'Content-Type': 'application/json',
    'X-Amz-Firehose-Protocol-Version': '1.0',
    'X-Amz-Firehose-Request-Id': Buffer.isBuffer(body) ? randomUUID() : body.requestId,
    'X-Amz-Firehose-Source-Arn': SOURCE_ARN,
    'User-Agent': 'Amazon Kinesis Data Firehose Agent/1.0',
    ...options.headers,
  };
  if (options.gzip) {
    bytes = gzipSync(bytes);
    headers['Content-Encoding'] = 'gzip';
  }
  const sent = Object.fromEntries(
    Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== null),
  );
  const url = options.path === undefined ? to.url : new URL(options.path, to.url).href;
  return fetch(url, {
    method: 'POST',
    headers: sent,
    body: bytes,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

function records(count: number): Buffer[] {
  return Array.from({ length: count }, (_, index) => Buffer.from(`{"n":${index}}\n`));
}

describe('Firehose HTTP endpoint receiver', () => {
  it('answers ok with the spec success and records the request byte-exact', async () => {
    const endpoint = await receiver();
    // Binary bytes and an empty record: both are valid Firehose data.
    const sent = [randomBytes(300), Buffer.alloc(0), Buffer.from('héllo\n')];
    const body = firehoseBody(sent);

    const response = await post(endpoint, body, {
      headers: { 'X-Amz-Firehose-Common-Attributes': '{"commonAttributes":{"env":"test"}}' },
    });

    expect(endpoint.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const answer = (await response.json()) as Record<string, unknown>;
    expect(answer).toEqual({ requestId: body.requestId, timestamp: expect.any(Number) as unknown });

    const [request] = endpoint.requests;
    expect(request).toMatchObject({
      index: 0,
      method: 'POST',
      path: '/',
      requestId: body.requestId,
      json: body,
      commonAttributes: { env: 'test' },
      problems: [],
      behaviour: { kind: 'ok' },
      accepted: true,
      answer: { status: 200, clientGone: false },
    });
    expect(request?.headers['x-amz-firehose-source-arn']).toBe(SOURCE_ARN);
    expect(request?.rawBody.equals(Buffer.from(JSON.stringify(body)))).toBe(true);
    expect(request?.body?.equals(request.rawBody)).toBe(true);
    expect(request?.records).toEqual(sent);
    expect(endpoint.accepted).toEqual(sent);
    expect(endpoint.acceptedRequestIds).toEqual([body.requestId]);
  });

  it('answers scripted statuses with a JSON error body, or a verbatim body, never accepting', async () => {
    const endpoint = await receiver();
    const statuses = [500, 503, 413, 400, 201];
    endpoint.script(
      ...statuses.map((status): ReceiverBehaviour => ({
        kind: 'status',
        status,
        errorMessage: `e${status}`,
      })),
      { kind: 'status', status: 502, body: '<html>bad gateway</html>', contentType: 'text/html' },
    );

    for (const status of statuses) {
      const body = firehoseBody(records(2));
      const response = await post(endpoint, body);
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(await response.json()).toEqual({
        requestId: body.requestId,
        timestamp: expect.any(Number) as unknown,
        errorMessage: `e${status}`,
      });
    }
    const verbatim = await post(endpoint, firehoseBody(records(1)));
    expect(verbatim.status).toBe(502);
    expect(verbatim.headers.get('content-type')).toBe('text/html');
    expect(await verbatim.text()).toBe('<html>bad gateway</html>');

    expect(endpoint.requests.map((request) => request.answer?.status)).toEqual([...statuses, 502]);
    expect(endpoint.requests.every((request) => !request.accepted)).toBe(true);
    expect(endpoint.accepted).toEqual([]);
    // The script is used up: the next request gets ok.
    expect((await post(endpoint, firehoseBody(records(1)))).status).toBe(200);
  });

  it('answers each malformed 200 as scripted, none of them accepted', async () => {
    const endpoint = await receiver();
    endpoint.script(
      { kind: 'wrong-request-id' },
      { kind: 'no-timestamp' },
      { kind: 'string-timestamp' },
      { kind: 'not-json' },
      { kind: 'wrong-content-type' },
      { kind: 'too-large' },
    );
    const answers: { contentType: string | null; text: string; requestId: string }[] = [];
    for (let i = 0; i < 6; i += 1) {
      const body = firehoseBody(records(1));
      const response = await post(endpoint, body);
      expect(response.status).toBe(200);
      answers.push({
        contentType: response.headers.get('content-type'),
        text: await response.text(),
        requestId: body.requestId,
      });
    }
    const [wrongId, noTimestamp, stringTimestamp, notJson, wrongType, tooLarge] = answers;
    const json = (text = '') => JSON.parse(text) as Record<string, unknown>;

    expect(json(wrongId?.text).requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(json(wrongId?.text).requestId).not.toBe(wrongId?.requestId);
    expect(json(noTimestamp?.text)).toEqual({ requestId: noTimestamp?.requestId });
    expect(typeof json(stringTimestamp?.text).timestamp).toBe('string');
    expect(json(stringTimestamp?.text).requestId).toBe(stringTimestamp?.requestId);
    expect(notJson?.contentType).toBe('application/json');
    expect(() => json(notJson?.text)).toThrow();
    expect(wrongType?.contentType).toBe('text/plain');
    expect(json(wrongType?.text)).toEqual({
      requestId: wrongType?.requestId,
      timestamp: expect.any(Number) as unknown,
    });
    expect(Buffer.byteLength(tooLarge?.text ?? '')).toBe(MIB + 1);
    expect(json(tooLarge?.text).requestId).toBe(tooLarge?.requestId);
    expect(tooLarge?.contentType).toBe('application/json');

    expect(endpoint.requests.map((request) => request.behaviour.kind)).toEqual([
      'wrong-request-id',
      'no-timestamp',
      'string-timestamp',
      'not-json',
      'wrong-content-type',
      'too-large',
    ]);
    expect(endpoint.accepted).toEqual([]);
  });

  it('counts a padded answer of exactly 1 MiB as a valid success', async () => {
    const endpoint = await receiver();
    endpoint.script({ kind: 'too-large', bodyBytes: MIB });
    const sent = records(3);
    const response = await post(endpoint, firehoseBody(sent));
    expect(Buffer.byteLength(await response.text())).toBe(MIB);
    expect(endpoint.accepted).toEqual(sent);
  });

  it('closes or resets the connection without answering: fetch rejects', async () => {
    const endpoint = await receiver();
    endpoint.script({ kind: 'close' }, { kind: 'reset' });

    await expect(post(endpoint, firehoseBody(records(1)))).rejects.toThrow('fetch failed');
    const reset = await post(endpoint, firehoseBody(records(1))).catch((error: unknown) => error);
    expect(reset).toBeInstanceOf(TypeError);
    expect(((reset as Error).cause as NodeJS.ErrnoException).code).toBe('ECONNRESET');

    expect(endpoint.requests.map((request) => request.behaviour.kind)).toEqual(['close', 'reset']);
    expect(endpoint.requests.map((request) => request.answer)).toEqual([undefined, undefined]);
    expect(endpoint.accepted).toEqual([]);
    // The receiver itself is unharmed.
    expect((await post(endpoint, firehoseBody(records(1)))).status).toBe(200);
  });

  it('answers a slow request after a later fast one, and accepts it only then', async () => {
    const endpoint = await receiver();
    endpoint.script({ kind: 'slow', delayMs: 1_000 });
    const order: string[] = [];
    const slowRecords = records(2);
    const slow = post(endpoint, firehoseBody(slowRecords)).then(async (response) => {
      order.push('slow');
      return response.json() as Promise<Record<string, unknown>>;
    });
    await endpoint.waitForRequests(1, WAIT_MS);
    expect(endpoint.requests[0]?.answer).toBeUndefined();

    const fastRecords = [Buffer.from('fast')];
    const fast = await post(endpoint, firehoseBody(fastRecords));
    order.push('fast');
    expect(fast.status).toBe(200);
    expect(endpoint.accepted).toEqual(fastRecords);

    expect(await slow).toEqual({
      requestId: endpoint.requests[0]?.requestId,
      timestamp: expect.any(Number) as unknown,
    });
    expect(order).toEqual(['fast', 'slow']);
    expect(endpoint.accepted).toEqual([...fastRecords, ...slowRecords]);
  });

  it('answers a slow request with its `then` behaviour', async () => {
    const endpoint = await receiver();
    endpoint.script({ kind: 'slow', delayMs: 10, then: { kind: 'status', status: 503 } });
    expect((await post(endpoint, firehoseBody(records(1)))).status).toBe(503);
    expect(endpoint.accepted).toEqual([]);
  });

  it('never answers a hung request, and closes promptly with it open', async () => {
    const endpoint = await receiver();
    endpoint.always({ kind: 'hang' });
    const aborted = new AbortController();
    const abandoned = post(endpoint, firehoseBody(records(1)), { signal: aborted.signal });
    const pending = post(endpoint, firehoseBody(records(1)));

    await endpoint.waitForRequests(2, WAIT_MS);
    expect(endpoint.requests.map((request) => request.answer)).toEqual([undefined, undefined]);
    aborted.abort();
    await expect(abandoned).rejects.toThrow(/abort/i);

    await endpoint.close();
    await expect(pending).rejects.toThrow('fetch failed');
    expect(endpoint.accepted).toEqual([]);
  });

  it('decodes gzip bodies and keeps the compressed bytes', async () => {
    const endpoint = await receiver();
    const sent = [randomBytes(10_000), Buffer.from('second')];
    const body = firehoseBody(sent);
    const response = await post(endpoint, body, { gzip: true });
    expect(response.status).toBe(200);

    const [request] = endpoint.requests;
    expect(request?.headers['content-encoding']).toBe('gzip');
    expect(request?.rawBody.equals(gzipSync(Buffer.from(JSON.stringify(body))))).toBe(true);
    expect(request?.body?.toString()).toBe(JSON.stringify(body));
    expect(request?.records).toEqual(sent);
    expect(endpoint.accepted).toEqual(sent);
  });

  it('answers 400 to a gzip header over a body that is not gzip', async () => {
    const endpoint = await receiver();
    const response = await post(endpoint, firehoseBody(records(1)), {
      headers: { 'Content-Encoding': 'gzip' },
    });
    expect(response.status).toBe(400);
    expect(endpoint.requests[0]?.body).toBeUndefined();
    expect(endpoint.requests[0]?.problems.join()).toMatch(/gzip body does not decode/);
  });

  it('checks the access key: 401 with a JSON error when missing or wrong', async () => {
    const endpoint = await receiver({ accessKey: 'secret-1' });
    const key = (value: string | null) => ({ headers: { 'X-Amz-Firehose-Access-Key': value } });
    const missing = await post(endpoint, firehoseBody(records(1)), key(null));
    const wrong = await post(endpoint, firehoseBody(records(1)), key('secret-2'));
    const right = await post(endpoint, firehoseBody(records(1)), key('secret-1'));

    expect([missing.status, wrong.status, right.status]).toEqual([401, 401, 200]);
    expect(wrong.headers.get('content-type')).toBe('application/json');
    expect(await wrong.json()).toMatchObject({
      errorMessage: expect.stringMatching(/Access-Key/) as unknown,
    });
    expect(endpoint.acceptedRequestIds).toEqual([endpoint.requests[2]?.requestId]);

    endpoint.setAccessKey('secret-2');
    expect((await post(endpoint, firehoseBody(records(1)), key('secret-1'))).status).toBe(401);
    expect((await post(endpoint, firehoseBody(records(1)), key('secret-2'))).status).toBe(200);
  });

  it('keeps the first accepted request of each request id in uniqueAccepted', async () => {
    const endpoint = await receiver();
    const first = firehoseBody([Buffer.from('a1'), Buffer.from('a2')], 'request-a');
    const other = firehoseBody([Buffer.from('b1')], 'request-b');
    // A retry carries the same request id; its accepted copy is the duplicate to drop.
    endpoint.script({ kind: 'status', status: 500 });
    for (const body of [first, first, other, first]) {
      await post(endpoint, body);
    }

    expect(endpoint.acceptedRequestIds).toEqual(['request-a', 'request-b', 'request-a']);
    expect(endpoint.accepted.map(String)).toEqual(['a1', 'a2', 'b1', 'a1', 'a2']);
    expect(endpoint.uniqueAccepted().map(String)).toEqual(['a1', 'a2', 'b1']);
    await expect(endpoint.waitForAccepted(3, WAIT_MS, { unique: true })).resolves.toHaveLength(3);
  });

  it('rejects waits that time out, and waits pending at close, saying what arrived', async () => {
    const endpoint = await receiver();
    await expect(endpoint.waitForRequests(1, 50)).rejects.toThrow(
      'http receiver: 0 of 1 requests arrived within 50 ms (behaviours used: no requests)',
    );
    endpoint.script({ kind: 'status', status: 500 });
    await post(endpoint, firehoseBody(records(2)));
    await post(endpoint, firehoseBody(records(3)));
    await expect(endpoint.waitForAccepted(4, 50)).rejects.toThrow(
      'http receiver: 3 of 4 records were accepted within 50 ms (behaviours used: status 500, ok)',
    );
    await expect(endpoint.waitForAccepted(3, 50)).resolves.toHaveLength(3);

    const pending = endpoint.waitForRequests(5, WAIT_MS);
    await endpoint.close();
    await expect(pending).rejects.toThrow('2 of 5 requests arrived before the receiver closed');
  });

  it('uses scripted behaviours in order, then always, and forgets everything on reset', async () => {
    const endpoint = await receiver();
    const status = async () => (await post(endpoint, firehoseBody(records(1)))).status;
    endpoint.script({ kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    expect([await status(), await status(), await status()]).toEqual([500, 503, 200]);

    endpoint.script({ kind: 'status', status: 500 });
    endpoint.always({ kind: 'status', status: 429 });
    expect([await status(), await status()]).toEqual([429, 429]);

    endpoint.reset();
    expect(endpoint.requests).toEqual([]);
    expect(endpoint.accepted).toEqual([]);
    expect(endpoint.acceptedRequestIds).toEqual([]);
    expect(await status()).toBe(200);
    expect(endpoint.requests).toHaveLength(1);
    expect(endpoint.requests[0]?.index).toBe(0);
  });

  it('answers protocol violations itself, without using up the script', async () => {
    const endpoint = await receiver({ path: '/ingest?tenant=a' });
    expect(endpoint.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ingest\?tenant=a$/);
    endpoint.script({ kind: 'status', status: 503 });

    const body = firehoseBody(records(1));
    const noVersion = await post(endpoint, body, {
      headers: { 'X-Amz-Firehose-Protocol-Version': null },
    });
    const otherId = await post(endpoint, body, {
      headers: { 'X-Amz-Firehose-Request-Id': 'another-id' },
    });
    const notBase64 = await post(endpoint, {
      ...body,
      records: [{ data: 'not base64!' }],
    });
    const extraMember = await post(endpoint, Buffer.from(JSON.stringify({ ...body, extra: 1 })), {
      headers: { 'X-Amz-Firehose-Request-Id': body.requestId },
    });
    const wrongPath = await post(endpoint, body, { path: '/ingest' });

    expect(noVersion.status).toBe(400);
    expect(await noVersion.json()).toMatchObject({
      errorMessage: 'X-Amz-Firehose-Protocol-Version is absent, not 1.0',
    });
    expect(otherId.status).toBe(400);
    expect(notBase64.status).toBe(400);
    expect(extraMember.status).toBe(400);
    expect(wrongPath.status).toBe(404);
    expect(endpoint.requests.map((request) => request.problems.join('; '))).toEqual([
      'X-Amz-Firehose-Protocol-Version is absent, not 1.0',
      `X-Amz-Firehose-Request-Id another-id is not the body's requestId ${body.requestId}`,
      'the data of 1 records is not base64 (first: records[0])',
      expect.stringMatching(/^body is not a Firehose request: .*extra/s) as unknown,
      'path is /ingest, not /ingest?tenant=a',
    ]);
    expect(endpoint.accepted).toEqual([]);
    // The scripted 503 is still waiting for the first faithful request.
    expect((await post(endpoint, body)).status).toBe(503);
  });

  it('only records protocol problems when not strict', async () => {
    const endpoint = await receiver({ strict: false });
    const sent = records(2);
    const response = await post(endpoint, firehoseBody(sent), {
      headers: { 'X-Amz-Firehose-Source-Arn': null },
    });
    expect(response.status).toBe(200);
    expect(endpoint.requests[0]?.problems).toEqual(['no X-Amz-Firehose-Source-Arn header']);
    expect(endpoint.accepted).toEqual(sent);
  });

  it('answers 413 to a body over maxBodyBytes', async () => {
    const endpoint = await receiver({ maxBodyBytes: 1_000 });
    const response = await post(endpoint, firehoseBody([randomBytes(2_000)]));
    expect(response.status).toBe(413);
    expect(endpoint.requests[0]?.problems.join()).toMatch(/^body of \d+ bytes is over 1000$/);
    expect(endpoint.accepted).toEqual([]);
  });

  it('takes a body over 64 MiB and decodes its records byte-exact', async () => {
    const endpoint = await receiver();
    // 49 records of 1 MiB: over 64 MiB of base64 JSON.
    const sent = Array.from({ length: 49 }, (_, index) => Buffer.alloc(MIB, index));
    // Joined as bytes: JSON.stringify takes seconds over strings this long.
    const requestId = randomUUID();
    const body = Buffer.concat([
      Buffer.from(`{"requestId":"${requestId}","timestamp":${Date.now()},"records":[`),
      ...sent.flatMap((record, index) => [
        Buffer.from(index === 0 ? '{"data":"' : ',{"data":"'),
        Buffer.from(record.toString('base64'), 'latin1'),
        Buffer.from('"}'),
      ]),
      Buffer.from(']}'),
    ]);
    const response = await post(endpoint, body, {
      headers: { 'X-Amz-Firehose-Request-Id': requestId },
    });
    expect(response.status).toBe(200);
    expect(endpoint.requests[0]?.rawBody.length).toBeGreaterThan(64 * MIB);
    const accepted = await endpoint.waitForAccepted(sent.length, WAIT_MS);
    expect(accepted.every((record, index) => record.equals(sent[index] ?? Buffer.alloc(0)))).toBe(
      true,
    );
  });

  it('serves HTTPS, and resets a TLS connection', async () => {
    const certs = await makeTestCertificates(cleanups);
    const endpoint = await receiver({
      https: { key: await readFile(certs.server.key), cert: await readFile(certs.server.cert) },
    });
    expect(endpoint.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    endpoint.script({ kind: 'ok' }, { kind: 'reset' });

    const send = (body: ReturnType<typeof firehoseBody>) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const bytes = Buffer.from(JSON.stringify(body));
        const request = httpsRequest(
          endpoint.url,
          {
            method: 'POST',
            ca: certs.caPem,
            headers: {
              'content-type': 'application/json',
              'content-length': bytes.length,
              'x-amz-firehose-protocol-version': '1.0',
              'x-amz-firehose-request-id': body.requestId,
              'x-amz-firehose-source-arn': SOURCE_ARN,
            },
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () =>
              resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
            );
            response.on('error', reject);
          },
        );
        request.on('error', reject);
        request.end(bytes);
      });

    const body = firehoseBody(records(2));
    const ok = await send(body);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toEqual({
      requestId: body.requestId,
      timestamp: expect.any(Number) as unknown,
    });
    await expect(send(firehoseBody(records(1)))).rejects.toMatchObject({
      code: 'ECONNRESET',
      syscall: 'read',
    });
    expect(endpoint.accepted).toEqual(records(2));
  });
});
