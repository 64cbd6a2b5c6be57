import { fileURLToPath } from 'node:url';

import {
  CreateDeliveryStreamCommand,
  FirehoseClient,
  ListDeliveryStreamsCommand,
  PutRecordCommand,
} from '@aws-sdk/client-firehose';
import type { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  awsClientEnv,
  awsCliMajorVersion,
  awsPutRecordArgs,
  describeRun,
  requireBoto3,
  runClient,
  type ClientCredentials,
  type Ran,
} from '../support/client-run.js';
import {
  cleanupAfterAll,
  s3Destination,
  startServers,
  startService,
  tempDir,
  waitForDrain,
  type Servers,
} from '../support/e2e.js';
import type { S3Server } from '../support/s3-server.js';
import { startSluice, type SluiceProcess } from '../support/sluice-process.js';
import { uniqueName } from '../support/unique.js';

/**
 * Sluice started with `SLUICE_ACCESS_KEYS`, reached by clients nobody in this project wrote,
 * unmodified: the AWS SDK for JavaScript, the AWS CLI and boto3. With a configured key their
 * records are accepted and delivered; with a wrong secret or an unknown key id each raises the
 * error it raises against Amazon Data Firehose; curl signs requests to the HTTP records endpoint
 * the same way. Also: the start-up warning without keys, and
 * a bad keys setting stopping the start without printing the secret.
 */

const BUCKET = 'sigv4-clients';
const BOTO3_SCRIPT = fileURLToPath(new URL('./clients/boto3_sigv4.py', import.meta.url));
const KEY: ClientCredentials = {
  accessKeyId: 'AKIASLUICEE2E0000001',
  secretAccessKey: 'q8Zk3V+example/Secret=Key0123456789abcdef',
};
const WRONG_SECRET: ClientCredentials = { ...KEY, secretAccessKey: 'not-the-secret' };
const UNKNOWN_KEY: ClientCredentials = { ...KEY, accessKeyId: 'AKIANOTCONFIGURED001' };
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const INVALID_TOKEN = 'The security token included in the request is invalid.';

const suite = cleanupAfterAll();

let servers: Servers;
let s3: S3Server;
let redis: Redis;
let sluice: SluiceProcess;
let awsHome: string;
let stream: string;
/** The records each client put with the right key, to find in S3 at the end. */
const accepted: string[] = [];

beforeAll(async () => {
  servers = await startServers(suite);
  ({ s3, redis } = servers);
  await s3.createBucket(BUCKET);
  sluice = await startService(suite, {
    ...servers.sluiceEnv,
    SLUICE_SEAL_TICK_MS: '50',
    // Two keys, with spaces after the comma, as a user may write them.
    SLUICE_ACCESS_KEYS: `AKIASLUICEOTHER00001:another-secret, ${KEY.accessKeyId}:${KEY.secretAccessKey}`,
  });
  awsHome = await tempDir(suite, 'sluice-aws-home-');
  const client = sdk(KEY);
  stream = uniqueName('sigv4');
  await client.send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: stream,
      ExtendedS3DestinationConfiguration: s3Destination(BUCKET, {
        BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
      }),
    }),
  );
});

function sdk(credentials: ClientCredentials): FirehoseClient {
  const client = new FirehoseClient({
    endpoint: sluice.url,
    region: 'us-east-1',
    credentials,
    maxAttempts: 1,
  });
  suite.add(() => client.destroy());
  return client;
}

/** The name and message of the error `promise` rejects with (undefined when it resolves). */
async function rejection(promise: Promise<unknown>) {
  return promise.then(
    () => undefined,
    (e: unknown) => {
      const error = e as {
        name?: string;
        message?: string;
        $metadata?: { httpStatusCode?: number };
      };
      return { name: error.name, message: error.message, status: error.$metadata?.httpStatusCode };
    },
  );
}

