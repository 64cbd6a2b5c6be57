import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseRecordId, recordIds } from '../../src/buffer/record-id.js';

describe('record ids', () => {
  it('are unique within and across requests and name their batch, chunk and position', () => {
    const batchId = randomUUID();
    const first = recordIds(batchId, 0, 500);
    const second = recordIds(batchId, 1, 500);
    expect(new Set([...first, ...second]).size).toBe(1000);
    expect(parseRecordId(second[499] as string)).toEqual({ batchId, chunkIndex: 1, position: 499 });
  });

  it('encodes positions past the precomputed ones the same way', () => {
    const batchId = randomUUID();
    const ids = recordIds(batchId, 7, 600);
    expect(ids.every((id) => id.length === 32)).toBe(true);
    expect(parseRecordId(ids[599]!)).toEqual({ batchId, chunkIndex: 7, position: 599 });
  });

  it('parses nothing that it did not make', () => {
    expect(parseRecordId('hello')).toBeUndefined();
    expect(parseRecordId('')).toBeUndefined();
  });
});
