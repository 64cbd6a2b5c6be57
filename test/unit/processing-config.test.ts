import { describe, expect, it } from 'vitest';
import {
  compileProcessing,
  firstStageBuffering,
  type ProcessorInput,
} from '../../src/processors/processing-config.js';

/** ProcessingConfiguration's rules, checked at CreateDeliveryStream / UpdateDestination time. */

function processor(
  Type: ProcessorInput['Type'],
  parameters: Record<string, string> = {},
): ProcessorInput {
  return {
    Type,
    Parameters: Object.entries(parameters).map(([ParameterName, ParameterValue]) => ({
      ParameterName,
      ParameterValue,
    })),
  };
}

const partitioned = { partitioning: true };
const plain = { partitioning: false };

function refusal(processors: ProcessorInput[], context = plain): string {
  try {
    compileProcessing(processors, 'ExtendedS3DestinationConfiguration', context);
  } catch (error) {
    expect((error as { name: string }).name).toBe('InvalidArgumentException');
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('compileProcessing', () => {
  it('compiles every processor into Firehose order, whatever order they are listed in', () => {
    const spec = compileProcessing(
      [
        processor('AppendDelimiterToRecord'),
        processor('MetadataExtraction', {
          MetadataExtractionQuery: '{a: .a, b: .b.c}',
          JsonParsingEngine: 'JQ-1.6',
        }),
        processor('Lambda', {
          LambdaArn: 'sluice:transform:enrich',
          NumberOfRetries: '5',
          BufferSizeInMBs: '0.5',
          BufferIntervalInSeconds: '0',
        }),
        processor('RecordDeAggregation', { SubRecordType: 'DELIMITED', Delimiter: 'IyMjIw==' }),
      ],
      'where',
      partitioned,
    );
    expect(spec.appendDelimiter).toBe(true);
    expect(spec.metadata?.keys).toEqual(['a', 'b']);
    expect(spec.lambda).toMatchObject({
      arn: 'sluice:transform:enrich',
      ref: { kind: 'local', name: 'enrich' },
      numberOfRetries: 5,
      bufferSizeBytes: 524_288,
      bufferIntervalMs: 0,
    });
    expect(spec.deaggregation).toEqual({ type: 'DELIMITED', delimiter: Buffer.from('####') });
    expect(spec.decompression).toBe(false);
  });

  it("fills Firehose's Lambda defaults: 3 retries, 1 MB, 60 s", () => {
    const spec = compileProcessing(
      [processor('Lambda', { LambdaArn: 'https://t.example/x' })],
      'w',
      plain,
    );
    expect(spec.lambda).toMatchObject({
      ref: { kind: 'remote', url: 'https://t.example/x' },
      numberOfRetries: 3,
      bufferSizeBytes: 1_048_576,
      bufferIntervalMs: 60_000,
    });
  });

  it.each([
    [
      [processor('Lambda', { LambdaArn: 'arn:aws:lambda:us-east-1:1:function:f' })],
      /sluice:transform:<name>/,
    ],
    [[processor('Lambda', {})], /needs the parameter LambdaArn/],
    [
      [processor('Lambda', { LambdaArn: 'sluice:transform:a', NumberOfRetries: '301' })],
      /NumberOfRetries must be a whole number from 0 to 300, got '301'/,
    ],
    [
      [processor('Lambda', { LambdaArn: 'sluice:transform:a', NumberOfRetries: '1.5' })],
      /NumberOfRetries must be a whole number/,
    ],
    [
      [processor('Lambda', { LambdaArn: 'sluice:transform:a', BufferSizeInMBs: '4' })],
      /BufferSizeInMBs must be a number from 0.2 to 3, got '4'/,
    ],
    [
      [processor('Lambda', { LambdaArn: 'sluice:transform:a', BufferSizeInMBs: '0x1' })],
      /BufferSizeInMBs/,
    ],
    [
      [processor('Lambda', { LambdaArn: 'sluice:transform:a', BufferIntervalInSeconds: '901' })],
      /BufferIntervalInSeconds/,
    ],
    [
      [processor('Lambda', { LambdaArn: 'sluice:transform:a', SubRecordType: 'JSON' })],
      /does not take the parameter SubRecordType/,
    ],
    [
      [
        processor('Lambda', { LambdaArn: 'sluice:transform:a' }),
        processor('Lambda', { LambdaArn: 'sluice:transform:b' }),
      ],
      /one Lambda processor; this is a second/,
    ],
    [[processor('Decompression', { CompressionFormat: 'ZSTD' })], /GZIP only/],
    [
      [processor('CloudWatchLogProcessing', { DataMessageExtraction: 'true' })],
      /add a Decompression processor/,
    ],
    [[processor('CloudWatchLogProcessing', { DataMessageExtraction: 'yes' })], /'true' or 'false'/],
    [[processor('AppendDelimiterToRecord', { Delimiter: 'Cg==' })], /takes no parameters/],
    [
      [
        processor('MetadataExtraction', {
          MetadataExtractionQuery: '{a: .a}',
          JsonParsingEngine: 'JQ-1.6',
        }),
      ],
      /only with dynamic partitioning/,
    ],
    [
      [processor('RecordDeAggregation', { SubRecordType: 'JSON' })],
      /only with dynamic partitioning/,
    ],
  ])('refuses %j', (processors, message) => {
    expect(refusal(processors)).toMatch(message);
  });

  it.each([
    [
      [
        processor('MetadataExtraction', {
          MetadataExtractionQuery: '{a: .a}',
          JsonParsingEngine: 'JQ-1.5',
        }),
      ],
      /JQ-1.6/,
    ],
    [
      [
        processor('MetadataExtraction', {
          MetadataExtractionQuery: '.a',
          JsonParsingEngine: 'JQ-1.6',
        }),
      ],
      /MetadataExtractionQuery/,
    ],
    [
      [
        processor('MetadataExtraction', {
          MetadataExtractionQuery: '{a: .a',
          JsonParsingEngine: 'JQ-1.6',
        }),
      ],
      /MetadataExtractionQuery/,
    ],
    [[processor('RecordDeAggregation', { SubRecordType: 'CSV' })], /JSON or DELIMITED/],
    [[processor('RecordDeAggregation', { SubRecordType: 'DELIMITED' })], /needs a Delimiter/],
    [
      [processor('RecordDeAggregation', { SubRecordType: 'DELIMITED', Delimiter: '###' })],
      /Delimiter/,
    ],
    [
      [processor('RecordDeAggregation', { SubRecordType: 'JSON', Delimiter: 'IyMjIw==' })],
      /DELIMITED only/,
    ],
  ])('with dynamic partitioning, refuses %j', (processors, message) => {
    expect(refusal(processors, partitioned)).toMatch(message);
  });
});

describe('firstStageBuffering', () => {
  const destination = { sizeBytes: 5 * 1_048_576, intervalMs: 300_000 };

  it("uses the Lambda processor's hints for the first stage: its interval, four invocations' size", () => {
    const processors = [
      processor('Lambda', {
        LambdaArn: 'sluice:transform:a',
        BufferSizeInMBs: '2',
        BufferIntervalInSeconds: '120',
      }),
    ];
    expect(firstStageBuffering(processors, false, destination)).toEqual({
      sizeBytes: 4 * 2 * 1_048_576,
      intervalMs: 120_000,
    });
  });

  it("keeps an unset Lambda interval within the destination's (zero buffering stays prompt)", () => {
    const processors = [processor('Lambda', { LambdaArn: 'sluice:transform:a' })];
    expect(firstStageBuffering(processors, false, destination).intervalMs).toBe(60_000);
    expect(firstStageBuffering(processors, false, { sizeBytes: 1, intervalMs: 0 }).intervalMs).toBe(
      0,
    );
  });

  it('waits at most 1 MiB or 1 s for built-in processors', () => {
    expect(firstStageBuffering([processor('AppendDelimiterToRecord')], false, destination)).toEqual(
      {
        sizeBytes: 1_048_576,
        intervalMs: 1000,
      },
    );
  });
});
