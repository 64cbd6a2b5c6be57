import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeDeliveryStreamCommand } from '@aws-sdk/client-firehose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { runSluice, startCliSluice, type CliSluice } from '../support/cli-sluice.js';

/**
 * `sluice streams` driven as a user would, in-process, against the real API on a private Redis
 * (so `list` sees exactly the streams made here): exact outputs and exit codes.
 */

const ROLE = 'arn:aws:iam::000000000000:role/firehose';
let redis: RedisServer;
let sluice: CliSluice;
let dir: string;

beforeAll(async () => {
  redis = await startRedisServer();
  sluice = await startCliSluice({ SLUICE_REDIS_URL: redis.url });
  dir = await mkdtemp(join(tmpdir(), 'sluice-cli-streams-'));
}, 60_000);
afterAll(async () => {
  await sluice?.close();
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const cli = (...args: string[]) => runSluice(sluice.endpoint, args);

function request(name: string, bucket = 'bucket-1'): Record<string, unknown> {
  return {
    DeliveryStreamName: name,
    ExtendedS3DestinationConfiguration: { RoleARN: ROLE, BucketARN: `arn:aws:s3:::${bucket}` },
  };
}

async function file(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

describe('sluice streams', () => {
  it('lists nothing on a fresh Sluice', async () => {
    expect(await cli('streams', 'list')).toEqual({
      code: 0,
      stdout: "No delivery streams. Create one with 'sluice streams create --file <json>'.\n",
      stderr: '',
    });
    const json = await cli('streams', 'list', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      DeliveryStreamNames: [],
      HasMoreDeliveryStreams: false,
    });
  });

  it('creates from one request and from a streams file, lists, describes and deletes', async () => {
    const one = await file('one.json', JSON.stringify(request('alpha')));
    const created = await cli('streams', 'create', '--file', one);
    expect(created).toEqual({
      code: 0,
      stdout:
        'Created stream alpha (arn:aws:firehose:us-east-1:000000000000:deliverystream/alpha).\n',
      stderr: '',
    });
    const many = await file(
      'many.json',
      JSON.stringify({
        DeliveryStreams: [request('beta', 'bucket-2'), request('gamma', 'bucket-3')],
      }),
    );
    const createdJson = await cli('streams', 'create', '--file', many, '--json');
    expect(createdJson.code).toBe(0);
    expect(JSON.parse(createdJson.stdout)).toEqual({
      created: [
        {
          DeliveryStreamName: 'beta',
          DeliveryStreamARN: 'arn:aws:firehose:us-east-1:000000000000:deliverystream/beta',
        },
        {
          DeliveryStreamName: 'gamma',
          DeliveryStreamARN: 'arn:aws:firehose:us-east-1:000000000000:deliverystream/gamma',
        },
      ],
    });

    // The SDK sees what the CLI created.
    const sdk = await sluice.api.firehose.send(
      new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'beta' }),
    );
    expect(sdk.DeliveryStreamDescription?.DeliveryStreamStatus).toBe('ACTIVE');

    const list = await cli('streams', 'list');
    expect(list.code).toBe(0);
    expect(list.stderr).toBe('');
    const lines = list.stdout.split('\n');
    expect(lines[0]).toMatch(/^NAME +STATUS +DESTINATION +CREATED$/);
    expect(lines.slice(1, 4).map((l) => l.split(/ +/).slice(0, 3))).toEqual([
      ['alpha', 'ACTIVE', 'ExtendedS3'],
      ['beta', 'ACTIVE', 'ExtendedS3'],
      ['gamma', 'ACTIVE', 'ExtendedS3'],
    ]);
    expect(lines[1]).toMatch(/ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(lines.slice(4)).toEqual(['']);
    expect(JSON.parse((await cli('streams', 'list', '--json')).stdout)).toEqual({
      DeliveryStreamNames: ['alpha', 'beta', 'gamma'],
      HasMoreDeliveryStreams: false,
    });

    const described = await cli('streams', 'describe', 'beta');
    expect(described.code).toBe(0);
    expect(described.stdout).toContain('DeliveryStreamName: beta\n');
    expect(described.stdout).toContain('DeliveryStreamStatus: ACTIVE\n');
    expect(described.stdout).toContain(`    BucketARN: arn:aws:s3:::bucket-2\n`);
    expect(described.stdout).toMatch(/\nCreateTimestamp: \d{4}-\d\d-\d\dT[\d:.]+Z\n/);
    expect(described.stdout).toMatch(
      /\nDestinations:\n {2}- DestinationId: destinationId-000000000001\n/,
    );
    const describedJson = JSON.parse(
      (await cli('streams', 'describe', 'beta', '--json')).stdout,
    ) as { DeliveryStreamDescription: { DeliveryStreamName: string; VersionId: string } };
    expect(describedJson.DeliveryStreamDescription.DeliveryStreamName).toBe('beta');
    expect(describedJson.DeliveryStreamDescription.VersionId).toBe(
      sdk.DeliveryStreamDescription?.VersionId,
    );

    expect(await cli('streams', 'delete', 'gamma')).toEqual({
      code: 0,
      stdout:
        'Deleting stream gamma: it takes no more records, and is removed once its buffered records are delivered.\n',
      stderr: '',
    });
    expect((await cli('streams', 'describe', 'gamma')).stdout).toContain(
      'DeliveryStreamStatus: DELETING\n',
    );
  });

  it('stops at the first stream the server refuses, saying what was created before', async () => {
    const path = await file(
      'exists.json',
      JSON.stringify({ DeliveryStreams: [request('delta'), request('alpha'), request('epsilon')] }),
    );
    const run = await cli('streams', 'create', '--file', path);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(
      'Created stream delta (arn:aws:firehose:us-east-1:000000000000:deliverystream/delta).\n',
    );
    expect(run.stderr).toMatch(
      /^sluice streams: stream "alpha" \(DeliveryStreams\[1\]\) was not created: .* \(ResourceInUseException\) \(it exists already: 'sluice streams delete' it first, or leave it out of the file\); created before it: delta\n$/,
    );
    expect((await cli('streams', 'describe', 'epsilon')).code).toBe(1);
  });

  it('says what to do about a stream that does not exist', async () => {
    const hint =
      "there is no delivery stream \"nope\" at this Sluice; 'sluice streams list' shows the streams, 'sluice streams create --file <json>' creates one";
    expect(await cli('streams', 'describe', 'nope')).toEqual({
      code: 1,
      stdout: '',
      stderr: `sluice streams: ${hint}\n`,
    });
    expect(await cli('streams', 'delete', 'nope')).toEqual({
      code: 1,
      stdout: '',
      stderr: `sluice streams: ${hint}\n`,
    });
  });

  it('refuses bad files and command lines with exit code 2, sending nothing', async () => {
    const missing = join(dir, 'missing.json');
    const run = await cli('streams', 'create', '--file', missing);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `sluice streams: cannot read --file ${missing}: ENOENT: no such file or directory, open '${missing}'\nRun 'sluice streams --help' for usage.\n`,
    );
    const bad = await file('bad.json', '{"DeliveryStreamName": ');
    const badRun = await cli('streams', 'create', '--file', bad);
    expect(badRun.code).toBe(2);
    expect(badRun.stderr).toMatch(
      new RegExp(
        `^sluice streams: --file ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid JSON: `,
      ),
    );
    const shape = await file('shape.json', '{"DeliveryStreams": [{"Name": "x"}]}');
    expect((await cli('streams', 'create', '--file', shape)).stderr).toBe(
      `sluice streams: --file ${shape}: DeliveryStreams[0] must be a CreateDeliveryStream request with a "DeliveryStreamName" string\nRun 'sluice streams --help' for usage.\n`,
    );
    expect(await cli('streams')).toEqual({
      code: 2,
      stdout: '',
      stderr:
        "sluice streams: missing subcommand: one of list, describe, create, delete\nRun 'sluice streams --help' for usage.\n",
    });
    expect((await cli('streams', 'rename', 'x')).stderr).toBe(
      'sluice streams: unknown subcommand "rename": one of list, describe, create, delete\nRun \'sluice streams --help\' for usage.\n',
    );
    expect((await cli('streams', 'describe')).stderr).toBe(
      "sluice streams: missing stream name: sluice streams describe <name>\nRun 'sluice streams --help' for usage.\n",
    );
    expect((await cli('streams', 'create')).stderr).toBe(
      "sluice streams: missing --file <json>\nRun 'sluice streams --help' for usage.\n",
    );
    expect((await cli('streams', 'describe', 'bad name')).code).toBe(2);
    expect(
      (
        JSON.parse((await cli('streams', 'list', '--json')).stdout) as {
          DeliveryStreamNames: string[];
        }
      ).DeliveryStreamNames,
    ).toEqual(['alpha', 'beta', 'delta', 'gamma']);
  });

  it('says Sluice is not reachable, and how to point at it', async () => {
    const port = await freePort();
    const run = await runSluice(`http://127.0.0.1:${port}`, ['streams', 'list']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^sluice streams: cannot reach Sluice at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED.*\. Is it running\? Point --endpoint or SLUICE_ENDPOINT at it\.\n$/,
    );
  });

  it('prints its help', async () => {
    const run = await cli('streams', 'list', '--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^Usage: sluice streams <list \| describe <name> \| create --file <json> \| delete <name>> \[options\]\n/,
    );
    expect(run.stdout).toContain('--file <json>');
  });
});
