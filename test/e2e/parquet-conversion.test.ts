import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  CreateDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  InvalidArgumentException,
  type DataFormatConversionConfiguration,
  type FirehoseClient,
} from '@aws-sdk/client-firehose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupAfterAll,
  eventually,
  firehoseFor,
  putRecordBatch,
  startServers,
  startService,
  tempDir,
  UUID,
  type Servers,
} from '../support/e2e.js';
import { uniqueName } from '../support/unique.js';
import type { SluiceProcess } from '../support/sluice-process.js';

/**
 * JSON → Parquet end to end through the Firehose API, against a real Sluice process, real Redis
 * and a real S3-protocol server, with the objects read back by DuckDB (an independent Parquet
 * reader): every type, the SerDe options, records that do not fit in the error output, the
 * catalog checked at create, and an edited table taking effect for the next batch.
 */

const BUCKET = 'lake';
const ROLE = 'arn:aws:iam::000000000000:role/firehose';

const suite = cleanupAfterAll();
let servers: Servers;
let sluice: SluiceProcess;
let firehose: FirehoseClient;
let catalogDir: string;
let scratch: string;

const EVENTS_TABLE = {
  columns: [
    { name: 'id', type: 'bigint' },
    { name: 'page', type: 'string' },
    { name: 'dwell_ms', type: 'int' },
    { name: 'score', type: 'double' },
    { name: 'ok', type: 'boolean' },
    { name: 'at', type: 'timestamp' },
    { name: 'day', type: 'date' },
    { name: 'price', type: 'decimal(9,2)' },
    { name: 'tags', type: 'array<string>' },
    { name: 'user', type: 'struct<name:string,visits:int>' },
    { name: 'attrs', type: 'map<string,bigint>' },
  ],
};

async function writeTable(database: string, table: string, content: unknown): Promise<void> {
  await mkdir(join(catalogDir, database), { recursive: true });
  await writeFile(join(catalogDir, database, `${table}.json`), JSON.stringify(content));
}

function conversion(
  table: string,
  extra: Partial<DataFormatConversionConfiguration> = {},
): DataFormatConversionConfiguration {
  return {
    SchemaConfiguration: { RoleARN: ROLE, DatabaseName: 'lake', TableName: table },
    InputFormatConfiguration: { Deserializer: { OpenXJsonSerDe: {} } },
    OutputFormatConfiguration: { Serializer: { ParquetSerDe: { Compression: 'SNAPPY' } } },
    ...extra,
  };
}

async function createStream(
  prefix: string,
  dataFormat: DataFormatConversionConfiguration,
): Promise<string> {
  const name = uniqueName(prefix);
  await firehose.send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: name,
      ExtendedS3DestinationConfiguration: {
        RoleARN: ROLE,
        BucketARN: `arn:aws:s3:::${BUCKET}`,
        Prefix: `${prefix}/`,
        ErrorOutputPrefix: `${prefix}-errors/`,
        BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 1 },
        DataFormatConversionConfiguration: dataFormat,
      },
    }),
  );
  return name;
}

/** The stream's objects under `prefix`, once there are `count` of them. */
async function objectsOf(prefix: string, count: number): Promise<string[]> {
  return eventually(
    `${count} object(s) under ${prefix}`,
    async () => {
      const keys = (await servers.s3.listKeys(BUCKET)).filter((k) => k.startsWith(prefix));
      return keys.length >= count ? keys.sort() : undefined;
    },
    { sluice, timeoutMs: 30_000 },
  );
}

/** The answer of DuckDB to `sql` (`FILE` standing for the object, downloaded), as JSON values. */
async function queryParquet(key: string, sql: string): Promise<Record<string, unknown>[]> {
  const file = join(scratch, key.replaceAll('/', '_'));
  await writeFile(file, (await servers.s3.getObject(BUCKET, key)).body);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      sql.replace('FILE', `read_parquet('${file.replaceAll("'", "''")}')`),
    );
    return reader.getRowObjectsJson();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Rows of a Parquet object, read by DuckDB, as JSON-friendly values. */
function readParquet(key: string, columns = '*'): Promise<Record<string, unknown>[]> {
  return queryParquet(key, `SELECT ${columns} FROM FILE ORDER BY 1`);
}

