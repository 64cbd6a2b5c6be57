import { describe, expect, it } from 'vitest';
import { keySlot } from '../../src/redis/key-slot.js';
import { assertOneSlot } from '../../src/redis/strict-scripts.js';
import { streamKeys } from '../../src/streams/keys.js';

describe('keySlot', () => {
  it('matches the Redis Cluster specification and CLUSTER KEYSLOT examples', () => {
    // The specification's CRC16 check value: 0x31C3 for "123456789".
    expect(keySlot('123456789')).toBe(0x31c3);
    // Redis's documentation of CLUSTER KEYSLOT.
    expect(keySlot('somekey')).toBe(11058);
    expect(keySlot('foo{hash_tag}')).toBe(2515);
  });

  it('hashes only the first non-empty hash tag, as the specification says', () => {
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('foo{bar}{zap}')).toBe(keySlot('bar'));
    // An empty tag hashes the whole key; a tag runs to the first closing brace.
    expect(keySlot('foo{}{bar}')).not.toBe(keySlot('bar'));
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'));
    // Bytes, not UTF-16 code units.
    expect(keySlot('{é}x')).toBe(keySlot('é'));
  });

  it("puts every key of a stream in one slot, whatever the stream's name", () => {
    for (const stream of ['a', 'orders-2026', 'x'.repeat(64), 'with.dots_and-dashes']) {
      const keys = Object.values(streamKeys(stream));
      expect(() => assertOneSlot(keys)).not.toThrow();
    }
    expect(() => assertOneSlot([streamKeys('a').open, streamKeys('b').open])).toThrow(
      /span 2 hash slots/,
    );
  });
});
