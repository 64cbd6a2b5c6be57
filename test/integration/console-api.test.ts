import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeSample } from '../../src/console/history-sample.js';
import { historyKey } from '../../src/console/stream-history.js';
import { streamKeys } from '../../src/streams/keys.js';
import { basicAuth, startConsoleSluice, type ConsoleSluice } from '../support/console-sluice.js';
import { cleanupAfterAll, cleanupAfterEach, eventually } from '../support/e2e.js';

/**
 * The console's JSON API (`/console/api/…`) and pages without a browser, against the real
 * service (workers, a private Redis and S3 server, an HTTP endpoint): streams, history with the
 * traffic in it, error output and dead set with reasons and previews, replay, the live tail,
 * precise 400s and 404s that change nothing, the console turned off, and its sign-in.
 */

const suite = cleanupAfterAll();
const each = cleanupAfterEach();
let sluice: ConsoleSluice;

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(path: string, init: RequestInit & { base?: string } = {}): Promise<Answer> {
  const response = await fetch(`${init.base ?? sluice.url}${path}`, {
    ...init,
    redirect: 'manual',
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: response.status, headers: response.headers, body };
}

function replay(body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return call('/console/api/replay', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

interface Item {
  id: string;
  source: string;
  type: string;
  records: number;
  replayed: boolean;
  reason?: string;
}

async function failures(stream: string, type?: string): Promise<Item[]> {
  const answer = await call(
    `/console/api/failures?stream=${stream}${type === undefined ? '' : `&type=${type}`}`,
  );
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body.items as Item[];
}

beforeAll(async () => {
  sluice = await startConsoleSluice(suite);
}, 60_000);

describe('the console API', () => {
  it('serves the pages and their files, with a content security policy', async () => {
    const index = await fetch(`${sluice.url}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await index.text();
    expect(html).toContain('<main id="main">');
    expect(html).toContain('/console/assets/streams-page.js');

    const redirect = await call('/console');
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/console/');

    const script = await fetch(`${sluice.url}/console/assets/chart.js`);
    expect(script.headers.get('content-type')).toContain('text/javascript');
    const etag = script.headers.get('etag') ?? '';
    expect(etag).not.toBe('');
    const again = await fetch(`${sluice.url}/console/assets/chart.js`, {
      headers: { 'if-none-match': etag },
    });
    expect(again.status).toBe(304);

    // The image serves them too: the runtime stage copies web/ beside dist/.
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    expect(dockerfile).toMatch(/^COPY --from=build \/app\/web \.\/web$/m);

    expect((await call('/console/assets/..%2F..%2Fpackage.json')).status).toBe(404);
    expect((await call('/console/assets/nope.js')).status).toBe(404);
    expect((await call('/console/nothing-here')).status).toBe(404);
  });

  it('lists streams with status and destination, and describes one without its secrets', async () => {
    const s3 = await sluice.createS3Stream('console-list');
    const http = await sluice.createHttpStream('console-list-http', 'very-secret-endpoint-key');
    const listed = await call('/console/api/streams');
    expect(listed.status).toBe(200);
    const streams = listed.body.streams as { name: string; status: string; destination: string }[];
    expect(streams.find((s) => s.name === s3)).toMatchObject({
      status: 'ACTIVE',
      destination: 'ExtendedS3',
    });
    expect(streams.find((s) => s.name === http)).toMatchObject({ destination: 'HttpEndpoint' });
    expect(listed.body.sampleIntervalMs).toBe(10_000);

    const paged = await call('/console/api/streams?limit=1');
    expect((paged.body.streams as unknown[]).length).toBe(1);
    expect(typeof paged.body.next).toBe('string');

    const detail = await call(`/console/api/stream?stream=${http}`);
    expect(detail.status).toBe(200);
    expect(detail.body.description).toMatchObject({ DeliveryStreamName: http });
    expect(JSON.stringify(detail.body)).not.toContain('very-secret-endpoint-key');
  });

  it('answers bad input with a precise 400 and unknown streams with 404', async () => {
    const cases: [string, number, RegExp][] = [
      ['/console/api/streams?limit=0', 400, /^limit: must be a whole number from 1 to 100$/],
      ['/console/api/streams?limit=abc', 400, /^limit: must be a whole number from 1 to 100$/],
      ['/console/api/streams?color=red', 400, /^unknown parameter color$/],
      ['/console/api/stream', 400, /^stream: is required$/],
      ['/console/api/stream?stream=bad%20name', 400, /^stream: /],
      ['/console/api/stream?stream=no-such-stream', 404, /no-such-stream/],
      ['/console/api/history?stream=no-such-stream', 404, /no-such-stream/],
      ['/console/api/failures?stream=no-such-stream', 404, /no-such-stream/],
      ['/console/api/tail?stream=no-such-stream&wait=0', 404, /no-such-stream/],
    ];
    for (const [path, status, message] of cases) {
      const answer = await call(path);
      expect(answer.status, path).toBe(status);
      expect(answer.body.message, path).toMatch(message);
    }
    const stream = await sluice.createS3Stream('console-bad');
    const moreCases: [string, RegExp][] = [
      [`/console/api/failures?stream=${stream}&type=nope`, /^type: /],
      [`/console/api/failures?stream=${stream}&limit=100000`, /^limit: /],
      [`/console/api/preview?stream=${stream}&id=what`, /^id: must be an item id/],
      [`/console/api/preview?stream=${stream}&id=dead:x&limit=21`, /^limit: /],
      [`/console/api/tail?stream=${stream}&cursor=zzz`, /^cursor: /],
      [`/console/api/tail?stream=${stream}&wait=99`, /^wait: /],
    ];
    for (const [path, message] of moreCases) {
      const answer = await call(path);
      expect(answer.status, path).toBe(400);
      expect(answer.body.message, path).toMatch(message);
    }
    const missing = await call(`/console/api/preview?stream=${stream}&id=dead:nope`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('ItemNotFound');
  });

  it('charts the incoming and delivered traffic of the last hour', async () => {
    const stream = await sluice.createS3Stream('console-chart');
    await sluice.sample();
    const records = Array.from({ length: 50 }, (_, i) => `{"n":${i}}\n`);
    await sluice.put(stream, records);
    await eventually('the records delivered', async () => {
      const stats = await sluice.servers.redis.hget(streamKeys(stream).stats, 'deliveredRecords');
      return Number(stats) === records.length;
    });
    // Counters are written to Redis once a second.
    await eventually('the counts sampled', async () => {
      await new Promise((resolve) => setTimeout(resolve, 600));
      await sluice.sample();
      const answer = await call(`/console/api/history?stream=${stream}`);
      const points = answer.body.points as {
        incomingRecordsPerSecond: number;
        deliveredRecordsPerSecond: number;
        freshnessSeconds: number | null;
      }[];
      const incoming = points.some((p) => p.incomingRecordsPerSecond > 0);
      const delivered = points.some((p) => p.deliveredRecordsPerSecond > 0);
      return incoming && delivered ? answer : undefined;
    });
    const answer = await call(`/console/api/history?stream=${stream}`);
    const points = answer.body.points as Record<string, number | null>[];
    expect(
      points.some((p) => typeof p.freshnessSeconds === 'number' && p.freshnessSeconds >= 0),
    ).toBe(true);
    // The samples in Redis hold the totals: none before the traffic, all of it after.
    const stored = (await sluice.servers.redis.lrange(historyKey(stream), 0, -1)).map(decodeSample);
    expect(stored[0]?.incomingRecords).toBe(0);
    expect(stored.at(-1)?.incomingRecords).toBe(records.length);
    expect(stored.at(-1)?.deliveredRecords).toBe(records.length);
    expect(await sluice.servers.redis.pttl(historyKey(stream))).toBeGreaterThan(60 * 60 * 1000);
    expect(answer.body.to as number).toBeGreaterThan(answer.body.from as number);

    const listed = await call('/console/api/streams');
    const row = (listed.body.streams as { name: string; errorObjects: number }[]).find(
      (s) => s.name === stream,
    );
    expect(row).toBeDefined();
  });

  it('lists error output with its reason, previews it and replays it with nothing twice', async () => {
    sluice.receiver.always({ kind: 'status', status: 413, errorMessage: 'too big for us' });
    const stream = await sluice.createHttpStream('console-errors');
    const records = ['{"order":1,"item":"apple"}', 'plain text line', '{"order":3}'];
    await sluice.put(stream, records);
    const [item] = await eventually('the error output listed', async () => {
      const items = await failures(stream, 'http-endpoint-failed');
      return items.length > 0 && items.reduce((n, i) => n + i.records, 0) === 3 ? items : undefined;
    });
    expect(item).toMatchObject({ source: 'error-output', type: 'http-endpoint-failed' });

    const preview = await call(
      `/console/api/preview?stream=${stream}&id=${encodeURIComponent(item?.id ?? '')}`,
    );
    expect(preview.status).toBe(200);
    expect(preview.body.reason).toMatch(/^HttpEndpoint\.DestinationException: /);
    const shown = preview.body.shown as { encoding: string; preview: string; reason: string }[];
    expect(shown.map((r) => r.preview)).toEqual(records);
    expect(shown.map((r) => r.encoding)).toEqual(['json', 'text', 'json']);

    // Bad replays change nothing.
    const requestsBefore = sluice.receiver.requests.length;
    const bad: [Promise<Answer>, number, string][] = [
      [
        replay({ stream, id: item?.id }, { 'content-type': 'text/plain' }),
        415,
        'UnsupportedMediaType',
      ],
      [replay('{not json'), 400, 'InvalidParameter'],
      [replay({ stream }), 400, 'InvalidParameter'],
      [replay({ stream, id: item?.id, extra: 1 }), 400, 'InvalidParameter'],
      [replay({ stream: 'no-such-stream', id: item?.id }), 404, 'StreamNotFound'],
      [replay({ stream, id: `${item?.id}-nope` }), 404, 'ItemNotFound'],
      [replay({ stream, id: item?.id }, { 'sec-fetch-site': 'cross-site' }), 403, 'Forbidden'],
    ];
    for (const [pending, status, error] of bad) {
      const answer = await pending;
      expect(answer.status, JSON.stringify(answer.body)).toBe(status);
      expect(answer.body.error).toBe(error);
    }
    expect((await failures(stream))[0]?.replayed).toBe(false);

    sluice.receiver.always({ kind: 'ok' });
    const done = await replay({ stream, id: item?.id });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body.records).toBe(item?.records);
    await eventually('the replayed records delivered', () =>
      records.every((r) => sluice.receiver.accepted.some((a) => a.toString() === r)),
    );
    expect(sluice.receiver.requests.length).toBeGreaterThan(requestsBefore);
    expect((await failures(stream)).find((i) => i.id === item?.id)?.replayed).toBe(true);
    const twice = await replay({ stream, id: item?.id });
    expect(twice.body).toMatchObject({ records: 0, skipped: 'already replayed' });
  }, 60_000);

  it('lists the dead set with its reason and previews a dead batch', async () => {
    const stream = await sluice.createDoomedS3Stream('console-dead');
    await sluice.put(stream, ['dead-0', 'dead-1']);
    const [item] = await eventually(
      'the batch in the dead set',
      async () => {
        const items = await failures(stream, 'dead');
        return items.length > 0 ? items : undefined;
      },
      { timeoutMs: 40_000 },
    );
    expect(item).toMatchObject({ source: 'dead-batch', type: 'dead', records: 2 });
    expect(item?.reason).toContain('S3.NoSuchBucket');
    const preview = await call(
      `/console/api/preview?stream=${stream}&id=${encodeURIComponent(item?.id ?? '')}&limit=1`,
    );
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ source: 'dead-batch', records: 2 });
    expect(preview.body.reason).toContain('S3.NoSuchBucket');
    expect((preview.body.shown as { preview: string }[]).map((r) => r.preview)).toEqual(['dead-0']);
  }, 60_000);

  it('tails the records put after the tail opened', async () => {
    const stream = await sluice.createS3Stream('console-tail');
    const first = await call(`/console/api/tail?stream=${stream}&wait=0`);
    expect(first.status).toBe(200);
    expect(first.body.records).toEqual([]);
    let settled = false;
    const waiting = call(
      `/console/api/tail?stream=${stream}&wait=20&cursor=${String(first.body.cursor)}`,
    ).finally(() => (settled = true));
    // Puts notice that the stream is tailed within about a second (the put that makes them
    // look is not captured itself): keep putting until the waiting read answers.
    for (let i = 0; i < 40 && !settled; i++) {
      await sluice.put(stream, ['{"tail":1}', 'tail text']);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const answer = await waiting;
    expect(answer.status).toBe(200);
    const tailed = answer.body.records as { preview: string; encoding: string }[];
    expect(tailed.length).toBeGreaterThan(0);
    expect(tailed[0]).toMatchObject({ preview: '{"tail":1}', encoding: 'json' });
  }, 60_000);
});

describe('the console turned off', () => {
  it('answers 404 under /console, and the rest of the API is there', async () => {
    const off = await startConsoleSluice(each, { SLUICE_CONSOLE: 'off' });
    for (const path of [
      '/console',
      '/console/',
      '/console/api/streams',
      '/console/assets/chart.js',
    ]) {
      const answer = await call(path, { base: off.url });
      expect(answer.status, path).toBe(404);
    }
    // The rest of the API is there.
    expect((await call('/health', { base: off.url })).status).toBe(200);
  }, 60_000);
});

describe('the console when the API requires signatures', () => {
  it('asks for an access key and its secret, and lets only that in', async () => {
    const key = { id: 'AKIDCONSOLETEST', secret: 'console-secret-0123456789' };
    const signed = await startConsoleSluice(each, {}, key);
    const stream = await signed.createS3Stream('console-auth');
    for (const path of ['/console/', '/console/api/streams', '/console/assets/console.css']) {
      const anonymous = await call(path, { base: signed.url });
      expect(anonymous.status, path).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm="/);
      const wrong = await call(path, {
        base: signed.url,
        headers: { authorization: basicAuth(key.id, 'not-the-secret') },
      });
      expect(wrong.status, path).toBe(401);
      expect(JSON.stringify(wrong.body)).not.toContain(key.secret);
      const unknown = await call(path, {
        base: signed.url,
        headers: { authorization: basicAuth('AKIDNOBODY', key.secret) },
      });
      expect(unknown.status, path).toBe(401);
    }
    const good = await call(`/console/api/stream?stream=${stream}`, {
      base: signed.url,
      headers: { authorization: basicAuth(key.id, key.secret) },
    });
    expect(good.status).toBe(200);
    expect(JSON.stringify(good.body)).not.toContain(key.secret);
    // Basic credentials open the console only: the admin API and the Firehose API still
    // want a signature.
    const admin = await call(`/admin/v1/dead?stream=${stream}`, {
      base: signed.url,
      headers: { authorization: basicAuth(key.id, key.secret) },
    });
    expect(admin.status).toBe(400);
    expect(admin.headers.get('x-amzn-errortype')).toMatch(
      /^(IncompleteSignature|MissingAuthenticationToken)/,
    );
    // A bad replay without credentials is refused before anything is read.
    const replayed = await call('/console/api/replay', {
      base: signed.url,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ stream, id: 'dead:x' }),
    });
    expect(replayed.status).toBe(401);
  }, 60_000);
});
