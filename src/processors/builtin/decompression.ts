import { constants as bufferConstants } from 'node:buffer';
import { gunzipSync } from 'node:zlib';
import { ProcessorFailure } from './processor-failure.js';

/**
 * The `Decompression` processor with `CompressionFormat` GZIP. CloudWatch Logs subscription
 * filters send their payloads gzip-compressed; this processor gunzips each record before
 * `CloudWatchLogProcessing` reads it. A record that cannot be decompressed goes, as it came,
 * to the `decompression-failed` error output, and the other records carry on
 * (docs.aws.amazon.com/firehose/latest/dev/decomp-faq.html).
 */

/** The error code of a record that is not valid gzip data. */
export const INVALID_GZIP = 'Decompression.InvalidGzip';

/** The error code of a record that decompresses to more bytes than the limit allows. */
export const DECOMPRESSED_TOO_LARGE = 'Decompression.OutputTooLarge';

const GZIP_MAGIC_1 = 0x1f;
const GZIP_MAGIC_2 = 0x8b;

/**
 * Whether the data starts with gzip's magic bytes `1f 8b` (RFC 1952 §2.3.1).
 *
 * @param data - Any bytes.
 * @returns True when `data` begins like a gzip member; it may still be corrupt or truncated.
 */
export function isGzip(data: Uint8Array): boolean {
  return data.length >= 2 && data[0] === GZIP_MAGIC_1 && data[1] === GZIP_MAGIC_2;
}

/**
 * Gunzips one record. Several gzip members one after another decompress to their contents one
 * after another, as `gunzip` does; zero bytes after the last member are ignored, anything
 * else after it is refused. Decompression stops as soon as the output would pass `maxBytes`,
 * so a small record that expands enormously (a zip bomb) costs at most `maxBytes` of memory.
 *
 * @param data - The record as the producer sent it.
 * @param maxBytes - The most bytes the record may decompress to (a positive integer).
 * @returns The decompressed bytes.
 * @throws {@link ProcessorFailure} with output type `decompression-failed`: code
 *   {@link INVALID_GZIP} for data that is not gzip, corrupt or truncated (the message has
 *   zlib's reason), {@link DECOMPRESSED_TOO_LARGE} when the output would pass `maxBytes`.
 * @throws RangeError when `maxBytes` is not a positive integer (a defect in the caller).
 */
export function decompressGzip(data: Buffer, maxBytes: number): Buffer {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new RangeError(`maxBytes must be a positive integer, got ${maxBytes}`);
  }
  if (!isGzip(data)) {
    throw new ProcessorFailure(
      INVALID_GZIP,
      `The record is not gzip data: ${describeStart(data)}, not with the gzip magic bytes 1f 8b. ${ADVICE}`,
      'decompression-failed',
    );
  }
  try {
    // zlib refuses a maxOutputLength above the largest buffer Node can make.
    return gunzipSync(data, { maxOutputLength: Math.min(maxBytes, bufferConstants.MAX_LENGTH) });
  } catch (error) {
    if (isNodeError(error) && error.code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ProcessorFailure(
        DECOMPRESSED_TOO_LARGE,
        `The record decompresses to more than ${maxBytes} bytes, the most one record may decompress to; decompression was stopped there. Send smaller records.`,
        'decompression-failed',
      );
    }
    if (isNodeError(error) && typeof error.code === 'string' && error.code.startsWith('Z_')) {
      throw new ProcessorFailure(
        INVALID_GZIP,
        `The record is not valid gzip data (zlib: ${error.message}). ${ADVICE}`,
        'decompression-failed',
      );
    }
    throw error;
  }
}

const ADVICE =
  'A stream with a Decompression processor takes CloudWatch Logs subscription data, which is gzip-compressed; send other data to a stream without one.';

function describeStart(data: Buffer): string {
  if (data.length === 0) return 'it is empty';
  const hex = [...data.subarray(0, 2)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `it starts with ${hex}`;
}

function isNodeError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && 'code' in error;
}