/** DuckDB's names for the columns' types. */
async function describeParquet(key: string): Promise<Record<string, string>> {
  const rows = await queryParquet(key, 'DESCRIBE SELECT * FROM FILE');
  return Object.fromEntries(rows.map((r) => [r.column_name as string, r.column_type as string]));
}

/** The error records of a stream's error output. */
async function errorRecords(prefix: string, count: number): Promise<Record<string, unknown>[]> {
  return eventually(
    `${count} error record(s) under ${prefix}`,
    async () => {
      const keys = (await servers.s3.listKeys(BUCKET)).filter((k) => k.startsWith(prefix));
      const lines: Record<string, unknown>[] = [];
      for (const key of keys) {
        const text = (await servers.s3.getObject(BUCKET, key)).body.toString('utf8');
        for (const line of text.split('\n')) {
          if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        }
      }
      return lines.length >= count ? lines : undefined;
    },
    { sluice, timeoutMs: 30_000 },
  );
}

beforeAll(async () => {
  servers = await startServers(suite);
  await servers.s3.createBucket(BUCKET);
  catalogDir = await tempDir(suite, 'sluice-catalog-');
  scratch = await tempDir(suite, 'sluice-parquet-read-');
  await writeTable('lake', 'events', EVENTS_TABLE);
  sluice = await startService(suite, {
    ...servers.sluiceEnv,
    SLUICE_SEAL_TICK_MS: '50',
    SLUICE_RETRY_BASE_MS: '100',
    SLUICE_RETRY_MAX_MS: '500',
    SLUICE_CATALOG_DIR: catalogDir,
  });
  firehose = firehoseFor(suite, sluice, { maxAttempts: 3 });
}, 60_000);

