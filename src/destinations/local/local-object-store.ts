import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ObjectStore, PutObjectRequest } from '../object-store.js';

/**
 * The embedded stand-in for S3 when none is configured: `<root>/<bucket>/<key>`, the same
 * layout an S3 browser shows. Objects are written to a temporary file and renamed into place,
 * so a reader never sees half an object and a retry replaces the file.
 */
export class LocalObjectStore implements ObjectStore {
  readonly description: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.description = `local directory ${this.root}`;
  }

  async put(request: PutObjectRequest): Promise<void> {
    const target = resolve(this.root, request.bucket, request.key);
    // Keys come from configured prefixes; refuse any that would escape the root.
    if (!target.startsWith(join(this.root, request.bucket) + sep)) {
      throw new LocalKeyError(`object key escapes the data directory: ${request.key}`);
    }
    await mkdir(dirname(target), { recursive: true });
    const temporary = `${target}.${randomUUID()}.partial`;
    try {
      await pipeline(request.body, createWriteStream(temporary));
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
}

/** A key that cannot be stored under the root, whatever the retries. */
class LocalKeyError extends Error {}
