import { describe, expect, it } from 'vitest';

import { decodeChunk } from '../../src/formats/chunk-frame.js';
import {
  OutcomeWriter,
  PackBufferPool,
  PackedInputs,
  PackedOutcomes,
  packInputs,
  unpackOutcomes,
} from '../../src/processors/transforms/record-packing.js';

/** Records and outcomes through their one-buffer packing, as they cross to a worker and back. */

describe('packInputs / PackedInputs', () => {
  it('round-trips ids (any UTF-8), arrival times and data (any bytes, empty too)', () => {
    const records = [
      { id: 'a', arrivalMs: 1_700_000_000_123, data: Buffer.from('{"x":1}\n') },
      { id: 'ünïcödé-✓', arrivalMs: 0, data: Buffer.alloc(0) },
      { id: '', arrivalMs: 1.5, data: Buffer.from([0, 255, 10, 13, 128]) },
    ];
    const buffer = packInputs(records);
    const inputs = new PackedInputs(buffer);
    expect(inputs.count).toBe(3);
    records.forEach((record, i) => {
      expect(inputs.recordId(i)).toBe(record.id);
      expect(inputs.arrivalMs(i)).toBe(record.arrivalMs);
      expect(inputs.data(i)).toEqual(record.data);
      expect(inputs.bytes.subarray(inputs.dataStart(i), inputs.dataEnd(i))).toEqual(record.data);
    });
  });

  it('packs no records', () => {
    expect(new PackedInputs(packInputs([])).count).toBe(0);
  });

  it('packs into a reused buffer, over what an earlier packing left there', () => {
    const pool = new PackBufferPool(2);
    const big = packInputs(
      [{ id: 'old-and-long', arrivalMs: 9, data: Buffer.alloc(5_000, 'z') }],
      pool,
    );
    // Allocated with headroom, so that a slightly larger invocation fits next time.
    expect(big.byteLength).toBeGreaterThan(5_000);
    pool.give(big);
    const small = [
      { id: 'n1', arrivalMs: 1, data: Buffer.from('new') },
      { id: 'n2', arrivalMs: 2, data: Buffer.from('') },
    ];
    const reused = packInputs(small, pool);
    expect(reused).toBe(big);
    expect(pool.size).toBe(0);
    const inputs = new PackedInputs(reused);
    expect(inputs.count).toBe(2);
    expect([0, 1].map((i) => [inputs.recordId(i), inputs.data(i).toString()])).toEqual([
      ['n1', 'new'],
      ['n2', ''],
    ]);
  });

  it('refuses a buffer shorter than its header says', () => {
    const buffer = packInputs([{ id: 'a', arrivalMs: 1, data: Buffer.from('x') }]);
    expect(() => new PackedInputs(buffer.slice(0, buffer.byteLength - 1))).toThrow(/say/);
  });
});

describe('PackBufferPool', () => {
  it('hands out a kept buffer only when it is large enough, and keeps at most so many', () => {
    const pool = new PackBufferPool(2);
    const small = new ArrayBuffer(100);
    pool.give(small);
    expect(pool.take(200)).not.toBe(small);
    expect(pool.take(50)).toBe(small);
    pool.give(new ArrayBuffer(10));
    pool.give(new ArrayBuffer(20));
    // Full: a larger buffer replaces the smallest; a smaller one is let go.
    const large = new ArrayBuffer(1_000);
    pool.give(large);
    pool.give(new ArrayBuffer(5));
    expect(pool.size).toBe(2);
    expect(pool.take(500)).toBe(large);
    expect(pool.take(20).byteLength).toBe(20);
    expect(pool.size).toBe(0);
  });

  it('ignores a detached buffer', () => {
    const pool = new PackBufferPool(2);
    const buffer = new ArrayBuffer(64);
    structuredClone(buffer, { transfer: [buffer] });
    pool.give(buffer);
    expect(pool.size).toBe(0);
  });
});

