import type { Readable } from 'node:stream';

/** One object to write. The body is streamed; its length need not be known in advance. */
export interface PutObjectRequest {
  bucket: string;
  key: string;
  body: Readable;
  /** `Content-Encoding` of the object, e.g. `gzip`. */
  contentEncoding: string | undefined;
}

/**
 * Where S3 deliveries land: Amazon S3 or an S3-compatible store, or a local directory with the
 * same layout. Writing the same key twice replaces the object (no duplicates on retry).
 */
export interface ObjectStore {
  /** Human-readable description for logs, e.g. `s3 http://127.0.0.1:9000`. */
  readonly description: string;
  /** Writes the object whole, or throws; a failed write leaves no partial object visible. */
  put(request: PutObjectRequest): Promise<void>;
  /**
   * Reads an object's bytes exactly as stored: a `Content-Encoding: gzip` object comes back
   * still compressed (the local store keeps no headers), so a reader that may meet one checks
   * for the gzip magic bytes `1f 8b` and decompresses itself.
   *
   * @throws ObjectNotFoundError when there is no such object (or bucket).
   */
  get(bucket: string, key: string): Promise<Buffer>;
  /**
   * The keys of `bucket` that start with `prefix`, page by page. S3 lists them in UTF-8 byte
   * order; the local store in no particular order. A missing bucket lists nothing locally and
   * fails on S3 (`NoSuchBucket`).
   */
  list(bucket: string, prefix: string): AsyncIterable<string>;
  /** Whether an error from {@link put} may succeed on retry (default: yes). */
  isPermanent(error: unknown): boolean;
  close(): Promise<void>;
}

/** {@link ObjectStore.get} found no object under the key. */
export class ObjectNotFoundError extends Error {
  override name = 'ObjectNotFoundError';

  constructor(
    readonly bucket: string,
    readonly key: string,
    options?: ErrorOptions,
  ) {
    super(`no object ${key} in bucket ${bucket}`, options);
  }
}
