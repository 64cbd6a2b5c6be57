import { compress as snappyCompress } from 'snappy';
import { blocksOf, mapInOrder } from './blocks.js';

/**
 * `CompressionFormat` `HADOOP_SNAPPY`: the block framing of Hadoop's `SnappyCodec`
 * (`BlockCompressorStream`), which Hive, Spark and other Hadoop-based readers open for
 * `.snappy` files. Per block: the uncompressed length (4 bytes, big-endian), then one
 * compressed chunk: its length (4 bytes, big-endian) and the Snappy-compressed bytes.
 *
 * Blocks of 64 KiB stay well inside the 256 KiB buffer a Hadoop reader decompresses a block
 * into (`io.compression.codec.snappy.buffersize`), also when Snappy expands incompressible
 * data. Compressed on libuv's thread pool, four blocks at a time.
 */

/** Uncompressed bytes per block. */
export const HADOOP_SNAPPY_BLOCK_BYTES = 65_536;
const BLOCKS_AT_ONCE = 4;

async function blockOf(block: Buffer): Promise<[Buffer, Buffer]> {
  const compressed = await snappyCompress(block);
  const header = Buffer.allocUnsafe(8);
  header.writeUInt32BE(block.length, 0);
  header.writeUInt32BE(compressed.length, 4);
  return [header, compressed];
}

/** The pieces of a body in Hadoop's Snappy block framing. */
export async function* hadoopSnappy(pieces: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  for await (const [header, body] of mapInOrder(
    blocksOf(pieces, HADOOP_SNAPPY_BLOCK_BYTES),
    BLOCKS_AT_ONCE,
    blockOf,
  )) {
    yield header;
    yield body;
  }
}
