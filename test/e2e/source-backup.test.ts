import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  DescribeDeliveryStreamCommand,
  UpdateDestinationCommand,
  type FirehoseClient,
  type Processor,
} from '@aws-sdk/client-firehose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupAfterAll,
  createS3Stream,
  eventually,
  firehoseFor,
  putRecordBatch,
  startServers,
  startService,
  tempDir,
  UUID,
  type Servers,
} from '../support/e2e.js';
import { streamKeys } from '../../src/streams/keys.js';
import { uniqueName } from '../support/unique.js';
import type { SluiceProcess } from '../support/sluice-process.js';

/**
 * The source-record backup (`S3BackupMode` Enabled) end to end through the Firehose API,
 * against a real Sluice process, real Redis and a real S3-protocol server: the records as they
 * arrived go to the backup bucket, the transformed ones to the destination; each is written
 * once, and a backup that cannot be written holds back neither the delivery nor itself.
 */

const BUCKET = 'main-bucket';
const KIT = new URL('../../dist/src/processors/transforms/transform-kit.js', import.meta.url).href;
const ROLE = 'arn:aws:iam::000000000000:role/firehose';

const suite = cleanupAfterAll();
let servers: Servers;
let sluice: SluiceProcess;
let firehose: FirehoseClient;

const UPPER: Processor = {
  Type: 'Lambda',
  Parameters: [
    { ParameterName: 'LambdaArn', ParameterValue: 'sluice:transform:upper' },
    { ParameterName: 'BufferIntervalInSeconds', ParameterValue: '0' },
  ],
};

/** The backup configuration: its own bucket, prefix, buffering and compression. */
function backupTo(bucket: string, compression: 'GZIP' | 'UNCOMPRESSED' = 'GZIP') {
  return {
    S3BackupMode: 'Enabled' as const,
    S3BackupConfiguration: {
      RoleARN: ROLE,
      BucketARN: `arn:aws:s3:::${bucket}`,
      Prefix: 'source/',
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
      CompressionFormat: compression,
    },
  };
}

/** The bodies of every object of `stream` in `bucket` (gunzipped for `.gz`), by key. */
async function bodiesOf(bucket: string, stream: string): Promise<Map<string, string>> {
  const keys = (await servers.s3.listKeys(bucket)).filter((k) => k.includes(`${stream}-`));
  const bodies = new Map<string, string>();
  for (const key of keys) {
    const { body } = await servers.s3.getObject(bucket, key);
    // gzip's header (RFC 1952 XFL): 4 for deflate's fastest, SLUICE_GZIP_LEVEL 1.
    if (key.endsWith('.gz')) expect(body[8], key).toBe(4);
    bodies.set(key, (key.endsWith('.gz') ? gunzipSync(body) : body).toString('utf8'));
  }
  return bodies;
}

/** The lines of `stream`'s objects in `bucket` once there are `count`, sorted. */
async function linesOnceThere(bucket: string, stream: string, count: number): Promise<string[]> {
  return eventually(
    `${count} records of ${stream} in ${bucket}`,
    async () => {
      const lines = [...(await bodiesOf(bucket, stream)).values()]
        .join('')
        .split('\n')
        .filter((line) => line !== '');
      return lines.length >= count ? lines.sort() : undefined;
    },
    { sluice, timeoutMs: 30_000 },
  );
}

function records(tag: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `{"tag":"${tag}","n":${i}}\n`);
}

beforeAll(async () => {
  servers = await startServers(suite);
  await servers.s3.createBucket(BUCKET);
  const transformsDir = await tempDir(suite, 'sluice-backup-transforms-');
  await writeFile(
    join(transformsDir, 'upper.mjs'),
    `import { defineTransform } from '${KIT}';
export default defineTransform({ decode: 'text', delimiter: '', record: (text) => text.toUpperCase() });
`,
  );
  sluice = await startService(suite, {
    ...servers.sluiceEnv,
    SLUICE_SEAL_TICK_MS: '50',
    SLUICE_RETRY_BASE_MS: '100',
    SLUICE_RETRY_MAX_MS: '500',
    SLUICE_SWEEP_AFTER_MS: '500',
    SLUICE_TRANSFORMS_DIR: transformsDir,
    // Not zlib's default, so that the backup copies show the setting reached them.
    SLUICE_GZIP_LEVEL: '1',
  });
  firehose = firehoseFor(suite, sluice, { maxAttempts: 3 });
}, 60_000);

