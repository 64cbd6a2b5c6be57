import { readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TransformHost } from '../../src/processors/transforms/transform-host.js';

/**
 * The worked examples in `transforms/`, run by the real transform host (worker threads, the
 * kit, the contract checks) over realistic records and their edge cases. What the examples'
 * comments and docs/transforms.md promise is what is asserted here.
 */

const TRANSFORMS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../transforms');

/** 2024-06-01T10:00:00.000Z */
const ARRIVAL_MS = Date.UTC(2024, 5, 1, 10, 0, 0);

/** The examples this file tests; a new example without tests fails the last test. */
const TESTED = [
  'add-partition-keys',
  'filter-enrich-json',
  'lambda-port',
  'parse-access-log',
  'redact-pii',
];

let host: TransformHost;

beforeAll(() => {
  host = new TransformHost({
    transformsDir: TRANSFORMS_DIR,
    workers: 1,
    timeoutMs: 10_000,
    memoryLimitMb: 128,
    log: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await host.close();
});

/** A record for {@link run}: its text, or its text and arrival time. */
type Input = string | { text: string; arrivalMs: number };

/** Runs the example `name` over `inputs` (one invocation) and returns one outcome per input. */
async function run(name: string, inputs: readonly Input[]) {
  const records = inputs.map((input, i) => {
    const { text, arrivalMs } =
      typeof input === 'string' ? { text: input, arrivalMs: ARRIVAL_MS } : input;
    return { id: `rec-${i}`, arrivalMs, data: Buffer.from(text, 'utf8') };
  });
  const outcomes = await host.invoke({ kind: 'local', name }, records, {
    numberOfRetries: 0,
    streamName: 'examples',
    streamArn: 'arn:aws:firehose:us-east-1:000000000000:deliverystream/examples',
  });
  expect(outcomes).toHaveLength(inputs.length);
  return outcomes;
}

/** Runs one record and returns its outcome. */
async function runOne(name: string, input: Input) {
  const [outcome] = await run(name, [input]);
  return outcome;
}

/** The data of an `Ok` outcome as text; fails the test for any other outcome. */
function okText(outcome: Awaited<ReturnType<typeof runOne>>): string {
  if (outcome?.result !== 'Ok') {
    throw new Error(`expected Ok, got ${JSON.stringify(outcome)}`);
  }
  return outcome.data.toString('utf8');
}

/** The JSON of an `Ok` outcome's data, which must be one line ending in a newline. */
function okJson(outcome: Awaited<ReturnType<typeof runOne>>): unknown {
  const text = okText(outcome);
  expect(text.endsWith('\n')).toBe(true);
  expect(text.slice(0, -1)).not.toContain('\n');
  return JSON.parse(text);
}

/**
 * The message of a `ProcessingFailed` outcome, which the examples give only by `failed(…)` or
 * by unparseable JSON: both `Lambda.ProcessingFailedStatus`. Fails the test for any other outcome.
 */
function failure(outcome: Awaited<ReturnType<typeof runOne>>): string {
  if (outcome?.result !== 'ProcessingFailed') {
    throw new Error(`expected ProcessingFailed, got ${JSON.stringify(outcome)}`);
  }
  expect(outcome.code).toBe('Lambda.ProcessingFailedStatus');
  return outcome.message;
}

describe('filter-enrich-json', () => {
  it('normalizes the level, adds receivedAt from the arrival time and keeps other fields', async () => {
    const outcome = await runOne('filter-enrich-json', {
      text: '{"level":"WARNING","msg":"disk 91% full","host":"db-1"}\n',
      arrivalMs: Date.UTC(2024, 0, 31, 23, 59, 59, 123),
    });
    expect(okText(outcome)).toBe(
      '{"level":"warn","msg":"disk 91% full","host":"db-1","receivedAt":"2024-01-31T23:59:59.123Z"}\n',
    );
  });

  it('drops trace and debug events, by name or by pino number, and keeps the rest', async () => {
    const outcomes = await run('filter-enrich-json', [
      '{"level":"debug","msg":"a"}',
      '{"level":" DEBUG ","msg":"b"}',
      '{"level":"trace"}',
      '{"level":20}',
      '{"level":10}',
      '{"level":30,"msg":"c"}',
      '{"level":"err"}',
      '{"level":"critical"}',
      '{"level":60}',
    ]);
    expect(outcomes.map((o) => o.result)).toEqual([
      'Dropped',
      'Dropped',
      'Dropped',
      'Dropped',
      'Dropped',
      'Ok',
      'Ok',
      'Ok',
      'Ok',
    ]);
    expect(outcomes.slice(5).map((o) => (okJson(o) as { level: string }).level)).toEqual([
      'info',
      'error',
      'fatal',
      'fatal',
    ]);
  });

  it('gives an event without a level the level info', async () => {
    expect(okJson(await runOne('filter-enrich-json', '{"msg":"no level"}'))).toEqual({
      msg: 'no level',
      level: 'info',
      receivedAt: '2024-06-01T10:00:00.000Z',
    });
  });

  it('fails what is not a JSON object, an unknown level and unparseable JSON, each alone', async () => {
    const outcomes = await run('filter-enrich-json', [
      '[1,2,3]',
      '"just a string"',
      '{"level":"loud"}',
      '{"level":"info","msg":',
      '{"level":"error"}',
    ]);
    expect(failure(outcomes[0])).toBe('expected a JSON object (one log event per record)');
    expect(failure(outcomes[1])).toBe('expected a JSON object (one log event per record)');
    expect(failure(outcomes[2])).toBe('unknown level "loud"');
    expect(failure(outcomes[3])).not.toBe('');
    expect(okJson(outcomes[4])).toMatchObject({ level: 'error' });
  });
});

describe('redact-pii', () => {
  it('masks e-mails, card numbers and phone numbers in strings at any depth', async () => {
    const event = {
      user: { email: 'Jane.Doe+news@example.co.uk', name: 'Jane' },
      note: 'paid with 4111 1111 1111 1111, call +44 20 7946 0958 or (415) 555-2671',
      payments: [
        { card: '5500-0000-0000-0004', amount: 12.5 },
        { card: '378282246310005', amount: 3 },
      ],
      contacts: ['415.555.2671', '1-800-555-0199', 'ops@example.com'],
    };
    expect(okJson(await runOne('redact-pii', JSON.stringify(event)))).toEqual({
      user: { email: '[email]', name: 'Jane' },
      note: 'paid with [card ****1111], call [phone] or [phone]',
      payments: [
        { card: '[card ****0004]', amount: 12.5 },
        { card: '[card ****0005]', amount: 3 },
      ],
      contacts: ['[phone]', '[phone]', '[email]'],
    });
  });

  it('replaces the listed fields whole, matching names regardless of case, _ and -', async () => {
    const event = {
      password: 'hunter2',
      API_KEY: 'k-123',
      'access-token': 'x',
      nested: { Authorization: { scheme: 'Bearer', value: 'abc' }, keep: 'me' },
      list: [{ ssn: 123456789 }],
    };
    expect(okJson(await runOne('redact-pii', JSON.stringify(event)))).toEqual({
      password: '[redacted]',
      API_KEY: '[redacted]',
      'access-token': '[redacted]',
      nested: { Authorization: '[redacted]', keep: 'me' },
      list: [{ ssn: '[redacted]' }],
    });
  });

  it('leaves alone what only looks like personal data', async () => {
    const event = {
      notCard: '4111 1111 1111 1112',
      epochMs: '1700000000000',
      epochSeconds: '1700000000',
      orderId: '4155552671',
      time: '2024-05-01T12:34:56.789Z',
      uuid: '123e4567-e89b-12d3-a456-426614174000',
      shortPlus: '+12345',
      cardAsNumber: 4111111111111111,
      ok: true,
      nothing: null,
    };
    expect(okJson(await runOne('redact-pii', JSON.stringify(event)))).toEqual(event);
  });

  it('keeps a member named __proto__ as a member', async () => {
    expect(okText(await runOne('redact-pii', '{"__proto__":{"contact":"a@b.io"},"x":1}'))).toBe(
      '{"__proto__":{"contact":"[email]"},"x":1}\n',
    );
  });

  it('masks a record that is a bare JSON string', async () => {
    expect(okText(await runOne('redact-pii', '"mail me at a@b.io"'))).toBe(
      '"mail me at [email]"\n',
    );
  });

  it('fails a record nested deeper than 64 levels and one that is not JSON', async () => {
    const deep = `${'['.repeat(100)}"a@b.io"${']'.repeat(100)}`;
    const outcomes = await run('redact-pii', [deep, 'email: a@b.io']);
    expect(failure(outcomes[0])).toBe('JSON nested deeper than 64 levels');
    expect(failure(outcomes[1])).not.toBe('');
  });
});

describe('parse-access-log', () => {
  it('parses an Apache combined line', async () => {
    const line =
      '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"\n';
    expect(okText(await runOne('parse-access-log', line))).toBe(
      `${JSON.stringify({
        remoteAddr: '127.0.0.1',
        remoteUser: 'frank',
        time: '2000-10-10T20:55:36.000Z',
        request: 'GET /apache_pb.gif HTTP/1.0',
        method: 'GET',
        path: '/apache_pb.gif',
        protocol: 'HTTP/1.0',
        status: 200,
        bytes: 2326,
        referer: 'http://www.example.com/start.html',
        userAgent: 'Mozilla/4.08 [en] (Win98; I ;Nav)',
      })}\n`,
    );
  });

  it('parses a common-format line, an nginx "-" request, escaped quotes, CRLF and extra fields', async () => {
    const outcomes = await run('parse-access-log', [
      '2001:db8::1 - - [29/Feb/2024:23:59:59 +0530] "DELETE /items/7 HTTP/1.1" 204 -\r\n',
      '198.51.100.4 - - [01/Jan/2024:00:00:00 +0000] "-" 400 0 "-" "-"',
      '192.0.2.1 - - [05/May/2024:08:00:00 +0200] "GET /q?s=\\"x\\" HTTP/2.0" 200 5 "-" "curl/8.5.0" "203.0.113.7" 0.004',
    ]);
    expect(okJson(outcomes[0])).toEqual({
      remoteAddr: '2001:db8::1',
      remoteUser: null,
      time: '2024-02-29T18:29:59.000Z',
      request: 'DELETE /items/7 HTTP/1.1',
      method: 'DELETE',
      path: '/items/7',
      protocol: 'HTTP/1.1',
      status: 204,
      bytes: 0,
      referer: null,
      userAgent: null,
    });
    expect(okJson(outcomes[1])).toMatchObject({
      request: '-',
      method: null,
      path: null,
      protocol: null,
      status: 400,
      bytes: 0,
      referer: null,
      userAgent: null,
    });
    expect(okJson(outcomes[2])).toMatchObject({
      time: '2024-05-05T06:00:00.000Z',
      request: 'GET /q?s="x" HTTP/2.0',
      path: '/q?s="x"',
      protocol: 'HTTP/2.0',
      userAgent: 'curl/8.5.0',
      extra: '"203.0.113.7" 0.004',
    });
  });

  it('drops blank lines and fails other lines with the reason', async () => {
    const outcomes = await run('parse-access-log', [
      '\n',
      'Started GET "/" for 127.0.0.1',
      '10.0.0.1 - - [30/Feb/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 1',
      '10.0.0.1 - - [10/Foo/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 1',
      '10.0.0.1 - - [10/Oct/2024:10:00:00 +0000] "GET / HTTP/1.1" OK 1',
    ]);
    expect(outcomes[0]?.result).toBe('Dropped');
    expect(failure(outcomes[1])).toContain('not an access-log line');
    expect(failure(outcomes[2])).toBe(
      'bad time [30/Feb/2024:10:00:00 +0000]: expected dd/Mon/yyyy:HH:mm:ss ±hhmm',
    );
    expect(failure(outcomes[3])).toContain('bad time [10/Foo/2024:10:00:00 +0000]');
    expect(failure(outcomes[4])).toContain('not an access-log line');
  });
});

describe('add-partition-keys', () => {
  it('passes the event on and gives customer, year, month and day of its time in UTC', async () => {
    const outcome = await runOne(
      'add-partition-keys',
      '{ "customer_id": "acme-42", "event_time": "2024-05-01T23:30:00-02:00", "amount": 5 }',
    );
    expect(outcome?.result).toBe('Ok');
    expect(okText(outcome)).toBe(
      '{"customer_id":"acme-42","event_time":"2024-05-01T23:30:00-02:00","amount":5}\n',
    );
    expect(outcome?.result === 'Ok' && outcome.partitionKeys).toEqual({
      customer: 'acme-42',
      year: '2024',
      month: '05',
      day: '02',
    });
  });

  it('reads customerId, epoch-ms times and dates, and uses the arrival time when there is none', async () => {
    const outcomes = await run('add-partition-keys', [
      '{"customerId":7,"timestamp":1704067199999}',
      '{"customer_id":"b","event_time":"2023-12-31"}',
      { text: '{"customer_id":"c"}', arrivalMs: Date.UTC(2025, 11, 31, 23, 59) },
    ]);
    const keys = outcomes.map((o) => (o.result === 'Ok' ? o.partitionKeys : o));
    expect(keys).toEqual([
      { customer: '7', year: '2023', month: '12', day: '31' },
      { customer: 'b', year: '2023', month: '12', day: '31' },
      { customer: 'c', year: '2025', month: '12', day: '31' },
    ]);
  });

  it('fails events without a usable customer or time, with the reason', async () => {
    const outcomes = await run('add-partition-keys', [
      '{"event_time":"2024-05-01T00:00:00Z"}',
      '{"customer_id":"a/b"}',
      '{"customer_id":"a","event_time":"yesterday"}',
      '{"customer_id":"a","event_time":"2024-05-01T10:00:00"}',
      '{"customer_id":"a","event_time":"2024-02-30"}',
      '{"customer_id":"a","event_time":1e20}',
      '["not","an","object"]',
    ]);
    expect(failure(outcomes[0])).toBe('no customer_id');
    expect(failure(outcomes[1])).toContain('customer_id "a/b" cannot be part of an S3 prefix');
    for (const outcome of outcomes.slice(2, 6)) {
      expect(failure(outcome)).toContain('is not an ISO-8601 time with a zone');
    }
    expect(failure(outcomes[6])).toBe('expected a JSON object');
  });
});

describe('lambda-port (the Lambda form)', () => {
  it('compacts JSON and appends a newline, drops empty records, fails non-JSON', async () => {
    const outcomes = await run('lambda-port', [
      '{ "page": "/home",\n  "ms": 12 }',
      '   \n',
      '',
      'page=/home',
      '[1, 2]',
      '{"emoji":"ünïcødé 🚀"}',
    ]);
    expect(outcomes.map((o) => o.result)).toEqual([
      'Ok',
      'Dropped',
      'Dropped',
      'ProcessingFailed',
      'Ok',
      'Ok',
    ]);
    expect(okText(outcomes[0])).toBe('{"page":"/home","ms":12}\n');
    expect(okText(outcomes[4])).toBe('[1,2]\n');
    expect(okText(outcomes[5])).toBe('{"emoji":"ünïcødé 🚀"}\n');
  });
});

describe('the examples', () => {
  it('are all tested here', () => {
    const examples = readdirSync(TRANSFORMS_DIR)
      .filter((file) => /\.(ts|js|mjs)$/.test(file))
      .map((file) => file.replace(/\.(ts|js|mjs)$/, ''))
      .sort();
    expect(examples).toEqual(TESTED);
  });
});
