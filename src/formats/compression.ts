import { Readable } from 'node:stream';
import { constants, createGzip, createZstdCompress } from 'node:zlib';
import { z } from 'zod';
import { hadoopSnappy } from './hadoop-snappy.js';
import { snappyFramed } from './snappy-framing.js';
import { zipEntry } from './zip-entry.js';

/**
 * The compress stage, and the one catalogue of compression formats: each format's name as
 * Firehose spells it (`Snappy`, not `SNAPPY`), the extension its objects get and the
 * `Content-Encoding` they carry.
 */

/** `CompressionFormat` values: Firehose's five, and `ZSTD` (a Sluice extension). */
export const COMPRESSION_FORMATS = [
  'UNCOMPRESSED',
  'GZIP',
  'ZIP',
  'Snappy',
  'HADOOP_SNAPPY',
  'ZSTD',
] as const;

/** A `CompressionFormat`. */
export type CompressionFormat = (typeof COMPRESSION_FORMATS)[number];

/** `CompressionFormat` (case-sensitive, as Firehose's). */
export const CompressionFormatSchema = z.enum(COMPRESSION_FORMATS);

/** What objects of a format look like. */
export interface CompressionTraits {
  /** Extension of an object key when the destination sets no `FileExtension`. */
  extension: string;
  /** The object's `Content-Encoding`, as Firehose sets it; undefined for none. */
  contentEncoding: string | undefined;
}

/**
 * Per format: Firehose's extensions and Content-Encoding values (HADOOP_SNAPPY objects end in
 * `.snappy` too, as Firehose writes them although its guide says `.hsnappy`: Hadoop-based
 * readers pick the codec by that extension).
 */
export const COMPRESSION: Readonly<Record<CompressionFormat, CompressionTraits>> = {
  UNCOMPRESSED: { extension: '', contentEncoding: undefined },
  GZIP: { extension: '.gz', contentEncoding: 'gzip' },
  ZIP: { extension: '.zip', contentEncoding: 'zip' },
  Snappy: { extension: '.snappy', contentEncoding: 'snappy-java' },
  HADOOP_SNAPPY: { extension: '.snappy', contentEncoding: 'hadoop-snappy' },
  ZSTD: { extension: '.zst', contentEncoding: 'zstd' },
};

/** What a format may need besides the data: the ZIP entry's name and time, deflate's level. */
export interface CompressOptions {
  /** Name of the ZIP archive's one entry (a UUID, as Firehose's). */
  entryName: string;
  /** Its modification time, epoch ms. */
  modifiedMs: number;
  /**
   * zlib's level for GZIP and ZIP (both deflate), 1 (fastest) to 9 (smallest):
   * `SLUICE_GZIP_LEVEL`. zlib's default (6) when absent.
   */
  deflateLevel?: number | undefined;
}

/** One of zlib's transform streams over `pieces`, an error in `pieces` ending it. */
function throughZlib(
  pieces: AsyncIterable<Buffer>,
  stream: NodeJS.ReadWriteStream & { destroy(error?: Error): void },
): AsyncIterable<Buffer> {
  const source = Readable.from(pieces, { objectMode: false });
  source.on('error', (error) => stream.destroy(error));
  return source.pipe(stream) as unknown as AsyncIterable<Buffer>;
}

/**
 * The compress stage: the encoded body's pieces in the destination's compression, streamed —
 * a batch passes through in pieces and is never whole in memory. Every codec does its heavy
 * work on libuv's thread pool (zlib's streams; the `snappy` package's asynchronous calls), not
 * on the event loop, so a large batch does not stall ingest in the same process. An error in
 * the pieces' source ends the output with that error.
 */
export function compress(
  pieces: AsyncIterable<Buffer>,
  format: CompressionFormat,
  options: CompressOptions,
): AsyncIterable<Buffer> {
  switch (format) {
    case 'UNCOMPRESSED':
      return pieces;
    case 'GZIP':
      return throughZlib(
        pieces,
        createGzip({ level: options.deflateLevel ?? constants.Z_DEFAULT_COMPRESSION }),
      );
    case 'ZSTD':
      return throughZlib(pieces, createZstdCompress());
    case 'ZIP':
      return zipEntry(pieces, {
        name: options.entryName,
        modifiedMs: options.modifiedMs,
        level: options.deflateLevel,
      });
    case 'Snappy':
      return snappyFramed(pieces);
    case 'HADOOP_SNAPPY':
      return hadoopSnappy(pieces);
  }
}

/** All pieces as one buffer, for a destination that needs the body's length. */
export async function collect(pieces: AsyncIterable<Buffer>): Promise<Buffer> {
  const all: Buffer[] = [];
  for await (const piece of pieces) all.push(piece);
  return all.length === 1 ? (all[0] as Buffer) : Buffer.concat(all);
}