describe('source-record backup (S3BackupMode Enabled)', () => {
  it('backs up the records as they arrived, and delivers them transformed', async () => {
    const backupBucket = uniqueName('backup').toLowerCase();
    await servers.s3.createBucket(backupBucket);
    const stream = await createS3Stream(firehose, 'backup-transform', BUCKET, {
      Prefix: 'delivered/',
      ErrorOutputPrefix: 'errors/',
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
      ProcessingConfiguration: { Enabled: true, Processors: [UPPER] },
      ...backupTo(backupBucket),
    });
    const sent = [...records('a', 300), ...records('b', 200)];
    await putRecordBatch(firehose, stream, sent.slice(0, 300));
    await putRecordBatch(firehose, stream, sent.slice(300));

    const delivered = await linesOnceThere(BUCKET, stream, sent.length);
    expect(delivered).toEqual(sent.map((r) => r.trim().toUpperCase()).sort());
    const backedUp = await linesOnceThere(backupBucket, stream, sent.length);
    expect(backedUp).toEqual(sent.map((r) => r.trim()).sort());

    // Firehose's layout under the backup's prefix, compressed as the backup says.
    const backupKeys = [...(await bodiesOf(backupBucket, stream)).keys()];
    for (const key of backupKeys) {
      expect(key).toMatch(
        new RegExp(`^source/\\d{4}/\\d{2}/\\d{2}/\\d{2}/${stream}-1-[\\d-]{19}-${UUID}\\.gz$`),
      );
    }
    const mainKeys = [...(await bodiesOf(BUCKET, stream)).keys()];
    expect(mainKeys.every((key) => key.startsWith('delivered/'))).toBe(true);

    const described = await firehose.send(
      new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream }),
    );
    const destination =
      described.DeliveryStreamDescription?.Destinations?.[0]?.ExtendedS3DestinationDescription;
    expect(destination?.S3BackupMode).toBe('Enabled');
    expect(destination?.S3BackupDescription?.BucketARN).toBe(`arn:aws:s3:::${backupBucket}`);
    expect(destination?.S3BackupDescription?.Prefix).toBe('source/');
  });

  it('backs up a stream without a transform: the same records in both buckets', async () => {
    const backupBucket = uniqueName('backup').toLowerCase();
    await servers.s3.createBucket(backupBucket);
    const stream = await createS3Stream(firehose, 'backup-plain', BUCKET, {
      Prefix: 'plain/',
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
      ...backupTo(backupBucket, 'UNCOMPRESSED'),
    });
    const sent = records('p', 250);
    await putRecordBatch(firehose, stream, sent);
    expect(await linesOnceThere(BUCKET, stream, sent.length)).toEqual(
      sent.map((r) => r.trim()).sort(),
    );
    expect(await linesOnceThere(backupBucket, stream, sent.length)).toEqual(
      sent.map((r) => r.trim()).sort(),
    );
  });

  it('delivers while the backup bucket is missing, then backs up every record once it exists', async () => {
    const backupBucket = uniqueName('late-backup').toLowerCase();
    const stream = await createS3Stream(firehose, 'backup-late', BUCKET, {
      Prefix: 'late/',
      ErrorOutputPrefix: 'late-errors/',
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
      ProcessingConfiguration: { Enabled: true, Processors: [UPPER] },
      ...backupTo(backupBucket),
    });
    const sent = records('late', 120);
    await putRecordBatch(firehose, stream, sent);
    // The delivery does not wait for the backup.
    expect(await linesOnceThere(BUCKET, stream, sent.length)).toEqual(
      sent.map((r) => r.trim().toUpperCase()).sort(),
    );
    // The backup's records wait, kept in the backlog, while their writes fail (NoSuchBucket).
    await eventually(
      'only the backup left in the backlog',
      async () => {
        const stats = await servers.redis.hgetall(streamKeys(stream).stats);
        return Number(stats.backlogRecords) === sent.length ? true : undefined;
      },
      { sluice, timeoutMs: 15_000 },
    );
    await servers.s3.createBucket(backupBucket);
    const backedUp = await linesOnceThere(backupBucket, stream, sent.length);
    expect(backedUp).toEqual(sent.map((r) => r.trim()).sort());
    // Once each: no record twice in either bucket.
    expect(await linesOnceThere(BUCKET, stream, sent.length)).toHaveLength(sent.length);
  });

  it('refuses Enabled without a backup configuration, and turning the backup off', async () => {
    await expect(
      createS3Stream(firehose, 'backup-bad', BUCKET, { S3BackupMode: 'Enabled' }),
    ).rejects.toThrow(
      'ExtendedS3DestinationConfiguration.S3BackupMode Enabled needs S3BackupConfiguration',
    );
    const backupBucket = uniqueName('backup').toLowerCase();
    const stream = await createS3Stream(firehose, 'backup-oneway', BUCKET, backupTo(backupBucket));
    const described = await firehose.send(
      new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream }),
    );
    await expect(
      firehose.send(
        new UpdateDestinationCommand({
          DeliveryStreamName: stream,
          CurrentDeliveryStreamVersionId: described.DeliveryStreamDescription?.VersionId,
          DestinationId: 'destinationId-000000000001',
          ExtendedS3DestinationUpdate: { S3BackupMode: 'Disabled' },
        }),
      ),
    ).rejects.toThrow('S3BackupMode cannot change from Enabled to Disabled');
  });
});
