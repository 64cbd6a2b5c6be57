/**
 * A leaf column's open page ({@link LeafColumn}) as a V1 data page, in the form parquetjs-lite's
 * row-group writer takes pages (`ParquetEnvelopeWriter.writeRowGroup`, which lays out the column
 * chunks and their metadata from them).
 *
 * The page is what parquetjs-lite's own page encoder writes, from columns filled directly:
 * PLAIN values, RLE / bit-packed levels (`level-encoding.ts`), parquetjs-lite's compression
 * codecs and Thrift page header, and min/max and null-count statistics with the values in the
 * raw form parquetjs-lite's chunk statistics compare and encode. No distinct count is written
 * (parquet-mr writes none either; readers do not use it): counting would take a `Set` of every
 * value of the row group.
 */

import thrift from 'parquetjs-lite/gen-nodejs/parquet_types.js';
import codec from 'parquetjs-lite/lib/codec/index.js';
import compression from 'parquetjs-lite/lib/compression.js';
import parquetTypes from 'parquetjs-lite/lib/types.js';
import parquetUtil from 'parquetjs-lite/lib/util.js';
import type { ParquetField, ParquetPageEntry, ParquetPageStatistics } from 'parquetjs-lite';

import type { LeafColumn, RawValue } from './column-shredder.js';
import { encodeLevels, levelBitWidth } from './level-encoding.js';
import { SLUICE_TYPES } from './parquet-schema.js';

const NO_DISTINCT_VALUES: ReadonlySet<never> = new Set();
const TWO_32 = 2 ** 32;

/**
 * `leaf`'s page, whose first row is the row group's `firstRowIndex`th. The leaf is left as it
 * is (the caller resets it).
 */
export function encodePage(leaf: LeafColumn, firstRowIndex: number): ParquetPageEntry {
  const { field } = leaf;
  const values = plainValues(leaf);
  const rlevels =
    field.rLevelMax > 0
      ? encodeLevels(leaf.rlevels, leaf.levelCount, levelBitWidth(field.rLevelMax))
      : undefined;
  const dlevels =
    field.dLevelMax > 0
      ? encodeLevels(leaf.dlevels, leaf.levelCount, levelBitWidth(field.dLevelMax))
      : undefined;
  const size = (rlevels?.length ?? 0) + (dlevels?.length ?? 0) + values.length;
  const body = Buffer.allocUnsafe(size);
  let at = 0;
  if (rlevels) at += rlevels.copy(body, at);
  if (dlevels) at += dlevels.copy(body, at);
  values.copy(body, at);
  const compressed = compression.deflate(field.compression ?? 'UNCOMPRESSED', body);

  const statistics = field.statistics === false ? undefined : statisticsOf(leaf);
  const header = new thrift.PageHeader({
    type: thrift.PageType.DATA_PAGE,
    uncompressed_page_size: size,
    compressed_page_size: compressed.length,
    data_page_header: new thrift.DataPageHeader({
      num_values: leaf.levelCount,
      encoding: thrift.Encoding.PLAIN,
      definition_level_encoding: thrift.Encoding.RLE,
      repetition_level_encoding: thrift.Encoding.RLE,
      statistics: statistics && encodeStatistics(field, statistics),
    }),
  });
  const head = parquetUtil.serializeThrift(header);
  const page = Buffer.allocUnsafe(head.length + compressed.length);
  head.copy(page, 0);
  compressed.copy(page, head.length);
  return {
    page,
    statistics,
    first_row_index: firstRowIndex,
    distinct_values: NO_DISTINCT_VALUES,
    num_values: leaf.levelCount,
  };
}

