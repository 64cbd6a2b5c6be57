import { gunzipSync } from 'node:zlib';
import { UpdateDestinationCommand } from '@aws-sdk/client-firehose';
import { describe, expect, it } from 'vitest';
import {
  cleanupAfterEach,
  createS3Stream,
  eventually,
  expectExactlyOnce,
  firehoseFor,
  putRecordBatch,
  requestRecords,
  startServers,
  startService,
  UUID,
  waitForDrain,
  type Delivered,
} from '../support/e2e.js';
import { startOutageProxy } from '../support/outage-proxy.js';
import type { S3Server } from '../support/s3-server.js';
import type { SluiceProcess } from '../support/sluice-process.js';

/**
 * A batch's destination is fixed by its first delivery attempt: when S3 is down across an
 * UpdateDestination, the batches that already tried are retried to where they first went (old
 * bucket, old prefix, old compression), never written under their old key into the new bucket
 * or into both; batches first tried after the update go to the new destination.
 */

const OLD_BUCKET = 'before-update';
const NEW_BUCKET = 'after-update';
/** Fast sealing and retries, so the outage and the recovery take seconds. */
const SETTINGS = {
  SLUICE_SEAL_TICK_MS: '50',
  SLUICE_RETRY_BASE_MS: '100',
  SLUICE_RETRY_MAX_MS: '1000',
  SLUICE_SWEEP_AFTER_MS: '500',
};

const cleanups = cleanupAfterEach();

/** Ids of the batches of `stream` whose first delivery attempt failed, from the service's log. */
function failedBatches(sluice: SluiceProcess, stream: string): Set<string> {
  const ids = sluice
    .logRecords()
    .filter((r) => r.stream === stream && r.msg === 'delivery failed; will retry')
    .map((r) => String(r.batchId));
  return new Set(ids);
}

/** Every record in `bucket`, by id, with each object's key checked and its body decoded. */
async function recordsIn(
  s3: S3Server,
  bucket: string,
  check: (key: string, contentEncoding: string | undefined) => void,
  decode: (body: Buffer) => Buffer,
): Promise<Map<string, Delivered[]>> {
  const byId = new Map<string, Delivered[]>();
  for (const key of await s3.listKeys(bucket)) {
    const object = await s3.getObject(bucket, key);
    check(key, object.contentEncoding);
    const text = decode(object.body).toString('utf8');
    expect(text.endsWith('\n'), `${key} ends inside a record`).toBe(true);
    for (const line of text.slice(0, -1).split('\n')) {
      const id = (JSON.parse(line) as { id: string }).id;
      byId.set(id, [...(byId.get(id) ?? []), { key, text: `${line}\n` }]);
    }
  }
  return byId;
}

describe('UpdateDestination while S3 is down', () => {
  it('retries every batch to the target of its first attempt; later batches go to the new one', async () => {
    const servers = await startServers(cleanups);
    const { s3, redis } = servers;
    await s3.createBucket(OLD_BUCKET);
    await s3.createBucket(NEW_BUCKET);
    const proxy = await startOutageProxy(s3.endpoint);
    cleanups.add(() => proxy.close());
    const sluice = await startService(cleanups, {
      ...servers.sluiceEnv,
      ...SETTINGS,
      SLUICE_S3_ENDPOINT: proxy.endpoint,
    });
    const firehose = firehoseFor(cleanups, sluice, { maxAttempts: 3 });
    // IntervalInSeconds 0: every request is a batch of its own.
    const stream = await createS3Stream(firehose, 'update', OLD_BUCKET, {
      Prefix: 'old/',
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
    });

    const before = new Map<string, string>();
    const after = new Map<string, string>();
    let request = 0;
    const put = async (into: Map<string, string>) => {
      const records = requestRecords('run', request++);
      const out = await putRecordBatch(
        firehose,
        stream,
        records.map((r) => r.text),
      );
      expect(out.FailedPutCount).toBe(0);
      for (const r of records) into.set(r.id, r.text);
    };
    const failedAtLeast = (count: number) =>
      eventually(
        `${count} batches of ${stream} to fail a first delivery attempt`,
        () => failedBatches(sluice, stream).size >= count,
        { sluice, timeoutMs: 60_000 },
      );

    // Uploads that complete while their answers are lost: the objects exist in the old bucket,
    // and Sluice retries them.
    proxy.mode = 'lose-response';
    for (let i = 0; i < 3; i++) await put(before);
    await failedAtLeast(3);
    await eventually(
      'the lost uploads to be in the old bucket',
      async () => (await s3.listKeys(OLD_BUCKET)).length > 0,
      { sluice },
    );
    // Then S3 refuses everything.
    proxy.mode = 'unavailable';
    for (let i = 0; i < 3; i++) await put(before);
    await failedAtLeast(6);

    await firehose.send(
      new UpdateDestinationCommand({
        DeliveryStreamName: stream,
        CurrentDeliveryStreamVersionId: '1',
        DestinationId: 'destinationId-000000000001',
        ExtendedS3DestinationUpdate: {
          BucketARN: `arn:aws:s3:::${NEW_BUCKET}`,
          Prefix: 'new/',
          CompressionFormat: 'GZIP',
        },
      }),
    );
    for (let i = 0; i < 3; i++) await put(after);
    await failedAtLeast(9);

    proxy.mode = 'forward';
    await waitForDrain(redis, stream, sluice, 60_000);

    const date = '\\d{4}/\\d{2}/\\d{2}/\\d{2}/';
    const stamp = '\\d{4}(-\\d{2}){5}';
    const oldKey = new RegExp(`^old/${date}${stream}-1-${stamp}-${UUID}$`);
    const newKey = new RegExp(`^new/${date}${stream}-2-${stamp}-${UUID}\\.gz$`);
    const inOld = await recordsIn(
      s3,
      OLD_BUCKET,
      (key, encoding) => {
        expect(key).toMatch(oldKey);
        expect(encoding, key).toBeUndefined();
      },
      (body) => body,
    );
    const inNew = await recordsIn(
      s3,
      NEW_BUCKET,
      (key, encoding) => {
        expect(key).toMatch(newKey);
        expect(encoding, key).toBe('gzip');
      },
      (body) => gunzipSync(body),
    );
    // Exactly once in the right bucket; nothing from the other side (so nothing in both).
    expectExactlyOnce(before, inOld);
    expectExactlyOnce(after, inNew);
  });
});
