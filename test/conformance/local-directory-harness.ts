import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  pollUntil,
  readErrorObject,
  uniqueBucket,
  type DeliveredWrite,
  type DestinationHarness,
  type DestinationTarget,
  type ErrorOutputObject,
  type StreamOptions,
} from './destination-harness.js';
import { blockDirectory, listObjects, partialFiles, unblockDirectory } from './local-files.js';
import { DATA_PREFIX, ERROR_PREFIX, s3Members, type S3Member } from './s3-layout.js';

/**
 * An S3 destination delivered into Sluice's local-directory store (`SLUICE_S3_ENDPOINT`
 * empty): objects are files under `SLUICE_DATA_DIR/s3/<bucket>/<key>`. No server to start.
 *
 * Faults: retryable — a regular file where the bucket's directory goes, so every write fails
 * (EEXIST/ENOTDIR, which the S3 classifier retries); permanent — a `Prefix` that leads out of
 * the bucket (`../`), which the store refuses for good (`LocalKeyError`, `S3.InvalidRequest`).
 * A write here takes milliseconds and cannot be slowed, so a delivery is caught in the middle
 * by writing a large batch and watching for the store's `*.partial` file.
 */
export function localDirectoryHarness(member: S3Member): DestinationHarness {
  let dataDir: string | undefined;
  const started = (): string => {
    if (dataDir === undefined) throw new Error('local directory harness: not started');
    return dataDir;
  };
  return {
    name: `local directory (${member})`,
    member,
    failureRouting: {
      kind: 'dead-set',
      permanentCode: 'S3.InvalidRequest',
      retryableReason: /EEXIST|ENOTDIR/,
    },
    partialRetry: {
      notApplicable:
        'an S3 batch is one object, written whole or not at all: there is no part of it to retry alone',
    },
    inFlightWindow: 'large-write',
    async start() {
      dataDir = await mkdtemp(join(tmpdir(), 'sluice-conformance-local-'));
    },
    async stop() {
      if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
      dataDir = undefined;
    },
    env: () => ({ SLUICE_S3_ENDPOINT: '', SLUICE_DATA_DIR: started() }),
    // The store's root: SLUICE_DATA_DIR/s3.
    target: () => Promise.resolve(localTarget(member, join(started(), 's3'))),
  };
}

function localTarget(member: S3Member, root: string): DestinationTarget {
  const bucket = uniqueBucket('conf-local');
  const bucketDir = join(root, bucket);
  // A key under this Prefix resolves outside the bucket: the store must refuse it.
  const escapingPrefix = `../${bucket}-outside/`;
  let permanent = false;

  const objects = async (prefix: string): Promise<{ key: string; body: Buffer }[]> => {
    const keys = (await listObjects(bucketDir)).filter((key) => key.startsWith(prefix));
    return Promise.all(
      keys.map(async (key) => ({ key, body: await readFile(join(bucketDir, key)) })),
    );
  };

  return {
    members: (options: StreamOptions) =>
      s3Members(member, bucket, permanent ? escapingPrefix : DATA_PREFIX, options),
    async delivered(): Promise<DeliveredWrite[]> {
      if (await exists(join(root, `${bucket}-outside`))) {
        throw new Error(`the local store wrote outside bucket ${bucket}`);
      }
      return (await objects(DATA_PREFIX)).map(({ key, body }) => ({
        identity: key,
        records: undefined,
        bytes: body,
      }));
    },
    // A local write leaves no trace of a failed attempt.
    attempts: () => undefined,
    async errorOutput(): Promise<ErrorOutputObject[]> {
      return (await objects(ERROR_PREFIX)).map(({ key, body }) => readErrorObject(key, body));
    },
    failRetryable: () => blockDirectory(bucketDir),
    failPermanent() {
      permanent = true;
      return Promise.resolve();
    },
    async recover() {
      permanent = false;
      await unblockDirectory(bucketDir);
    },
    slowDeliveries: () => undefined,
    deliveryInFlight: (timeoutMs) =>
      pollUntil(
        `a *.partial object being written in ${bucketDir}`,
        async () => (await partialFiles(bucketDir)).length > 0,
        timeoutMs,
      ),
    errorOutputFaults: undefined,
    scriptRequests: undefined,
    close: () => Promise.resolve(),
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
