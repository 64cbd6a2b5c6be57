import { describe, expect, it } from 'vitest';
import {
  ErrorOutputTypeSchema,
  ErrorRecordFormatError,
  formatErrorRecord,
  parseErrorRecord,
  parseErrorRecords,
  type ErrorOutputType,
  type FailedRecordInput,
} from '../../src/error-output/error-records.js';
import {
  deterministicRandomStrings,
  deterministicUuid,
  errorObjectKey,
  type ErrorObjectKeyInput,
} from '../../src/error-output/error-object-key.js';
import { EvaluatedPrefixTooLongError } from '../../src/destinations/s3/object-key.js';
import { chunkRuns, MAX_CHUNK_PAYLOAD_BYTES } from '../../src/error-output/replay-chunks.js';
import { parseItemId } from '../../src/error-output/replay-items.js';
import { errorIndexMatchPattern, errorIndexMember } from '../../src/error-output/error-index.js';

/** Every byte value, a newline and a quote: what base64 and JSON escaping must carry. */
const PAYLOAD = Buffer.concat([
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.from('\n"line"\n'),
]);

function failed(details?: FailedRecordInput['details']): FailedRecordInput {
  return {
    record: { id: 'rec-id-0001', position: 7, arrivalMs: 1_700_000_000_123, data: PAYLOAD },
    code: 'Some.Code',
    message: 'went wrong: "quoted"',
    attemptsMade: 4,
    attemptEndingMs: 1_700_000_100_456,
    ...(details === undefined ? {} : { details }),
  };
}

/** Members (in order) and values of each type's line for {@link failed}() (position 7). */
const EXPECTED: Record<ErrorOutputType, [string, unknown][]> = {
  'http-endpoint-failed': [
    ['attemptsMade', 4],
    ['arrivalTimestamp', 1_700_000_000_123],
    ['errorCode', 'Some.Code'],
    ['errorMessage', 'went wrong: "quoted"'],
    ['attemptEndingTimestamp', 1_700_000_100_456],
    ['rawData', PAYLOAD.toString('base64')],
    ['subsequenceNumber', 7],
    ['dataId', 'rec-id-0001'],
  ],
  'processing-failed': [
    ['rawData', PAYLOAD.toString('base64')],
    ['errorCode', 'Some.Code'],
    ['errorMessage', 'went wrong: "quoted"'],
    ['attemptsMade', 4],
    ['arrivalTimestamp', 1_700_000_000_123],
    ['attemptEndingTimestamp', 1_700_000_100_456],
    ['lambdaARN', null],
  ],
  'decompression-failed': [
    ['rawData', PAYLOAD.toString('base64')],
    ['errorCode', 'Some.Code'],
    ['errorMessage', 'went wrong: "quoted"'],
    ['attemptsMade', 4],
    ['arrivalTimestamp', 1_700_000_000_123],
    ['attemptEndingTimestamp', 1_700_000_100_456],
  ],
  'format-conversion-failed': [
    ['attemptsMade', 4],
    ['arrivalTimestamp', 1_700_000_000_123],
    ['lastErrorCode', 'Some.Code'],
    ['lastErrorMessage', 'went wrong: "quoted"'],
    ['attemptEndingTimestamp', 1_700_000_100_456],
    ['rawData', PAYLOAD.toString('base64')],
    ['sequenceNumber', 'rec-id-0001'],
    ['subSequenceNumber', 7],
    ['dataCatalogTable', null],
  ],
  'AmazonOpenSearchService-failed': [
    ['attemptsMade', 4],
    ['arrivalTimestamp', 1_700_000_000_123],
    ['errorCode', 'Some.Code'],
    ['errorMessage', 'went wrong: "quoted"'],
    ['attemptEndingTimestamp', 1_700_000_100_456],
    ['esDocumentId', null],
    ['esIndexName', null],
    ['esTypeName', null],
    ['rawData', PAYLOAD.toString('base64')],
  ],
  'splunk-failed': [
    ['attemptsMade', 4],
    ['arrivalTimestamp', 1_700_000_000_123],
    ['errorCode', 'Some.Code'],
    ['errorMessage', 'went wrong: "quoted"'],
    ['attemptEndingTimestamp', 1_700_000_100_456],
    ['rawData', PAYLOAD.toString('base64')],
    ['EventId', 'rec-id-0001'],
  ],
  'redshift-failed': [
    ['attemptsMade', 4],
    ['arrivalTimestamp', 1_700_000_000_123],
    ['errorCode', 'Some.Code'],
    ['errorMessage', 'went wrong: "quoted"'],
    ['attemptEndingTimestamp', 1_700_000_100_456],
    ['rawData', PAYLOAD.toString('base64')],
    ['subsequenceNumber', 7],
    ['dataId', 'rec-id-0001'],
  ],
};

