/**
 * Runs s3rver for `s3-server.ts` in a process of its own, so that the `--openssl-legacy-provider`
 * flag s3rver's paginated listing needs stays out of the test process.
 *
 * Usage, started with an IPC channel: under vitest node runs this source by stripping its types,
 * `node --experimental-strip-types --openssl-legacy-provider s3rver-child.ts <directory>`; the
 * bench runs the compiled `dist/devtools/s3rver-child.js` the same way without the first flag.
 * It reports `{ port }` once listening, and exits when the parent disconnects, which also happens
 * when the parent dies, so it can never be left behind.
 *
 * TypeScript rather than `.mjs` so that the project's type-aware lint and typecheck cover it.
 * It imports nothing of its own (not even `ipc-port.ts`'s `reportPort`): node's type stripping
 * does not map a `./x.js` specifier to `x.ts`, so a relative import would break the vitest case.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** The part of s3rver 3.x this script uses (the package ships no types). */
interface S3rverInstance {
  run(): Promise<{ port: number }>;
}
type S3rverClass = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  vhostBuckets: boolean;
}) => S3rverInstance;

/** An object as s3rver's store is given it (PutObject, or a multipart upload's parts joined). */
interface StoreObject {
  bucket: string;
  key: string;
  content: Buffer | NodeJS.ReadableStream;
  metadata: unknown;
}
/** The part of s3rver's filesystem store replaced below. */
interface FilesystemStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
  putObject(object: StoreObject): Promise<{ size: number; md5: string }>;
}

const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as S3rverClass;
const Store = require('s3rver/lib/stores/filesystem') as { prototype: FilesystemStore };

/**
 * s3rver 3.7 writes an object straight into the file its listing looks for, so a listing while
 * a large PutObject or CompleteMultipartUpload is being written shows the key, and a GET then
 * reads part of the object (a test that polls the bucket for what Sluice delivers read 6.5 MB of
 * a 12 MB multipart object on a busy machine); it also answers before its file stream has
 * written the last bytes. This version writes a file the listing ignores, then the metadata,
 * then renames the file into place, and answers after: an object is listed whole or not at all.
 */
Store.prototype.putObject = async function putObject(this: FilesystemStore, object: StoreObject) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  await mkdir(dirname(objectPath), { recursive: true });
  const md5 = createHash('md5');
  let size = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      md5.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
  const partial = `${objectPath}.${randomUUID()}.partial`;
  try {
    await pipeline(source, counted, createWriteStream(partial));
    const digest = md5.digest('hex');
    await this.putMetadata(object.bucket, object.key, object.metadata, digest);
    await rename(partial, objectPath);
    return { size, md5: digest };
  } finally {
    await rm(partial, { force: true });
  }
};

const directory = process.argv[2];
const send = process.send?.bind(process);
if (!directory || !send) {
  console.error(
    'usage: node --openssl-legacy-provider s3rver-child.{ts,js} <directory> (with IPC)',
  );
  process.exit(2);
}

process.once('disconnect', () => process.exit(0));
process.once('SIGTERM', () => process.exit(0));

try {
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    vhostBuckets: false,
  });
  const { port } = await server.run();
  send({ port });
} catch (err) {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
}
