import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateDeliveryStreamCommand } from '@aws-sdk/client-firehose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSluice, startCliSluice, type CliSluice } from '../support/cli-sluice.js';
import { parseExposition } from '../support/prometheus-text.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { uniqueName } from '../support/unique.js';

/**
 * `sluice put` and `sluice stats` driven as a user would, in-process, against the real API with
 * its metrics on a private Redis: what `put` sends is checked through `/metrics` (read with the
 * tests' own strict parser), and `stats` against the same figures.
 */

const ROLE = 'arn:aws:iam::000000000000:role/firehose';
/** Small, so that a stream's backlog fills up and answers "Slow down.". */
const BACKLOG_MB = 1;
let redis: RedisServer;
let sluice: CliSluice;
let dir: string;

beforeAll(async () => {
  redis = await startRedisServer();
  sluice = await startCliSluice({
    SLUICE_REDIS_URL: redis.url,
    SLUICE_MAX_BACKLOG_MB: String(BACKLOG_MB),
  });
  dir = await mkdtemp(join(tmpdir(), 'sluice-cli-put-'));
}, 60_000);
afterAll(async () => {
  await sluice?.close();
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const cli = (args: string[], options: { stdin?: string | Buffer; isTTY?: boolean } = {}) =>
  runSluice(sluice.endpoint, args, options);

async function createStream(prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await sluice.api.firehose.send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: name,
      ExtendedS3DestinationConfiguration: {
        RoleARN: ROLE,
        BucketARN: 'arn:aws:s3:::cli-bucket',
        BufferingHints: { SizeInMBs: 128, IntervalInSeconds: 900 },
      },
    }),
  );
  return name;
}

async function file(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

/** `sluice_incoming_*` of `stream`, as `/metrics` serves them. */
async function incoming(stream: string): Promise<{ records: number; bytes: number; puts: number }> {
  const text = await (await fetch(`${sluice.endpoint}/metrics`)).text();
  const value = (name: string) =>
    parseExposition(text).samples.find((s) => s.name === name && s.labels.stream === stream)
      ?.value ?? 0;
  return {
    records: value('sluice_incoming_records_total'),
    bytes: value('sluice_incoming_bytes_total'),
    puts: value('sluice_incoming_put_requests_total'),
  };
}

describe('sluice put', () => {
  it('puts each non-empty line of a file with a newline added, in requests of at most 500', async () => {
    const stream = await createStream('put-file');
    const lines = Array.from({ length: 1_204 }, (_, i) => `{"n":${i}}`);
    // CRLF and blank lines: the line break is not part of the record, blank lines are none.
    const path = await file(
      'events.ndjson',
      `${lines.slice(0, 2).join('\r\n')}\r\n\n${lines.slice(2).join('\n')}`,
    );
    const run = await cli(['put', '--stream', stream, path]);
    expect(run).toEqual({
      code: 0,
      stdout: `Put 1,204 records into ${stream} in 3 requests.\n`,
      stderr: '',
    });
    const bytes = lines.reduce((sum, line) => sum + line.length + 1, 0);
    expect(await incoming(stream)).toEqual({ records: 1_204, bytes, puts: 3 });
  });

  it('reads standard input, sends lines as they are with --no-newline, and prints JSON', async () => {
    const stream = await createStream('put-stdin');
    const run = await cli(['put', '--stream', stream, '--no-newline', '--json'], {
      stdin: 'alpha\nbeta\n\ngamma',
    });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      stream,
      records: 3,
      sent: 3,
      failed: 0,
      requests: 1,
      retried: 0,
      errors: [],
    });
    expect(await incoming(stream)).toEqual({ records: 3, bytes: 14, puts: 1 });
  });

  it('draws a progress bar on a terminal, in records and requests', async () => {
    const stream = await createStream('put-tty');
    const run = await cli(['put', '--stream', stream, '-'], { stdin: 'a\nb\n', isTTY: true });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('[########################] 100% 2/2 records, 1/1 request');
    expect(run.stderr.endsWith('\n')).toBe(true);
  });

  it('refuses a record over 1,024,000 bytes before sending anything, naming its line', async () => {
    const stream = await createStream('put-big');
    const limit = 'x'.repeat(1_024_000);
    const path = await file('big.txt', `small\n${limit}\n`);
    const run = await cli(['put', '--stream', stream, path]);
    expect(run).toEqual({
      code: 2,
      stdout: '',
      stderr: `sluice put: ${path} line 2 is 1,024,001 bytes with its newline; a Firehose record is at most 1,024,000 bytes. Nothing was sent\nRun 'sluice put --help' for usage.\n`,
    });
    expect(await incoming(stream)).toEqual({ records: 0, bytes: 0, puts: 0 });
    // Without the newline the same line is exactly the limit, and goes in.
    const exact = await cli(['put', '--stream', stream, '--no-newline', path]);
    expect(exact.stdout).toBe(`Put 2 records into ${stream} in 1 request.\n`);
    expect(await incoming(stream)).toEqual({ records: 2, bytes: 1_024_005, puts: 1 });
  });

  it('sends failed entries again, and reports the lines that still failed', async () => {
    const stream = await createStream('put-full');
    // Four records of 1,000,000 bytes fill a request (4 MiB) and the 1 MiB backlog; the fifth
    // record, in a second request, is answered "Slow down." every time.
    const record = 'y'.repeat(999_999);
    const path = await file('full.txt', Array.from({ length: 5 }, () => record).join('\n'));
    const run = await cli(['put', '--stream', stream, '--max-attempts', '2', path]);
    expect(run).toEqual({
      code: 1,
      stdout: [
        `Put 4 of 5 records into ${stream} in 3 requests (1 record sent again after failures).`,
        '1 record failed after 2 attempts:',
        '  ServiceUnavailableException (Slow down.): 1 record, line 5',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(await incoming(stream)).toEqual({ records: 4, bytes: 4_000_000, puts: 1 });
    const json = await cli(['put', '--stream', stream, '--max-attempts', '1', '--json'], {
      stdin: 'one\ntwo\n',
    });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      stream,
      records: 2,
      sent: 0,
      failed: 2,
      requests: 1,
      retried: 0,
      errors: [{ code: 'ServiceUnavailableException', message: 'Slow down.', lines: [1, 2] }],
    });
  });

  it('says what to do about a stream that does not exist, a missing file and bad options', async () => {
    const path = await file('two.txt', 'a\nb\n');
    expect(await cli(['put', '--stream', 'no-such-stream', path])).toEqual({
      code: 1,
      stdout: '',
      stderr:
        "sluice put: stopped at line 1: there is no delivery stream \"no-such-stream\" at this Sluice; 'sluice streams list' shows the streams, 'sluice streams create --file <json>' creates one; nothing was put\n",
    });
    const missing = join(dir, 'missing.ndjson');
    expect(await cli(['put', '--stream', 'any', missing])).toEqual({
      code: 2,
      stdout: '',
      stderr: `sluice put: cannot read ${missing}: ENOENT: no such file or directory, open '${missing}'\nRun 'sluice put --help' for usage.\n`,
    });
    expect((await cli(['put', path])).stderr).toBe(
      "sluice put: missing --stream <name>\nRun 'sluice put --help' for usage.\n",
    );
    expect((await cli(['put', '--stream', 's', '--max-attempts', '0', path])).stderr).toBe(
      'sluice put: --max-attempts must be a whole number from 1 to 20, got "0"\nRun \'sluice put --help\' for usage.\n',
    );
    expect((await cli(['put', '--stream', 's', path, path])).code).toBe(2);
    expect(await cli(['put', '--stream', 's'], { stdin: '\n\n' })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'sluice put: standard input holds no records (no non-empty line); nothing was sent\n',
    });
  });
});

