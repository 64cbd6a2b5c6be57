import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import {
  CreateDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  type FirehoseClient,
} from '@aws-sdk/client-firehose';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseErrorRecords } from '../../src/error-output/error-records.js';
import {
  cleanupAfterAll,
  createS3Stream,
  eventually,
  firehoseFor,
  putRecordBatch,
  startServers,
  startService,
  type Servers,
} from '../support/e2e.js';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.js';
import type { SluiceProcess } from '../support/sluice-process.js';
import { uniqueName } from '../support/unique.js';

const run = promisify(execFile);
const CLI = new URL('../../dist/src/cli/main.js', import.meta.url).pathname;
const ROLE = 'arn:aws:iam::000000000000:role/firehose';
const ERRORS = 'errors';
const DELIVERIES = 'deliveries';

const suite = cleanupAfterAll();
let servers: Servers;
let sluice: SluiceProcess;
let firehose: FirehoseClient;
let receiver: HttpReceiver;

/** Runs the `sluice` command as a user would, against the service under test. */
async function sluiceCli(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [CLI, ...args, '--endpoint', sluice.url],
      {
        env: { PATH: process.env.PATH ?? '' },
        timeout: 60_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Every record delivered to `bucket` by objects of `stream`, split at the producer's newlines. */
async function deliveredLines(bucket: string, stream: string): Promise<string[]> {
  const keys = (await servers.s3.listKeys(bucket)).filter((k) => k.includes(`${stream}-`));
  const lines: string[] = [];
  for (const key of keys) {
    const object = await servers.s3.getObject(bucket, key);
    lines.push(...object.body.toString('utf8').split('\n').filter(Boolean));
  }
  return lines.sort();
}

beforeAll(async () => {
  servers = await startServers(suite);
  await servers.s3.createBucket(ERRORS);
  await servers.s3.createBucket(DELIVERIES);
  receiver = await startHttpReceiver();
  suite.add(() => receiver.close());
  sluice = await startService(suite, {
    ...servers.sluiceEnv,
    SLUICE_SEAL_TICK_MS: '50',
    SLUICE_RETRY_BASE_MS: '100',
    SLUICE_RETRY_MAX_MS: '300',
    // S3 batches that cannot be delivered reach the dead set quickly.
    SLUICE_RETENTION_SECONDS: '2',
    // Not zlib's default, so that gzip error objects show the setting reached the error output.
    SLUICE_GZIP_LEVEL: '1',
  });
  firehose = firehoseFor(suite, sluice, { maxAttempts: 3 });
}, 60_000);

describe('replay with the sluice CLI', () => {
  it('re-ingests http-endpoint-failed records into another stream, and sends nothing twice', async () => {
    receiver.always({ kind: 'status', status: 413, errorMessage: 'too big for us' });
    const source = uniqueName('refused');
    await firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: source,
        HttpEndpointDestinationConfiguration: {
          EndpointConfiguration: { Url: receiver.url, Name: 'receiver', AccessKey: 'secret-key' },
          BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
          RetryOptions: { DurationInSeconds: 60 },
          S3Configuration: { RoleARN: ROLE, BucketARN: `arn:aws:s3:::${ERRORS}` },
        },
      }),
    );
    const target = await createS3Stream(firehose, 'replayed', DELIVERIES, {
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
    });
    const sent = Array.from({ length: 30 }, (_, i) => `{"n":${i}}`);
    await putRecordBatch(
      firehose,
      source,
      sent.slice(0, 15).map((r) => `${r}\n`),
    );
    await putRecordBatch(
      firehose,
      source,
      sent.slice(15).map((r) => `${r}\n`),
    );

    // 413 is permanent: the records go to the error output at once, in Firehose's format.
    const failed = await eventually(
      'the refused records in the error output',
      async () => {
        const keys = await servers.s3.listKeys(ERRORS);
        const records = [];
        for (const key of keys) {
          records.push(...parseErrorRecords((await servers.s3.getObject(ERRORS, key)).body));
        }
        return records.length === sent.length ? { keys, records } : undefined;
      },
      { sluice },
    );
    expect(failed.keys.every((k) => k.startsWith('http-endpoint-failed/'))).toBe(true);
    expect(failed.records.map((r) => r.code)).toEqual(
      sent.map(() => 'HttpEndpoint.DestinationException'),
    );
    expect(failed.records.map((r) => r.rawData.toString().trim()).sort()).toEqual([...sent].sort());

    const dryRun = await sluiceCli('replay', '--stream', source, '--to', target, '--dry-run');
    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(await deliveredLines(DELIVERIES, target)).toEqual([]);

    const first = await sluiceCli(
      'replay',
      '--stream',
      source,
      '--to',
      target,
      '--type',
      'http-endpoint-failed',
      '--json',
    );
    expect(first.code, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout) as Record<string, unknown>;
    expect(JSON.stringify(summary)).toContain(`"records":${sent.length}`);

    await eventually(
      'the replayed records delivered to the target stream',
      async () => (await deliveredLines(DELIVERIES, target)).length === sent.length,
      { sluice },
    );
    expect(await deliveredLines(DELIVERIES, target)).toEqual([...sent].sort());

    const second = await sluiceCli('replay', '--stream', source, '--to', target);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/skipped \d+ already replayed/);
    // Give a wrongly re-sent replay time to be sealed and delivered before looking.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(await deliveredLines(DELIVERIES, target)).toEqual([...sent].sort());
    // The access key goes to the endpoint in its header, and nowhere else: not in Describe, not
    // in the log, not in the error output.
    const described = await firehose.send(
      new DescribeDeliveryStreamCommand({ DeliveryStreamName: source }),
    );
    expect(JSON.stringify(described.DeliveryStreamDescription)).not.toContain('secret-key');
    expect(sluice.logs()).not.toContain('secret-key');
    expect(JSON.stringify(failed.records.map((r) => r.message))).not.toContain('secret-key');
    expect(
      receiver.requests.every((r) => r.headers['x-amz-firehose-access-key'] === 'secret-key'),
    ).toBe(true);
  }, 120_000);

  it('lists dead batches with their reason and replays them out of the dead set', async () => {
    const missing = `missing-${Date.now()}`;
    const stuck = await createS3Stream(firehose, 'stuck', missing, {
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
    });
    const target = await createS3Stream(firehose, 'rescued', DELIVERIES, {
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
    });
    const sent = Array.from({ length: 10 }, (_, i) => `dead-${i}`);
    await putRecordBatch(
      firehose,
      stuck,
      sent.map((r) => `${r}\n`),
    );

    const listed = await eventually(
      'the batch in the dead set',
      async () => {
        const dead = await sluiceCli('dead', '--stream', stuck, '--json');
        return dead.code === 0 && dead.stdout.includes('S3.NoSuchBucket') ? dead : undefined;
      },
      { sluice, timeoutMs: 40_000 },
    );
    expect(listed.stdout).toContain("kept in Sluice's dead set");

    const table = await sluiceCli('dead', '--stream', stuck);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('S3.NoSuchBucket');

    const replayed = await sluiceCli('replay', '--stream', stuck, '--to', target, '--type', 'dead');
    expect(replayed.code, replayed.stderr).toBe(0);
    await eventually(
      'the dead records delivered to the target stream',
      async () => (await deliveredLines(DELIVERIES, target)).length === sent.length,
      { sluice },
    );
    expect(await deliveredLines(DELIVERIES, target)).toEqual([...sent].sort());
    const after = await sluiceCli('dead', '--stream', stuck, '--json');
    expect(after.stdout).not.toContain('S3.NoSuchBucket');
  }, 120_000);

  it('answers --help for every subcommand and refuses a bad selection clearly', async () => {
    for (const command of ['replay', 'dead']) {
      const help = await sluiceCli(command, '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`sluice ${command}`);
    }
    const bad = await sluiceCli('replay', '--stream', 'x', '--type', 'nonsense');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--type/);
  });
});