describe('the AWS SDK for JavaScript', () => {
  it('puts with a configured key; a wrong secret and an unknown key are refused', async () => {
    const text = '{"client":"sdk","sigv4":true}\n';
    const put = await sdk(KEY).send(
      new PutRecordCommand({ DeliveryStreamName: stream, Record: { Data: Buffer.from(text) } }),
    );
    expect(put.RecordId).toEqual(expect.any(String));
    accepted.push(text);

    const refused = { DeliveryStreamName: stream, Record: { Data: Buffer.from('refused\n') } };
    expect(await rejection(sdk(WRONG_SECRET).send(new PutRecordCommand(refused)))).toEqual({
      name: 'InvalidSignatureException',
      message: MISMATCH,
      status: 400,
    });
    expect(await rejection(sdk(UNKNOWN_KEY).send(new ListDeliveryStreamsCommand({})))).toEqual({
      name: 'UnrecognizedClientException',
      message: INVALID_TOKEN,
      status: 400,
    });
  });
});

describe('the AWS CLI', () => {
  const aws = (credentials: ClientCredentials, ...args: string[]): Promise<Ran> =>
    runClient(
      'aws',
      ['--endpoint-url', sluice.url, '--output', 'json', ...args],
      awsClientEnv(awsHome, credentials),
    );

  it('puts with a configured key; a wrong secret and an unknown key are refused', async () => {
    const major = awsCliMajorVersion(
      await runClient('aws', ['--version'], awsClientEnv(awsHome, KEY)),
    );
    const text = '{"client":"aws-cli","sigv4":true}\n';
    const putArgs = (data: string) => awsPutRecordArgs(major, stream, data);

    const put = await aws(KEY, ...putArgs(text));
    expect(put.code, describeRun('aws firehose put-record', put, sluice.logs())).toBe(0);
    expect((JSON.parse(put.stdout) as { RecordId?: string }).RecordId).toEqual(expect.any(String));
    accepted.push(text);

    const wrong = await aws(WRONG_SECRET, ...putArgs('refused\n'));
    expect(wrong.failure, describeRun('aws (wrong secret)', wrong)).toBeUndefined();
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('(InvalidSignatureException)');
    expect(wrong.stderr).toContain('The request signature we calculated does not match');

    const unknown = await aws(UNKNOWN_KEY, 'firehose', 'list-delivery-streams');
    expect(unknown.failure, describeRun('aws (unknown key)', unknown)).toBeUndefined();
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('(UnrecognizedClientException)');
    expect(unknown.stderr).toContain(INVALID_TOKEN);
  });
});

describe('boto3', () => {
  const boto3 = (credentials: ClientCredentials, text: string, region = 'us-east-1') =>
    runClient(
      'python3',
      [
        BOTO3_SCRIPT,
        JSON.stringify({
          endpoint: sluice.url,
          access_key: credentials.accessKeyId,
          secret_key: credentials.secretAccessKey,
          region,
          stream,
          record: Buffer.from(text).toString('base64'),
        }),
      ],
      awsClientEnv(awsHome, { accessKeyId: 'unused', secretAccessKey: 'unused' }),
    );

  interface Boto3Out {
    put_record?: { RecordId?: string };
    list?: { DeliveryStreamNames?: string[] };
    error?: { code: string; message: string; status: number };
  }

  it('puts with a configured key (signed for any region); wrong keys are refused', async () => {
    await requireBoto3(awsClientEnv(awsHome, KEY));
    const text = '{"client":"boto3","sigv4":true}\n';
    // Another region than Sluice's: accepted, SLUICE_AUTH_ENFORCE_REGION being off.
    const ok = await boto3(KEY, text, 'eu-west-1');
    expect(ok.code, describeRun('boto3_sigv4.py', ok, sluice.logs())).toBe(0);
    const out = JSON.parse(ok.stdout) as Boto3Out;
    expect(out.error).toBeUndefined();
    expect(out.put_record?.RecordId).toEqual(expect.any(String));
    expect(out.list?.DeliveryStreamNames).toContain(stream);
    accepted.push(text);

    const wrong = await boto3(WRONG_SECRET, 'refused\n');
    expect(wrong.code, describeRun('boto3_sigv4.py (wrong secret)', wrong)).toBe(0);
    expect((JSON.parse(wrong.stdout) as Boto3Out).error).toEqual({
      code: 'InvalidSignatureException',
      message: MISMATCH,
      status: 400,
    });
    const unknown = await boto3(UNKNOWN_KEY, 'refused\n');
    expect((JSON.parse(unknown.stdout) as Boto3Out).error).toEqual({
      code: 'UnrecognizedClientException',
      message: INVALID_TOKEN,
      status: 400,
    });
  });
});

