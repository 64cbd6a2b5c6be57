import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Child, raceTimeout } from '../../devtools/children.js';
import { TransformHost } from '../../src/processors/transforms/transform-host.js';

/**
 * The Python remote transform example (`transforms/remote/python_transform.py`), run as a real
 * process: first spoken to directly with Firehose's Lambda event, then through Sluice's
 * transform host as a remote transform.
 */

const SCRIPT = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../transforms/remote/python_transform.py',
);
const START_TIMEOUT_MS = 15_000;

let server: Child;
let url: string;

/** Starts the script on a free port and resolves with the URL it prints. */
async function startPythonTransform(): Promise<{ child: Child; url: string }> {
  const child = new Child('python_transform.py', 'python3', [SCRIPT, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  const printed = new Promise<string>((resolveUrl) => {
    const stop = child.onLine((line) => {
      const match = /^listening on (http:\/\/\S+)$/.exec(line);
      if (match !== null) {
        stop();
        resolveUrl(match[1] as string);
      }
    });
  });
  const outcome = await raceTimeout(
    Promise.race([printed, child.exited.then(() => undefined)]),
    START_TIMEOUT_MS,
  );
  if (outcome === undefined) {
    await child.stop(5_000);
    throw new Error(
      `python_transform.py printed no "listening on" line within ${START_TIMEOUT_MS} ms: ${child.describeExit()}`,
    );
  }
  return { child, url: outcome };
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (data: string): string => Buffer.from(data, 'base64').toString('utf8');

/** POSTs `body` (a string as it is, anything else as JSON) to the server. */
async function post(body: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, json: await response.json() };
}

beforeAll(async () => {
  ({ child: server, url } = await startPythonTransform());
});

afterAll(async () => {
  await server?.stop(5_000);
});

describe('python_transform.py, spoken to directly', () => {
  it('prints a loopback URL with the port it got', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*\/$/);
  });

  it('answers a Lambda event with one result per record: Ok upper-cased, Dropped, ProcessingFailed', async () => {
    const event = {
      invocationId: 'inv-1',
      deliveryStreamArn: 'arn:aws:firehose:us-east-1:000000000000:deliverystream/py',
      region: 'us-east-1',
      records: [
        { recordId: 'a', approximateArrivalTimestamp: 1, data: b64('{"message":"héllo","n":1}') },
        { recordId: 'b', approximateArrivalTimestamp: 2, data: b64('  \n') },
        { recordId: 'c', approximateArrivalTimestamp: 3, data: b64('not json') },
        { recordId: 'd', approximateArrivalTimestamp: 4, data: b64('[1]') },
        { recordId: 'e', approximateArrivalTimestamp: 5, data: b64('{"other":"x"}') },
        { recordId: 'f', approximateArrivalTimestamp: 6, data: '!!!!' },
      ],
    };
    const { status, json } = await post(event);
    expect(status).toBe(200);
    const records = (json as { records: { recordId: string; result: string; data?: string }[] })
      .records;
    expect(records.map(({ recordId, result }) => [recordId, result])).toEqual([
      ['a', 'Ok'],
      ['b', 'Dropped'],
      ['c', 'ProcessingFailed'],
      ['d', 'ProcessingFailed'],
      ['e', 'Ok'],
      ['f', 'ProcessingFailed'],
    ]);
    expect(unb64(records[0]?.data as string)).toBe('{"message":"HÉLLO","n":1}\n');
    expect(unb64(records[4]?.data as string)).toBe('{"other":"x"}\n');
  });

  it('answers an event without records with no records', async () => {
    expect(await post({ invocationId: 'x', records: [] })).toEqual({
      status: 200,
      json: { records: [] },
    });
  });

  it('answers 400 with the reason to a body that is not a Lambda event', async () => {
    const notJson = await post('{"records": [');
    expect(notJson.status).toBe(400);
    expect((notJson.json as { error: string }).error).toMatch(/^the body is not JSON/);
    expect(await post({ records: 'none' })).toEqual({
      status: 400,
      json: { error: 'expected a Firehose Lambda event: a JSON object with a records list' },
    });
    expect(await post({ records: [{ recordId: 1, data: 'QQ==' }] })).toEqual({
      status: 400,
      json: { error: 'records[0] needs a string recordId and a string data' },
    });
  });

  it('answers GET /health', async () => {
    const response = await fetch(new URL('health', url), { signal: AbortSignal.timeout(10_000) });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });
});

describe('python_transform.py through the transform host', () => {
  let host: TransformHost;

  beforeAll(() => {
    host = new TransformHost({
      transformsDir: resolve(dirname(SCRIPT), '..'),
      workers: 1,
      timeoutMs: 10_000,
      memoryLimitMb: 128,
      log: pino({ level: 'silent' }),
    });
  });

  afterAll(async () => {
    await host?.close();
  });

  it('maps the answer to outcomes in input order', async () => {
    const outcomes = await host.invoke(
      { kind: 'remote', url },
      [
        { id: 'r1', arrivalMs: Date.now(), data: Buffer.from('{"message":"one"}') },
        { id: 'r2', arrivalMs: Date.now(), data: Buffer.from('') },
        { id: 'r3', arrivalMs: Date.now(), data: Buffer.from('three') },
      ],
      {
        numberOfRetries: 0,
        streamName: 'py',
        streamArn: 'arn:aws:firehose:us-east-1:000000000000:deliverystream/py',
      },
    );
    expect(outcomes.map((o) => o.result)).toEqual(['Ok', 'Dropped', 'ProcessingFailed']);
    const [first] = outcomes;
    expect(first?.result === 'Ok' && first.data.toString('utf8')).toBe('{"message":"ONE"}\n');
  });
});