describe('error records', () => {
  it('lists the seven error-output types', () => {
    expect(ErrorOutputTypeSchema.options).toEqual([
      'processing-failed',
      'decompression-failed',
      'http-endpoint-failed',
      'format-conversion-failed',
      'AmazonOpenSearchService-failed',
      'splunk-failed',
      'redshift-failed',
    ]);
  });

  for (const type of ErrorOutputTypeSchema.options) {
    it(`writes ${type} with Firehose's members in Firehose's order, one line`, () => {
      const line = formatErrorRecord(type, failed());
      expect(line.endsWith('\n')).toBe(true);
      expect(line.indexOf('\n')).toBe(line.length - 1);
      expect(Object.entries(JSON.parse(line) as object)).toEqual(EXPECTED[type]);
    });

    it(`reads ${type} back: payload byte-exact, arrival, code and message`, () => {
      const parsed = parseErrorRecord(formatErrorRecord(type, failed()));
      expect(parsed.rawData.equals(PAYLOAD)).toBe(true);
      expect(parsed).toMatchObject({
        arrivalMs: 1_700_000_000_123,
        code: 'Some.Code',
        message: 'went wrong: "quoted"',
      });
    });
  }

  it('writes the per-type details when given', () => {
    const processing = JSON.parse(
      formatErrorRecord('processing-failed', failed({ lambdaArn: 'arn:aws:lambda:fn' })),
    ) as Record<string, unknown>;
    expect(processing.lambdaARN).toBe('arn:aws:lambda:fn');
    const search = JSON.parse(
      formatErrorRecord(
        'AmazonOpenSearchService-failed',
        failed({ esDocumentId: 'doc-1', esIndexName: 'logs-2026-07-13', esTypeName: '_doc' }),
      ),
    ) as Record<string, unknown>;
    expect([search.esDocumentId, search.esIndexName, search.esTypeName]).toEqual([
      'doc-1',
      'logs-2026-07-13',
      '_doc',
    ]);
    const table = { catalogId: '1', databaseName: 'db', tableName: 't' };
    const conversion = JSON.parse(
      formatErrorRecord('format-conversion-failed', failed({ dataCatalogTable: table })),
    ) as Record<string, unknown>;
    expect(conversion.dataCatalogTable).toEqual(table);
  });

  it('carries an empty payload', () => {
    const input = failed();
    input.record = { ...input.record, data: Buffer.alloc(0) };
    const line = formatErrorRecord('http-endpoint-failed', input);
    expect((JSON.parse(line) as { rawData: string }).rawData).toBe('');
    expect(parseErrorRecord(line).rawData.length).toBe(0);
  });

  it('reads records written by others: unknown members ignored, codes optional', () => {
    const line = JSON.stringify({
      attemptsMade: 1,
      arrivalTimestamp: 5,
      rawData: 'aGk=',
      somethingNew: { nested: true },
    });
    expect(parseErrorRecord(line)).toEqual({
      rawData: Buffer.from('hi'),
      arrivalMs: 5,
      code: '',
      message: '',
    });
  });

  it.each([
    ['not JSON', '{"rawData":', /line 3: not JSON/],
    ['no rawData', '{"arrivalTimestamp":1}', /line 3: rawData: /],
    [
      'rawData with a bad character',
      '{"arrivalTimestamp":1,"rawData":"aG!="}',
      /rawData: not standard base64/,
    ],
    [
      'rawData without padding',
      '{"arrivalTimestamp":1,"rawData":"aGk"}',
      /rawData: not standard base64/,
    ],
    [
      'rawData in base64url',
      '{"arrivalTimestamp":1,"rawData":"-_-_"}',
      /rawData: not standard base64/,
    ],
    [
      'non-canonical rawData',
      '{"arrivalTimestamp":1,"rawData":"QR=="}',
      /rawData: not canonical base64/,
    ],
    [
      'a string arrivalTimestamp',
      '{"arrivalTimestamp":"1","rawData":"QQ=="}',
      /line 3: arrivalTimestamp: /,
    ],
  ])('refuses a line with %s, naming the line', (_what, line, message) => {
    const error = (() => {
      try {
        parseErrorRecord(line, 3);
      } catch (e) {
        return e;
      }
      throw new Error('accepted');
    })();
    expect(error).toBeInstanceOf(ErrorRecordFormatError);
    expect((error as ErrorRecordFormatError).line).toBe(3);
    expect((error as Error).message).toMatch(message);
  });

  it('reads an object line by line: blank lines, CRLF and a last line without newline', () => {
    const one = formatErrorRecord('splunk-failed', failed());
    const two = JSON.stringify({ arrivalTimestamp: 9, rawData: 'eA==' });
    const records = parseErrorRecords(`${one}\r\n\n${two}`);
    expect(records.map((r) => r.rawData.toString('latin1'))).toEqual([
      PAYLOAD.toString('latin1'),
      'x',
    ]);
    expect(() => parseErrorRecords(`${one}${one}{"rawData":"x"}\n`)).toThrow(/^line 3: /);
  });
});

