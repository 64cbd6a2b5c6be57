import { fileURLToPath } from 'node:url';

import type { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  awsClientEnv,
  awsCliMajorVersion,
  awsCreateStreamArgs,
  awsPutRecordArgs,
  describeRun,
  requireBoto3,
  runClient,
  type Ran,
} from '../support/client-run.js';
import {
  cleanupAfterAll,
  startServers,
  startService,
  tempDir,
  waitForDrain,
} from '../support/e2e.js';
import type { S3Server } from '../support/s3-server.js';
import type { SluiceProcess } from '../support/sluice-process.js';
import { uniqueName } from '../support/unique.js';

/**
 * Clients nobody in this project wrote, unmodified, pointed at Sluice by endpoint URL only:
 * boto3 (Python) and the AWS CLI. What they send and parse is their own code's business, so
 * passing here is evidence of wire compatibility beyond the JavaScript SDK.
 */

const BUCKET = 'third-party';
const ACCOUNT = '000000000000';
const BOTO3_SCRIPT = fileURLToPath(new URL('./clients/boto3_firehose.py', import.meta.url));

const suite = cleanupAfterAll();

let s3: S3Server;
let sluice: SluiceProcess;
let redis: Redis;
let awsHome: string;

beforeAll(async () => {
  const servers = await startServers(suite);
  ({ s3, redis } = servers);
  await s3.createBucket(BUCKET);
  sluice = await startService(suite, { ...servers.sluiceEnv, SLUICE_SEAL_TICK_MS: '50' });
  awsHome = await tempDir(suite, 'sluice-aws-home-');
});

/** A client's environment (see {@link awsClientEnv}), with dummy credentials. */
function clientEnv(): NodeJS.ProcessEnv {
  return awsClientEnv(awsHome, { accessKeyId: 'x', secretAccessKey: 'y' });
}

/** Runs `file` with `args` to completion (bounded) as a client, whatever its exit code. */
function run(file: string, args: string[]): Promise<Ran> {
  return runClient(file, args, clientEnv());
}

