import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, realpath, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ObjectStore, PutObjectRequest } from '../object-store.js';

/**
 * The embedded stand-in for S3 when none is configured: `<root>/<bucket>/<key>`, the same
 * layout an S3 browser shows. Objects are written to a temporary file and renamed into place,
 * so a reader never sees half an object and a retry replaces the file.
 *
 * Nothing is ever written outside the root, whatever the bucket and key: the root sits beside
 * Sluice's other data (the embedded Redis's files), and bucket names and keys come from stream
 * definitions, which may predate the bucket naming checks. Every bucket is a direct child
 * directory of the root and every object lies inside its bucket's directory, compared on real
 * paths so that a symbolic link cannot lead elsewhere either.
 */
export class LocalObjectStore implements ObjectStore {
  readonly description: string;
  private readonly root: string;
  private realRoot: Promise<string> | undefined;

  constructor(root: string) {
    this.root = resolve(root);
    this.description = `local directory ${this.root}`;
  }

  async put(request: PutObjectRequest): Promise<void> {
    const target = await this.objectPath(request.bucket, request.key);
    const temporary = `${target}.${randomUUID()}.partial`;
    try {
      await pipeline(request.body, createWriteStream(temporary));
      // rename replaces a link at `target` itself; it does not write through it.
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  isPermanent(error: unknown): boolean {
    return error instanceof LocalKeyError;
  }

  async close(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Where `key` of `bucket` is stored, with its directories created, once both are checked to
   * stay inside the bucket's directory.
   *
   * @throws LocalKeyError when the bucket or the key would lead outside.
   */
  private async objectPath(bucket: string, key: string): Promise<string> {
    const bucketDir = await this.bucketDirectory(bucket);
    const target = resolve(bucketDir, key);
    if (!target.startsWith(bucketDir + sep)) {
      throw new LocalKeyError(`object key ${JSON.stringify(key)} escapes bucket ${bucket}`);
    }
    const parent = dirname(target);
    // Checked before creating anything (a link inside the bucket could point elsewhere) and
    // after (the directories now exist, so their real path is the final answer).
    await this.checkInside(await deepestExisting(parent), bucketDir, key);
    await mkdir(parent, { recursive: true });
    await this.checkInside(parent, bucketDir, key);
    return target;
  }

  /** The real path of the bucket's directory, a direct child of the root, created if missing. */
  private async bucketDirectory(bucket: string): Promise<string> {
    if (bucket === '' || bucket === '.' || bucket === '..' || bucket.includes('/')) {
      throw new LocalKeyError(`bucket name ${JSON.stringify(bucket)} cannot be a directory name`);
    }
    const root = await this.rootDirectory();
    const dir = join(root, bucket);
    await mkdir(dir, { recursive: true });
    const real = await realpath(dir);
    if (dirname(real) !== root || basename(real) !== bucket) {
      throw new LocalKeyError(`bucket directory ${dir} leads outside ${root} (to ${real})`);
    }
    return real;
  }

  private async checkInside(path: string, bucketDir: string, key: string): Promise<void> {
    const real = await realpath(path);
    if (real !== bucketDir && !real.startsWith(bucketDir + sep)) {
      throw new LocalKeyError(`object key ${JSON.stringify(key)} leads outside its bucket`);
    }
  }

  /** The root's real path, created on first use (a failure is retried on the next put). */
  private rootDirectory(): Promise<string> {
    this.realRoot ??= mkdir(this.root, { recursive: true })
      .then(() => realpath(this.root))
      .catch((error: unknown) => {
        this.realRoot = undefined;
        throw error;
      });
    return this.realRoot;
  }
}

/** `path` or its nearest ancestor that exists. */
async function deepestExisting(path: string): Promise<string> {
  let current = path;
  for (;;) {
    try {
      await lstat(current);
      return current;
    } catch (error) {
      const parent = dirname(current);
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === current) throw error;
      current = parent;
    }
  }
}

/** A bucket or key that cannot be stored under the root, whatever the retries. */
class LocalKeyError extends Error {
  override name = 'LocalKeyError';
}