/** The page's values, PLAIN-encoded. */
function plainValues(leaf: LeafColumn): Buffer {
  const { field, values } = leaf;
  const n = values.length;
  switch (field.primitiveType) {
    case 'BYTE_ARRAY':
      return leaf.bytes.subarray(0, leaf.byteLength);
    case 'INT32': {
      const out = Buffer.allocUnsafe(4 * n);
      for (let i = 0; i < n; i += 1) out.writeInt32LE(values[i] as number, 4 * i);
      return out;
    }
    case 'INT64': {
      const out = Buffer.allocUnsafe(8 * n);
      if (field.originalType === SLUICE_TYPES.timestampMillis) {
        // Safe integers: the low 32 bits (ToUint32 is exact modulo 2^32) and the high, signed.
        for (let i = 0; i < n; i += 1) {
          const ms = values[i] as number;
          out.writeUInt32LE(ms >>> 0, 8 * i);
          out.writeInt32LE(Math.floor(ms / TWO_32), 8 * i + 4);
        }
      } else {
        for (let i = 0; i < n; i += 1) out.writeBigInt64LE(values[i] as bigint, 8 * i);
      }
      return out;
    }
    case 'FLOAT': {
      const out = Buffer.allocUnsafe(4 * n);
      for (let i = 0; i < n; i += 1) out.writeFloatLE(values[i] as number, 4 * i);
      return out;
    }
    case 'DOUBLE': {
      const out = Buffer.allocUnsafe(8 * n);
      for (let i = 0; i < n; i += 1) out.writeDoubleLE(values[i] as number, 8 * i);
      return out;
    }
    case 'BOOLEAN': {
      const out = Buffer.alloc(Math.ceil(n / 8));
      for (let i = 0; i < n; i += 1) {
        if (values[i] === true) out[i >> 3] = (out[i >> 3] as number) | (1 << (i & 7));
      }
      return out;
    }
    case 'FIXED_LEN_BYTE_ARRAY': {
      const width = leaf.width;
      const out = Buffer.allocUnsafe(width * n);
      for (let i = 0; i < n; i += 1)
        writeTwosComplement(out, width * i, width, values[i] as bigint);
      return out;
    }
    default:
      throw new Error(`column "${field.path.join('.')}": no PLAIN encoding of its type`);
  }
}

/** `value` as `width` bytes of big-endian two's complement at `at` (the writer checked it fits). */
function writeTwosComplement(out: Buffer, at: number, width: number, value: bigint): void {
  let rest = value;
  let end = at + width;
  // 48 bits at a time from the right, while more than 6 bytes are left; then the signed rest.
  while (end - at > 6) {
    out.writeUIntBE(Number(BigInt.asUintN(48, rest)), end - 6, 6);
    rest >>= 48n;
    end -= 6;
  }
  out.writeIntBE(Number(rest), at, end - at);
}

/**
 * The page's min and max, in the raw form of the column's type (for strings, the UTF-8 bytes as
 * a latin1 string, whose order is the unsigned byte order Parquet orders UTF8 by), and its nulls.
 */
function statisticsOf(leaf: LeafColumn): ParquetPageStatistics {
  const statistics: ParquetPageStatistics = { null_count: leaf.levelCount - leaf.valueCount };
  if (leaf.width === 0) {
    const range = leaf.stringRange();
    if (range !== undefined) {
      statistics.min_value = Buffer.from(range.min, 'utf8').toString('latin1');
      statistics.max_value = Buffer.from(range.max, 'utf8').toString('latin1');
    }
    return statistics;
  }
  const { values } = leaf;
  if (values.length === 0) return statistics;
  let min = values[0] as RawValue;
  let max = min;
  for (let i = 1; i < values.length; i += 1) {
    const value = values[i] as RawValue;
    if (value < min) min = value;
    else if (value > max) max = value;
  }
  statistics.min_value = min;
  statistics.max_value = max;
  return statistics;
}

/**
 * Page header statistics, as parquetjs-lite encodes them; the deprecated min/max (defined with
 * signed byte order) are left out for strings, as Sluice's footer leaves them out.
 */
function encodeStatistics(field: ParquetField, statistics: ParquetPageStatistics): object {
  const min = statisticsValue(field, statistics.min_value);
  const max = statisticsValue(field, statistics.max_value);
  const signedOrderSafe = field.originalType !== SLUICE_TYPES.utf8;
  return new thrift.Statistics({
    min: signedOrderSafe ? min : null,
    max: signedOrderSafe ? max : null,
    min_value: min,
    max_value: max,
    null_count: statistics.null_count,
  });
}

function statisticsValue(field: ParquetField, value: RawValue | undefined): Buffer | null {
  if (value === undefined) return null;
  const primitive =
    field.originalType === undefined
      ? value
      : parquetTypes.toPrimitive(field.originalType, value as never);
  if (field.primitiveType === 'BYTE_ARRAY') return primitive as Buffer;
  return codec.PLAIN.encodeValues(field.primitiveType ?? 'BYTE_ARRAY', [primitive], {
    typeLength: field.typeLength,
    bitWidth: field.typeLength,
  });
}
