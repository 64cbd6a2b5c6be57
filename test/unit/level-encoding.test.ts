import codec from 'parquetjs-lite/lib/codec/index.js';
import { describe, expect, it } from 'vitest';

import { encodeLevels, levelBitWidth } from '../../src/formats/parquet/level-encoding.js';

/**
 * Sluice's RLE / bit-packing hybrid encoder of levels, decoded by parquetjs-lite's decoder (an
 * independent implementation, which reads up to 8 bits a level) and by the spec's decoding
 * written out here (for wider levels); DuckDB reads whole files in the writer's tests.
 */

const { RLE } = codec as unknown as {
  RLE: {
    decodeValues(
      type: 'INT32',
      cursor: { buffer: Buffer; offset: number },
      count: number,
      opts: { bitWidth: number },
    ): number[];
  };
};

/** The hybrid encoding as Parquet's spec defines it, after the 4-byte length. */
function decodeBySpec(buffer: Buffer, count: number, bitWidth: number): number[] {
  const length = buffer.readUInt32LE(0);
  expect(length).toBe(buffer.length - 4);
  const out: number[] = [];
  let at = 4;
  const varint = (): number => {
    let n = 0;
    let shift = 0;
    for (;;) {
      const byte = buffer[at++] as number;
      n += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return n;
      shift += 7;
    }
  };
  while (at < buffer.length) {
    const header = varint();
    if (header % 2 === 1) {
      const values = (header >>> 1) * 8;
      let bit = 0;
      for (let v = 0; v < values; v += 1) {
        let value = 0;
        for (let b = 0; b < bitWidth; b += 1, bit += 1) {
          if (((buffer[at + (bit >> 3)] as number) >> (bit & 7)) & 1) value |= 1 << b;
        }
        out.push(value);
      }
      at += (values * bitWidth) / 8;
    } else {
      const bytes = (bitWidth + 7) >> 3;
      let value = 0;
      for (let b = 0; b < bytes; b += 1) value |= (buffer[at + b] as number) << (8 * b);
      at += bytes;
      for (let i = 0; i < header / 2; i += 1) out.push(value);
    }
  }
  expect(at).toBe(buffer.length);
  // Bit-packed groups are padded to 8 levels at the end only.
  expect(out.length - count).toBeLessThan(8);
  expect(out.slice(count).every((v) => v === 0)).toBe(true);
  return out.slice(0, count);
}

/** A deterministic pseudo-random sequence (xorshift32). */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

/** Levels in runs of random lengths (1 to 40), some runs of random values. */
function levelsOf(count: number, max: number, next: () => number): Uint16Array {
  const levels = new Uint16Array(count + 5);
  let i = 0;
  while (i < count) {
    const run = 1 + Math.floor(next() * (next() < 0.5 ? 4 : 40));
    const noisy = next() < 0.3;
    const value = Math.floor(next() * (max + 1));
    for (let k = 0; k < run && i < count; k += 1, i += 1) {
      levels[i] = noisy ? Math.floor(next() * (max + 1)) : value;
    }
  }
  // Beyond `count`: what must not be written.
  levels.fill(max, count);
  return levels;
}

describe('encodeLevels', () => {
  it('sizes levels by their maximum', () => {
    expect([0, 1, 2, 3, 4, 7, 8, 255, 256, 65535].map(levelBitWidth)).toEqual([
      0, 1, 2, 2, 3, 3, 4, 8, 9, 16,
    ]);
  });

  it.each([1, 2, 3, 5, 8])('round-trips random runs of %i-bit levels', (bitWidth) => {
    const next = random(bitWidth * 31);
    const max = 2 ** bitWidth - 1;
    for (const count of [0, 1, 7, 8, 9, 15, 16, 17, 100, 1000, 20_000]) {
      const levels = levelsOf(count, max, next);
      const encoded = encodeLevels(levels, count, bitWidth);
      const expected = Array.from(levels.subarray(0, count));
      expect(decodeBySpec(encoded, count, bitWidth)).toEqual(expected);
      if (count > 0) {
        const cursor = { buffer: encoded, offset: 0 };
        expect(RLE.decodeValues('INT32', cursor, count, { bitWidth })).toEqual(expected);
      }
    }
  });

  it.each([9, 12, 16])('round-trips %i-bit levels (two bytes an RLE value)', (bitWidth) => {
    const next = random(bitWidth);
    const levels = levelsOf(5_000, 2 ** bitWidth - 1, next);
    const encoded = encodeLevels(levels, 5_000, bitWidth);
    expect(decodeBySpec(encoded, 5_000, bitWidth)).toEqual(Array.from(levels.subarray(0, 5_000)));
  });

  it('writes long runs as RLE runs and short ones bit-packed', () => {
    const same = new Uint16Array(20_000).fill(1);
    // One RLE run: header varint(40000) (3 bytes) and the value.
    expect(encodeLevels(same, 20_000, 1)).toEqual(Buffer.from([4, 0, 0, 0, 0xc0, 0xb8, 0x02, 1]));
    const alternating = Uint16Array.from({ length: 16 }, (_, i) => i % 2);
    // One bit-packed run of two groups: 0b10101010 twice.
    expect(encodeLevels(alternating, 16, 1)).toEqual(Buffer.from([3, 0, 0, 0, 5, 0xaa, 0xaa]));
    // Three literals, then a run: the run's first five complete the group of 8.
    const mixed = Uint16Array.from([0, 1, 0, ...Array<number>(20).fill(1)]);
    expect(decodeBySpec(encodeLevels(mixed, 23, 1), 23, 1)).toEqual(Array.from(mixed));
    expect(encodeLevels(mixed, 23, 1)).toEqual(Buffer.from([4, 0, 0, 0, 3, 0xfa, 30, 1]));
  });
});
