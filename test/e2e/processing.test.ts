import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import {
  CreateDeliveryStreamCommand,
  UpdateDestinationCommand,
  DescribeDeliveryStreamCommand,
  type FirehoseClient,
  type Processor,
} from '@aws-sdk/client-firehose';
import { beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from '../../devtools/free-port.js';
import { cloudWatchControlMessage, cloudWatchLogsPayload } from '../support/cloudwatch-logs.js';
import {
  cleanupAfterAll,
  createS3Stream,
  eventually,
  firehoseFor,
  putRecordBatch,
  startServers,
  startService,
  tempDir,
  type Servers,
} from '../support/e2e.js';
import { uniqueName } from '../support/unique.js';
import type { SluiceProcess } from '../support/sluice-process.js';

/**
 * Processing end to end through the Firehose API: plug-in and remote transforms, the built-in
 * processors, dynamic partitioning with its limits, and the error output, against a real
 * Sluice process, real Redis and a real S3-protocol server.
 */

const BUCKET = 'processed';
const KIT = new URL('../../dist/src/processors/transforms/transform-kit.js', import.meta.url).href;
const ROLE = 'arn:aws:iam::000000000000:role/firehose';

const suite = cleanupAfterAll();
let servers: Servers;
let sluice: SluiceProcess;
let firehose: FirehoseClient;
let transformsDir: string;

/** A Lambda processor naming a transform, invoked as soon as records arrive. */
function lambda(arn: string, extra: Record<string, string> = {}): Processor {
  return {
    Type: 'Lambda',
    Parameters: [
      { ParameterName: 'LambdaArn', ParameterValue: arn },
      { ParameterName: 'BufferIntervalInSeconds', ParameterValue: '0' },
      ...Object.entries(extra).map(([ParameterName, ParameterValue]) => ({
        ParameterName,
        ParameterValue,
      })),
    ],
  } as Processor;
}

const APPEND: Processor = { Type: 'AppendDelimiterToRecord', Parameters: [] };

function metadata(query: string): Processor {
  return {
    Type: 'MetadataExtraction',
    Parameters: [
      { ParameterName: 'MetadataExtractionQuery', ParameterValue: query },
      { ParameterName: 'JsonParsingEngine', ParameterValue: 'JQ-1.6' },
    ],
  };
}

async function writeTransform(name: string, body: string): Promise<void> {
  await writeFile(
    join(transformsDir, `${name}.mjs`),
    `import { defineTransform, ok, dropped, failed } from '${KIT}';\n${body}\n`,
  );
}

/** Every object under `prefix` in the bucket, with its text. */
async function objectsUnder(prefix: string): Promise<{ key: string; text: string }[]> {
  const keys = (await servers.s3.listKeys(BUCKET)).filter((k) => k.startsWith(prefix));
  return Promise.all(
    keys.map(async (key) => ({
      key,
      text: (await servers.s3.getObject(BUCKET, key)).body.toString('utf8'),
    })),
  );
}

/** The error records under `prefix`, parsed. */
async function errorRecordsUnder(prefix: string): Promise<Record<string, unknown>[]> {
  const objects = await objectsUnder(prefix);
  return objects.flatMap((o) =>
    o.text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>),
  );
}

function decoded(record: Record<string, unknown>): string {
  return Buffer.from(record.rawData as string, 'base64').toString('utf8');
}

beforeAll(async () => {
  servers = await startServers(suite);
  await servers.s3.createBucket(BUCKET);
  transformsDir = await tempDir(suite, 'sluice-transforms-');
  await writeTransform(
    'enrich',
    `export default defineTransform({ decode: 'json', delimiter: '', record(event, ctx) {
  if (event.level === 'debug') return dropped();
  if (event.bad) return failed('bad record: ' + event.bad);
  return { ...event, seen: true, stream: ctx.deliveryStreamName };
} });`,
  );
  await writeTransform(
    'keys',
    `export default defineTransform({ decode: 'json', record(event) {
  if (event.customer === undefined) return event;
  return ok(event, { partitionKeys: { customer: event.customer } });
} });`,
  );
  await writeTransform(
    'hang',
    `export default defineTransform({ decode: 'text', record() { for (;;) {} } });`,
  );
  sluice = await startService(suite, {
    ...servers.sluiceEnv,
    SLUICE_SEAL_TICK_MS: '50',
    SLUICE_RETRY_BASE_MS: '100',
    SLUICE_RETRY_MAX_MS: '500',
    SLUICE_SWEEP_AFTER_MS: '500',
    SLUICE_TRANSFORMS_DIR: transformsDir,
    SLUICE_TRANSFORM_TIMEOUT_SECONDS: '1',
    SLUICE_MAX_ACTIVE_PARTITIONS: '3',
  });
  firehose = firehoseFor(suite, sluice, { maxAttempts: 3 });
}, 60_000);

