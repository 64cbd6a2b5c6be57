import { gzipSync } from 'node:zlib';

import { DeleteDeliveryStreamCommand } from '@aws-sdk/client-firehose';
import { describe, expect, it } from 'vitest';

import { parseRecordId } from '../../src/buffer/record-id.js';
import { decodeChunk } from '../../src/formats/chunk-frame.js';
import { batchKeys, streamKeys } from '../../src/streams/keys.js';
import type { TelemetryEvent } from '../../src/telemetry/events.js';
import { createS3Stream } from '../support/e2e.js';
import { startTestApi, useTestApi, type TestApi } from '../support/test-api.js';

/**
 * The plain HTTP records endpoint, `POST /v1/streams/{stream}/records`, against the real API
 * and Redis: what it stores for each kind of body, and that every refusal names its cause and
 * stores nothing.
 */

const { api, streamName, createStream, track } = useTestApi({
  prefix: 'lines',
  removeStreams: 'afterAll',
});

interface Answer {
  status: number;
  body: {
    stream?: string;
    records?: number;
    recordIds?: string[];
    error?: string;
    message?: string;
  };
  headers: Headers;
}

/** Posts `body` to the endpoint of `stream`. */
async function post(
  stream: string,
  body: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'application/x-ndjson' },
  query = '',
  on: TestApi = api,
): Promise<Answer> {
  const response = await fetch(`${on.endpoint}/v1/streams/${stream}/records${query}`, {
    method: 'POST',
    headers,
    body,
  });
  return {
    status: response.status,
    body: (await response.json()) as Answer['body'],
    headers: response.headers,
  };
}

/** The records a stored answer's ids point at, read back from the stream's batch. */
async function storedRecords(stream: string, ids: readonly string[]): Promise<string[]> {
  const first = parseRecordId(ids[0] as string);
  if (first === undefined) throw new Error(`not a record id: ${ids[0]}`);
  const chunks = await api.redis.lrangeBuffer(batchKeys(stream, first.batchId).chunks, 0, -1);
  const chunk = chunks[first.chunkIndex];
  if (chunk === undefined) throw new Error(`no chunk ${first.chunkIndex}`);
  return decodeChunk(chunk).map((r) => r.data.toString('utf8'));
}

/** The stream's counters: what a refused request must leave as it was. */
async function backlog(stream: string, on: TestApi = api) {
  const stats = await on.redis.hgetall(streamKeys(stream).stats);
  return { records: stats.backlogRecords ?? '0', bytes: stats.backlogBytes ?? '0' };
}

