import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSluice, startCliSluice, type CliSluice } from '../support/cli-sluice.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

/**
 * The Firehose-API commands against a Sluice that requires SigV4 (access keys configured):
 * signed with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY they work, unsigned they are refused
 * with the server's reason.
 */

const KEY = { id: 'AKIDCLITEST', secret: 'cli-test-secret' };
let redis: RedisServer;
let sluice: CliSluice;
let dir: string;

beforeAll(async () => {
  redis = await startRedisServer();
  sluice = await startCliSluice({ SLUICE_REDIS_URL: redis.url }, new Map([[KEY.id, KEY.secret]]));
  dir = await mkdtemp(join(tmpdir(), 'sluice-cli-signed-'));
}, 60_000);
afterAll(async () => {
  await sluice?.close();
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const signed = { AWS_ACCESS_KEY_ID: KEY.id, AWS_SECRET_ACCESS_KEY: KEY.secret };

describe('the CLI against a Sluice with access keys', () => {
  it('signs streams, put and stats requests with the AWS keys of the environment', async () => {
    const list = await runSluice(sluice.endpoint, ['streams', 'list', '--json'], { env: signed });
    expect(list).toEqual({
      code: 0,
      stdout: `${JSON.stringify({ DeliveryStreamNames: [], HasMoreDeliveryStreams: false }, null, 2)}\n`,
      stderr: '',
    });
    const put = await runSluice(sluice.endpoint, ['put', '--stream', 'absent'], {
      env: signed,
      stdin: 'x\n',
    });
    expect(put.stderr).toContain('there is no delivery stream "absent" at this Sluice');
    const stats = await runSluice(sluice.endpoint, ['stats', '--json'], { env: signed });
    expect(stats).toEqual({ code: 0, stdout: '{\n  "streams": []\n}\n', stderr: '' });
    const path = join(dir, 'stream.json');
    await writeFile(
      path,
      JSON.stringify({
        DeliveryStreamName: 'signed',
        ExtendedS3DestinationConfiguration: {
          RoleARN: 'arn:aws:iam::000000000000:role/firehose',
          BucketARN: 'arn:aws:s3:::signed-bucket',
        },
      }),
    );
    const create = await runSluice(sluice.endpoint, ['streams', 'create', '--file', path], {
      env: signed,
    });
    expect(create.code).toBe(0);
    const putOne = await runSluice(sluice.endpoint, ['put', '--stream', 'signed'], {
      env: signed,
      stdin: '{"a":1}\n',
    });
    expect(putOne).toEqual({
      code: 0,
      stdout: 'Put 1 record into signed in 1 request.\n',
      stderr: '',
    });
  });

  it('is refused unsigned, with the reason', async () => {
    const run = await runSluice(sluice.endpoint, ['streams', 'list']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^sluice streams: .*\(MissingAuthenticationTokenException\)\n$/);
  });

  it('is refused with a wrong secret', async () => {
    const run = await runSluice(sluice.endpoint, ['streams', 'list'], {
      env: { ...signed, AWS_SECRET_ACCESS_KEY: 'wrong' },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/\(InvalidSignatureException\)\n$/);
  });
});