describe('plug-in transforms', () => {
  it('transforms, drops and fails records as the transform says, failures in the error output', async () => {
    const stream = await createS3Stream(firehose, 'enrich', BUCKET, {
      Prefix: 'enrich/',
      ErrorOutputPrefix: 'enrich-errors/!{firehose:error-output-type}/',
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
      ProcessingConfiguration: {
        Enabled: true,
        Processors: [lambda('sluice:transform:enrich'), APPEND],
      },
    });
    const put = await putRecordBatch(firehose, stream, [
      JSON.stringify({ n: 1, level: 'info' }),
      JSON.stringify({ n: 2, level: 'debug' }),
      JSON.stringify({ n: 3, bad: 'no' }),
      'not json',
      JSON.stringify({ n: 4 }),
    ]);
    expect(put.FailedPutCount).toBe(0);
    const delivered = await eventually('the expected objects', async () => {
      const objects = await objectsUnder('enrich/');
      return objects.length > 0 ? objects : undefined;
    });
    const lines = delivered.flatMap((o) => o.text.split('\n').filter((l) => l !== ''));
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { n: 1, level: 'info', seen: true, stream },
      { n: 4, seen: true, stream },
    ]);
    const errors = await eventually('the expected objects', async () => {
      const records = await errorRecordsUnder('enrich-errors/processing-failed/');
      return records.length === 2 ? records : undefined;
    });
    const byData = new Map(errors.map((e) => [decoded(e), e]));
    const bad = byData.get(JSON.stringify({ n: 3, bad: 'no' }));
    expect(bad).toMatchObject({
      errorCode: 'Lambda.ProcessingFailedStatus',
      lambdaARN: 'sluice:transform:enrich',
      attemptsMade: 1,
    });
    expect(String(bad?.errorMessage)).toContain('bad record: no');
    expect(Object.keys(bad ?? {})).toEqual([
      'rawData',
      'errorCode',
      'errorMessage',
      'attemptsMade',
      'arrivalTimestamp',
      'attemptEndingTimestamp',
      'lambdaARN',
    ]);
    expect(byData.get('not json')).toMatchObject({ lambdaARN: 'sluice:transform:enrich' });
  });

  it('retries a batch whose transform cannot load, and delivers it once the file is fixed', async () => {
    const name = uniqueName('fixme').replace(/[^A-Za-z0-9_-]/g, '-');
    await writeFile(join(transformsDir, `${name}.mjs`), 'export default {{ not javascript');
    const stream = await createS3Stream(firehose, 'fixme', BUCKET, {
      Prefix: `${name}/`,
      ErrorOutputPrefix: `${name}-errors/`,
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
      ProcessingConfiguration: {
        Enabled: true,
        Processors: [lambda(`sluice:transform:${name}`), APPEND],
      },
    });
    await putRecordBatch(firehose, stream, ['{"v":1}', '{"v":2}']);
    await sluice.waitForLog(
      new RegExp(`${name}[\\s\\S]*cannot be loaded|cannot be loaded[\\s\\S]*${name}`),
      20_000,
    );
    expect(await objectsUnder(`${name}/`)).toEqual([]);
    await writeTransform(
      name,
      `export default defineTransform({ decode: 'json', delimiter: '', record: (v) => ({ ...v, fixed: true }) });`,
    );
    const delivered = await eventually(
      'the expected objects',
      async () => {
        const objects = await objectsUnder(`${name}/`);
        return objects.length > 0 ? objects : undefined;
      },
      { timeoutMs: 30_000, sluice },
    );
    expect(delivered.map((o) => o.text).join('')).toBe(
      '{"v":1,"fixed":true}\n{"v":2,"fixed":true}\n',
    );
    expect(await objectsUnder(`${name}-errors/`)).toEqual([]);
  });

  it('takes an edited transform for the next batch, without a restart', async () => {
    const name = uniqueName('reload').replace(/[^A-Za-z0-9_-]/g, '-');
    const version = (v: number) =>
      writeTransform(
        name,
        `export default defineTransform({ decode: 'text', record: (t) => t + ' v${v}' });`,
      );
    await version(1);
    const stream = await createS3Stream(firehose, 'reload', BUCKET, {
      Prefix: `${name}/`,
      ErrorOutputPrefix: `${name}-errors/`,
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
      ProcessingConfiguration: { Enabled: true, Processors: [lambda(`sluice:transform:${name}`)] },
    });
    const texts = async () => (await objectsUnder(`${name}/`)).map((o) => o.text).sort();
    await putRecordBatch(firehose, stream, ['first']);
    await eventually('the first record', async () => (await texts()).length === 1);
    await version(2);
    await putRecordBatch(firehose, stream, ['second']);
    expect(
      await eventually('the second record', async () => {
        const found = await texts();
        return found.length === 2 ? found : undefined;
      }),
    ).toEqual(['first v1\n', 'second v2\n']);
  });

  it('a hanging transform is stopped, its records fail after the retries, and other streams flow meanwhile', async () => {
    const hanging = await createS3Stream(firehose, 'hang', BUCKET, {
      Prefix: 'hang/',
      ErrorOutputPrefix: 'hang-errors/!{firehose:error-output-type}/',
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
      ProcessingConfiguration: {
        Enabled: true,
        Processors: [lambda('sluice:transform:hang', { NumberOfRetries: '1' })],
      },
    });
    const healthy = await createS3Stream(firehose, 'healthy', BUCKET, {
      Prefix: 'healthy/',
      ErrorOutputPrefix: 'healthy-errors/',
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
      ProcessingConfiguration: {
        Enabled: true,
        Processors: [lambda('sluice:transform:enrich'), APPEND],
      },
    });
    await putRecordBatch(firehose, hanging, ['spin']);
    const started = Date.now();
    await putRecordBatch(firehose, healthy, [JSON.stringify({ n: 'ok' })]);
    await eventually('the expected objects', async () =>
      (await objectsUnder('healthy/')).length > 0 ? true : undefined,
    );
    // Two invocations of 1 s each would pass before the hanging stream's records fail.
    expect(Date.now() - started).toBeLessThan(2_000);
    const failedRecords = await eventually(
      'the expected objects',
      async () => {
        const records = await errorRecordsUnder('hang-errors/processing-failed/');
        return records.length > 0 ? records : undefined;
      },
      { timeoutMs: 30_000, sluice },
    );
    expect(failedRecords).toHaveLength(1);
    expect(decoded(failedRecords[0] as Record<string, unknown>)).toBe('spin');
    expect(failedRecords[0]).toMatchObject({ attemptsMade: 1 });
    expect(String((failedRecords[0] as Record<string, unknown>).errorCode)).toMatch(/^Lambda\./);
  });

  it('runs a remote transform over HTTP with the Lambda contract', async () => {
    const events: unknown[] = [];
    const server: Server = createServer((req: IncomingMessage, res) => {
      const body: Buffer[] = [];
      req.on('data', (part: Buffer) => body.push(part));
      req.on('end', () => {
        const event = JSON.parse(Buffer.concat(body).toString('utf8')) as {
          records: { recordId: string; data: string }[];
        };
        events.push(event);
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            records: event.records.map((r) => ({
              recordId: r.recordId,
              result: 'Ok',
              data: Buffer.from(
                Buffer.from(r.data, 'base64').toString('utf8').toUpperCase(),
              ).toString('base64'),
            })),
          }),
        );
      });
    });
    const port = await listenOnLoopback(server);
    suite.add(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const stream = await createS3Stream(firehose, 'remote', BUCKET, {
      Prefix: 'remote/',
      ErrorOutputPrefix: 'remote-errors/',
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
      ProcessingConfiguration: {
        Enabled: true,
        Processors: [lambda(`http://127.0.0.1:${port}/transform`), APPEND],
      },
    });
    await putRecordBatch(firehose, stream, ['abc', 'def']);
    const delivered = await eventually('the expected objects', async () => {
      const objects = await objectsUnder('remote/');
      return objects.length > 0 ? objects : undefined;
    });
    expect(delivered.map((o) => o.text).join('')).toBe('ABC\nDEF\n');
    const event = events[0] as {
      invocationId: unknown;
      deliveryStreamArn: string;
      records: { recordId: unknown; approximateArrivalTimestamp: unknown; data: string }[];
    };
    expect(typeof event.invocationId).toBe('string');
    expect(event.deliveryStreamArn).toContain(`:deliverystream/${stream}`);
    expect(event.records.map((r) => r.data)).toEqual(['YWJj', 'ZGVm']);
    for (const record of event.records) {
      expect(typeof record.recordId).toBe('string');
      expect(typeof record.approximateArrivalTimestamp).toBe('number');
    }
  });
});