describe('JSON → Parquet', () => {
  it('writes every type so that DuckDB reads back exactly what was sent', async () => {
    const stream = await createStream('events', conversion('events'));
    const records = [
      {
        ID: '9007199254740993',
        page: '/ü',
        dwell_ms: 1500,
        score: 0.25,
        ok: true,
        at: '2024-05-01 13:45:30.123',
        day: '1969-07-20',
        price: '1234567.891',
        tags: ['a', 'b'],
        user: { name: 'Zoë', visits: 3 },
        attrs: { clicks: 5, views: '12' },
      },
      { id: 2, page: null, tags: [], user: { name: 'x' }, attrs: {} },
    ];
    await putRecordBatch(
      firehose,
      stream,
      records.map((r) => JSON.stringify(r)),
    );
    const [key] = await objectsOf('events/', 1);
    expect(key).toMatch(
      new RegExp(`^events/\\d{4}/\\d{2}/\\d{2}/\\d{2}/${stream}-1-[\\d-]{19}-${UUID}\\.parquet$`),
    );
    const object = await servers.s3.getObject(BUCKET, key!);
    expect(object.contentEncoding).toBeUndefined();
    expect(object.body.subarray(0, 4).toString()).toBe('PAR1');
    const types = await describeParquet(key!);
    // TIMESTAMP, or TIMESTAMP WITH TIME ZONE where the file says the instants are UTC.
    expect(types.at).toMatch(/^TIMESTAMP/);
    expect({ ...types, at: 'TIMESTAMP' }).toEqual({
      id: 'BIGINT',
      page: 'VARCHAR',
      dwell_ms: 'INTEGER',
      score: 'DOUBLE',
      ok: 'BOOLEAN',
      at: 'TIMESTAMP',
      day: 'DATE',
      price: 'DECIMAL(9,2)',
      tags: 'VARCHAR[]',
      user: 'STRUCT("name" VARCHAR, visits INTEGER)',
      attrs: 'MAP(VARCHAR, BIGINT)',
    });
    const rows = await readParquet(
      key!,
      `id::VARCHAR AS id, page, dwell_ms, score, ok, strftime("at", '%Y-%m-%d %H:%M:%S.%g') AS at, day::VARCHAR AS day, price::VARCHAR AS price, tags, "user", map_entries(attrs) AS attrs`,
    );
    expect(rows).toEqual([
      {
        id: '2',
        page: null,
        dwell_ms: null,
        score: null,
        ok: null,
        at: null,
        day: null,
        price: null,
        tags: [],
        user: { name: 'x', visits: null },
        attrs: [],
      },
      {
        id: '9007199254740993',
        page: '/ü',
        dwell_ms: 1500,
        score: 0.25,
        ok: true,
        at: '2024-05-01 13:45:30.123',
        day: '1969-07-20',
        price: '1234567.89',
        tags: ['a', 'b'],
        user: { name: 'Zoë', visits: 3 },
        attrs: [
          { key: 'clicks', value: '5' },
          { key: 'views', value: '12' },
        ],
      },
    ]);
  });

  it('delivers the records that fit and puts the others in the error output, with the table', async () => {
    await writeTable('lake', 'small', { columns: [{ name: 'n', type: 'int' }] });
    const stream = await createStream('mixed', conversion('small'));
    await putRecordBatch(firehose, stream, [
      '{"n":1}',
      '{"n":"two"}',
      '[1]',
      '{"n":3}{"n":4}',
      'oops',
    ]);
    const [key] = await objectsOf('mixed/', 1);
    expect(await readParquet(key!)).toEqual([{ n: 1 }, { n: 3 }, { n: 4 }]);
    const failed = await errorRecords('mixed-errors/', 3);
    expect(
      failed.map((r) => [Buffer.from(r.rawData as string, 'base64').toString(), r.lastErrorCode]),
    ).toEqual(
      expect.arrayContaining([
        ['{"n":"two"}', 'DataFormatConversion.MalformedData'],
        ['[1]', 'DataFormatConversion.ParseError'],
        ['oops', 'DataFormatConversion.ParseError'],
      ]),
    );
    expect(failed[0]).toMatchObject({
      attemptsMade: 1,
      dataCatalogTable: {
        databaseName: 'lake',
        tableName: 'small',
        catalogArn: 'arn:aws:glue:us-east-1:000000000000:catalog',
      },
    });
    expect(Object.keys(failed[0]!)).toEqual([
      'attemptsMade',
      'arrivalTimestamp',
      'lastErrorCode',
      'lastErrorMessage',
      'attemptEndingTimestamp',
      'rawData',
      'sequenceNumber',
      'subSequenceNumber',
      'dataCatalogTable',
    ]);
  });

  it('converts after processing and partitioning: one Parquet object per partition', async () => {
    await writeTable('lake', 'visits', {
      columns: [
        { name: 'country', type: 'string' },
        { name: 'n', type: 'int' },
      ],
    });
    const name = uniqueName('partitioned');
    await firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: name,
        ExtendedS3DestinationConfiguration: {
          RoleARN: ROLE,
          BucketARN: `arn:aws:s3:::${BUCKET}`,
          Prefix: 'visits/country=!{partitionKeyFromQuery:country}/',
          ErrorOutputPrefix: 'visits-errors/',
          BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 1 },
          DynamicPartitioningConfiguration: { Enabled: true },
          ProcessingConfiguration: {
            Enabled: true,
            Processors: [
              {
                Type: 'MetadataExtraction',
                Parameters: [
                  {
                    ParameterName: 'MetadataExtractionQuery',
                    ParameterValue: '{country: .country}',
                  },
                  { ParameterName: 'JsonParsingEngine', ParameterValue: 'JQ-1.6' },
                ],
              },
            ],
          },
          DataFormatConversionConfiguration: conversion('visits'),
        },
      }),
    );
    await putRecordBatch(firehose, name, [
      '{"country":"de","n":1}',
      '{"country":"fr","n":2}',
      '{"country":"de","n":3}',
    ]);
    const keys = await objectsOf('visits/country=', 2);
    const byCountry: Record<string, unknown> = {};
    for (const key of keys) {
      byCountry[/country=(\w+)\//.exec(key)?.[1] ?? key] = await readParquet(key, 'n');
    }
    expect(byCountry).toEqual({ de: [{ n: 1 }, { n: 3 }], fr: [{ n: 2 }] });
    expect(keys.every((key) => key.endsWith('.parquet'))).toBe(true);
  });

  it('takes an edited table for the next batch', async () => {
    await writeTable('lake', 'evolving', { columns: [{ name: 'a', type: 'int' }] });
    const stream = await createStream('evolving', conversion('evolving'));
    await putRecordBatch(firehose, stream, ['{"a":1,"b":"x"}']);
    const [first] = await objectsOf('evolving/', 1);
    expect(await readParquet(first!)).toEqual([{ a: 1 }]);
    await writeTable('lake', 'evolving', {
      columns: [
        { name: 'a', type: 'int' },
        { name: 'b', type: 'string' },
      ],
    });
    await putRecordBatch(firehose, stream, ['{"a":2,"b":"y"}']);
    const keys = await objectsOf('evolving/', 2);
    const second = keys.find((k) => k !== first);
    expect(await readParquet(second!)).toEqual([{ a: 2, b: 'y' }]);
  });

  it('honours the OpenX options and the Hive timestamp formats', async () => {
    await writeTable('lake', 'serde', {
      columns: [
        { name: 'user_id', type: 'int' },
        { name: 'ts', type: 'string' },
      ],
    });
    const openx = await createStream(
      'openx',
      conversion('serde', {
        InputFormatConfiguration: {
          Deserializer: {
            OpenXJsonSerDe: {
              ConvertDotsInJsonKeysToUnderscores: true,
              ColumnToJsonKeyMappings: { ts: 'timestamp' },
            },
          },
        },
      }),
    );
    await putRecordBatch(firehose, openx, ['{"User.ID":7,"timestamp":"now"}']);
    const [openxKey] = await objectsOf('openx/', 1);
    expect(await readParquet(openxKey!)).toEqual([{ user_id: 7, ts: 'now' }]);

    await writeTable('lake', 'logs', { columns: [{ name: 'at', type: 'timestamp' }] });
    const hive = await createStream(
      'hive',
      conversion('logs', {
        InputFormatConfiguration: {
          Deserializer: { HiveJsonSerDe: { TimestampFormats: ['dd/MMM/yyyy:HH:mm:ss Z'] } },
        },
      }),
    );
    await putRecordBatch(firehose, hive, ['{"at":"10/Oct/2000:13:55:36 -0700"}']);
    const [hiveKey] = await objectsOf('hive/', 1);
    expect(await readParquet(hiveKey!, 'strftime("at", \'%Y-%m-%d %H:%M:%S\') AS at')).toEqual([
      { at: '2000-10-10 20:55:36' },
    ]);
  });

  it('refuses at create a missing table, an unsupported type, ORC and object compression', async () => {
    const refused = async (dataFormat: DataFormatConversionConfiguration, extra = {}) => {
      const error = await firehose
        .send(
          new CreateDeliveryStreamCommand({
            DeliveryStreamName: uniqueName('refused'),
            ExtendedS3DestinationConfiguration: {
              RoleARN: ROLE,
              BucketARN: `arn:aws:s3:::${BUCKET}`,
              ErrorOutputPrefix: 'e/',
              DataFormatConversionConfiguration: dataFormat,
              ...extra,
            },
          }),
        )
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(InvalidArgumentException);
      return (error as Error).message;
    };
    expect(await refused(conversion('nope'))).toContain(
      `table lake.nope is not in the table catalog: there is no file ${join(catalogDir, 'lake', 'nope.json')}`,
    );
    await writeTable('lake', 'tiny', { columns: [{ name: 'n', type: 'tinyint' }] });
    expect(await refused(conversion('tiny'))).toContain(
      'column n: type tinyint is not supported; use int',
    );
    expect(
      await refused(
        conversion('events', { OutputFormatConfiguration: { Serializer: { OrcSerDe: {} } } }),
      ),
    ).toContain('ORC output is not supported by Sluice; use ParquetSerDe');
    expect(await refused(conversion('events'), { CompressionFormat: 'GZIP' })).toContain(
      'CompressionFormat must be UNCOMPRESSED when data format conversion is enabled',
    );
    expect(
      await refused(conversion('events'), {
        BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 60 },
      }),
    ).toBe('BufferingHints.SizeInMBs must be at least 64 when data format conversion is enabled.');
  });

  it('describes the conversion, with SizeInMBs 128 when not given', async () => {
    const name = uniqueName('described');
    await firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: name,
        ExtendedS3DestinationConfiguration: {
          RoleARN: ROLE,
          BucketARN: `arn:aws:s3:::${BUCKET}`,
          DataFormatConversionConfiguration: conversion('events'),
        },
      }),
    );
    const described = await firehose.send(
      new DescribeDeliveryStreamCommand({ DeliveryStreamName: name }),
    );
    const destination =
      described.DeliveryStreamDescription?.Destinations?.[0]?.ExtendedS3DestinationDescription;
    expect(destination?.BufferingHints?.SizeInMBs).toBe(128);
    expect(destination?.DataFormatConversionConfiguration).toMatchObject({
      Enabled: true,
      SchemaConfiguration: { DatabaseName: 'lake', TableName: 'events' },
    });
  });
});