describe('POST /v1/streams/{stream}/records', () => {
  it('stores each non-empty NDJSON line as one record ending in a newline, in one chunk', async () => {
    const stream = await createStream();
    const body = '{"a":1}\r\n\n{"b":[2,3]}\n"text"\n42';
    const answer = await post(stream, body);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      stream,
      records: 4,
      recordIds: expect.any(Array) as unknown,
    });
    const ids = answer.body.recordIds ?? [];
    expect(new Set(ids).size).toBe(4);
    expect(ids.map((id) => parseRecordId(id)?.position)).toEqual([0, 1, 2, 3]);
    // The CR of a CRLF line break is not part of the record; the last line needs no break.
    expect(await storedRecords(stream, ids)).toEqual([
      '{"a":1}\n',
      '{"b":[2,3]}\n',
      '"text"\n',
      '42\n',
    ]);
    expect(await backlog(stream)).toEqual({ records: '4', bytes: String(8 + 12 + 7 + 3) });
  });

  it('takes text lines as they are, and leaves the newline off with newline=false', async () => {
    const stream = await createStream();
    const text = await post(stream, '\uFEFFGET /index.html 200\nnot json at all\n   \n', {
      'content-type': 'text/plain; charset=utf-8',
    });
    expect(text.status).toBe(200);
    expect(await storedRecords(stream, text.body.recordIds ?? [])).toEqual([
      'GET /index.html 200\n',
      'not json at all\n',
      '   \n',
    ]);
    const bare = await post(stream, '{"x":1}\n{"x":2}\n', undefined, '?newline=false');
    expect(bare.status).toBe(200);
    expect(await storedRecords(stream, bare.body.recordIds ?? [])).toEqual(['{"x":1}', '{"x":2}']);
  });

  it('reads a gzip-compressed body', async () => {
    const stream = await createStream();
    const lines = Array.from({ length: 500 }, (_, i) => `{"i":${i}}\n`);
    const answer = await post(stream, gzipSync(lines.join('')), {
      'content-type': 'application/jsonl',
      'content-encoding': 'gzip',
    });
    expect(answer.status).toBe(200);
    expect(await storedRecords(stream, answer.body.recordIds ?? [])).toEqual(lines);
  });

  it('answers a repeat with the same Idempotency-Key as the first, storing it once', async () => {
    const stream = await createStream();
    const headers = { 'content-type': 'application/x-ndjson', 'idempotency-key': 'order-7/try' };
    const first = await post(stream, '{"order":7}\n', headers);
    const again = await post(stream, '{"order":7}\n', headers);
    expect(first.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await backlog(stream)).toEqual({ records: '1', bytes: '12' });
    const other = await post(stream, '{"order":7}\n', { ...headers, 'idempotency-key': 'order-8' });
    expect(other.body.recordIds).not.toEqual(first.body.recordIds);
    expect(await backlog(stream)).toEqual({ records: '2', bytes: '24' });
  });

  it('refuses a body with a line that is not JSON, naming the line, and stores nothing', async () => {
    const stream = await createStream();
    const answer = await post(stream, '{"ok":1}\n\n{"broken":\n{"ok":2}\n');
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('InvalidRecord');
    expect(answer.body.message).toMatch(/^line 3 is not JSON: /);
    const notUtf8 = await post(
      stream,
      Buffer.concat([Buffer.from('{"ok":1}\n"'), Buffer.from([0xff, 0xfe]), Buffer.from('"\n')]),
    );
    expect(notUtf8.body).toEqual({ error: 'InvalidRecord', message: 'line 2 is not UTF-8' });
    expect(await backlog(stream)).toEqual({ records: '0', bytes: '0' });
  });

  it("holds a request to PutRecordBatch's limits, storing nothing past them", async () => {
    const stream = await createStream();
    const many = await post(stream, '1\n'.repeat(501));
    expect(many.status).toBe(413);
    expect(many.body).toEqual({
      error: 'RequestTooLarge',
      message: 'the body holds more than 500 records; at most 500 per request',
    });
    // A body of millions of short lines (read only up to the 501st record) is refused too.
    const flood = await post(stream, gzipSync('1\n'.repeat(2_500_000)), {
      'content-type': 'application/x-ndjson',
      'content-encoding': 'gzip',
    });
    expect(flood.body.error).toBe('RequestTooLarge');
    const big = await post(stream, `"${'a'.repeat(1_024_000 - 2)}"\n`);
    expect(big.status).toBe(400);
    expect(big.body).toEqual({
      error: 'InvalidRecord',
      message: 'line 1 is 1024001 bytes with its newline; a record is at most 1024000 bytes',
    });
    // Exactly at the record limit without the newline: stored.
    const atLimit = await post(
      stream,
      `"${'a'.repeat(1_024_000 - 2)}"\n`,
      undefined,
      '?newline=false',
    );
    expect(atLimit.status).toBe(200);
    const line = `"${'b'.repeat(999_998)}"\n`;
    const tooMuch = await post(stream, line.repeat(5));
    expect(tooMuch.status).toBe(413);
    expect(tooMuch.body.message).toBe(
      'the records are 5000005 bytes together; at most 4194304 (4 MiB) per request',
    );
    const bomb = await post(stream, gzipSync(Buffer.alloc(6 * 1024 * 1024, 0x0a)), {
      'content-type': 'text/plain',
      'content-encoding': 'gzip',
    });
    expect(bomb.status).toBe(413);
    expect(bomb.body.error).toBe('RequestTooLarge');
    expect(await backlog(stream)).toEqual({ records: '1', bytes: '1024000' });
  });

  it('refuses bad requests with the parameter at fault named', async () => {
    const stream = await createStream();
    expect((await post(stream, '')).body).toEqual({
      error: 'InvalidParameter',
      message: 'the body holds no records (no non-empty line)',
    });
    expect((await post(stream, '1\n', { 'content-type': 'application/json' })).body).toEqual({
      error: 'UnsupportedMediaType',
      message:
        'Content-Type must be one of application/x-ndjson, application/ndjson, application/jsonl, text/plain; got "application/json"',
    });
    const noType = await fetch(`${api.endpoint}/v1/streams/${stream}/records`, {
      method: 'POST',
    });
    expect(noType.status).toBe(415);
    const badName = await post('no%20spaces', '1\n');
    expect(badName.status).toBe(400);
    expect(badName.body.error).toBe('InvalidParameter');
    expect(badName.body.message).toMatch(/^stream: /);
    const badQuery = await post(stream, '1\n', undefined, '?newline=yes&extra=1');
    expect(badQuery.body).toEqual({
      error: 'InvalidParameter',
      message: 'newline: must be true or false; unknown parameter extra',
    });
    const badKey = await post(stream, '1\n', {
      'content-type': 'application/x-ndjson',
      'idempotency-key': 'has space',
    });
    expect(badKey.body).toEqual({
      error: 'InvalidParameter',
      message: 'idempotency-key: must be 1 to 255 visible ASCII characters',
    });
    const longKey = await post(stream, '1\n', {
      'content-type': 'application/x-ndjson',
      'idempotency-key': 'k'.repeat(256),
    });
    expect(longKey.body.error).toBe('InvalidParameter');
    const badEncoding = await post(stream, '1\n', {
      'content-type': 'application/x-ndjson',
      'content-encoding': 'br',
    });
    expect(badEncoding.status).toBe(400);
    expect(await backlog(stream)).toEqual({ records: '0', bytes: '0' });
  });

  it('answers 404 for a stream that does not exist and 409 for one being deleted', async () => {
    const missing = streamName();
    expect(await post(missing, '1\n')).toMatchObject({
      status: 404,
      body: { error: 'StreamNotFound', message: `stream ${missing} does not exist` },
    });
    const stream = await createStream();
    await api.firehose.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: stream }));
    expect(await post(stream, '1\n')).toMatchObject({
      status: 409,
      body: {
        error: 'StreamNotActive',
        message: `stream ${stream} is DELETING and does not accept records`,
      },
    });
  });

  it('reports records received and throttled as PutRecordBatch does, and its requests as HttpRecords; answers 503 Backpressure with Retry-After past the backlog cap, storing nothing', async () => {
    const events: TelemetryEvent[] = [];
    const small = await startTestApi(
      { SLUICE_MAX_BACKLOG_MB: '1' },
      { emit: (e) => events.push(e) },
    );
    try {
      const stream = track(await createS3Stream(small.firehose, 'lines-bp', 'bucket'));
      const body = `"${'c'.repeat(700_000)}"\n`.repeat(2);
      expect((await post(stream, body, undefined, '', small)).status).toBe(200);
      const refused = await post(stream, body, undefined, '', small);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(refused.body.error).toBe('Backpressure');
      expect(await backlog(stream, small)).toEqual({ records: '2', bytes: String(2 * 700_003) });
      expect(refused.headers.get('x-sluice-error')).toBe('Backpressure');
      // Timed as the Firehose operations are (sluice_api_request_duration_seconds).
      expect(
        events.flatMap((e) =>
          e.type === 'api.answered' && e.operation === 'HttpRecords' ? [e.outcome] : [],
        ),
      ).toEqual(['ok', 'Backpressure']);
      expect(events.filter((e) => e.type.startsWith('records.'))).toEqual([
        { type: 'records.received', stream, records: 2, bytes: 2 * 700_003 },
        { type: 'records.throttled', stream, records: 2 },
      ]);
    } finally {
      await small.close();
    }
  });
});