describe('error object keys', () => {
  const base: ErrorObjectKeyInput = {
    stream: 'clicks',
    streamVersion: 3,
    batchId: '5b7a5c6e-0f4e-4a53-9d11-9c6f1f1a2b3c',
    // 2026-07-13T14:05:06.789Z
    firstArrivalMs: Date.UTC(2026, 6, 13, 14, 5, 6, 789),
    seq: 0,
    type: 'http-endpoint-failed',
    location: { bucket: 'b', prefix: '', compression: 'UNCOMPRESSED', timeZone: 'UTC' },
  };
  const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';

  it('uses the default layout without ErrorOutputPrefix, no extension', () => {
    expect(errorObjectKey(base)).toMatch(
      new RegExp(`^http-endpoint-failed/2026/07/13/14/clicks-3-2026-07-13-14-05-06-${UUID}$`),
    );
    expect(
      errorObjectKey({
        ...base,
        location: { ...base.location, prefix: 'logs/', errorOutputPrefix: '' },
      }),
    ).toMatch(/^logs\/http-endpoint-failed\/2026\/07\/13\/14\/clicks-3-/);
  });

  it('is the same for the same write and differs by seq, type and batch', () => {
    const key = errorObjectKey(base);
    expect(errorObjectKey({ ...base })).toBe(key);
    const others = [
      errorObjectKey({ ...base, seq: 1 }),
      errorObjectKey({ ...base, type: 'processing-failed' }),
      errorObjectKey({ ...base, batchId: 'another' }),
    ];
    const suffix = (k: string) => k.slice(-36);
    expect(new Set([key, ...others].map(suffix)).size).toBe(4);
  });

  it('evaluates ErrorOutputPrefix expressions, random strings deterministic per write', () => {
    const location = {
      ...base.location,
      errorOutputPrefix:
        'err/!{firehose:error-output-type}/!{firehose:random-string}/!{firehose:random-string}/!{timestamp:yyyy-MM-dd-HH}/',
      timeZone: 'Asia/Tokyo',
    };
    const key = errorObjectKey({ ...base, location });
    const match =
      /^err\/http-endpoint-failed\/([A-Za-z0-9]{11})\/([A-Za-z0-9]{11})\/2026-07-13-23\/clicks-3-2026-07-13-23-05-06-/.exec(
        key,
      );
    expect(match).not.toBeNull();
    expect(match?.[1]).not.toBe(match?.[2]);
    expect(errorObjectKey({ ...base, location })).toBe(key);
    expect(errorObjectKey({ ...base, seq: 5, location }).slice(0, 40)).not.toBe(key.slice(0, 40));
  });

  it('appends .gz for GZIP', () => {
    expect(
      errorObjectKey({ ...base, location: { ...base.location, compression: 'GZIP' } }),
    ).toMatch(new RegExp(`-${UUID}\\.gz$`));
  });

  it('refuses an evaluated prefix over 512 characters', () => {
    const location = {
      ...base.location,
      errorOutputPrefix: `${'x'.repeat(500)}/!{firehose:error-output-type}/`,
    };
    expect(() => errorObjectKey({ ...base, location })).toThrow(EvaluatedPrefixTooLongError);
  });

  it('derives v4-looking uuids and 11-character alphanumeric strings', () => {
    expect(deterministicUuid('a')).toMatch(new RegExp(`^${UUID}$`));
    expect(deterministicUuid('a')).toBe(deterministicUuid('a'));
    expect(deterministicUuid('a')).not.toBe(deterministicUuid('b'));
    const first = deterministicRandomStrings('seed');
    const again = deterministicRandomStrings('seed');
    const values = [first(), first(), first()];
    expect(values.every((v) => /^[A-Za-z0-9]{11}$/.test(v))).toBe(true);
    expect(new Set(values).size).toBe(3);
    expect([again(), again(), again()]).toEqual(values);
  });
});

