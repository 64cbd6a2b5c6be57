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
  /** Whether an error from {@link put} may succeed on retry (default: yes). */
  isPermanent(error: unknown): boolean;
  close(): Promise<void>;
}
