import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compileProcessing, type ProcessorInput } from '../../src/processors/processing-config.js';
import {
  invocationsOf,
  runProcessors,
  type SourceRecord,
  type TransformInvoker,
} from '../../src/processors/processing-pipeline.js';
import { decodeChunk } from '../../src/formats/chunk-frame.js';
import { OutcomeWriter, PackedOutcomes } from '../../src/processors/transforms/record-packing.js';
import { listedOutcomes } from '../../src/processors/transforms/transform-records.js';

/** The processors' order, the invocations a transform gets, and what failures keep. */

const record = (id: string, data: Buffer | string): SourceRecord => ({
  id,
  arrivalMs: 1,
  data: typeof data === 'string' ? Buffer.from(data) : data,
});

const processor = (Type: ProcessorInput['Type'], parameters: Record<string, string> = {}) => ({
  Type,
  Parameters: Object.entries(parameters).map(([ParameterName, ParameterValue]) => ({
    ParameterName,
    ParameterValue,
  })),
});

describe('invocationsOf', () => {
  it('keeps each invocation within BufferSizeInMBs, in order, at least one record each', () => {
    const records = [100, 300, 600, 50, 2_000, 10].map((n, i) => record(`r${i}`, 'x'.repeat(n)));
    const groups = invocationsOf(records, 1_000);
    // 100 + 300 + 600 is the size exactly; a record larger than the size goes alone.
    expect(groups.map((g) => g.map((r) => r.id))).toEqual([
      ['r0', 'r1', 'r2'],
      ['r3'],
      ['r4'],
      ['r5'],
    ]);
  });

  it("keeps each invocation's event within Firehose's 6 MB payload, base64 included", () => {
    const big = Array.from({ length: 6 }, (_, i) => record(`b${i}`, Buffer.alloc(1_000_000)));
    const groups = invocationsOf(big, 10_000_000);
    // 1 MB of data is about 1.33 MB of base64: four records fit in 6 MB, five do not.
    expect(groups.map((g) => g.length)).toEqual([4, 2]);
  });
});