describe('replay helpers', () => {
  it('splits records into runs of at most 500 records and 4 MiB', () => {
    const small = Array.from({ length: 1201 }, () => Buffer.alloc(1));
    expect([...chunkRuns(small)].map((run) => run.length)).toEqual([500, 500, 201]);
    const big = Array.from({ length: 5 }, () => Buffer.alloc(1024 * 1024));
    const runs = [...chunkRuns(big)];
    expect(runs.map((run) => run.length)).toEqual([4, 1]);
    expect(
      runs.every((run) => run.reduce((n, r) => n + r.length, 0) <= MAX_CHUNK_PAYLOAD_BYTES),
    ).toBe(true);
    const huge = [Buffer.alloc(1), Buffer.alloc(MAX_CHUNK_PAYLOAD_BYTES + 1), Buffer.alloc(1)];
    expect([...chunkRuns(huge)].map((run) => run.length)).toEqual([1, 1, 1]);
    expect([...chunkRuns([])]).toEqual([]);
  });

  it('reads item ids', () => {
    expect(parseItemId('error:bucket/a/b/c.gz')).toEqual({
      source: 'error-output',
      bucket: 'bucket',
      key: 'a/b/c.gz',
    });
    expect(parseItemId('dead:1234')).toEqual({ source: 'dead-batch', batchId: '1234' });
    for (const bad of ['error:bucket', 'error:/key', 'error:bucket/', 'dead:', 'x:1', '']) {
      expect(parseItemId(bad)).toBeUndefined();
    }
  });

  it('writes index members in a fixed order and matches them by object', () => {
    const entry = {
      bucket: 'b',
      key: 'k*[1]',
      type: 'splunk-failed' as const,
      batchId: 'id',
      seq: 2,
      records: 9,
    };
    const member = errorIndexMember(entry);
    expect(member).toBe(
      '{"bucket":"b","key":"k*[1]","type":"splunk-failed","batchId":"id","seq":2,"records":9}',
    );
    expect(errorIndexMatchPattern('b', 'k*[1]')).toBe('{"bucket":"b","key":"k\\*\\[1\\]",*');
  });
});