/** The bodies of the stream's objects. */
async function objectsOf(stream: string): Promise<Buffer[]> {
  const keys = (await s3.listKeys(BUCKET)).filter((k) => k.includes(`/${stream}-`));
  return Promise.all(keys.map(async (k) => (await s3.getObject(BUCKET, k)).body));
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

/**
 * The objects hold exactly the bytes sent, in send order. Requests may be split between
 * batches (the interval can elapse between two requests), so some order of the objects must
 * concatenate to `expected`; objects of the same second have no order by name.
 */
function expectDeliveredExactly(objects: Buffer[], expected: Buffer): void {
  expect(objects.length).toBeGreaterThan(0);
  expect(objects.length, 'more objects than requests sent').toBeLessThanOrEqual(4);
  const matches = permutations(objects).some((order) => Buffer.concat(order).equals(expected));
  expect(
    matches,
    `delivered ${JSON.stringify(objects.map((o) => o.toString('base64')))}, sent ${expected.toString('base64')}`,
  ).toBe(true);
}

describe('boto3', () => {
  it('creates, describes, lists and puts; the records arrive in S3 byte for byte', async () => {
    await requireBoto3(clientEnv());
    const stream = uniqueName('boto3');
    const record = Buffer.from('{"client":"boto3","call":"put_record"}\n');
    const batch = [
      Buffer.from('{"client":"boto3","call":"put_record_batch","n":0}\n'),
      // Every byte value: blobs must survive base64 both ways untouched.
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      Buffer.from('{"client":"boto3","n":2,"text":"größe"}\n'),
    ];
    const spec = {
      endpoint: sluice.url,
      stream,
      missing: uniqueName('boto3-missing'),
      bucket_arn: `arn:aws:s3:::${BUCKET}`,
      record: record.toString('base64'),
      batch: batch.map((b) => b.toString('base64')),
    };
    const ran = await run('python3', [BOTO3_SCRIPT, JSON.stringify(spec)]);
    expect(ran.code, describeRun('boto3_firehose.py', ran, sluice.logs())).toBe(0);
    const out = JSON.parse(ran.stdout) as {
      create: { DeliveryStreamARN?: string };
      describe: {
        DeliveryStreamDescription?: {
          DeliveryStreamName?: string;
          DeliveryStreamStatus?: string;
          VersionId?: string;
          Destinations?: { ExtendedS3DestinationDescription?: { BucketARN?: string } }[];
        };
      };
      put_record: { RecordId?: string; Encrypted?: boolean };
      put_record_batch: {
        FailedPutCount?: number;
        RequestResponses?: { RecordId?: string; ErrorCode?: string }[];
      };
      list: { DeliveryStreamNames?: string[]; HasMoreDeliveryStreams?: boolean };
      missing: string | null;
    };

    expect(out.create.DeliveryStreamARN).toBe(
      `arn:aws:firehose:us-east-1:${ACCOUNT}:deliverystream/${stream}`,
    );
    const description = out.describe.DeliveryStreamDescription;
    expect(description?.DeliveryStreamName).toBe(stream);
    expect(description?.DeliveryStreamStatus).toBe('ACTIVE');
    expect(description?.VersionId).toBe('1');
    expect(description?.Destinations?.[0]?.ExtendedS3DestinationDescription?.BucketARN).toBe(
      `arn:aws:s3:::${BUCKET}`,
    );
    expect(out.put_record.RecordId).toEqual(expect.any(String));
    expect(out.put_record.Encrypted).toBe(false);
    expect(out.put_record_batch.FailedPutCount).toBe(0);
    const answers = out.put_record_batch.RequestResponses ?? [];
    expect(answers).toHaveLength(batch.length);
    for (const answer of answers) {
      expect(answer.RecordId).toEqual(expect.any(String));
      expect(answer.ErrorCode).toBeUndefined();
    }
    expect(out.list.DeliveryStreamNames).toContain(stream);
    expect(out.list.HasMoreDeliveryStreams).toBe(false);
    expect(out.missing).toBe('ResourceNotFoundException');

    await waitForDrain(redis, stream, sluice);
    expectDeliveredExactly(await objectsOf(stream), Buffer.concat([record, ...batch]));
  });
});

describe('AWS CLI', () => {
  it('creates, puts and describes; a missing stream is ResourceNotFoundException', async () => {
    const major = awsCliMajorVersion(await run('aws', ['--version']));
    const aws = (...args: string[]) =>
      run('aws', ['--endpoint-url', sluice.url, '--output', 'json', ...args]);
    const stream = uniqueName('awscli');

    const created = await aws(...awsCreateStreamArgs(stream, BUCKET));
    expect(
      created.code,
      describeRun('aws firehose create-delivery-stream', created, sluice.logs()),
    ).toBe(0);
    const arn = `arn:aws:firehose:us-east-1:${ACCOUNT}:deliverystream/${stream}`;
    expect(JSON.parse(created.stdout)).toEqual({ DeliveryStreamARN: arn });

    const text = '{"client":"aws-cli","n":1}\n';
    const put = await aws(...awsPutRecordArgs(major, stream, text));
    expect(put.code, describeRun('aws firehose put-record', put, sluice.logs())).toBe(0);
    const putOut = JSON.parse(put.stdout) as { RecordId?: string; Encrypted?: boolean };
    expect(putOut.RecordId).toEqual(expect.any(String));
    expect(putOut.Encrypted).toBe(false);

    const described = await aws(
      'firehose',
      'describe-delivery-stream',
      '--delivery-stream-name',
      stream,
    );
    expect(
      described.code,
      describeRun('aws firehose describe-delivery-stream', described, sluice.logs()),
    ).toBe(0);
    const description = (
      JSON.parse(described.stdout) as {
        DeliveryStreamDescription?: {
          DeliveryStreamName?: string;
          DeliveryStreamStatus?: string;
          DeliveryStreamARN?: string;
        };
      }
    ).DeliveryStreamDescription;
    expect(description?.DeliveryStreamName).toBe(stream);
    expect(description?.DeliveryStreamStatus).toBe('ACTIVE');
    expect(description?.DeliveryStreamARN).toBe(arn);

    const missingName = uniqueName('awscli-missing');
    const missing = await aws(
      'firehose',
      'describe-delivery-stream',
      '--delivery-stream-name',
      missingName,
    );
    expect(
      missing.failure,
      describeRun('aws firehose describe (missing)', missing, sluice.logs()),
    ).toBeUndefined();
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('ResourceNotFoundException');
    expect(missing.stderr).toContain(missingName);

    await waitForDrain(redis, stream, sluice);
    expectDeliveredExactly(await objectsOf(stream), Buffer.from(text));
  });
});
