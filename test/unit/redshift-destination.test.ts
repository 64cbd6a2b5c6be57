import { describe, expect, it } from 'vitest';

import { FirehoseError } from '../../src/errors/catalogue.js';
import { redshiftKind } from '../../src/destinations/redshift/index.js';
import {
  CopyOptionsError,
  parseCopyOptions,
  tokenizeCopyOptions,
} from '../../src/destinations/redshift/copy-options.js';
import {
  copyTextField,
  jsonRows,
  recordRows,
  textRows,
} from '../../src/destinations/redshift/copy-rows.js';
import { parseColumnList, parseTableName } from '../../src/destinations/redshift/identifiers.js';
import { parseJdbcUrl } from '../../src/destinations/redshift/jdbc-url.js';
import { copyStatement, splitSegment } from '../../src/destinations/redshift/sender.js';
import { classifyRedshiftResult, codeOf } from '../../src/destinations/redshift/classify.js';
import { DatabaseFailure } from '../../src/destinations/redshift/database-session.js';
import type { RedshiftDeliveryPlan } from '../../src/destinations/redshift/plan.js';
import type { RedshiftRequest } from '../../src/destinations/redshift/request.js';

const ROLE = 'arn:aws:iam::123456789012:role/firehose';

/** A valid create member, with `overrides` on top. */
function config(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    RoleARN: ROLE,
    ClusterJDBCURL: 'jdbc:postgresql://db.example.com:5432/analytics',
    CopyCommand: { DataTableName: 'public.events', CopyOptions: "JSON 'auto'" },
    Username: 'loader',
    Password: 'sup3r-secret-pw',
    S3Configuration: { RoleARN: ROLE, BucketARN: 'arn:aws:s3:::intermediate' },
    ...overrides,
  };
}