describe('curl, on the HTTP records endpoint', () => {
  /** `curl --aws-sigv4` posting `body` as NDJSON; stdout is the answer's body, then its status. */
  const curl = (credentials: ClientCredentials, body: string) =>
    runClient(
      'curl',
      [
        '--silent',
        '--show-error',
        '--aws-sigv4',
        'aws:amz:us-east-1:firehose',
        '--user',
        `${credentials.accessKeyId}:${credentials.secretAccessKey}`,
        '--header',
        'content-type: application/x-ndjson',
        '--data-binary',
        body,
        '--write-out',
        '\n%{http_code}',
        `${sluice.url}/v1/streams/${stream}/records`,
      ],
      process.env,
    );

  it('stores the lines of a request curl signed with a configured key; a wrong secret is refused', async () => {
    const lines = ['{"client":"curl","line":1}\n', '{"client":"curl","line":2}\n'];
    const ok = await curl(KEY, lines.join(''));
    expect(ok.code, describeRun('curl --aws-sigv4', ok, sluice.logs())).toBe(0);
    const [answer, status] = ok.stdout.split('\n');
    expect(status).toBe('200');
    expect(JSON.parse(answer ?? '')).toEqual({
      stream,
      records: 2,
      recordIds: [expect.any(String), expect.any(String)],
    });
    accepted.push(...lines);

    const wrong = await curl(WRONG_SECRET, '{"refused":true}\n');
    expect(wrong.code, describeRun('curl --aws-sigv4 (wrong secret)', wrong)).toBe(0);
    const [refusal, refusedStatus] = wrong.stdout.split('\n');
    expect(refusedStatus).toBe('400');
    expect(JSON.parse(refusal ?? '')).toMatchObject({ message: MISMATCH });
  });
});

describe('what was accepted', () => {
  it('is delivered, and nothing that was refused is', async () => {
    await waitForDrain(redis, stream, sluice);
    const keys = (await s3.listKeys(BUCKET)).filter((k) => k.includes(`/${stream}-`));
    const bodies = await Promise.all(keys.map(async (k) => (await s3.getObject(BUCKET, k)).body));
    const lines = Buffer.concat(bodies)
      .toString('utf8')
      .split(/(?<=\n)/);
    expect(lines.sort()).toEqual([...accepted].sort());
  });
});

describe('start-up', () => {
  it('never logs a secret, and names the accepted key ids', async () => {
    const line = await sluice.waitForLog(/API requests must be signed/);
    expect(line).toContain(KEY.accessKeyId);
    expect(sluice.logs()).not.toContain(KEY.secretAccessKey);
    expect(sluice.logs()).not.toContain('another-secret');
    expect(sluice.logs()).not.toMatch(/without authentication/);
  });

  it('warns when the API listens beyond loopback without keys', async () => {
    const open = await startService(suite, { ...servers.sluiceEnv, SLUICE_HOST: '0.0.0.0' });
    const warning = await open.waitForLog(/without authentication/);
    expect(JSON.parse(warning)).toMatchObject({ level: 40, host: '0.0.0.0' });
    await open.stop();
  });

  it('refuses a malformed key setting without printing the secret', async () => {
    const secret = 'pasted-alone-by-mistake/9f8e7d';
    const failure = await startSluice({
      env: {
        ...servers.sluiceEnv,
        SLUICE_ACCESS_KEYS: `${KEY.accessKeyId}:${KEY.secretAccessKey},${secret}`,
      },
    }).then(
      (started) => {
        suite.add(() => started.kill());
        return 'started';
      },
      (error: unknown) => (error as Error).message,
    );
    expect(failure).toContain("SLUICE_ACCESS_KEYS: entry 2 has no ':'");
    expect(failure).not.toContain(secret);
    expect(failure).not.toContain(KEY.secretAccessKey);
  });
});
