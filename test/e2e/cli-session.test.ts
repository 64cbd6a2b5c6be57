import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupAfterAll,
  eventually,
  s3Destination,
  startServers,
  startService,
  tempDir,
  type Servers,
} from '../support/e2e.js';
import type { SluiceProcess } from '../support/sluice-process.js';
import { uniqueName } from '../support/unique.js';

const CLI = new URL('../../dist/src/cli/main.js', import.meta.url).pathname;
const KEY_ID = 'AKIDCLISESSION';
const SECRET = 'cli-session-secret';
const BUCKET = 'cli-session';

const suite = cleanupAfterAll();
let servers: Servers;
let sluice: SluiceProcess;
let workDir: string;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built `sluice` command in its own process as a user would: the endpoint from
 * `SLUICE_ENDPOINT`, credentials from the AWS variables, `input` on its standard input.
 */
function sluiceCli(
  args: readonly string[],
  options: { input?: string; credentials?: { id: string; secret: string } } = {},
): Promise<CliRun> {
  const { id, secret } = options.credentials ?? { id: KEY_ID, secret: SECRET };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        SLUICE_ENDPOINT: sluice.url,
        AWS_ACCESS_KEY_ID: id,
        AWS_SECRET_ACCESS_KEY: secret,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

beforeAll(async () => {
  servers = await startServers(suite);
  await servers.s3.createBucket(BUCKET);
  workDir = await tempDir(suite, 'sluice-cli-session-');
  sluice = await startService(suite, {
    ...servers.sluiceEnv,
    SLUICE_ACCESS_KEYS: `${KEY_ID}:${SECRET}`,
    SLUICE_SEAL_TICK_MS: '50',
  });
}, 60_000);

describe('the sluice CLI as a user drives it, against a running Sluice that requires signatures', () => {
  it('creates a stream from a file, puts lines from stdin, sees them delivered in stats, and deletes it', async () => {
    const stream = uniqueName('cli-session');
    const file = join(workDir, 'streams.json');
    await writeFile(
      file,
      JSON.stringify({
        DeliveryStreams: [
          {
            DeliveryStreamName: stream,
            ExtendedS3DestinationConfiguration: s3Destination(BUCKET, {
              Prefix: `${stream}/`,
              BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
            }),
          },
        ],
      }),
    );
    const created = await sluiceCli(['streams', 'create', '--file', file]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(`Created stream ${stream}`);

    const listed = await sluiceCli(['streams', 'list', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(
      (JSON.parse(listed.stdout) as { DeliveryStreamNames: string[] }).DeliveryStreamNames,
    ).toContain(stream);

    const lines = ['{"page":"/a"}', '{"page":"/b"}', '', 'plain text ü'];
    const put = await sluiceCli(['put', '--stream', stream, '--json'], {
      input: `${lines.join('\n')}\n`,
    });
    expect(put.code, put.stderr).toBe(0);
    expect(JSON.parse(put.stdout)).toMatchObject({ stream, records: 3, sent: 3, failed: 0 });

    const delivered = await eventually(
      `3 records of ${stream} delivered, by sluice stats`,
      async () => {
        const stats = await sluiceCli(['stats', '--stream', stream, '--json']);
        if (stats.code !== 0) return undefined;
        const figures = JSON.parse(stats.stdout) as {
          stream: string;
          status: string;
          incomingRecords: number;
          deliveredRecords: number;
          backlogRecords: number;
        };
        return figures.deliveredRecords === 3 ? figures : undefined;
      },
      { sluice },
    );
    expect(delivered).toMatchObject({
      stream,
      status: 'ACTIVE',
      incomingRecords: 3,
      backlogRecords: 0,
    });
    const keys = (await servers.s3.listKeys(BUCKET)).filter((k) => k.startsWith(`${stream}/`));
    const body = (
      await Promise.all(keys.map(async (k) => (await servers.s3.getObject(BUCKET, k)).body))
    )
      .map((b) => b.toString('utf8'))
      .join('');
    expect(body.split('\n').filter(Boolean).sort()).toEqual(
      ['{"page":"/a"}', '{"page":"/b"}', 'plain text ü'].sort(),
    );

    const described = await sluiceCli(['streams', 'describe', stream]);
    expect(described.code, described.stderr).toBe(0);
    expect(described.stdout).toContain(`DeliveryStreamName: ${stream}`);

    const deleted = await sluiceCli(['streams', 'delete', stream]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain(`Deleting stream ${stream}`);
  });

  it('says what to do, with the documented exit codes, when the user gets it wrong', async () => {
    const missing = await sluiceCli(['streams', 'describe', 'no-such-stream-here']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('there is no delivery stream "no-such-stream-here"');
    expect(missing.stderr).toContain('sluice streams list');

    const noStream = await sluiceCli(['put'], { input: 'x\n' });
    expect(noStream.code).toBe(2);
    expect(noStream.stderr).toMatch(/--stream/);

    const wrongKey = await sluiceCli(['streams', 'list'], {
      credentials: { id: KEY_ID, secret: 'not-the-secret' },
    });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).not.toContain('not-the-secret');
    expect(wrongKey.stderr.length).toBeGreaterThan(0);

    const unknown = await sluiceCli(['strems', 'list']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.length).toBeGreaterThan(0);
  });
});
