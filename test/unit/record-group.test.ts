import { describe, expect, it } from 'vitest';

import type { PipelineRecord } from '../../src/destinations/destination-kind.js';
import { PositionRuns } from '../../src/destinations/position-runs.js';
import { RecordGroup } from '../../src/destinations/record-group.js';
import { encodeChunkFromBuffers } from '../../src/formats/chunk-frame.js';

/**
 * Record groups (record-group.ts), what the delivery pipeline streams: read in place from a
 * stored chunk (whole, or the pending selection of it) they answer exactly what the records as
 * objects would, so the stages that only move bytes and the stages that look at records see the
 * same records; a corrupt chunk is refused.
 */

const ARRIVAL = Date.UTC(2026, 11, 4, 5, 0, 0);
const PAYLOADS = ['{"a":1}\n', '', 'é€𝄞', 'x'.repeat(300), '\u0000\u00ff'].map((t) =>
  Buffer.from(t),
);

/** What every accessor of `group` answers, as plain values. */
function seen(group: RecordGroup) {
  const data: string[] = [];
  const copied: string[] = [];
  for (let k = 0; k < group.length; k += 1) {
    data.push(group.dataAt(k).toString('hex'));
    const target = Buffer.alloc(group.sizeAt(k) + 2, 0xee);
    expect(group.copyDataTo(k, target, 1)).toBe(group.sizeAt(k));
    expect(target[0]).toBe(0xee);
    expect(target[target.length - 1]).toBe(0xee);
    copied.push(target.subarray(1, target.length - 1).toString('hex'));
  }
  return {
    length: group.length,
    positions: Array.from({ length: group.length }, (_, k) => group.positionAt(k)),
    positionRuns: positionsAdded(group),
    sizes: Array.from({ length: group.length }, (_, k) => group.sizeAt(k)),
    data,
    copied,
    bytes: group.dataBytes(),
    concatenated: group.concatenatedData().toString('hex'),
    oldest: group.oldestArrivalMs(),
    records: group.records().map((r) => ({ ...r, data: r.data.toString('hex') })),
  };
}

/** The positions `group` adds to a position list, as an array. */
function positionsAdded(group: RecordGroup): number[] {
  const runs = new PositionRuns();
  runs.addRun(1_000, 2);
  group.addPositionsTo(runs);
  return [...runs].slice(2);
}

function objects(first: number, payloads: readonly Buffer[], ids: readonly string[]) {
  return payloads.map((data, k): PipelineRecord => ({
    id: ids[k] as string,
    position: first + k,
    arrivalMs: ARRIVAL,
    data,
  }));
}

describe('a record group', () => {
  const ids = PAYLOADS.map((_, k) => `id-${k}`);

  it('read from a stored chunk answers what its records as objects answer', () => {
    let idsRead = 0;
    const stored = RecordGroup.fromChunk(encodeChunkFromBuffers(ARRIVAL, PAYLOADS), 40, () => {
      idsRead += 1;
      return ids;
    });
    expect(stored.positionAt(4)).toBe(44);
    expect(stored.concatenatedData()).toEqual(Buffer.concat(PAYLOADS));
    // Ids are made only for a stage that asks for the records.
    expect(idsRead).toBe(0);
    const expected = seen(RecordGroup.of(objects(40, PAYLOADS, ids)));
    expect(seen(stored)).toEqual(expected);
    expect(expected.records.map((r) => r.position)).toEqual([40, 41, 42, 43, 44]);
    expect(idsRead).toBe(1);
    // Made once and kept.
    expect(stored.records()).toBe(stored.records());
    expect(idsRead).toBe(1);
  });

  it('holds only the pending records of a chunk, with their own positions, ids and data', () => {
    const chunk = encodeChunkFromBuffers(ARRIVAL, PAYLOADS);
    const pending = RecordGroup.fromChunk(chunk, 10, () => ids, new Set([11, 13, 14, 99]));
    const kept = [1, 3, 4];
    expect(seen(pending)).toEqual(
      seen(
        RecordGroup.of(
          kept.map((k) => ({
            id: ids[k] as string,
            position: 10 + k,
            arrivalMs: ARRIVAL,
            data: PAYLOADS[k] as Buffer,
          })),
        ),
      ),
    );
    const none = RecordGroup.fromChunk(chunk, 10, () => ids, new Set([9, 15]));
    expect(none.length).toBe(0);
    expect(none.oldestArrivalMs()).toBe(Number.POSITIVE_INFINITY);
    expect(none.concatenatedData()).toEqual(Buffer.alloc(0));
  });

  it('of objects takes the oldest of their arrival times', () => {
    const records = objects(0, PAYLOADS.slice(0, 3), ids).map((r, k) => ({
      ...r,
      arrivalMs: ARRIVAL - k * 1000,
    }));
    expect(RecordGroup.of(records).oldestArrivalMs()).toBe(ARRIVAL - 2000);
    expect(RecordGroup.of([]).oldestArrivalMs()).toBe(Number.POSITIVE_INFINITY);
  });

  it('refuses a corrupt chunk: bad header, truncated, more records announced than fit, trailing bytes', () => {
    const chunk = encodeChunkFromBuffers(ARRIVAL, PAYLOADS);
    const read = (bytes: Buffer) => () => RecordGroup.fromChunk(bytes, 0, () => ids);
    expect(read(chunk.subarray(0, 5))).toThrow(/corrupt chunk: bad header/);
    const version = Buffer.from(chunk);
    version.writeUInt8(9, 0);
    expect(read(version)).toThrow(/corrupt chunk: bad header/);
    expect(read(chunk.subarray(0, chunk.length - 1))).toThrow(/corrupt chunk: record 4 past end/);
    const announced = Buffer.from(chunk);
    announced.writeUInt32BE(0xffffffff, 9);
    expect(read(announced)).toThrow(/corrupt chunk: 4294967295 records announced/);
    const more = Buffer.from(chunk);
    more.writeUInt32BE(PAYLOADS.length + 1, 9);
    expect(read(more)).toThrow(/corrupt chunk: record 5 header past end/);
    expect(read(Buffer.concat([chunk, Buffer.from('x')]))).toThrow(/trailing bytes/);
  });
});