describe('the error output of an HTTP endpoint stream', () => {
  it('is gzipped at SLUICE_GZIP_LEVEL when its S3Configuration says GZIP', async () => {
    receiver.always({ kind: 'status', status: 413, errorMessage: 'too big for us' });
    const stream = uniqueName('gz-refused');
    await firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: stream,
        HttpEndpointDestinationConfiguration: {
          EndpointConfiguration: { Url: receiver.url, Name: 'receiver', AccessKey: 'secret-key' },
          BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
          RetryOptions: { DurationInSeconds: 60 },
          S3Configuration: {
            RoleARN: ROLE,
            BucketARN: `arn:aws:s3:::${ERRORS}`,
            Prefix: 'gz/',
            ErrorOutputPrefix: 'gz-errors/',
            CompressionFormat: 'GZIP',
          },
        },
      }),
    );
    await putRecordBatch(firehose, stream, ['{"gz":1}\n']);
    const key = await eventually(
      'the gzip error object',
      async () => (await servers.s3.listKeys(ERRORS)).find((k) => k.startsWith('gz-errors/')),
      { sluice },
    );
    const { body } = await servers.s3.getObject(ERRORS, key);
    // gzip's header (RFC 1952 XFL): 4 for deflate's fastest, SLUICE_GZIP_LEVEL 1.
    expect(body[8]).toBe(4);
    expect(parseErrorRecords(gunzipSync(body)).map((r) => r.rawData.toString())).toEqual([
      '{"gz":1}\n',
    ]);
  });
});
