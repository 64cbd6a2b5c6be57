import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import {
  COMPRESSION,
  COMPRESSION_FORMATS,
  collect,
  compress,
  type CompressionFormat,
} from '../../src/formats/compression.js';
import { dosDateTime } from '../../src/formats/zip-entry.js';
import { cleanupAfterAll, tempDir } from '../support/e2e.js';
import {
  decodeIndependently,
  PY_ZIP_ENTRIES,
  PYTHON,
  run,
} from '../support/independent-decoders.js';

/**
 * Every compression format, written by Sluice's compress stage and read back by a decoder that
 * is not Sluice's (`test/support/independent-decoders.ts`).
 */

const suite = cleanupAfterAll();
const OPTIONS = {
  entryName: '0b5e3f3c-7d0e-4a52-9c1b-2f7f4c1e9a10',
  modifiedMs: Date.UTC(2024, 4, 1, 13, 45, 30),
};

/**
 * A body of pieces of odd sizes: JSON lines (compressible) and random bytes (not, so Snappy
 * stores some chunks as they are), across many 64 KiB blocks and a piece boundary inside one.
 */
function bodyPieces(): Buffer[] {
  const lines = Buffer.from(
    Array.from({ length: 3_000 }, (_, i) => `{"n":${i},"page":"/p/${i % 17}","ü":"✓"}\n`).join(''),
  );
  return [
    lines.subarray(0, 1),
    randomBytes(150_000),
    lines.subarray(1, 70_001),
    Buffer.alloc(0),
    lines.subarray(70_001),
    randomBytes(65_536),
    Buffer.from('end\n'),
  ];
}

async function* piecesOf(pieces: readonly Buffer[]): AsyncIterable<Buffer> {
  for (const piece of pieces) {
    await Promise.resolve();
    yield piece;
  }
}

async function written(
  format: CompressionFormat,
  pieces: readonly Buffer[],
  deflateLevel?: number,
): Promise<string> {
  const file = join(
    await tempDir(suite, 'sluice-compression-'),
    `body${COMPRESSION[format].extension}`,
  );
  await writeFile(
    file,
    await collect(compress(piecesOf(pieces), format, { ...OPTIONS, deflateLevel })),
  );
  return file;
}

describe('compression formats, read back by independent decoders', () => {
  for (const format of COMPRESSION_FORMATS) {
    it(`${format}: a body of many blocks comes back byte for byte`, async () => {
      const pieces = bodyPieces();
      const file = await written(format, pieces);
      const decoded = await decodeIndependently(format, file);
      expect(decoded.equals(Buffer.concat(pieces))).toBe(true);
    });

    it(`${format}: an empty body comes back empty`, async () => {
      const decoded = await decodeIndependently(format, await written(format, []));
      expect(decoded.length).toBe(0);
    });
  }

  it("GZIP and ZIP deflate at the level asked (SLUICE_GZIP_LEVEL), zlib's default without one", async () => {
    const pieces = bodyPieces();
    const input = Buffer.concat(pieces);
    const levels = [1, 6, 9, undefined] as const;
    for (const format of ['GZIP', 'ZIP'] as const) {
      const sizes = new Map<number | undefined, number>();
      for (const level of levels) {
        const file = await written(format, pieces, level);
        const decoded = await decodeIndependently(format, file);
        expect(decoded.equals(input), `${format} at level ${level}`).toBe(true);
        const bytes = await readFile(file);
        sizes.set(level, bytes.length);
        // gzip's header says which end of the scale deflate ran at (RFC 1952 XFL: 4 fastest,
        // 2 smallest, 0 otherwise).
        if (format === 'GZIP') expect(bytes[8]).toBe(level === 1 ? 4 : level === 9 ? 2 : 0);
      }
      expect(sizes.get(1)).toBeGreaterThan(sizes.get(6) ?? 0);
      expect(sizes.get(6)).toBeGreaterThan(sizes.get(9) ?? 0);
      // Without a level: zlib's default, which is 6.
      expect(sizes.get(undefined)).toBe(sizes.get(6));
    }
  });

  it('ZIP: one deflated entry named as asked, dated in UTC, that unzip tests and extracts', async () => {
    const pieces = bodyPieces();
    const file = await written('ZIP', pieces);
    await run('unzip', ['-tq', file]);
    expect((await run('unzip', ['-p', file])).equals(Buffer.concat(pieces))).toBe(true);
    const listing = (await run('unzip', ['-Z1', file])).toString().trim().split('\n');
    expect(listing).toEqual([OPTIONS.entryName]);
    const infos = (await run(PYTHON, ['-c', PY_ZIP_ENTRIES, file])).toString();
    // Deflate (8), and the time to two seconds.
    expect(JSON.parse(infos)).toEqual([[OPTIONS.entryName, 8, [2024, 5, 1, 13, 45, 30]]]);
  });

  it('Snappy: starts with the framing format stream identifier', async () => {
    const head = await collect(compress(piecesOf([Buffer.from('x')]), 'Snappy', OPTIONS));
    expect(head.subarray(0, 10)).toEqual(
      Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]),
    );
  });

  it('an error in the body ends every format with that error', async () => {
    async function* failing(): AsyncIterable<Buffer> {
      yield randomBytes(100_000);
      await Promise.resolve();
      throw new Error('the batch could not be read');
    }
    for (const format of COMPRESSION_FORMATS) {
      await expect(collect(compress(failing(), format, OPTIONS)), format).rejects.toThrow(
        'the batch could not be read',
      );
    }
  });

  it('MS-DOS times: UTC, two-second steps, nothing before 1980', () => {
    expect(dosDateTime(Date.UTC(2024, 4, 1, 13, 45, 31))).toEqual({
      date: ((2024 - 1980) << 9) | (5 << 5) | 1,
      time: (13 << 11) | (45 << 5) | 15,
    });
    expect(dosDateTime(0)).toEqual({ date: (1 << 5) | 1, time: 0 });
  });
});