describe('dynamic partitioning', () => {
  it('buffers per partition across batches: one object per partition, keys from the jq query', async () => {
    const stream = await createS3Stream(firehose, 'parts', BUCKET, {
      Prefix: 'parts/customer=!{partitionKeyFromQuery:customer}/',
      ErrorOutputPrefix: 'parts-errors/!{firehose:error-output-type}/',
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 3 },
      DynamicPartitioningConfiguration: { Enabled: true },
      ProcessingConfiguration: {
        Enabled: true,
        Processors: [metadata('{customer: .customer | ascii_downcase}'), APPEND],
      },
    });
    // Three requests, each sealed and processed on its own, into two partitions.
    await putRecordBatch(firehose, stream, ['{"customer":"A","n":1}', '{"customer":"b","n":2}']);
    await putRecordBatch(firehose, stream, ['{"customer":"a","n":3}', '{"n":4}']);
    await putRecordBatch(firehose, stream, ['{"customer":"B","n":5}', 'garbage']);
    const objects = await eventually(
      'the expected objects',
      async () => {
        const found = await objectsUnder('parts/');
        const records = found.flatMap((o) => o.text.split('\n').filter((l) => l !== ''));
        return records.length === 4 ? found : undefined;
      },
      { timeoutMs: 20_000, sluice },
    );
    const byCustomer = new Map<string, string[]>();
    for (const object of objects) {
      const customer = /^parts\/customer=([^/]+)\//.exec(object.key)?.[1] ?? '?';
      byCustomer.set(customer, [...(byCustomer.get(customer) ?? []), object.text]);
    }
    expect(byCustomer.get('a')).toEqual(['{"customer":"A","n":1}\n{"customer":"a","n":3}\n']);
    expect(byCustomer.get('b')).toEqual(['{"customer":"b","n":2}\n{"customer":"B","n":5}\n']);
    const errors = await eventually('the expected objects', async () => {
      const records = await errorRecordsUnder('parts-errors/processing-failed/');
      return records.length === 2 ? records : undefined;
    });
    expect(errors.map((e) => e.errorCode)).toEqual([
      'DynamicPartitioning.MetadataExtractionFailed',
      'DynamicPartitioning.MetadataExtractionFailed',
    ]);
    expect(errors.map(decoded).sort()).toEqual(['garbage', '{"n":4}']);
  });

  it('sends records of partitions beyond the active-partition limit to the error output', async () => {
    const stream = await createS3Stream(firehose, 'limit', BUCKET, {
      Prefix: 'limit/!{partitionKeyFromLambda:customer}/',
      ErrorOutputPrefix: 'limit-errors/!{firehose:error-output-type}/',
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 5 },
      DynamicPartitioningConfiguration: { Enabled: true },
      ProcessingConfiguration: { Enabled: true, Processors: [lambda('sluice:transform:keys')] },
    });
    const records = ['c1', 'c2', 'c3', 'c4', 'c5'].map((customer) => JSON.stringify({ customer }));
    await putRecordBatch(firehose, stream, [...records, JSON.stringify({ nokey: true })]);
    const errors = await eventually(
      'the expected objects',
      async () => {
        const found = await errorRecordsUnder('limit-errors/processing-failed/');
        return found.length === 3 ? found : undefined;
      },
      { timeoutMs: 20_000, sluice },
    );
    const codes = errors.map((e) => String(e.errorCode)).sort();
    expect(codes).toEqual([
      'DynamicPartitioning.MissingPartitionKey',
      'DynamicPartitioning.PartitionCountExceeded',
      'DynamicPartitioning.PartitionCountExceeded',
    ]);
    const delivered = await eventually(
      'the expected objects',
      async () => {
        const found = await objectsUnder('limit/');
        return found.length === 3 ? found : undefined;
      },
      { timeoutMs: 20_000, sluice },
    );
    expect(delivered.map((o) => o.key.split('/')[1]).sort()).toEqual(['c1', 'c2', 'c3']);
  });

  it('de-aggregates JSON records before partitioning', async () => {
    const stream = await createS3Stream(firehose, 'deagg', BUCKET, {
      Prefix: 'deagg/!{partitionKeyFromQuery:kind}/',
      ErrorOutputPrefix: 'deagg-errors/!{firehose:error-output-type}/',
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
      DynamicPartitioningConfiguration: { Enabled: true },
      ProcessingConfiguration: {
        Enabled: true,
        Processors: [
          APPEND,
          metadata('{kind: .kind}'),
          {
            Type: 'RecordDeAggregation',
            Parameters: [{ ParameterName: 'SubRecordType', ParameterValue: 'JSON' }],
          },
        ],
      },
    });
    await putRecordBatch(firehose, stream, [
      '{"kind":"x","i":1}{"kind":"y","i":2}\n{"kind":"x","i":3}',
    ]);
    const objects = await eventually(
      'the expected objects',
      async () => {
        const found = await objectsUnder('deagg/');
        return found.length === 2 ? found : undefined;
      },
      { timeoutMs: 20_000, sluice },
    );
    const texts = new Map(objects.map((o) => [o.key.split('/')[1], o.text]));
    expect(texts.get('x')).toBe('{"kind":"x","i":1}\n{"kind":"x","i":3}\n');
    expect(texts.get('y')).toBe('{"kind":"y","i":2}\n');
  });
});

