import { Readable } from 'node:stream';
import { constants, crc32, createDeflateRaw } from 'node:zlib';

/**
 * `CompressionFormat` `ZIP`: a ZIP archive of one deflated entry, as Firehose writes it, streamed.
 * The entry's sizes and CRC-32 are not known before its data is through, so they follow the
 * data in a data descriptor (general-purpose flag bit 3), which every unzip tool reads. Deflate
 * runs on libuv's thread pool; the CRC-32 is zlib's (native).
 *
 * A batch is at most 128 MiB, far below the 4 GiB where an archive would need ZIP64: a larger
 * entry fails the write instead of producing a broken archive.
 */

/** What names and dates the entry. */
export interface ZipEntryOptions {
  /** The entry's file name (Firehose: a UUID). */
  name: string;
  /** Its modification time, epoch ms (stored in MS-DOS form, UTC). */
  modifiedMs: number;
  /** zlib's deflate level, 1 (fastest) to 9 (smallest); zlib's default (6) when absent. */
  level?: number | undefined;
}

const LOCAL_HEADER = 0x04034b50;
const DATA_DESCRIPTOR = 0x08074b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
/** ZIP 2.0: deflate. */
const VERSION_NEEDED = 20;
/** Made by Unix (3), ZIP 2.0: the external attributes are a Unix mode. */
const VERSION_MADE_BY = (3 << 8) | 20;
/** Bit 3: sizes and CRC in the data descriptor; bit 11: the name is UTF-8. */
const FLAGS = 0x0808;
const DEFLATE = 8;
/** A regular file, rw-r--r--. */
const EXTERNAL_ATTRIBUTES = (0o100644 << 16) >>> 0;
const MAX_32 = 0xffffffff;

/** MS-DOS date and time of `epochMs` in UTC (two-second resolution, 1980 at the earliest). */
export function dosDateTime(epochMs: number): { date: number; time: number } {
  const at = new Date(Math.max(epochMs, Date.UTC(1980, 0, 1)));
  return {
    date: ((at.getUTCFullYear() - 1980) << 9) | ((at.getUTCMonth() + 1) << 5) | at.getUTCDate(),
    time: (at.getUTCHours() << 11) | (at.getUTCMinutes() << 5) | (at.getUTCSeconds() >> 1),
  };
}

/** The pieces of a body as a one-entry ZIP archive. */
export async function* zipEntry(
  pieces: AsyncIterable<Buffer>,
  options: ZipEntryOptions,
): AsyncIterable<Buffer> {
  const name = Buffer.from(options.name, 'utf8');
  const { date, time } = dosDateTime(options.modifiedMs);
  const local = Buffer.alloc(30 + name.length);
  local.writeUInt32LE(LOCAL_HEADER, 0);
  local.writeUInt16LE(VERSION_NEEDED, 4);
  local.writeUInt16LE(FLAGS, 6);
  local.writeUInt16LE(DEFLATE, 8);
  local.writeUInt16LE(time, 10);
  local.writeUInt16LE(date, 12);
  // CRC-32 and sizes (14-25) stay 0: the data descriptor carries them.
  local.writeUInt16LE(name.length, 26);
  name.copy(local, 30);
  yield local;

  let crc = 0;
  let size = 0;
  async function* measured(): AsyncIterable<Buffer> {
    for await (const piece of pieces) {
      crc = crc32(piece, crc);
      size += piece.length;
      yield piece;
    }
  }
  const source = Readable.from(measured(), { objectMode: false });
  const deflate = createDeflateRaw({ level: options.level ?? constants.Z_DEFAULT_COMPRESSION });
  source.on('error', (error) => deflate.destroy(error));
  let compressedSize = 0;
  for await (const out of source.pipe(deflate) as AsyncIterable<Buffer>) {
    compressedSize += out.length;
    yield out;
  }
  if (size > MAX_32 || compressedSize > MAX_32) {
    throw new Error(
      `a ZIP entry of ${size} bytes needs ZIP64, which Sluice does not write; batches are at most 128 MiB`,
    );
  }

  const descriptor = Buffer.alloc(16);
  descriptor.writeUInt32LE(DATA_DESCRIPTOR, 0);
  descriptor.writeUInt32LE(crc >>> 0, 4);
  descriptor.writeUInt32LE(compressedSize, 8);
  descriptor.writeUInt32LE(size, 12);

  const central = Buffer.alloc(46 + name.length);
  central.writeUInt32LE(CENTRAL_HEADER, 0);
  central.writeUInt16LE(VERSION_MADE_BY, 4);
  central.writeUInt16LE(VERSION_NEEDED, 6);
  central.writeUInt16LE(FLAGS, 8);
  central.writeUInt16LE(DEFLATE, 10);
  central.writeUInt16LE(time, 12);
  central.writeUInt16LE(date, 14);
  central.writeUInt32LE(crc >>> 0, 16);
  central.writeUInt32LE(compressedSize, 20);
  central.writeUInt32LE(size, 24);
  central.writeUInt16LE(name.length, 28);
  // Extra field, comment, disk number, internal attributes: 0 (30-37).
  central.writeUInt32LE(EXTERNAL_ATTRIBUTES, 38);
  // The local header's offset (42) is 0: the entry starts the archive.
  name.copy(central, 46);

  const end = Buffer.alloc(22);
  end.writeUInt32LE(END_OF_CENTRAL_DIRECTORY, 0);
  // This disk and the central directory's disk (4-7): 0.
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length, 12);
  end.writeUInt32LE(local.length + compressedSize + descriptor.length, 16);
  yield Buffer.concat([descriptor, central, end]);
}
