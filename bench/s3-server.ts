import { fileURLToPath } from 'node:url';

import {
  CreateBucketCommand,
  ListObjectsV2Command,
  S3Client,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';

import { Child, makeTempDir } from './children.js';
import { waitForPort } from './ipc-port.js';

/** s3rver accepts only its built-in key pair. */
const ACCESS_KEY_ID = 'S3RVER';
const SECRET_ACCESS_KEY = 'S3RVER';
const REGION = 'us-east-1';
const READY_TIMEOUT_MS = 15_000;
/** Upper bound on listing pages (1,000 keys each), so a listing bug cannot loop forever. */
const MAX_LIST_PAGES = 1_000;

const CHILD_SCRIPT = fileURLToPath(new URL('./s3rver-child.js', import.meta.url));

/** Totals of the objects in a bucket. */
export interface BucketUsage {
  objects: number;
  bytes: number;
}

/** A private s3rver for the bench, with a client and the environment Sluice needs to use it. */
export interface BenchS3 {
  readonly endpoint: string;
  readonly child: Child;
  readonly client: S3Client;
  /** `SLUICE_S3_*` and AWS credential variables for a Sluice process delivering here. */
  readonly sluiceEnv: Readonly<Record<string, string>>;
  /** Object count and stored bytes in `bucket`, only counting keys that contain `match`. */
  usage(bucket: string, match: string): Promise<BucketUsage>;
}

/**
 * Starts s3rver in a child process (with `--openssl-legacy-provider`) on a free loopback port,
 * with a fresh temporary directory, and creates `bucket`.
 *
 * @throws when the child does not report its port within 15 s or the bucket cannot be created.
 */
export async function startS3(bucket: string): Promise<BenchS3> {
  const dir = makeTempDir('s3');
  const child = new Child(
    's3rver',
    process.execPath,
    ['--openssl-legacy-provider', CHILD_SCRIPT, dir],
    { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
  );
  const port = await waitForPort(child, READY_TIMEOUT_MS);
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    // s3rver predates the SDK's default CRC32 checksums and rejects or mangles them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));

  return {
    endpoint,
    child,
    client,
    sluiceEnv: {
      SLUICE_S3_ENDPOINT: endpoint,
      SLUICE_S3_FORCE_PATH_STYLE: 'true',
      SLUICE_S3_REGION: REGION,
      AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
      AWS_REGION: REGION,
    },
    async usage(name, match) {
      const total: BucketUsage = { objects: 0, bytes: 0 };
      let token: string | undefined;
      for (let page = 0; page < MAX_LIST_PAGES; page += 1) {
        const out: ListObjectsV2CommandOutput = await client.send(
          new ListObjectsV2Command({ Bucket: name, ContinuationToken: token }),
        );
        for (const object of out.Contents ?? []) {
          if (object.Key?.includes(match)) {
            total.objects += 1;
            total.bytes += object.Size ?? 0;
          }
        }
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
        if (token === undefined) return total;
      }
      throw new Error(`listing ${name} did not end within ${MAX_LIST_PAGES} pages`);
    },
  };
}
