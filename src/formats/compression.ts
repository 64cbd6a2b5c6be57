import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';

/** The compression formats the compress stage implements. */
export type CompressionFormat = 'UNCOMPRESSED' | 'GZIP';

/**
 * The compress stage: the encoded body's pieces in the destination's compression, streamed —
 * a batch passes through in pieces and is never whole in memory. zlib compresses on libuv's
 * thread pool, not on the event loop, so a large batch does not stall ingest in the same
 * process. An error in the pieces' source ends the output with that error.
 */
export function compress(
  pieces: AsyncIterable<Buffer>,
  format: CompressionFormat,
): AsyncIterable<Buffer> {
  switch (format) {
    case 'UNCOMPRESSED':
      return pieces;
    case 'GZIP': {
      const source = Readable.from(pieces, { objectMode: false });
      const gzip = createGzip();
      source.on('error', (error) => gzip.destroy(error));
      return source.pipe(gzip);
    }
  }
}

/** All pieces as one buffer, for a destination that needs the body's length. */
export async function collect(pieces: AsyncIterable<Buffer>): Promise<Buffer> {
  const all: Buffer[] = [];
  for await (const piece of pieces) all.push(piece);
  return all.length === 1 ? (all[0] as Buffer) : Buffer.concat(all);
}
