import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  DECOMPRESSED_TOO_LARGE,
  INVALID_GZIP,
  decompressGzip,
  isGzip,
} from '../../src/processors/builtin/decompression.js';
import { ProcessorFailure } from '../../src/processors/builtin/processor-failure.js';
import { cloudWatchLogsEnvelopeJson, cloudWatchLogsPayload } from '../support/cloudwatch-logs.js';

const MiB = 1024 * 1024;

/** The ProcessorFailure `run` throws; fails the test when it throws nothing or something else. */
function failureOf(run: () => unknown): ProcessorFailure {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ProcessorFailure);
    return error as ProcessorFailure;
  }
  throw new Error('expected a ProcessorFailure, nothing was thrown');
}

describe('isGzip', () => {
  it('recognises the gzip magic bytes and nothing else', () => {
    expect(isGzip(gzipSync('x'))).toBe(true);
    expect(isGzip(new Uint8Array([0x1f, 0x8b]))).toBe(true);
    expect(isGzip(new Uint8Array([0x1f]))).toBe(false);
    expect(isGzip(new Uint8Array([]))).toBe(false);
    expect(isGzip(Buffer.from('{"messageType":"DATA_MESSAGE"}'))).toBe(false);
    expect(isGzip(new Uint8Array([0x8b, 0x1f]))).toBe(false);
  });
});

describe('decompressGzip', () => {
  it('gunzips a CloudWatch Logs subscription payload to its JSON envelope', () => {
    const options = { events: ['first', 'second'] };
    const out = decompressGzip(cloudWatchLogsPayload(options), MiB);
    expect(out.toString('utf8')).toBe(cloudWatchLogsEnvelopeJson(options));
  });

  it('decompresses several gzip members one after another, as gunzip does', () => {
    const data = Buffer.concat([gzipSync('hello '), gzipSync('gzip '), gzipSync('members')]);
    expect(decompressGzip(data, MiB).toString()).toBe('hello gzip members');
  });

  it('takes output of exactly maxBytes and refuses one byte more', () => {
    const data = gzipSync(Buffer.alloc(1000, 'a'));
    expect(decompressGzip(data, 1000).length).toBe(1000);
    const failure = failureOf(() => decompressGzip(data, 999));
    expect(failure.code).toBe(DECOMPRESSED_TOO_LARGE);
    expect(failure.outputType).toBe('decompression-failed');
    expect(failure.message).toBe(
      'The record decompresses to more than 999 bytes, the most one record may decompress to; decompression was stopped there. Send smaller records.',
    );
  });

  it('stops a zip bomb at the limit: about 1 MiB of input that would make 1 GiB', () => {
    const member = gzipSync(Buffer.alloc(MiB));
    const bomb = Buffer.concat(Array.from({ length: 1024 }, () => member));
    expect(bomb.length).toBeLessThan(2 * MiB);
    const failure = failureOf(() => decompressGzip(bomb, 4 * MiB));
    expect(failure.code).toBe(DECOMPRESSED_TOO_LARGE);
    expect(failure.message).toContain('more than 4194304 bytes');
  });

  it('refuses data without the gzip magic bytes, saying what it starts with', () => {
    const failure = failureOf(() => decompressGzip(Buffer.from('{"a":1}'), MiB));
    expect(failure.code).toBe(INVALID_GZIP);
    expect(failure.outputType).toBe('decompression-failed');
    expect(failure.message).toBe(
      'The record is not gzip data: it starts with 7b 22, not with the gzip magic bytes 1f 8b. A stream with a Decompression processor takes CloudWatch Logs subscription data, which is gzip-compressed; send other data to a stream without one.',
    );
    expect(failureOf(() => decompressGzip(Buffer.alloc(0), MiB)).message).toContain(
      'The record is not gzip data: it is empty, not with the gzip magic bytes',
    );
    expect(failureOf(() => decompressGzip(Buffer.from([0x1f]), MiB)).message).toContain(
      'it starts with 1f,',
    );
  });

  it("refuses truncated, corrupt or trailing-garbage gzip with zlib's reason", () => {
    const good = gzipSync('some log data');
    const truncated = failureOf(() => decompressGzip(good.subarray(0, good.length - 4), MiB));
    expect(truncated.code).toBe(INVALID_GZIP);
    expect(truncated.outputType).toBe('decompression-failed');
    expect(truncated.message).toMatch(
      /^The record is not valid gzip data \(zlib: unexpected end of file\)\. A stream with a Decompression processor/,
    );

    const corrupt = Buffer.from(good);
    corrupt[corrupt.length - 6] = (corrupt[corrupt.length - 6] as number) ^ 0xff; // CRC-32
    expect(failureOf(() => decompressGzip(corrupt, MiB)).message).toContain(
      '(zlib: incorrect data check)',
    );

    const trailing = Buffer.concat([good, Buffer.from('garbage')]);
    const garbage = failureOf(() => decompressGzip(trailing, MiB));
    expect(garbage.code).toBe(INVALID_GZIP);
    expect(garbage.message).toContain('(zlib: incorrect header check)');
  });

  it('ignores zero padding after the last member, as gunzip does', () => {
    const padded = Buffer.concat([gzipSync('padded'), Buffer.alloc(16)]);
    expect(decompressGzip(padded, MiB).toString()).toBe('padded');
  });

  it('rejects a limit that is not a positive integer as a defect in the caller', () => {
    const data = gzipSync('x');
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => decompressGzip(data, bad)).toThrow(RangeError);
    }
  });
});
