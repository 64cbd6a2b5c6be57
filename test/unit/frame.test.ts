import { describe, expect, it } from 'vitest';
import { decodeChunk, encodeChunkFromBuffers, frameSize } from '../../src/formats/chunk-frame.js';

describe('framed chunks', () => {
  it('round-trips records byte for byte, including empty and binary ones', () => {
    const records = [
      Buffer.from('a'),
      Buffer.alloc(0),
      Buffer.from([0, 255, 10, 13]),
      Buffer.alloc(70_000, 7),
    ];
    const chunk = encodeChunkFromBuffers(1_700_000_000_123.5, records);
    expect(chunk.length).toBe(frameSize(1 + 0 + 4 + 70_000, 4));
    const decoded = decodeChunk(chunk);
    expect(decoded.map((r) => Buffer.from(r.data))).toEqual(records);
    expect(decoded.every((r) => r.arrivalMs === 1_700_000_000_123.5)).toBe(true);
  });

  it('refuses truncated, padded or foreign chunks instead of delivering part of them', () => {
    const chunk = encodeChunkFromBuffers(1, [Buffer.from('hello'), Buffer.from('world')]);
    expect(() => decodeChunk(chunk.subarray(0, chunk.length - 1))).toThrow(/past end/);
    expect(() => decodeChunk(Buffer.concat([chunk, Buffer.from('x')]))).toThrow(/trailing/);
    expect(() => decodeChunk(Buffer.from('not a chunk at all'))).toThrow(/bad header/);
  });
});