/** The InvalidArgumentException message normalizing `input` throws. */
function refusal(input: Record<string, unknown>): string {
  const parsed = redshiftKind.createSchema.parse(input);
  try {
    redshiftKind.normalize(parsed, 'RedshiftDestinationConfiguration');
  } catch (error) {
    expect(error).toBeInstanceOf(FirehoseError);
    expect((error as FirehoseError).name).toBe('InvalidArgumentException');
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

function optionError(text: string, path: 'postgresql' | 'redshift' = 'postgresql'): string {
  try {
    parseCopyOptions(text, path);
  } catch (error) {
    expect(error).toBeInstanceOf(CopyOptionsError);
    return (error as Error).message;
  }
  throw new Error(`expected ${text} to be refused`);
}

describe('CopyOptions tokenizer', () => {
  it('reads words in any case, quoted strings with doubled quotes, numbers and commas', () => {
    expect(
      tokenizeCopyOptions(`json 'auto ignorecase', Delimiter AS 'it''s' COMPROWS 100`),
    ).toEqual([
      { type: 'word', value: 'JSON', at: 0 },
      { type: 'string', value: 'auto ignorecase', at: 5 },
      { type: 'word', value: 'DELIMITER', at: 24 },
      { type: 'word', value: 'AS', at: 34 },
      { type: 'string', value: "it's", at: 37 },
      { type: 'word', value: 'COMPROWS', at: 45 },
      { type: 'number', value: 100, at: 54 },
    ]);
  });

  it('keeps keywords inside quotes as values, and backslashes as written', () => {
    expect(tokenizeCopyOptions(`NULL AS 'MANIFEST \\N'`)).toEqual([
      { type: 'word', value: 'NULL', at: 0 },
      { type: 'word', value: 'AS', at: 5 },
      { type: 'string', value: 'MANIFEST \\N', at: 8 },
    ]);
    expect(parseCopyOptions(`DELIMITER 'x' NULL AS 'manifest'`, 'postgresql').format).toEqual({
      kind: 'text',
      delimiter: 'x',
      nullAs: 'manifest',
      escape: false,
    });
  });

  it('refuses an unclosed string and a stray character, saying where', () => {
    expect(() => tokenizeCopyOptions(`JSON 'auto`)).toThrow(/opened at character 6 is not closed/);
    expect(() => tokenizeCopyOptions(`CSV ; DROP TABLE x`)).toThrow(
      /unexpected ";" at character 5/,
    );
  });
});

describe('CopyOptions on the direct path', () => {
  it.each([
    [`JSON 'auto'`, { kind: 'json', ignoreCase: false }],
    [`json 'AUTO IGNORECASE'`, { kind: 'json', ignoreCase: true }],
    [
      `FORMAT AS JSON 'auto' TIMEFORMAT 'auto' DATEFORMAT AS 'auto'`,
      { kind: 'json', ignoreCase: false },
    ],
    [`CSV`, { kind: 'csv', delimiter: ',', quote: '"', nullAs: '' }],
    [
      `csv quote as '''' delimiter ';' null as 'NA'`,
      { kind: 'csv', delimiter: ';', quote: "'", nullAs: 'NA' },
    ],
    [`FORMAT CSV DELIMITER '\\t'`, { kind: 'csv', delimiter: '\t', quote: '"', nullAs: '' }],
    [``, { kind: 'text', delimiter: '|', nullAs: '\\N', escape: false }],
    [
      `DELIMITER '\\036' ESCAPE`,
      { kind: 'text', delimiter: '\u001e', nullAs: '\\N', escape: true },
    ],
    [`FORMAT AS RAW`, { kind: 'raw' }],
    [`JSON 'auto' COMPUPDATE OFF STATUPDATE ON COMPROWS 1000`, { kind: 'json', ignoreCase: false }],
  ])('maps %s', (text, format) => {
    expect(parseCopyOptions(text, 'postgresql').format).toEqual(format);
  });

  it('knows GZIP', () => {
    expect(parseCopyOptions(`JSON 'auto' GZIP`, 'postgresql').gzip).toBe(true);
    expect(parseCopyOptions(`JSON 'auto'`, 'postgresql').gzip).toBe(false);
  });

  it.each([
    [`MANIFEST`, /MANIFEST cannot be used: Firehose writes the manifest/],
    [`CREDENTIALS 'aws_iam_role=x'`, /RoleARN/],
    [`JSON 's3://bucket/paths.json'`, /JSONPaths file/],
    [`JSON 'noshred'`, /give JSON 'auto' or JSON 'auto ignorecase'/],
    [`REGION 'us-east-1'`, /reads no S3 object/],
    [`ACCEPTINVCHARS`, /PostgreSQL has no equivalent/],
    [`MAXERROR 10`, /error output/],
    [`IGNOREHEADER 1`, /drop the first records of every batch/],
    [`TIMEFORMAT 'epochsecs'`, /give 'auto'/],
    [`FORMAT AS PARQUET`, /only JSON, CSV and delimited text/],
    [`FIXEDWIDTH 'a:1'`, /only JSON, CSV and delimited text/],
    [`TRUNCATECOLUMNS`, /TRUNCATECOLUMNS cannot be used on the direct PostgreSQL path/],
    [`JSON 'auto' CSV`, /conflicts with the JSON format/],
    [`QUOTE '"'`, /QUOTE applies only to CSV/],
    [`CSV ESCAPE`, /ESCAPE cannot be used with CSV/],
    [`JSON 'auto' DELIMITER ','`, /DELIMITER cannot be used with JSON/],
    [`DELIMITER 'ab'`, /must be a single character/],
    [`CSV DELIMITER '"'`, /DELIMITER and QUOTE must differ/],
    [`DELIMITER ',' DELIMITER ';'`, /given more than once/],
    [`'auto'`, /expected an option name/],
  ])('refuses %s with the reason', (text, reason) => {
    expect(optionError(text)).toMatch(reason);
  });

  it('on the staged path passes options through, refusing only what Firehose adds and RAW', () => {
    expect(parseCopyOptions(`json 'auto' REGION 'eu-west-1' ACCEPTINVCHARS`, 'redshift').text).toBe(
      `json 'auto' REGION 'eu-west-1' ACCEPTINVCHARS`,
    );
    expect(optionError('MANIFEST', 'redshift')).toMatch(/writes the manifest/);
    expect(optionError('FORMAT AS RAW', 'redshift')).toMatch(/Redshift has no such format/);
  });
});

describe('records to COPY rows', () => {
  const columns = ['id', 'name', 'note', 'payload', 'flag'];

  it('escapes backslashes, tabs, newlines and carriage returns in COPY text fields', () => {
    expect(copyTextField('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    expect(copyTextField('plain ünïcødé 𝄞')).toBe('plain ünïcødé 𝄞');
  });

  it('takes JSON values by column name: strings as text, numbers as written, nested as JSON, null and missing as NULL', () => {
    const record = `{"name":"tab\\there\\nnew\\\\line","id":12345678901234567890.50,"payload":{"a":[1,2,{"b":null}]},"flag":true,"note":null,"other":"x"}`;
    expect(jsonRows(record, columns, false)).toEqual({
      rows: Buffer.from(
        '12345678901234567890.50\ttab\\there\\nnew\\\\line\t\\N\t{"a":[1,2,{"b":null}]}\ttrue\n',
      ),
    });
  });

  it('reads ordinary records with the engine’s parser: the same values, nested JSON compacted', () => {
    expect(
      jsonRows(
        '{ "id": 1e3, "name": "a\\tb", "payload": { "a": [1, 2] }, "flag": false }',
        columns,
        false,
      ),
    ).toEqual({
      rows: Buffer.from('1000\ta\\tb\t\\N\t{"a":[1,2]}\tfalse\n'),
    });
    expect(jsonRows('{"ID":7,"Flag":null}', columns, true)).toEqual({
      rows: Buffer.from('7\t\\N\t\\N\t\\N\t\\N\n'),
    });
  });

  it('decodes unicode escapes and keeps characters outside the BMP', () => {
    expect(jsonRows('{"name":"caf\\u00e9 \\ud834\\udd1e ✓"}', ['name'], false)).toEqual({
      rows: Buffer.from('café 𝄞 ✓\n', 'utf8'),
    });
  });

  it('matches names exactly, or whatever their case with ignorecase', () => {
    expect(jsonRows('{"Name":"a","name":"b"}', ['name'], false)).toEqual({
      rows: Buffer.from('b\n'),
    });
    expect(jsonRows('{"NAME":"a"}', ['name'], true)).toEqual({ rows: Buffer.from('a\n') });
    expect(jsonRows('{"NAME":"a"}', ['name'], false)).toEqual({ rows: Buffer.from('\\N\n') });
  });

  it('makes one row per object of a record holding several', () => {
    expect(jsonRows('{"id":1}\n{"id":2} {"id":3}\n', ['id'], false)).toEqual({
      rows: Buffer.from('1\n2\n3\n'),
    });
  });

  it.each([
    ['[1,2]', /expected a JSON object at character 1/],
    ['{"id":1', /expected "," or "}"/],
    ['{"id":01}', /expected "," or "}"/],
    ['{"id":"a\u0001"}', /valid string/],
    ['   ', /holds no JSON object/],
    ['{"id":1} trailing', /expected a JSON object at character 10/],
  ])('refuses %j as not JSON objects', (record, why) => {
    const rows = jsonRows(record, ['id'], false);
    expect('error' in rows && rows.error).toMatch(why);
  });

  it('refuses records that are not UTF-8 before parsing them', () => {
    expect(
      recordRows(Buffer.from([0x7b, 0xff, 0x7d]), { kind: 'json', ignoreCase: false }, ['id']),
    ).toEqual({
      error: 'The record is not valid UTF-8 text.',
    });
  });

  it('splits delimited text into fields, NULL AS to \\N, backslashes as data unless ESCAPE', () => {
    expect(textRows('a|\\N|c\\d\n|x\tz\n', '|', '\\N', false)).toEqual({
      rows: Buffer.from('a\t\\N\tc\\\\d\n\tx\\tz\n'),
    });
    expect(textRows('a\\|b|c\\\nd', '|', '\\N', true)).toEqual({
      rows: Buffer.from('a|b\tc\\nd\n'),
    });
    expect(textRows('', '|', '\\N', false)).toEqual({ rows: Buffer.alloc(0) });
  });

  it('passes CSV through, ending each record with a newline', () => {
    const csv = { kind: 'csv', delimiter: ',', quote: '"', nullAs: '' } as const;
    expect(recordRows(Buffer.from('1,"a\nb"'), csv, [])).toEqual({
      rows: Buffer.from('1,"a\nb"\n'),
    });
    expect(recordRows(Buffer.from('1,x\n'), csv, [])).toEqual({ rows: Buffer.from('1,x\n') });
  });

  it('makes a RAW record one bytea value in hex', () => {
    expect(recordRows(Buffer.from([0, 10, 255]), { kind: 'raw' }, ['data'])).toEqual({
      rows: Buffer.from('\\\\x000aff\n'),
    });
  });
});

describe('identifiers and URLs', () => {
  it('folds unquoted names to lower case and keeps quoted ones', () => {
    expect(parseTableName('Public.Events')).toEqual({ schema: 'public', table: 'events' });
    expect(parseTableName('"My ""Schema"""."T"')).toEqual({ schema: 'My "Schema"', table: 'T' });
    expect(parseColumnList(' a , "B c",d$1 ')).toEqual(['a', 'B c', 'd$1']);
    expect(() => parseTableName('db.schema.table')).toThrow(/database name cannot be given/);
    expect(() => parseColumnList('a, a')).toThrow(/more than once/);
    expect(() => parseColumnList('a; drop table x')).toThrow(/expected ","/);
  });

  it('reads JDBC URLs of both paths', () => {
    expect(parseJdbcUrl('jdbc:postgresql://127.0.0.1:5432/test')).toEqual({
      path: 'postgresql',
      host: '127.0.0.1',
      port: 5432,
      database: 'test',
    });
    expect(
      parseJdbcUrl('jdbc:redshift://c.abc.us-east-1.redshift.amazonaws.com:5439/dev'),
    ).toMatchObject({
      path: 'redshift',
      port: 5439,
    });
    expect(parseJdbcUrl('jdbc:postgresql://h/db')).toMatch(/has no port/);
    expect(parseJdbcUrl('jdbc:postgresql://h:5432/db?ssl=true')).toMatch(/connection parameters/);
    expect(parseJdbcUrl('jdbc:mysql://h:3306/db')).toMatch(/not of the form/);
  });

  it('writes COPY statements with every name quoted', () => {
    const plan = {
      table: { schema: 'S', table: 'e"v' },
      format: { kind: 'csv', delimiter: ';', quote: "'", nullAs: '\\N' },
    } as unknown as RedshiftDeliveryPlan;
    expect(copyStatement(plan, ['a', 'B'])).toBe(
      `COPY "S"."e""v" ("a", "B") FROM STDIN WITH (FORMAT csv, DELIMITER E';', QUOTE E'''', NULL E'\\\\N')`,
    );
    expect(copyStatement({ ...plan, format: { kind: 'json', ignoreCase: false } }, ['a'])).toBe(
      'COPY "S"."e""v" ("a") FROM STDIN',
    );
  });
});

describe('configuration', () => {
  it('fills Firehose’s defaults and describes without the password', () => {
    const stored = redshiftKind.normalize(
      redshiftKind.createSchema.parse(config()),
      'RedshiftDestinationConfiguration',
    );
    const described = JSON.stringify(redshiftKind.describe(stored));
    expect(described).not.toContain('sup3r-secret-pw');
    expect(redshiftKind.describe(stored)).toEqual({
      RedshiftDestinationDescription: {
        RoleARN: ROLE,
        ClusterJDBCURL: 'jdbc:postgresql://db.example.com:5432/analytics',
        CopyCommand: { DataTableName: 'public.events', CopyOptions: "JSON 'auto'" },
        Username: 'loader',
        RetryOptions: { DurationInSeconds: 3600 },
        S3DestinationDescription: {
          RoleARN: ROLE,
          BucketARN: 'arn:aws:s3:::intermediate',
          Prefix: '',
          BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 300 },
          CompressionFormat: 'UNCOMPRESSED',
          EncryptionConfiguration: { NoEncryptionConfig: 'NoEncryption' },
          CloudWatchLoggingOptions: { Enabled: false },
        },
        S3BackupMode: 'Disabled',
        CloudWatchLoggingOptions: { Enabled: false },
      },
    });
  });

  it('keeps the password out of the plan', async () => {
    const stored = redshiftKind.normalize(
      redshiftKind.createSchema.parse(config()),
      'RedshiftDestinationConfiguration',
    );
    const plan = await redshiftKind.plan(stored, {
      streamName: 's',
      streamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/s',
      versionId: 1,
      batchId: 'b-1',
      firstArrivalMs: 0,
    });
    expect(JSON.stringify(plan)).not.toContain('sup3r-secret-pw');
    expect(plan).toMatchObject({
      destination: 'redshift',
      table: { schema: 'public', table: 'events' },
    });
  });

  it.each([
    [
      { Username: undefined },
      /Username is required when SecretsManagerConfiguration is not enabled/,
    ],
    [{ Username: undefined, Password: undefined }, /Username and Password are required/],
    [
      {
        SecretsManagerConfiguration: {
          Enabled: true,
          SecretARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x',
        },
      },
      /must not be specified when SecretsManagerConfiguration is enabled/,
    ],
    [
      { Username: undefined, Password: undefined, SecretsManagerConfiguration: { Enabled: true } },
      /SecretARN is required/,
    ],
    [
      { ClusterJDBCURL: 'jdbc:postgresql://db:5432/x?ssl=1' },
      /ClusterJDBCURL .* is not valid: it has connection parameters/,
    ],
    [{ CopyCommand: { DataTableName: 'a.b.c' } }, /DataTableName "a.b.c" is not a table name/],
    [
      { CopyCommand: { DataTableName: 't', CopyOptions: 'MANIFEST' } },
      /CopyOptions: MANIFEST cannot be used/,
    ],
    [
      { CopyCommand: { DataTableName: 't', CopyOptions: 'FORMAT AS RAW' } },
      /name that column \(only it\) in DataTableColumns/,
    ],
    [
      {
        S3Configuration: {
          RoleARN: ROLE,
          BucketARN: 'arn:aws:s3:::bucket-b',
          CompressionFormat: 'Snappy',
        },
      },
      /Compression format Snappy cannot be specified in RedshiftDestinationConfiguration.S3Configuration/,
    ],
    [
      {
        S3Configuration: {
          RoleARN: ROLE,
          BucketARN: 'arn:aws:s3:::bucket-b',
          CompressionFormat: 'GZIP',
        },
      },
      /must include GZIP because .*CompressionFormat is GZIP/,
    ],
    [
      {
        S3Configuration: {
          RoleARN: ROLE,
          BucketARN: 'arn:aws:s3:::bucket-b',
          Prefix: 'x/!{timestamp:yyyy}/',
        },
      },
      /Prefix cannot contain expressions/,
    ],
    [
      {
        S3Configuration: {
          RoleARN: ROLE,
          BucketARN: 'arn:aws:s3:::bucket-b',
          ErrorOutputPrefix: 'errors/',
        },
      },
      /ErrorOutputPrefix must be null/,
    ],
    [{ S3BackupMode: 'Enabled' }, /S3BackupMode Enabled needs S3BackupConfiguration/],
  ])('refuses %j', (overrides, message) => {
    expect(refusal(config(overrides))).toMatch(message);
  });

  it('validates RetryOptions and Password with the model’s constraints', () => {
    expect(
      redshiftKind.createSchema.safeParse(config({ RetryOptions: { DurationInSeconds: 7201 } }))
        .success,
    ).toBe(false);
    expect(redshiftKind.createSchema.safeParse(config({ Password: '12345' })).success).toBe(false);
  });

  it('merges an update: a new password replaces the old, enabling secrets drops both', () => {
    const stored = redshiftKind.normalize(redshiftKind.createSchema.parse(config()), 'c');
    const merged = redshiftKind.merge(
      { shape: 'Redshift', config: stored },
      redshiftKind.updateSchema.parse({ Password: 'another-password' }),
    ).config as { Password: string; Username: string };
    expect(merged).toMatchObject({ Password: 'another-password', Username: 'loader' });
    const secret = redshiftKind.merge(
      { shape: 'Redshift', config: stored },
      redshiftKind.updateSchema.parse({
        SecretsManagerConfiguration: {
          Enabled: true,
          SecretARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:db',
        },
      }),
    ).config as Record<string, unknown>;
    expect(secret.Password).toBeUndefined();
    expect(secret.Username).toBeUndefined();
  });
});

describe('isolating rejected rows', () => {
  const items = [1, 2, 1, 1, 3].map((lines, i) => ({ i, lines }));
  it('splits around the record holding the line the error names', () => {
    expect(splitSegment(items, 4).map((p) => p.map((x) => x.i))).toEqual([[0, 1], [2], [3, 4]]);
    expect(splitSegment(items, 1).map((p) => p.map((x) => x.i))).toEqual([[0], [1, 2, 3, 4]]);
    expect(splitSegment(items, 8).map((p) => p.map((x) => x.i))).toEqual([[0, 1, 2, 3], [4]]);
  });
  it('halves without a line, or with one past the segment', () => {
    expect(splitSegment(items, undefined).map((p) => p.map((x) => x.i))).toEqual([
      [0, 1, 2],
      [3, 4],
    ]);
    expect(splitSegment(items, 99).map((p) => p.map((x) => x.i))).toEqual([
      [0, 1, 2],
      [3, 4],
    ]);
  });
});

describe('classification', () => {
  const request = { target: 'COPY t on postgresql://h:1/d' } as RedshiftRequest;
  it.each([
    ['28P01', 'Redshift.AuthenticationFailed'],
    ['42P01', 'Redshift.TableNotFound'],
    ['42703', 'Redshift.ColumnNotFound'],
    ['42501', 'Redshift.InsufficientPrivilege'],
    ['25006', 'Redshift.ReadOnlyCluster'],
    ['53100', 'Redshift.DiskFull'],
    ['57P01', 'Redshift.ConnectionFailed'],
    ['57P03', 'Redshift.ConnectionFailed'],
    ['08006', 'Redshift.ConnectionFailed'],
    ['ECONNREFUSED', 'Redshift.ConnectionFailed'],
    ['3D000', 'Redshift.DatabaseNotFound'],
    ['XX000', 'Redshift.Unknown'],
  ])('retries SQLSTATE/code %s as %s', (code, expected) => {
    expect(codeOf(new DatabaseFailure('x', code))).toBe(expected);
    expect(
      classifyRedshiftResult(request, { error: new DatabaseFailure('x', code) }),
    ).toMatchObject({
      kind: 'retry',
      code: expected,
    });
  });
  it('reports rejected records as permanent partial failures', () => {
    expect(
      classifyRedshiftResult(request, {
        response: { key: 'k', replayed: false, loaded: 1, failed: [{ index: 1, message: 'bad' }] },
      }),
    ).toEqual({
      kind: 'partial',
      location: 'COPY t on postgresql://h:1/d (ledger k)',
      failed: [{ index: 1, code: 'Redshift.DataLoadFailed', reason: 'bad', retryable: false }],
    });
  });
});
