import { fileURLToPath } from 'node:url';

import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  S3Client,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';

import { Child, removeTempDir, tempDirUntilExit } from './children.js';
import { waitForPort } from './ipc-port.js';

/** s3rver accepts only its built-in key pair. */
const ACCESS_KEY_ID = 'S3RVER';
const SECRET_ACCESS_KEY = 'S3RVER';
const REGION = 'us-east-1';

/** How long s3rver may take to start listening and answer a first request. */
const READY_TIMEOUT_MS = 15_000;
/** How long s3rver may take to exit after SIGTERM before it is killed. */
const EXIT_TIMEOUT_MS = 5_000;
/** Upper bound on listing pages, so a listing bug cannot loop forever (1,000 keys a page). */
const MAX_LIST_PAGES = 1_000;

/**
 * The child script next to this module: under vitest this module is the `.ts` source and node
 * must strip the child's types itself; the bench runs the compiled `.js` from `dist/devtools/`.
 */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const CHILD_SCRIPT = fileURLToPath(
  new URL(FROM_SOURCE ? './s3rver-child.ts' : './s3rver-child.js', import.meta.url),
);
/** `--openssl-legacy-provider`: s3rver's paginated listing needs it (and only s3rver should run with it). */
const CHILD_EXEC_ARGV = [
  ...(FROM_SOURCE ? ['--experimental-strip-types'] : []),
  '--openssl-legacy-provider',
];

/** An object read back by {@link S3Server.getObject}. */
export interface StoredObject {
  body: Buffer;
  contentEncoding?: string;
  contentType?: string;
}

/** Totals of the objects in a bucket, from {@link S3Server.usage}. */
export interface BucketUsage {
  objects: number;
  bytes: number;
}

/** Options for {@link startS3Server}. */
export interface S3ServerOptions {
  /** Start of the temporary directory's name (default `sluice-s3-`). */
  dirPrefix?: string;
}

/** A private S3-protocol server (s3rver) started by {@link startS3Server}. */
export interface S3Server {
  /** `http://127.0.0.1:<port>`; address buckets path-style. */
  readonly endpoint: string;
  /** Directory s3rver stores buckets and objects in. */
  readonly dir: string;
  /** The s3rver process: its pid for sampling, and its `exited` to notice a crash. */
  readonly child: Child;
  /** A client configured for this server (path style, s3rver's credentials, checksums only when required). */
  readonly client: S3Client;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  /**
   * Environment for a Sluice process that should deliver to this server; spread it into
   * `startSluice({ env })`.
   */
  readonly sluiceEnv: Readonly<Record<string, string>>;
  /** Creates a bucket (S3 bucket naming rules apply). */
  createBucket(name: string): Promise<void>;
  /** Every key in `bucket`, sorted, following continuation tokens across pages. */
  listKeys(bucket: string): Promise<string[]>;
  /** Object count and stored bytes in `bucket`, counting only keys that contain `match`. */
  usage(bucket: string, match: string): Promise<BucketUsage>;
  /** Reads an object's bytes and the headers Firehose sets on its deliveries. */
  getObject(bucket: string, key: string): Promise<StoredObject>;
  /** stderr of the s3rver process, for failure messages. */
  logs(): string;
  /** Stops s3rver, closes the client and deletes the directory. */
  stop(): Promise<void>;
}

/**
 * Starts s3rver on a free 127.0.0.1 port with a fresh temporary directory, and resolves once it
 * answers a ListBuckets request.
 *
 * s3rver runs in a child process because its paginated listing needs node's
 * `--openssl-legacy-provider`, which the test process should not run with, and so that its event
 * loop stays apart from the bench's load generator. The child picks its own port (port 0), so
 * there is no window in which another process can take it.
 *
 * @throws when the child fails to start or s3rver does not answer within 15 seconds; the message
 *   includes the child's stderr.
 */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  // Removed when this process exits if no stop() did it. The s3rver child itself also exits by
  // itself when its IPC channel closes.
  const dir = tempDirUntilExit(options.dirPrefix ?? 'sluice-s3-');
  const child = new Child('s3rver', process.execPath, [...CHILD_EXEC_ARGV, CHILD_SCRIPT, dir], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });

  let port: number;
  try {
    port = await waitForPort(child, READY_TIMEOUT_MS);
  } catch (err) {
    await child.stop(EXIT_TIMEOUT_MS);
    await removeTempDir(dir);
    throw err;
  }

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

  const stop = async (): Promise<void> => {
    client.destroy();
    await child.stop(EXIT_TIMEOUT_MS);
    await removeTempDir(dir);
  };

  try {
    await client.send(new ListBucketsCommand({}));
  } catch (err) {
    await stop();
    throw new Error(
      `s3rver on ${endpoint} does not answer ListBuckets: ${String(err)}\n${child.logs()}`,
      { cause: err },
    );
  }

  /** Calls `visit` with every object in `bucket`, following continuation tokens across pages. */
  const eachObject = async (
    bucket: string,
    visit: (object: NonNullable<ListObjectsV2CommandOutput['Contents']>[number]) => void,
  ): Promise<void> => {
    let token: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page += 1) {
      const out: ListObjectsV2CommandOutput = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
      );
      for (const object of out.Contents ?? []) visit(object);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
      if (token === undefined) return;
    }
    throw new Error(`listing ${bucket} did not end within ${MAX_LIST_PAGES} pages`);
  };

  return {
    endpoint,
    dir,
    child,
    client,
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    region: REGION,
    sluiceEnv: {
      SLUICE_S3_ENDPOINT: endpoint,
      SLUICE_S3_FORCE_PATH_STYLE: 'true',
      SLUICE_S3_REGION: REGION,
      AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
      AWS_REGION: REGION,
    },
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async listKeys(bucket) {
      const keys: string[] = [];
      await eachObject(bucket, (object) => {
        if (object.Key !== undefined) keys.push(object.Key);
      });
      return keys.sort();
    },
    async usage(bucket, match) {
      const total: BucketUsage = { objects: 0, bytes: 0 };
      await eachObject(bucket, (object) => {
        if (object.Key?.includes(match)) {
          total.objects += 1;
          total.bytes += object.Size ?? 0;
        }
      });
      return total;
    },
    async getObject(bucket, key) {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (out.Body === undefined) throw new Error(`s3://${bucket}/${key} has no body`);
      return {
        body: Buffer.from(await out.Body.transformToByteArray()),
        contentEncoding: out.ContentEncoding,
        contentType: out.ContentType,
      };
    },
    logs: () => child.logs(),
    stop,
  };
}