describe('runProcessors', () => {
  const noTransform: TransformInvoker = () => Promise.reject(new Error('no transform here'));

  it("runs de-aggregation, metadata extraction and the delimiter in Firehose's order, whatever the listed order", async () => {
    const spec = compileProcessing(
      [
        processor('AppendDelimiterToRecord'),
        processor('MetadataExtraction', {
          MetadataExtractionQuery: '{k: .k}',
          JsonParsingEngine: 'JQ-1.6',
        }),
        processor('RecordDeAggregation', { SubRecordType: 'JSON' }),
      ],
      'where',
      { partitioning: true },
    );
    const result = await runProcessors([record('a', '{"k":"x"}{"k":"y"}{"j":1}')], {
      spec,
      invoke: noTransform,
      maxDecompressedBytes: 1 << 20,
    });
    expect(result.records.map((r) => [r.id, r.data.toString(), r.keys.query])).toEqual([
      ['a.0', '{"k":"x"}\n', { k: 'x' }],
      ['a.1', '{"k":"y"}\n', { k: 'y' }],
    ]);
    expect(result.failures.map((f) => [f.id, f.code, f.data.toString()])).toEqual([
      ['a.2', 'DynamicPartitioning.MetadataExtractionFailed', '{"j":1}'],
    ]);
  });

  it('writes a decompressed record that fails later once, as it arrived', async () => {
    const spec = compileProcessing(
      [
        processor('Decompression', { CompressionFormat: 'GZIP' }),
        processor('CloudWatchLogProcessing', { DataMessageExtraction: 'true' }),
        processor('Lambda', { LambdaArn: 'sluice:transform:t' }),
      ],
      'where',
      { partitioning: false },
    );
    const envelope = gzipSync(
      JSON.stringify({
        messageType: 'DATA_MESSAGE',
        owner: '123456789012',
        logGroup: 'g',
        logStream: 's',
        subscriptionFilters: ['f'],
        logEvents: [
          { id: '1', timestamp: 1, message: 'bad one' },
          { id: '2', timestamp: 2, message: 'bad two' },
          { id: '3', timestamp: 3, message: 'good' },
        ],
      }),
    );
    const invoke: TransformInvoker = (_lambda, records) =>
      Promise.resolve(
        listedOutcomes(
          records.map((r) =>
            r.data.toString().startsWith('bad')
              ? {
                  result: 'ProcessingFailed',
                  code: 'Lambda.ProcessingFailedStatus',
                  message: 'no',
                }
              : { result: 'Ok', data: r.data },
          ),
        ),
      );
    const result = await runProcessors([record('e', envelope)], {
      spec,
      invoke,
      maxDecompressedBytes: 1 << 20,
    });
    expect(result.records.map((r) => r.data.toString())).toEqual(['good']);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]?.data.equals(envelope)).toBe(true);
    expect(result.failures[0]?.lambdaArn).toBe('sluice:transform:t');
  });

  describe('framed output', () => {
    /** A transform that answers like a worker thread: packed, by the record's text. */
    const packedInvoke: TransformInvoker = (_lambda, records) => {
      const writer = new OutcomeWriter(records.length, '', 0, {
        arrivalMs: (i) => records[i]?.arrivalMs ?? 0,
      });
      records.forEach((r, i) => {
        const text = r.data.toString();
        if (text === 'drop') writer.dropped(i);
        else if (text === 'fail') writer.failed(i, 'Lambda.ProcessingFailedStatus', 'no');
        else writer.ok(i, text.toUpperCase());
      });
      return Promise.resolve(new PackedOutcomes(writer.finish()));
    };
    const records = ['a', 'drop', 'b', 'fail'].map((text, i) => ({
      ...record(`r${i}`, text),
      arrivalMs: 10 - i,
    }));
    const lambdaOnly = (extra: ReturnType<typeof processor>[] = []) =>
      compileProcessing(
        [processor('Lambda', { LambdaArn: 'sluice:transform:t' }), ...extra],
        'where',
        { partitioning: false },
      );

    it('hands the Ok records over as stored chunks when asked, the others one by one', async () => {
      const result = await runProcessors(records, {
        spec: lambdaOnly(),
        invoke: packedInvoke,
        maxDecompressedBytes: 1 << 20,
        framedOutput: true,
      });
      expect(result.records).toEqual([]);
      expect(result.framed).toHaveLength(1);
      const [framed] = result.framed;
      expect(framed).toMatchObject({ records: 2, bytes: 2 });
      const chunk = decodeChunk(framed?.frame ?? Buffer.alloc(0));
      expect(chunk.map((r) => [r.data.toString(), r.arrivalMs])).toEqual([
        ['A', 8],
        ['B', 8],
      ]);
      expect(result.dropped).toBe(1);
      expect(result.failures.map((f) => [f.id, f.code, f.lambdaArn])).toEqual([
        ['r3', 'Lambda.ProcessingFailedStatus', 'sluice:transform:t'],
      ]);
    });

    it('keeps records one by one when not asked, or when a processor runs after the transform', async () => {
      for (const [spec, framedOutput] of [
        [lambdaOnly(), false],
        [lambdaOnly([processor('AppendDelimiterToRecord')]), true],
      ] as const) {
        const result = await runProcessors(records, {
          spec,
          invoke: packedInvoke,
          maxDecompressedBytes: 1 << 20,
          framedOutput,
        });
        expect(result.framed).toEqual([]);
        expect(result.records.map((r) => [r.id, r.data.toString(), r.arrivalMs])).toEqual(
          spec.appendDelimiter
            ? [
                ['r0', 'A\n', 10],
                ['r2', 'B\n', 8],
              ]
            : [
                ['r0', 'A', 10],
                ['r2', 'B', 8],
              ],
        );
        expect(result.dropped).toBe(1);
        expect(result.failures).toHaveLength(1);
      }
    });
  });
});
