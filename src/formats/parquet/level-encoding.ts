/**
 * Repetition and definition levels in Parquet's RLE / bit-packing hybrid encoding, as a V1 data
 * page holds them (a 4-byte little-endian length, then the runs).
 *
 * parquetjs-lite has an encoder of its own, but it parses every level with `parseInt` and
 * concatenates a new Buffer for each run (quadratic in the runs of a page); this one writes the
 * runs straight into one buffer. Runs of 8 or more equal levels are RLE runs; everything else is
 * bit-packed in groups of 8, the last group padded with zeros (readers stop at the page's value
 * count).
 */

/** The bits a level of at most `maxLevel` takes (0 for a level that is always 0). */
export function levelBitWidth(maxLevel: number): number {
  return maxLevel === 0 ? 0 : 32 - Math.clz32(maxLevel);
}

/** The most bytes {@link encodeLevels} writes for `count` levels. */
function worstCase(count: number, bitWidth: number): number {
  // Bit-packed: the bits, the last group's padding (at most 14 bytes) and a header of at most 5
  // bytes per run (one ends only where an RLE run of 8+ levels starts); RLE: at most 5 + 2 bytes
  // per 8 levels.
  return 4 + Math.ceil((count * bitWidth) / 8) + 2 * count + 32;
}

/**
 * `levels[0..count)` encoded with `bitWidth` bits each (1 to 16), with the V1 page's length
 * prefix.
 */
export function encodeLevels(levels: Uint16Array, count: number, bitWidth: number): Buffer {
  const out = Buffer.allocUnsafe(worstCase(count, bitWidth));
  const valueBytes = (bitWidth + 7) >> 3;
  let at = 4;

  const varint = (n: number): void => {
    while (n >= 0x80) {
      out[at++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    out[at++] = n;
  };
  /** Levels [from, to) bit-packed; `to - from` is a multiple of 8 but at the end. */
  const bitPacked = (from: number, to: number): void => {
    const groups = Math.ceil((to - from) / 8);
    varint((groups << 1) | 1);
    let acc = 0;
    let bits = 0;
    const end = from + groups * 8;
    for (let i = from; i < end; i += 1) {
      acc |= (i < to ? (levels[i] as number) : 0) << bits;
      bits += bitWidth;
      while (bits >= 8) {
        out[at++] = acc & 0xff;
        acc >>>= 8;
        bits -= 8;
      }
    }
  };
  const repeated = (value: number, times: number): void => {
    varint(times * 2);
    out[at++] = value & 0xff;
    if (valueBytes > 1) out[at++] = value >>> 8;
  };

  // Levels from `literal` on are not written yet; they go bit-packed unless an RLE run follows.
  let literal = 0;
  let i = 0;
  while (i < count) {
    const value = levels[i] as number;
    let end = i + 1;
    while (end < count && levels[end] === value) end += 1;
    if (end - i >= 8) {
      // Pending literals must fill whole groups of 8: take the first of the run to complete them.
      const fill = (8 - ((i - literal) & 7)) & 7;
      if (end - i - fill >= 8) {
        if (i + fill > literal) bitPacked(literal, i + fill);
        repeated(value, end - i - fill);
        literal = end;
      }
    }
    i = end;
  }
  if (literal < count) bitPacked(literal, count);
  out.writeUInt32LE(at - 4, 0);
  return out.subarray(0, at);
}
