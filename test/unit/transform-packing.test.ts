import { describe, expect, it } from 'vitest';

import {
  OutcomeWriter,
  PackedInputs,
  packInputs,
  unpackOutcomes,
} from '../../src/processors/transforms/record-packing.js';

/** Records and outcomes through their one-buffer packing, as they cross to a worker and back. */

describe('packInputs / PackedInputs', () => {
  it('round-trips ids (any UTF-8), arrival times and data (any bytes, empty too)', () => {
    const records = [
      { recordId: 'a', arrivalMs: 1_700_000_000_123, data: Buffer.from('{"x":1}\n') },
      { recordId: 'ünïcödé-✓', arrivalMs: 0, data: Buffer.alloc(0) },
      { recordId: '', arrivalMs: 1.5, data: Buffer.from([0, 255, 10, 13, 128]) },
    ];
    const buffer = packInputs(records);
    const inputs = new PackedInputs(buffer);
    expect(inputs.count).toBe(3);
    records.forEach((record, i) => {
      expect(inputs.recordId(i)).toBe(record.recordId);
      expect(inputs.arrivalMs(i)).toBe(record.arrivalMs);
      expect(inputs.data(i)).toEqual(record.data);
      expect(inputs.bytes.subarray(inputs.dataStart(i), inputs.dataEnd(i))).toEqual(record.data);
    });
  });

  it('packs no records', () => {
    expect(new PackedInputs(packInputs([])).count).toBe(0);
  });

  it('refuses a buffer whose header does not match its size', () => {
    const buffer = packInputs([{ recordId: 'a', arrivalMs: 1, data: Buffer.from('x') }]);
    expect(() => new PackedInputs(buffer.slice(0, buffer.byteLength - 1))).toThrow(/say/);
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