describe('CloudWatch Logs subscriptions', () => {
  it('decompresses, extracts each log event and drops control messages; bad gzip goes to decompression-failed', async () => {
    const stream = await createS3Stream(firehose, 'cwl', BUCKET, {
      Prefix: 'cwl/',
      ErrorOutputPrefix: 'cwl-errors/!{firehose:error-output-type}/',
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
      ProcessingConfiguration: {
        Enabled: true,
        Processors: [
          {
            Type: 'Decompression',
            Parameters: [{ ParameterName: 'CompressionFormat', ParameterValue: 'GZIP' }],
          },
          {
            Type: 'CloudWatchLogProcessing',
            Parameters: [{ ParameterName: 'DataMessageExtraction', ParameterValue: 'true' }],
          },
          APPEND,
        ],
      },
    });
    const payload = cloudWatchLogsPayload({
      logGroup: '/aws/lambda/app',
      logStream: '2026/12/02/[$LATEST]abc',
      events: ['first line', 'second line ✓'],
    });
    // Broken gzip: accepted (it looks like CloudWatch Logs data), failed when decompressed.
    const broken = Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('not really gzip')]);
    await putRecordBatch(firehose, stream, [cloudWatchControlMessage(), payload, broken]);
    // Not gzip at all: refused whole, as Firehose refuses what is not from CloudWatch Logs.
    const refused = await putRecordBatch(firehose, stream, [payload, 'plain text']).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(refused?.name).toBe('InvalidSourceException');
    expect(refused?.message).toContain('Record 2 of the request is not gzip-compressed');
    const delivered = await eventually('the log messages delivered', async () => {
      const objects = await objectsUnder('cwl/');
      return objects.length > 0 ? objects : undefined;
    });
    expect(delivered.map((o) => o.text).join('')).toBe('first line\nsecond line ✓\n');
    const failedRecords = await eventually(
      'the broken record in decompression-failed',
      async () => {
        const records = await errorRecordsUnder('cwl-errors/decompression-failed/');
        return records.length > 0 ? records : undefined;
      },
    );
    expect(failedRecords).toHaveLength(1);
    expect(Buffer.from(failedRecords[0]?.rawData as string, 'base64')).toEqual(broken);
    expect(failedRecords[0]?.errorCode).toBe('Decompression.InvalidGzip');
  });
});

