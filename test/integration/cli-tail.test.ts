import { CreateDeliveryStreamCommand, FirehoseClient } from '@aws-sdk/client-firehose';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { SigV4Verifier } from '../../src/api/auth/sigv4-verifier.js';
import { runCli } from '../../src/cli/run-cli.js';
import { LiveTail } from '../../src/tail/live-tail.js';
import { runSluice } from '../support/cli-sluice.js';
import { eventually, putRecordBatch, s3Destination } from '../support/e2e.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startTestApi, type TestApi } from '../support/test-api.js';
import { uniqueName } from '../support/unique.js';

/**
 * `sluice tail` driven as a user would, in-process, against the real API with a live tail on a
 * private Redis: records put through the API show up in the command's output, in text and as
 * JSON lines; it stops at `--count`, and at Ctrl-C/SIGTERM with exit 0.
 */

const ACCESS_KEY = 'AKIDCLITAIL';
const SECRET = 'cli-tail-secret';

let redis: RedisServer;
let api: TestApi;
let tail: LiveTail;
let app: FastifyInstance;
let endpoint: string;
let signedApp: FastifyInstance;
let signedEndpoint: string;
let firehose: FirehoseClient;

beforeAll(async () => {
  redis = await startRedisServer();
  api = await startTestApi({ SLUICE_REDIS_URL: redis.url });
  tail = new LiveTail({ redis: api.redis });
  const parts = {
    settings: api.settings,
    redis: api.redis,
    registry: api.registry,
    buffer: api.buffer,
    log: pino({ level: 'silent' }),
    tail,
  };
  app = buildApp(parts);
  endpoint = await app.listen({ host: '127.0.0.1', port: 0 });
  signedApp = buildApp({
    ...parts,
    auth: new SigV4Verifier({ keys: new Map([[ACCESS_KEY, SECRET]]) }),
  });
  signedEndpoint = await signedApp.listen({ host: '127.0.0.1', port: 0 });
  // Puts go through the app with the tail: only its puts are offered to it.
  firehose = new FirehoseClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
}, 60_000);
afterAll(async () => {
  firehose?.destroy();
  await signedApp?.close();
  await app?.close();
  await api?.close();
  await redis?.stop();
});

const cli = (args: string[], env: Record<string, string> = {}) =>
  runSluice(endpoint, args, { env });

async function createStream(prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await api.firehose.send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: name,
      ExtendedS3DestinationConfiguration: s3Destination('bucket', {
        BufferingHints: { SizeInMBs: 128, IntervalInSeconds: 900 },
      }),
    }),
  );
  return name;
}

/**
 * Marks `stream` tailed and waits until its puts are captured (the API reads which streams are
 * tailed about once a second): probe records are put until one shows up.
 *
 * @returns the cursor after the probe.
 */
async function startTailing(stream: string): Promise<string> {
  let cursor = (await tail.read(stream, { waitMs: 0 })).cursor;
  await eventually('a probe record to be captured', async () => {
    await putRecordBatch(firehose, stream, ['probe']);
    const page = await tail.read(stream, { cursor, waitMs: 1000 });
    cursor = page.cursor;
    return page.records.length > 0;
  });
  return cursor;
}

/** Puts `records` and waits until the tail shows all of them. */
async function putAndCapture(
  stream: string,
  cursor: string,
  records: readonly (string | Buffer)[],
): Promise<void> {
  await putRecordBatch(firehose, stream, records);
  let seen = 0;
  let at = cursor;
  await eventually('the records to be captured', async () => {
    const page = await tail.read(stream, { cursor: at, waitMs: 1000 });
    seen += page.records.length;
    at = page.cursor;
    return seen >= records.length;
  });
}

/** A run of `sluice` whose output can be read while it runs. */
function startSluice(args: string[]): {
  out: () => string;
  err: () => string;
  done: Promise<number>;
} {
  let stdout = '';
  let stderr = '';
  const done = runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { SLUICE_ENDPOINT: endpoint },
    isTTY: false,
    stdin: [],
  });
  return { out: () => stdout, err: () => stderr, done };
}

const TIME = '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z';

