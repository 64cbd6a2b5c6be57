import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ObjectNotFoundError, type ObjectStore, type PutObjectRequest } from '../object-store.js';

/** The name {@link LocalObjectStore.put} gives an object while it is being written. */
const PARTIAL_FILE = /\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.partial$/;

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

  /**
   * Reads `<root>/<bucket>/<key>`, checked like {@link put} to stay inside the bucket (links
   * included); creates nothing.
   *
   * @throws ObjectNotFoundError when there is no such file (a directory is not an object).
   * @throws LocalKeyError when the bucket or key would lead outside.
   */
  async get(bucket: string, key: string): Promise<Buffer> {
    const bucketDir = await this.existingBucketDirectory(bucket);
    if (bucketDir === undefined) throw new ObjectNotFoundError(bucket, key);
    const target = resolve(bucketDir, key);
    if (!target.startsWith(bucketDir + sep)) {
      throw new LocalKeyError(`object key ${JSON.stringify(key)} escapes bucket ${bucket}`);
    }
    let real: string;
    try {
      real = await realpath(target);
    } catch (error) {
      if (isMissing(error)) throw new ObjectNotFoundError(bucket, key, { cause: error });
      throw error;
    }
    await this.checkInside(real, bucketDir, key);
    if (!(await stat(real)).isFile()) throw new ObjectNotFoundError(bucket, key);
    return readFile(real);
  }

  /**
   * Walks `<root>/<bucket>/`, descending only into directories that can hold keys starting
   * with `prefix`, and yields those keys (`/`-separated). Links are neither followed nor
   * listed, and objects still being written are left out.
   */
  async *list(bucket: string, prefix: string): AsyncIterable<string> {
    const bucketDir = await this.existingBucketDirectory(bucket);
    if (bucketDir === undefined) return;
    // Directories still to read, as key prefixes ('' is the bucket itself).
    const pending: string[] = [''];
    for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
      let entries;
      try {
        entries = await readdir(join(bucketDir, dir), { withFileTypes: true });
      } catch (error) {
        // Removed while listing: S3 would not list it either.
        if (isMissing(error)) continue;
        throw error;
      }
      const subdirectories: string[] = [];
      for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const key = dir + entry.name;
        if (entry.isDirectory()) {
          const asDir = `${key}/`;
          if (asDir.startsWith(prefix) || prefix.startsWith(asDir)) subdirectories.push(asDir);
        } else if (entry.isFile() && key.startsWith(prefix) && !PARTIAL_FILE.test(entry.name)) {
          yield key;
        }
      }
      // Reversed onto the stack so they are read in name order.
      pending.push(...subdirectories.reverse());
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
    checkBucketName(bucket);
    const root = await this.rootDirectory();
    const dir = join(root, bucket);
    await mkdir(dir, { recursive: true });
    const real = await realpath(dir);
    if (dirname(real) !== root || basename(real) !== bucket) {
      throw new LocalKeyError(`bucket directory ${dir} leads outside ${root} (to ${real})`);
    }
    return real;
  }

  /**
   * The real path of the bucket's directory, or undefined when it does not exist; creates
   * nothing.
   *
   * @throws LocalKeyError when the bucket's name or its directory would lead outside the root.
   */
  private async existingBucketDirectory(bucket: string): Promise<string | undefined> {
    checkBucketName(bucket);
    const root = await this.rootDirectory();
    const dir = join(root, bucket);
    let real: string;
    try {
      real = await realpath(dir);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
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

/** @throws LocalKeyError when `bucket` cannot be the name of a directory under the root. */
function checkBucketName(bucket: string): void {
  if (bucket === '' || bucket === '.' || bucket === '..' || bucket.includes('/')) {
    throw new LocalKeyError(`bucket name ${JSON.stringify(bucket)} cannot be a directory name`);
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
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