describe('configuration refused at CreateDeliveryStream, changing nothing', () => {
  async function createError(
    config: Record<string, unknown>,
  ): Promise<{ name: string; message: string }> {
    const name = uniqueName('refused');
    try {
      await firehose.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: name,
          ExtendedS3DestinationConfiguration: {
            RoleARN: ROLE,
            BucketARN: `arn:aws:s3:::${BUCKET}`,
            ...config,
          },
        }),
      );
    } catch (error) {
      await expect(
        firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name })),
      ).rejects.toThrow(/not found/);
      return error as { name: string; message: string };
    }
    throw new Error('CreateDeliveryStream succeeded');
  }

  it.each([
    [
      'an AWS Lambda ARN',
      {
        ProcessingConfiguration: {
          Enabled: true,
          Processors: [lambda('arn:aws:lambda:us-east-1:123456789012:function:f')],
        },
      },
      /sluice:transform:<name>.*http/,
    ],
    [
      'a jq query outside the supported subset',
      {
        Prefix: '!{partitionKeyFromQuery:k}/',
        ErrorOutputPrefix: 'e/!{firehose:error-output-type}/',
        DynamicPartitioningConfiguration: { Enabled: true },
        ProcessingConfiguration: { Enabled: true, Processors: [metadata('{k: (.a | test("x"))}')] },
      },
      /MetadataExtractionQuery: test\/1 \(regular expressions/,
    ],
    [
      'MetadataExtraction without dynamic partitioning',
      { ProcessingConfiguration: { Enabled: true, Processors: [metadata('{k: .k}')] } },
      /only with dynamic partitioning/,
    ],
    [
      'dynamic partitioning without an ErrorOutputPrefix',
      {
        Prefix: '!{partitionKeyFromQuery:k}/',
        DynamicPartitioningConfiguration: { Enabled: true },
        ProcessingConfiguration: { Enabled: true, Processors: [metadata('{k: .k}')] },
      },
      /ErrorOutputPrefix/,
    ],
    [
      'a prefix key the query does not give',
      {
        Prefix: '!{partitionKeyFromQuery:other}/',
        ErrorOutputPrefix: 'e/!{firehose:error-output-type}/',
        DynamicPartitioningConfiguration: { Enabled: true },
        ProcessingConfiguration: { Enabled: true, Processors: [metadata('{k: .k}')] },
      },
      /partitionKeyFromQuery:other.*gives only k/,
    ],
    [
      'a partition key in the prefix without dynamic partitioning',
      {
        Prefix: '!{partitionKeyFromQuery:k}/',
        ErrorOutputPrefix: 'e/!{firehose:error-output-type}/',
      },
      /needs dynamic partitioning/,
    ],
    [
      'an unknown processor parameter',
      {
        ProcessingConfiguration: {
          Enabled: true,
          Processors: [
            {
              Type: 'AppendDelimiterToRecord',
              Parameters: [{ ParameterName: 'Delimiter', ParameterValue: 'eA==' }],
            },
          ],
        },
      },
      /does not take the parameter Delimiter/,
    ],
  ])('%s', async (_what, config, message) => {
    const error = await createError(config);
    expect(error.name).toBe('InvalidArgumentException');
    expect(error.message).toMatch(message);
  });

  it('dynamic partitioning cannot be enabled by UpdateDestination', async () => {
    const stream = await createS3Stream(firehose, 'noparts', BUCKET, { Prefix: 'noparts/' });
    const described = await firehose.send(
      new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream }),
    );
    const description = described.DeliveryStreamDescription;
    await expect(
      firehose.send(
        new UpdateDestinationCommand({
          DeliveryStreamName: stream,
          CurrentDeliveryStreamVersionId: description?.VersionId,
          DestinationId: description?.Destinations?.[0]?.DestinationId,
          ExtendedS3DestinationUpdate: { DynamicPartitioningConfiguration: { Enabled: true } },
        }),
      ),
    ).rejects.toThrow(/can be enabled only when a stream is created/);
  });
});