describe('sluice stats', () => {
  it("shows a stream's figures, as text and JSON, and every stream in a table", async () => {
    const stream = await createStream('stats');
    const quiet = await createStream('stats-quiet');
    await cli(['put', '--stream', stream], { stdin: 'one\ntwo\nthree\n' });

    const detail = await cli(['stats', '--stream', stream]);
    expect(detail).toEqual({
      code: 0,
      stdout: [
        `Stream ${stream} (ACTIVE)`,
        '  Incoming:      3 records, 14 bytes in 1 put request; 0 records throttled',
        '  Delivered:     0 records, 0 bytes; 0 batches completed, 0 retries',
        '  Backlog:       3 records, 14 bytes; oldest unsealed ' +
          detail.stdout.match(/oldest unsealed ([\d.]+) s/)?.[1] +
          ' s',
        '  Dead set:      0 batches now; 0 batches (0 records) dead-lettered in all',
        '  Error output:  0 records',
        '',
      ].join('\n'),
      stderr: '',
    });
    const json: unknown = JSON.parse((await cli(['stats', '--stream', stream, '--json'])).stdout);
    expect(json).toMatchObject({
      stream,
      status: 'ACTIVE',
      incomingRecords: 3,
      incomingBytes: 14,
      incomingPutRequests: 1,
      deliveredRecords: 0,
      backlogRecords: 3,
      backlogBytes: 14,
      deadSetBatches: 0,
      errorOutputRecords: 0,
      errorOutputByType: {},
    });

    const table = await cli(['stats']);
    expect(table.code).toBe(0);
    const rows = table.stdout.split('\n');
    expect(rows[0]).toMatch(
      /^STREAM +IN RECORDS +IN BYTES +DELIVERED +DELIVERED BYTES +BACKLOG +DEAD BATCHES +ERROR OUTPUT$/,
    );
    expect(rows.find((r) => r.startsWith(`${stream} `))?.split(/ +/)).toEqual([
      stream,
      '3',
      '14',
      '0',
      '0',
      '3',
      '0',
      '0',
    ]);
    expect(rows.find((r) => r.startsWith(`${quiet} `))?.split(/ +/)).toEqual([
      quiet,
      '0',
      '0',
      '0',
      '0',
      '0',
      '0',
      '0',
    ]);
    const all = JSON.parse((await cli(['stats', '--json'])).stdout) as {
      streams: { stream: string }[];
    };
    expect(all.streams.map((s) => s.stream)).toContain(quiet);
  });

  it('says what to do about a stream that does not exist, or a Sluice without metrics', async () => {
    expect(await cli(['stats', '--stream', 'no-such-stream'])).toEqual({
      code: 1,
      stdout: '',
      stderr:
        "sluice stats: there is no delivery stream \"no-such-stream\" at this Sluice; 'sluice streams list' shows the streams, 'sluice streams create --file <json>' creates one\n",
    });
    // The plain test API serves no /metrics, as a Sluice with SLUICE_METRICS=false.
    const noMetrics = await runSluice(sluice.api.endpoint, ['stats']);
    expect(noMetrics).toEqual({
      code: 1,
      stdout: '',
      stderr: `sluice stats: Sluice at ${sluice.api.endpoint} serves no /metrics: it runs with SLUICE_METRICS=false, or is not a Sluice. Point --endpoint at a Sluice process that serves them\n`,
    });
    expect((await cli(['stats', '--stream', 'bad name'])).code).toBe(2);
  });
});
