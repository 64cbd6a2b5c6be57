import { describe, expect, it } from 'vitest';
import { decodeChunk } from '../../src/formats/chunk-frame.js';
import { decodeRecords, MAX_RECORD_BYTES } from '../../src/api/firehose/record-decoding.js';
import { firehoseErrorOf } from '../support/firehose-error.js';

const path = (i: number) => `records.${i + 1}.member.data`;

describe('decodeRecords', () => {
  it('decodes base64 payloads into one chunk, exactly', () => {
    const payloads = ['hello\n', '', '\u0000\u00ff binary', 'x'.repeat(10_000)].map((s) =>
      Buffer.from(s, 'latin1'),
    );
    const decoded = decodeRecords(
      payloads.map((p) => ({ Data: p.toString('base64') })),
      path,
      42,
    );
    expect(decoded.count).toBe(4);
    expect(decoded.payloadBytes).toBe(payloads.reduce((n, p) => n + p.length, 0));
    expect(decodeChunk(decoded.chunk).map((r) => Buffer.from(r.data))).toEqual(payloads);
  });

  it("rejects base64 whose length is not a multiple of 4 with Firehose's message", () => {
    const error = firehoseErrorOf(() => decodeRecords([{ Data: 'foobar' }], path, 0));
    expect(error.type).toBe('SerializationException');
    expect(error.message).toBe(
      "'foobar' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 6",
    );
  });

  it.each(['ab$d', 'ab-d', 'ab_d', 'QQ==QUJD', 'Q===', 'ab d'])(
    'rejects invalid base64 %j',
    (data) => {
      expect(firehoseErrorOf(() => decodeRecords([{ Data: data }], path, 0)).type).toBe(
        'SerializationException',
      );
    },
  );

  it('rejects a missing Data with a ValidationException naming the record', () => {
    const error = firehoseErrorOf(() => decodeRecords([{ Data: 'QQ==' }, {}], path, 0));
    expect(error.type).toBe('ValidationException');
    expect(error.message).toContain(
      "at 'records.2.member.data' failed to satisfy constraint: Member must not be null",
    );
  });

  it('rejects non-string Data and non-object records as serialization errors', () => {
    expect(firehoseErrorOf(() => decodeRecords([{ Data: 5 }], path, 0)).type).toBe(
      'SerializationException',
    );
    expect(firehoseErrorOf(() => decodeRecords(['QQ=='], path, 0)).type).toBe(
      'SerializationException',
    );
  });

  it('rejects a record over 1,024,000 bytes and accepts one of exactly that size', () => {
    const max = Buffer.alloc(MAX_RECORD_BYTES, 1).toString('base64');
    expect(decodeRecords([{ Data: max }], path, 0).payloadBytes).toBe(MAX_RECORD_BYTES);
    const over = Buffer.alloc(MAX_RECORD_BYTES + 1, 1).toString('base64');
    const error = firehoseErrorOf(() => decodeRecords([{ Data: 'QQ==' }, { Data: over }], path, 0));
    expect(error.type).toBe('ValidationException');
    expect(error.message).toMatch(
      /^1 validation error detected: Value '.*' at 'records\.2\.member\.data' failed to satisfy constraint: Member must have length less than or equal to 1024000$/,
    );
  });

  it('rejects a batch over 4 MiB as a whole', () => {
    const record = { Data: Buffer.alloc(1_000_000, 1).toString('base64') };
    const error = firehoseErrorOf(() =>
      decodeRecords(
        [record, record, record, record, { Data: Buffer.alloc(200_000).toString('base64') }],
        path,
        0,
      ),
    );
    expect(error.type).toBe('InvalidArgumentException');
    expect(error.message).toBe('Records size exceeds 4 MB limit');
  });
});
