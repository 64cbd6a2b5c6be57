import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';

import { removeTempDir, tempDirUntilExit } from './process-cleanup.js';

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
const MAX_LOG_CHARS = 64 * 1024;

const CHILD_SCRIPT = fileURLToPath(new URL('./s3rver-child.ts', import.meta.url));

/** An object read back by {@link S3Server.getObject}. */
export interface StoredObject {
  body: Buffer;
  contentEncoding?: string;
  contentType?: string;
}

/** A private S3-protocol server (s3rver) started by {@link startS3Server}. */
export interface S3Server {
  /** `http://127.0.0.1:<port>`; address buckets path-style. */
  readonly endpoint: string;
  /** Directory s3rver stores buckets and objects in. */
  readonly dir: string;
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
 * `--openssl-legacy-provider`, which the test process should not run with. The child picks its own
 * port (port 0), so there is no window in which another process can take it.
 *
 * @throws when the child fails to start or s3rver does not answer within 15 seconds; the message
 *   includes the child's stderr.
 */
export async function startS3Server(): Promise<S3Server> {
  // Removed when the test process exits if no stop() did it. The s3rver child itself needs no
  // such help: it exits by itself when its IPC channel closes.
  const dir = tempDirUntilExit('sluice-s3-');
  let log = '';
  const child = fork(CHILD_SCRIPT, [dir], {
    execArgv: ['--experimental-strip-types', '--openssl-legacy-provider'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-MAX_LOG_CHARS);
  });

  let port: number;
  try {
    port = await waitForPort(child, () => log);
  } catch (err) {
    await terminate(child);
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
    await terminate(child);
    await removeTempDir(dir);
  };

  try {
    await client.send(new ListBucketsCommand({}));
  } catch (err) {
    await stop();
    throw new Error(`s3rver on ${endpoint} does not answer ListBuckets: ${String(err)}\n${log}`, {
      cause: err,
    });
  }

  return {
    endpoint,
    dir,
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
      let token: string | undefined;
      for (let page = 0; page < MAX_LIST_PAGES; page += 1) {
        const out = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
        );
        for (const object of out.Contents ?? []) {
          if (object.Key !== undefined) keys.push(object.Key);
        }
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
        if (token === undefined) return keys.sort();
      }
      throw new Error(`listing ${bucket} did not end within ${MAX_LIST_PAGES} pages`);
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
    logs: () => log,
    stop,
  };
}

/** Resolves with the port the child reports, or rejects if it exits or stays silent too long. */
async function waitForPort(child: ChildProcess, logs: () => string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => settle(new Error(`s3rver did not start within ${READY_TIMEOUT_MS} ms:\n${logs()}`)),
      READY_TIMEOUT_MS,
    );
    const onMessage = (message: unknown): void => {
      const port = (message as { port?: unknown } | null)?.port;
      if (typeof port === 'number') settle(port);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      settle(new Error(`s3rver exited during start (code ${code}, signal ${signal}):\n${logs()}`));
    const onError = (err: Error): void =>
      settle(new Error(`could not start s3rver: ${err.message}`));
    function settle(outcome: number | Error): void {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', onError);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** SIGTERM, then SIGKILL if the child has not exited within {@link EXIT_TIMEOUT_MS}. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const lingered = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), EXIT_TIMEOUT_MS);
  });
  const killed = await Promise.race([exited.then(() => false), lingered]);
  clearTimeout(timer);
  if (killed) {
    child.kill('SIGKILL');
    await exited;
  }
}