describe('OutcomeWriter / unpackOutcomes', () => {
  it('round-trips every kind of outcome, in order, with the delimiter after Ok data only', () => {
    const writer = new OutcomeWriter(5, '\n');
    writer.ok(0, 'text ✓');
    writer.dropped(1);
    writer.failed(2, 'Lambda.ProcessingFailedStatus', 'no good: ✗');
    writer.ok(3, Buffer.from([1, 2, 3]), { customer: 'c', 'day/x': '01' });
    writer.ok(4, '');
    expect(unpackOutcomes(writer.finish())).toEqual([
      { result: 'Ok', data: Buffer.from('text ✓\n') },
      { result: 'Dropped' },
      {
        result: 'ProcessingFailed',
        code: 'Lambda.ProcessingFailedStatus',
        message: 'no good: ✗',
      },
      {
        result: 'Ok',
        data: Buffer.from([1, 2, 3, 10]),
        partitionKeys: { customer: 'c', 'day/x': '01' },
      },
      { result: 'Ok', data: Buffer.from('\n') },
    ]);
  });

  it('writes a multi-byte delimiter, and none by default', () => {
    const withDelimiter = new OutcomeWriter(1, '¶');
    withDelimiter.ok(0, 'a');
    expect(unpackOutcomes(withDelimiter.finish())).toEqual([
      { result: 'Ok', data: Buffer.from('a¶') },
    ]);
    const plain = new OutcomeWriter(1);
    plain.ok(0, 'a');
    expect(unpackOutcomes(plain.finish())).toEqual([{ result: 'Ok', data: Buffer.from('a') }]);
  });

  it('records a contract outcome as it is', () => {
    const writer = new OutcomeWriter(3);
    writer.outcome(0, { result: 'Ok', data: Buffer.from('d'), partitionKeys: { k: 'v' } });
    writer.outcome(1, { result: 'Dropped' });
    writer.outcome(2, { result: 'ProcessingFailed', code: 'Lambda.MissingRecordId', message: 'm' });
    expect(unpackOutcomes(writer.finish())).toEqual([
      { result: 'Ok', data: Buffer.from('d'), partitionKeys: { k: 'v' } },
      { result: 'Dropped' },
      { result: 'ProcessingFailed', code: 'Lambda.MissingRecordId', message: 'm' },
    ]);
  });

  it('grows past its expected size, for text and bytes', () => {
    const writer = new OutcomeWriter(3, '\n', 4);
    writer.ok(0, 'é'.repeat(1_000));
    writer.ok(1, Buffer.alloc(10_000, 7), { k: 'v' });
    writer.ok(2, '😀');
    const outcomes = unpackOutcomes(writer.finish());
    expect(outcomes).toEqual([
      { result: 'Ok', data: Buffer.from(`${'é'.repeat(1_000)}\n`) },
      {
        result: 'Ok',
        data: Buffer.concat([Buffer.alloc(10_000, 7), Buffer.from('\n')]),
        partitionKeys: { k: 'v' },
      },
      { result: 'Ok', data: Buffer.from('😀\n') },
    ]);
  });

  it('takes outcomes in record order, each once, and all of them', () => {
    const writer = new OutcomeWriter(2);
    expect(() => writer.ok(1, 'x')).toThrow(/out of order/);
    writer.dropped(0);
    expect(() => writer.dropped(0)).toThrow(/out of order/);
    expect(() => writer.finish()).toThrow(/of 1 records written, of 2/);
    writer.ok(1, 'x');
    expect(() => writer.ok(2, 'y')).toThrow(/out of order/);
    expect(unpackOutcomes(writer.finish())).toEqual([
      { result: 'Dropped' },
      { result: 'Ok', data: Buffer.from('x') },
    ]);
  });

  it('packs a thousand outcomes of mixed sizes', () => {
    const writer = new OutcomeWriter(1000);
    for (let i = 0; i < 1000; i += 1) {
      if (i % 3 === 0) writer.ok(i, 'x'.repeat(i));
      else if (i % 3 === 1) writer.dropped(i);
      else writer.failed(i, 'Lambda.ProcessingFailedStatus', `failed ${i}`);
    }
    const outcomes = unpackOutcomes(writer.finish());
    expect(outcomes).toHaveLength(1000);
    expect(outcomes[999]).toEqual({ result: 'Ok', data: Buffer.from('x'.repeat(999)) });
    expect(outcomes[998]).toMatchObject({ message: 'failed 998' });
  });
});

describe('PackedOutcomes.framed', () => {
  const arrivals = { arrivalMs: (i: number) => [5_000, 3_000, 4_000, 1_000, 2_000][i] ?? 0 };

  it("frames the Ok records as a stored chunk, dated by the oldest Ok record's arrival", () => {
    const writer = new OutcomeWriter(5, '\n', 0, arrivals);
    writer.ok(0, 'first');
    writer.failed(1, 'Lambda.ProcessingFailedStatus', 'said no');
    writer.ok(2, Buffer.from([0, 255, 10]));
    writer.dropped(3);
    writer.ok(4, '', { k: 'v' });
    const packed = new PackedOutcomes(writer.finish());
    const framed = packed.framed();
    expect(framed.records).toBe(3);
    expect(framed.bytes).toBe(6 + 4 + 1);
    const chunk = decodeChunk(framed.frame ?? Buffer.alloc(0));
    expect(chunk.map((r) => r.data)).toEqual([
      Buffer.from('first\n'),
      Buffer.from([0, 255, 10, 10]),
      Buffer.from('\n'),
    ]);
    // Records 1 and 3 are not Ok: the oldest Ok record is record 4, at 2,000.
    expect(chunk.map((r) => r.arrivalMs)).toEqual([2_000, 2_000, 2_000]);
    expect(framed.others).toEqual([
      [
        1,
        { result: 'ProcessingFailed', code: 'Lambda.ProcessingFailedStatus', message: 'said no' },
      ],
      [3, { result: 'Dropped' }],
    ]);
    // The same buffer, read record by record.
    expect(packed.all()).toEqual([
      { result: 'Ok', data: Buffer.from('first\n') },
      { result: 'ProcessingFailed', code: 'Lambda.ProcessingFailedStatus', message: 'said no' },
      { result: 'Ok', data: Buffer.from([0, 255, 10, 10]) },
      { result: 'Dropped' },
      { result: 'Ok', data: Buffer.from('\n'), partitionKeys: { k: 'v' } },
    ]);
  });

  it('has no frame when no record is Ok, and frames after growing the buffer', () => {
    const none = new OutcomeWriter(2, '', 0, arrivals);
    none.dropped(0);
    none.failed(1, 'Lambda.MissingRecordId', 'gone');
    const framed = new PackedOutcomes(none.finish()).framed();
    expect(framed.frame).toBeUndefined();
    expect(framed.records).toBe(0);
    expect(framed.others.map(([i]) => i)).toEqual([0, 1]);

    const grown = new OutcomeWriter(2, '', 1, arrivals);
    const big = 'x'.repeat(100_000);
    grown.ok(0, big);
    grown.ok(1, Buffer.alloc(70_000, 7));
    const chunk = decodeChunk(new PackedOutcomes(grown.finish()).framed().frame ?? Buffer.alloc(0));
    expect(chunk.map((r) => r.data.length)).toEqual([100_000, 70_000]);
    expect(chunk[0]?.data.toString()).toBe(big);
    expect(chunk[0]?.arrivalMs).toBe(3_000);
  });
});