describe('sluice tail', () => {
  it('prints the last records, one line each, and stops at --count', async () => {
    const stream = await createStream('cli-tail-count');
    const cursor = await startTailing(stream);
    await putAndCapture(stream, cursor, [
      '{\n  "page": "/a",\n  "n": 1\n}\n',
      'hello\nworld\n',
      Buffer.from([0x00, 0x01, 0x02, 0xff]),
      `${'€'.repeat(2000)}\n`,
    ]);
    const run = await cli(['tail', stream, '--count', '4']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(new RegExp(`^${TIME}  \\{"page":"/a","n":1\\}$`));
    expect(lines[1]).toMatch(new RegExp(`^${TIME}  hello\\\\nworld$`));
    expect(lines[2]).toMatch(new RegExp(`^${TIME}  \\[base64\\] AAEC/w==$`));
    expect(lines[3]).toMatch(
      new RegExp(`^${TIME}  ${'€'.repeat(1365)} … \\[truncated, 6,001 bytes\\]$`),
    );
  });

  it('prints one JSON object a line with --json', async () => {
    const stream = await createStream('cli-tail-json');
    const cursor = await startTailing(stream);
    await putAndCapture(stream, cursor, ['{"n":1}', 'two']);
    const run = await cli(['tail', stream, '--count', '2', '--json']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const objects = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const object of objects) {
      expect(object.seq).toMatch(/^\d+-\d+$/);
      expect(typeof object.at).toBe('number');
    }
    expect(objects.map(({ seq: _seq, at: _at, ...rest }) => rest)).toEqual([
      {
        stream,
        bytes: 7,
        encoding: 'json',
        preview: '{"n":1}',
        truncated: false,
        skippedBefore: 0,
      },
      { stream, bytes: 3, encoding: 'text', preview: 'two', truncated: false, skippedBefore: 0 },
    ]);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`follows new records until ${signal}, then exits 0`, async () => {
      const stream = await createStream(`cli-tail-${signal}`);
      await startTailing(stream);
      const reads = tail.readsInProgress;
      const run = startSluice(['tail', stream]);
      await eventually(
        'the command to wait for records',
        () => tail.readsInProgress > reads && process.listenerCount(signal) === 1,
      );
      await putRecordBatch(
        firehose,
        stream,
        Array.from({ length: 200 }, (_, n) => `live ${n}`),
      );
      await eventually('the new records to be printed', () => run.out().includes('live '));
      process.emit(signal);
      expect(await run.done).toBe(0);
      expect(process.listenerCount(signal)).toBe(0);
      const lines = run.out().trim().split('\n');
      expect(lines.at(-1)).toMatch(new RegExp(`^${TIME}  live \\d+$`));
      // 200 records in one request: a sample, and a note on stderr counts the rest.
      const shown = lines.filter((line) => / live \d+$/.test(line)).length;
      expect(shown).toBeLessThan(200);
      expect(run.err()).toMatch(/^… \d+ records not shown \(sampling\)$/m);
      await eventually('the read to end', () => tail.readsInProgress === reads);
    });
  }

  it('signs its requests with the AWS keys of the environment', async () => {
    const stream = await createStream('cli-tail-signed');
    const cursor = await startTailing(stream);
    await putAndCapture(stream, cursor, ['signed']);
    const signed = await runSluice(signedEndpoint, ['tail', stream, '--count', '1'], {
      env: { AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET },
    });
    expect(signed.stderr).toBe('');
    expect(signed.stdout).toMatch(new RegExp(`^${TIME}  signed\\n$`));
    expect(signed.code).toBe(0);
    const unsigned = await runSluice(signedEndpoint, ['tail', stream, '--count', '1']);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toContain('MissingAuthenticationTokenException');
  });

  it('says what to do about a stream that does not exist (exit 1)', async () => {
    const stream = uniqueName('cli-tail-missing');
    const run = await cli(['tail', stream]);
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr: `sluice tail: there is no delivery stream "${stream}" at this Sluice; 'sluice streams list' shows the streams\n`,
    });
  });

  it('says where it looked when Sluice cannot be reached (exit 1)', async () => {
    const run = await runSluice('http://127.0.0.1:9', ['tail', 'clicks']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^sluice tail: cannot reach Sluice at http:\/\/127\.0\.0\.1:9: .*Point --endpoint or SLUICE_ENDPOINT at it\.\n$/,
    );
  });

  it('refuses a wrong command line with exit 2 before sending anything', async () => {
    const cases: [string[], string][] = [
      [['tail'], 'missing <stream>'],
      [['tail', 'a', 'b'], 'expected one <stream>, got 2'],
      [['tail', 'no spaces'], '<stream> "no spaces" is not a delivery stream name'],
      [['tail', 'clicks', '--count', '0'], '--count must be a whole number from 1 to 1,000,000'],
      [['tail', 'clicks', '--count', 'all'], '--count must be a whole number'],
      [['tail', 'clicks', '--follow'], 'unknown option --follow'],
    ];
    for (const [args, message] of cases) {
      const run = await runSluice('http://127.0.0.1:9', args);
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(run.stderr).toContain(message);
      expect(run.stderr).toContain("Run 'sluice tail --help' for usage.");
    }
  });

  it('has --help, and is listed by sluice --help', async () => {
    const help = await cli(['tail', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: sluice tail <stream> \[--count <n>\] \[options\]\n/);
    expect(help.stdout).toContain('--count <n>');
    expect(help.stdout).toContain('--json');
    expect(help.stdout).toContain('Exit codes: 0 stopped by Ctrl-C/SIGTERM or --count reached');
    const main = await cli(['--help']);
    expect(main.stdout).toMatch(/^ {2}tail +Follow a stream's incoming records live/m);
  });
});
