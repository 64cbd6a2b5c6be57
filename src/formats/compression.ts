import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

/** The compression formats the compress stage implements. */
export type CompressionFormat = 'UNCOMPRESSED' | 'GZIP';

/**
 * The compress stage: the encoded body in the destination's compression. Compression runs on
 * libuv's thread pool (zlib's asynchronous API), not on the event loop, so a large batch does
 * not stall ingest on the same process.
 */
export async function compress(body: Buffer, format: CompressionFormat): Promise<Buffer> {
  switch (format) {
    case 'UNCOMPRESSED':
      return body;
    case 'GZIP':
      return gzipAsync(body);
  }
}
