import { crc32c } from '@node-rs/crc32';
import { compress as snappyCompress } from 'snappy';
import { blocksOf, mapInOrder } from './blocks.js';

/**
 * `CompressionFormat` `Snappy`: Google's Snappy framing format
 * (https://github.com/google/snappy/blob/main/framing_format.txt), the stream format that
 * snappy-java's `SnappyFramedOutputStream`, python-snappy's `StreamCompressor` and
 * `python -m snappy -d` speak. A stream identifier, then one chunk per 64 KiB of input: the
 * block Snappy-compressed (or stored as it is when compression saves less than an eighth, as the
 * reference implementation does), with the masked CRC-32C of the uncompressed block.
 *
 * Blocks are compressed on libuv's thread pool (the `snappy` package's asynchronous call), four
 * at a time, so a large object neither blocks the event loop nor waits on one core.
 */

/** Most uncompressed bytes one chunk may hold (the format's limit). */
export const SNAPPY_FRAME_BLOCK_BYTES = 65_536;
/** Blocks compressed at once: libuv's default thread-pool size. */
const BLOCKS_AT_ONCE = 4;

/** Chunk 0xff, length 6, "sNaPpY". */
const STREAM_IDENTIFIER = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
const COMPRESSED_CHUNK = 0x00;
const UNCOMPRESSED_CHUNK = 0x01;

/** The format's checksum: CRC-32C, rotated and offset so that a CRC of CRCs stays strong. */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

/** One block as a chunk: its header and its body, two pieces. */
async function chunkOf(block: Buffer): Promise<[Buffer, Buffer]> {
  const compressed = await snappyCompress(block);
  const stored = compressed.length >= block.length - (block.length >>> 3);
  const body = stored ? block : compressed;
  const header = Buffer.allocUnsafe(8);
  header[0] = stored ? UNCOMPRESSED_CHUNK : COMPRESSED_CHUNK;
  header.writeUIntLE(body.length + 4, 1, 3);
  header.writeUInt32LE(maskedCrc32c(block), 4);
  return [header, body];
}

/** The pieces of a body, Snappy-framed. */
export async function* snappyFramed(pieces: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  yield STREAM_IDENTIFIER;
  for await (const [header, body] of mapInOrder(
    blocksOf(pieces, SNAPPY_FRAME_BLOCK_BYTES),
    BLOCKS_AT_ONCE,
    chunkOf,
  )) {
    yield header;
    yield body;
  }
}
