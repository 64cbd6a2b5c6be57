import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { errors } from '@opensearch-project/opensearch';
import { afterAll, describe, expect, it } from 'vitest';

import { SettingsError } from '../../src/config/env.js';
import type {
  DeliveryOutcome,
  PipelineRecord,
  PlanContext,
  RecordStream,
  RejectRecord,
} from '../../src/destinations/destination-kind.js';
import { classifyBulkResponse, classifyItem } from '../../src/destinations/opensearch/classify.js';
import {
  OpenSearchDestinationConfigurationSchema,
  OpenSearchDestinationUpdateSchema,
  mergeOpenSearch,
  normalizeOpenSearch,
} from '../../src/destinations/opensearch/config.js';
import {
  DomainNotMappedError,
  NO_ENDPOINTS,
  OpenSearchEndpoints,
  loadOpenSearchEndpoints,
} from '../../src/destinations/opensearch/endpoints.js';
import {
  indexNameFor,
  rotationSuffix,
  usWeek,
} from '../../src/destinations/opensearch/index-name.js';
import {
  elasticsearchKind,
  openSearchServiceKind,
} from '../../src/destinations/opensearch/index.js';
import {
  documentIdBaseOf,
  failureDetailsOf,
  planOpenSearchDelivery,
  type OpenSearchDeliveryPlan,
} from '../../src/destinations/opensearch/plan.js';
import {
  buildBulkRequest,
  documentLine,
  encodeBulkBody,
  type OpenSearchRequest,
} from '../../src/destinations/opensearch/request.js';
import { DELIVERY_ERROR_CODES } from '../../src/errors/delivery-error-codes.js';
import { formatErrorRecord } from '../../src/error-output/error-records.js';
import { RecordGroup } from '../../src/destinations/record-group.js';
import { streamOf } from '../support/record-groups.js';
import { destinationMemberReaders, s3WithDefaults } from '../support/destination-members.js';
import { firehoseErrorOf } from '../support/firehose-error.js';

const CREATE = 'AmazonopensearchserviceDestinationConfiguration';
const UPDATE = 'AmazonopensearchserviceDestinationUpdate';
const ROLE = 'arn:aws:iam::123456789012:role/firehose';
const BUCKET = 'arn:aws:s3:::search-backup';
const DOMAIN = 'arn:aws:es:us-east-1:123456789012:domain/logs';
const STREAM_ARN = 'arn:aws:firehose:us-east-1:123456789012:deliverystream/logs';

const at = (iso: string): number => Date.parse(iso);

/** Create and update members validated as the API does (model constraints), then stored. */
const { create, update } = destinationMemberReaders({
  createMember: CREATE,
  createSchema: OpenSearchDestinationConfigurationSchema,
  normalize: normalizeOpenSearch,
  updateMember: UPDATE,
  updateSchema: OpenSearchDestinationUpdateSchema,
  merge: mergeOpenSearch,
});

function minimal(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    RoleARN: ROLE,
    ClusterEndpoint: 'https://search.example.com:9200',
    IndexName: 'logs',
    S3Configuration: { RoleARN: ROLE, BucketARN: BUCKET },
    ...overrides,
  };
}

const context: PlanContext = {
  streamName: 'logs',
  streamArn: STREAM_ARN,
  versionId: 2,
  batchId: '7b0f6a6e-2d2c-4f0e-8c1b-3e9a5d4c2b1a',
  firstArrivalMs: at('2024-03-09T23:59:59Z'),
};

function record(position: number, data: string | Buffer, arrivalMs = context.firstArrivalMs) {
  return {
    id: `record-${position}`,
    position,
    arrivalMs,
    data: typeof data === 'string' ? Buffer.from(data) : data,
  } satisfies PipelineRecord;
}

function stream(...groups: PipelineRecord[][]): RecordStream {
  return streamOf(groups.map((group) => RecordGroup.of(group)));
}

/** Encodes and builds one request as the driver does (same plan object for both). */
async function request(
  plan: OpenSearchDeliveryPlan,
  records: PipelineRecord[],
): Promise<{ request: OpenSearchRequest; rejected: Parameters<RejectRecord>[0][] }> {
  const rejected: Parameters<RejectRecord>[0][] = [];
  const body = encodeBulkBody(plan, stream(records), { reject: (r) => rejected.push(r) });
  return { request: await buildBulkRequest(plan, body), rejected };
}

describe('index rotation', () => {
  it('names indices as the developer guide’s table does', () => {
    const arrival = at('2016-02-25T13:00:00Z');
    expect(indexNameFor('myindex', 'NoRotation', arrival)).toBe('myindex');
    expect(indexNameFor('myindex', 'OneHour', arrival)).toBe('myindex-2016-02-25-13');
    expect(indexNameFor('myindex', 'OneDay', arrival)).toBe('myindex-2016-02-25');
    expect(indexNameFor('myindex', 'OneMonth', arrival)).toBe('myindex-2016-02');
    // The guide's table says w08; its rule (weeks from Sunday, week 1 holds January 1st)
    // gives week 9: 2016-01-01 is a Friday, so week 1 is Dec 27 – Jan 2 and Feb 21–27 is 9.
    expect(indexNameFor('myindex', 'OneWeek', arrival)).toBe('myindex-2016-w09');
  });

  it('changes index at each hour, day and month boundary, in UTC', () => {
    expect(rotationSuffix('OneHour', at('2024-03-09T13:59:59.999Z'))).toBe('-2024-03-09-13');
    expect(rotationSuffix('OneHour', at('2024-03-09T14:00:00.000Z'))).toBe('-2024-03-09-14');
    expect(rotationSuffix('OneHour', at('2024-03-09T23:59:59.999Z'))).toBe('-2024-03-09-23');
    expect(rotationSuffix('OneHour', at('2024-03-10T00:00:00.000Z'))).toBe('-2024-03-10-00');
    expect(rotationSuffix('OneDay', at('2024-02-28T23:59:59.999Z'))).toBe('-2024-02-28');
    expect(rotationSuffix('OneDay', at('2024-02-29T00:00:00.000Z'))).toBe('-2024-02-29');
    expect(rotationSuffix('OneDay', at('2024-03-01T00:00:00.000Z'))).toBe('-2024-03-01');
    expect(rotationSuffix('OneMonth', at('2024-01-31T23:59:59.999Z'))).toBe('-2024-01');
    expect(rotationSuffix('OneMonth', at('2024-02-01T00:00:00.000Z'))).toBe('-2024-02');
    expect(rotationSuffix('OneMonth', at('2023-12-31T23:59:59.999Z'))).toBe('-2023-12');
    expect(rotationSuffix('OneMonth', at('2024-01-01T00:00:00.000Z'))).toBe('-2024-01');
    expect(rotationSuffix('OneDay', at('2023-12-31T23:59:59.999Z'))).toBe('-2023-12-31');
    expect(rotationSuffix('OneHour', at('2024-01-01T00:00:00.000Z'))).toBe('-2024-01-01-00');
  });

  it('starts weeks on Sunday (US), not Monday (ISO)', () => {
    // 2024-03-09 is a Saturday, 2024-03-10 a Sunday, 2024-03-11 a Monday.
    expect(rotationSuffix('OneWeek', at('2024-03-09T23:59:59.999Z'))).toBe('-2024-w10');
    expect(rotationSuffix('OneWeek', at('2024-03-10T00:00:00.000Z'))).toBe('-2024-w11');
    expect(rotationSuffix('OneWeek', at('2024-03-11T00:00:00.000Z'))).toBe('-2024-w11');
  });

  it('makes the week that holds January 1st week 1 of the new year, December days included', () => {
    // 2016-01-01 is a Friday: Sunday 2015-12-27 starts 2016's week 1.
    expect(usWeek(at('2015-12-26T23:59:59.999Z'))).toEqual({ year: 2015, week: 52 });
    expect(usWeek(at('2015-12-27T00:00:00.000Z'))).toEqual({ year: 2016, week: 1 });
    expect(rotationSuffix('OneWeek', at('2015-12-31T12:00:00Z'))).toBe('-2016-w01');
    expect(rotationSuffix('OneWeek', at('2016-01-02T23:59:59.999Z'))).toBe('-2016-w01');
    expect(rotationSuffix('OneWeek', at('2016-01-03T00:00:00.000Z'))).toBe('-2016-w02');
    // 2017-01-01 is a Sunday: 2016 ends with week 53 (Dec 25–31).
    expect(usWeek(at('2016-12-31T23:59:59.999Z'))).toEqual({ year: 2016, week: 53 });
    expect(usWeek(at('2017-01-01T00:00:00.000Z'))).toEqual({ year: 2017, week: 1 });
    // 2000-01-01 is a Saturday: week 1 is that one day's week; Dec 31, 2000 (Sunday) opens 2001.
    expect(usWeek(at('2000-01-01T00:00:00Z'))).toEqual({ year: 2000, week: 1 });
    expect(usWeek(at('2000-01-02T00:00:00Z'))).toEqual({ year: 2000, week: 2 });
    expect(usWeek(at('2000-12-30T23:59:59Z'))).toEqual({ year: 2000, week: 53 });
    expect(usWeek(at('2000-12-31T00:00:00Z'))).toEqual({ year: 2001, week: 1 });
  });

  it('pads the week to two digits', () => {
    expect(rotationSuffix('OneWeek', at('2024-01-01T00:00:00Z'))).toBe('-2024-w01');
    expect(rotationSuffix('OneWeek', at('2024-12-31T00:00:00Z'))).toBe('-2025-w01');
    expect(rotationSuffix('OneWeek', at('2024-12-28T00:00:00Z'))).toBe('-2024-w52');
  });
});

describe('OpenSearch configuration', () => {
  it('fills Firehose’s defaults', () => {
    expect(create(minimal())).toEqual({
      RoleARN: ROLE,
      ClusterEndpoint: 'https://search.example.com:9200',
      IndexName: 'logs',
      IndexRotationPeriod: 'OneDay',
      BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 300 },
      RetryOptions: { DurationInSeconds: 300 },
      S3BackupMode: 'FailedDocumentsOnly',
      S3Configuration: s3WithDefaults(ROLE, BUCKET),
      CloudWatchLoggingOptions: { Enabled: false },
      DocumentIdOptions: { DefaultDocumentIdFormat: 'FIREHOSE_DEFAULT' },
    });
  });

  it('wants exactly one of DomainARN and ClusterEndpoint', () => {
    const both = firehoseErrorOf(() => create(minimal({ DomainARN: DOMAIN })));
    expect(both.type).toBe('InvalidArgumentException');
    expect(both.message).toBe(
      `${CREATE} names both DomainARN and ClusterEndpoint; specify either ClusterEndpoint or DomainARN, not both.`,
    );
    const neither = firehoseErrorOf(() => create(minimal({ ClusterEndpoint: undefined })));
    expect(neither.message).toBe(
      `${CREATE} must name the cluster: specify either ClusterEndpoint (its URL) or DomainARN (mapped to a URL by SLUICE_OPENSEARCH_ENDPOINTS).`,
    );
    expect(create(minimal({ ClusterEndpoint: undefined, DomainARN: DOMAIN })).DomainARN).toBe(
      DOMAIN,
    );
  });

  it('checks the model’s constraints with Firehose’s messages', () => {
    const scheme = firehoseErrorOf(() => create(minimal({ ClusterEndpoint: 'ftp://x' })));
    expect(scheme.type).toBe('ValidationException');
    expect(scheme.message).toBe(
      "1 validation error detected: Value 'ftp://x' at 'amazonopensearchserviceDestinationConfiguration.clusterEndpoint' failed to satisfy constraint: Member must satisfy regular expression pattern: https:.*",
    );
    const longName = firehoseErrorOf(() => create(minimal({ IndexName: 'x'.repeat(81) })));
    expect(longName.message).toContain(
      "at 'amazonopensearchserviceDestinationConfiguration.indexName' failed to satisfy constraint: Member must have length less than or equal to 80",
    );
    const noRole = firehoseErrorOf(() => create(minimal({ RoleARN: undefined })));
    expect(noRole.message).toContain(
      "at 'amazonopensearchserviceDestinationConfiguration.roleARN' failed to satisfy constraint: Member must not be null",
    );
    const noS3 = firehoseErrorOf(() => create(minimal({ S3Configuration: undefined })));
    expect(noS3.message).toContain(
      "at 'amazonopensearchserviceDestinationConfiguration.s3Configuration' failed to satisfy constraint: Member must not be null",
    );
    const big = firehoseErrorOf(() =>
      create(minimal({ BufferingHints: { SizeInMBs: 101, IntervalInSeconds: 60 } })),
    );
    expect(big.message).toContain('Member must have value less than or equal to 100');
    const retry = firehoseErrorOf(() =>
      create(minimal({ RetryOptions: { DurationInSeconds: 7201 } })),
    );
    expect(retry.message).toContain('Member must have value less than or equal to 7200');
    const rotation = firehoseErrorOf(() => create(minimal({ IndexRotationPeriod: 'OneYear' })));
    expect(rotation.type).toBe('ValidationException');
    const arn = firehoseErrorOf(() =>
      create(minimal({ ClusterEndpoint: undefined, DomainARN: 'logs' })),
    );
    expect(arn.message).toContain('Member must satisfy regular expression pattern: arn:.*');
  });

  it('accepts 1–100 MiB, 0–900 s, 0–7200 s retries and every rotation', () => {
    const stored = create(
      minimal({
        BufferingHints: { SizeInMBs: 100, IntervalInSeconds: 0 },
        RetryOptions: { DurationInSeconds: 0 },
        IndexRotationPeriod: 'OneWeek',
        DocumentIdOptions: { DefaultDocumentIdFormat: 'NO_DOCUMENT_ID' },
        S3BackupMode: 'AllDocuments',
        TypeName: 'doc',
      }),
    );
    expect(stored).toMatchObject({
      BufferingHints: { SizeInMBs: 100, IntervalInSeconds: 0 },
      RetryOptions: { DurationInSeconds: 0 },
      IndexRotationPeriod: 'OneWeek',
      DocumentIdOptions: { DefaultDocumentIdFormat: 'NO_DOCUMENT_ID' },
      S3BackupMode: 'AllDocuments',
      TypeName: 'doc',
    });
    expect(create(minimal({ TypeName: '' })).TypeName).toBeUndefined();
  });

  it('refuses index names OpenSearch can never create, saying why', () => {
    for (const [name, why] of [
      ['Logs', 'it must be lower case'],
      ['logs,errors', 'it must not contain \\ / * ? " < > | , # : or a space'],
      ['my logs', 'it must not contain \\ / * ? " < > | , # : or a space'],
      ['_logs', 'it must not start with _, - or +'],
      ['..', 'it must not be . or ..'],
    ] as const) {
      const error = firehoseErrorOf(() => create(minimal({ IndexName: name })));
      expect(error.type).toBe('InvalidArgumentException');
      expect(error.message).toBe(
        `${CREATE}.IndexName ${JSON.stringify(name)} is not a valid OpenSearch index name: ${why}.`,
      );
    }
  });

  it('refuses credentials in ClusterEndpoint and VpcConfiguration, saying what to do', () => {
    const creds = firehoseErrorOf(() =>
      create(minimal({ ClusterEndpoint: 'https://admin:hunter22@search.example.com' })),
    );
    expect(creds.message).not.toContain('hunter22');
    expect(creds.message).toContain('SLUICE_OPENSEARCH_ENDPOINTS');
    const vpc = firehoseErrorOf(() =>
      create(
        minimal({
          VpcConfiguration: { SubnetIds: ['subnet-1'], RoleARN: ROLE, SecurityGroupIds: ['sg-1'] },
        }),
      ),
    );
    expect(vpc.message).toContain(`${CREATE}.VpcConfiguration is not supported by Sluice`);
  });

  it('accepts http:// cluster endpoints (a Sluice extension)', () => {
    expect(create(minimal({ ClusterEndpoint: 'http://127.0.0.1:9200' })).ClusterEndpoint).toBe(
      'http://127.0.0.1:9200',
    );
  });

  it('describes the destination in Firehose’s shape', () => {
    const stored = create(minimal({ TypeName: 'doc' }));
    const description = openSearchServiceKind.describe(stored);
    expect(Object.keys(description)).toEqual(['AmazonopensearchserviceDestinationDescription']);
    expect(description.AmazonopensearchserviceDestinationDescription).toEqual({
      RoleARN: ROLE,
      ClusterEndpoint: 'https://search.example.com:9200',
      IndexName: 'logs',
      TypeName: 'doc',
      IndexRotationPeriod: 'OneDay',
      BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 300 },
      RetryOptions: { DurationInSeconds: 300 },
      S3BackupMode: 'FailedDocumentsOnly',
      S3DestinationDescription: s3WithDefaults(ROLE, BUCKET),
      CloudWatchLoggingOptions: { Enabled: false },
      DocumentIdOptions: { DefaultDocumentIdFormat: 'FIREHOSE_DEFAULT' },
    });
    expect(Object.keys(elasticsearchKind.describe(stored))).toEqual([
      'ElasticsearchDestinationDescription',
    ]);
  });

  it('merges updates as Firehose does: named members replace, S3Update merges, the rest stays', () => {
    const current = create(minimal({ TypeName: 'doc', S3BackupMode: 'AllDocuments' }));
    const merged = update(current, {
      IndexName: 'events',
      IndexRotationPeriod: 'OneHour',
      S3Update: { Prefix: 'search/' },
    });
    expect(merged).toEqual({
      ...current,
      IndexName: 'events',
      IndexRotationPeriod: 'OneHour',
      S3Configuration: { ...current.S3Configuration, Prefix: 'search/' },
    });
    // Naming the cluster the other way replaces the first; an empty TypeName removes it.
    const byArn = update(current, { DomainARN: DOMAIN, TypeName: '' });
    expect(byArn.DomainARN).toBe(DOMAIN);
    expect(byArn.ClusterEndpoint).toBeUndefined();
    expect(byArn.TypeName).toBeUndefined();
    const both = firehoseErrorOf(() =>
      update(current, { DomainARN: DOMAIN, ClusterEndpoint: 'https://b.example.com' }),
    );
    expect(both.message).toContain('specify either ClusterEndpoint or DomainARN, not both');
  });

  it('keeps S3BackupMode: the update shape has no such member', () => {
    const current = create(minimal({ S3BackupMode: 'AllDocuments' }));
    expect(update(current, { S3BackupMode: 'FailedDocumentsOnly' }).S3BackupMode).toBe(
      'AllDocuments',
    );
  });

  it('is not switchable, and the two variants are not one family', () => {
    expect(openSearchServiceKind.switchable).toBe(false);
    expect(elasticsearchKind.switchable).toBe(false);
    expect(openSearchServiceKind.family).not.toBe(elasticsearchKind.family);
    expect(openSearchServiceKind.failureOutputType).toBe('AmazonOpenSearchService-failed');
  });

  it('refuses at create a DomainARN no endpoint is configured for, naming the setting', () => {
    const stored = create(minimal({ ClusterEndpoint: undefined, DomainARN: DOMAIN }));
    const catalog = undefined as never;
    const error = firehoseErrorOf(() =>
      openSearchServiceKind.verify?.(stored, { catalog, openSearchEndpoints: NO_ENDPOINTS }),
    );
    expect(error.type).toBe('InvalidArgumentException');
    expect(error.message).toContain(`DomainARN ${DOMAIN} is not mapped to an endpoint`);
    expect(error.message).toContain('SLUICE_OPENSEARCH_ENDPOINTS');
    const mapped = new OpenSearchEndpoints([
      { domainArn: DOMAIN, url: 'https://search.internal:9200', rejectUnauthorized: true },
    ]);
    expect(() =>
      openSearchServiceKind.verify?.(stored, { catalog, openSearchEndpoints: mapped }),
    ).not.toThrow();
  });
});

describe('the endpoints setting', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-os-endpoints-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('maps domains and gives credentials, from inline JSON or a file', () => {
    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, 's3cret-from-file\n');
    const doc = JSON.stringify({
      endpoints: [
        { domainArn: DOMAIN, url: 'https://a.internal:9200', username: 'u', password: 'p4ss' },
        { url: 'https://b.internal:9200/', username: 'v', passwordFile },
        { url: 'http://c.internal:9200', username: 'w', passwordEnv: 'OS_PW' },
      ],
    });
    const file = join(dir, 'endpoints.json');
    writeFileSync(file, doc);
    for (const value of [doc, file]) {
      const endpoints = loadOpenSearchEndpoints(value, { OS_PW: 'from-env' });
      expect(endpoints.resolve({ domainArn: DOMAIN })).toMatchObject({
        url: 'https://a.internal:9200',
        auth: { username: 'u', password: 'p4ss' },
      });
      expect(endpoints.resolve({ clusterEndpoint: 'https://b.internal:9200' }).auth).toEqual({
        username: 'v',
        password: 's3cret-from-file',
      });
      expect(endpoints.resolve({ clusterEndpoint: 'http://c.internal:9200/' }).auth).toEqual({
        username: 'w',
        password: 'from-env',
      });
      expect(endpoints.resolve({ clusterEndpoint: 'https://other:9200' })).toEqual({
        url: 'https://other:9200',
        rejectUnauthorized: true,
      });
      expect(() => endpoints.resolve({ domainArn: `${DOMAIN}2` })).toThrow(DomainNotMappedError);
    }
  });

  it('refuses a bad table naming the setting and the entry, never a password', () => {
    const problems = (value: string): string => {
      try {
        loadOpenSearchEndpoints(value, {});
      } catch (error) {
        expect(error).toBeInstanceOf(SettingsError);
        return (error as Error).message;
      }
      throw new Error('expected a SettingsError');
    };
    const bad = problems(
      JSON.stringify({
        endpoints: [
          { url: 'https://u:topsecret@a.internal', username: 'u', password: 'topsecret' },
          { url: 'https://b.internal', username: 'u' },
          { url: 'https://c.internal', username: 'u', passwordEnv: 'MISSING_VAR' },
        ],
      }),
    );
    expect(bad).not.toContain('topsecret');
    expect(bad).toContain('SLUICE_OPENSEARCH_ENDPOINTS: endpoints[0] (https://a.internal)');
    expect(bad).toContain('give both "username" and a password, or neither');
    expect(bad).toContain('MISSING_VAR (passwordEnv) is not set');
    const invalid = problems('{"endpoints": [{"url": "https://x", "password": "leaky-pass" ');
    expect(invalid).not.toContain('leaky-pass');
    expect(invalid).toContain('is not valid JSON');
    expect(problems(join(dir, 'missing.json'))).toContain('cannot read the file');
    expect(problems('{"endpoints": [{"url": "ftp://x"}]}')).toContain(
      'endpoints.0.url must be an http:// or https:// URL',
    );
  });
});

describe('OpenSearch delivery plans and document ids', () => {
  const stored = create(minimal({ IndexRotationPeriod: 'OneHour' }));

  it('derives the id base from the stream and the batch: the same on every plan of a batch', () => {
    const one = planOpenSearchDelivery('opensearch', stored, context);
    const again = planOpenSearchDelivery('opensearch', stored, { ...context, versionId: 9 });
    expect(one.documentIdBase).toBe(again.documentIdBase);
    expect(one.documentIdBase).toBe(documentIdBaseOf(STREAM_ARN, context.batchId));
    expect(one.documentIdBase).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(documentIdBaseOf(STREAM_ARN, 'another-batch')).not.toBe(one.documentIdBase);
    expect(documentIdBaseOf(`${STREAM_ARN}x`, context.batchId)).not.toBe(one.documentIdBase);
    // Stored and read back as JSON, as the driver keeps it.
    expect(openSearchServiceKind.planSchema.parse(JSON.parse(JSON.stringify(one)))).toEqual(one);
  });

  it('gives each record the id of its batch position, whichever attempt sends it', async () => {
    const plan = planOpenSearchDelivery('opensearch', stored, context);
    const records = [record(0, '{"a":1}\n'), record(1, '{"a":2}\n'), record(2, '{"a":3}\n')];
    const first = await request(plan, records);
    // A later attempt that sends only record 1 (the others delivered) sends it with its id.
    const retry = await request(plan, [records[1] as PipelineRecord]);
    const base = plan.documentIdBase;
    expect(first.request.items.map((i) => i.id)).toEqual([`${base}-0`, `${base}-1`, `${base}-2`]);
    expect(retry.request.items.map((i) => [i.index, i.id])).toEqual([[0, `${base}-1`]]);
  });

  it('sends no _id with NO_DOCUMENT_ID, and the error record says so with null', async () => {
    const plan = planOpenSearchDelivery(
      'opensearch',
      create(minimal({ DocumentIdOptions: { DefaultDocumentIdFormat: 'NO_DOCUMENT_ID' } })),
      context,
    );
    const { request: built } = await request(plan, [record(0, '{"a":1}')]);
    expect(built.body.toString()).toBe('{"index":{"_index":"logs-2024-03-09"}}\n{"a":1}\n');
    const details = failureDetailsOf(plan, record(0, '{"a":1}'));
    expect(details.esDocumentId).toBeUndefined();
    const line = JSON.parse(
      formatErrorRecord('AmazonOpenSearchService-failed', {
        record: record(0, '{"a":1}'),
        code: 'OS.MapperParsingException',
        message: 'm',
        attemptsMade: 1,
        attemptEndingMs: 5,
        details,
      }),
    ) as Record<string, unknown>;
    expect(line).toMatchObject({
      esDocumentId: null,
      esIndexName: 'logs-2024-03-09',
      esTypeName: null,
    });
  });

  it('names each record’s index by its own arrival, so a batch spans a rotation boundary', async () => {
    const plan = planOpenSearchDelivery('opensearch', stored, context);
    const { request: built } = await request(plan, [
      record(0, '{"n":0}', at('2024-03-09T23:59:59.999Z')),
      record(1, '{"n":1}', at('2024-03-10T00:00:00.000Z')),
    ]);
    expect(built.items.map((i) => i.indexName)).toEqual([
      'logs-2024-03-09-23',
      'logs-2024-03-10-00',
    ]);
    expect(failureDetailsOf(plan, record(1, '', at('2024-03-10T00:00:00Z')))).toEqual({
      esDocumentId: `${plan.documentIdBase}-1`,
      esIndexName: 'logs-2024-03-10-00',
      esTypeName: undefined,
    });
  });

  it('plans an AllDocuments backup to the S3 configuration, and none otherwise', () => {
    const all = planOpenSearchDelivery(
      'opensearch',
      create(
        minimal({
          S3BackupMode: 'AllDocuments',
          S3Configuration: {
            RoleARN: ROLE,
            BucketARN: BUCKET,
            Prefix: 'p/',
            CompressionFormat: 'GZIP',
          },
        }),
      ),
      context,
    );
    expect(all.backup).toEqual({
      bucket: 'search-backup',
      prefix: 'p/',
      compression: 'GZIP',
      timeZone: 'UTC',
    });
    expect(all.errorOutput).toEqual(all.backup);
    expect(planOpenSearchDelivery('opensearch', stored, context).backup).toBeUndefined();
  });
});

describe('the bulk body', () => {
  const plan = planOpenSearchDelivery(
    'opensearch',
    create(minimal({ IndexRotationPeriod: 'NoRotation', TypeName: '_doc' })),
    context,
  );

  it('has one index action with _index, _id and _type per record, then the document line', async () => {
    const { request: built } = await request(plan, [record(0, '{"a":1}\n'), record(1, '{"b":2}')]);
    const base = plan.documentIdBase;
    expect(built.body.toString()).toBe(
      `{"index":{"_index":"logs","_id":"${base}-0","_type":"_doc"}}\n{"a":1}\n` +
        `{"index":{"_index":"logs","_id":"${base}-1","_type":"_doc"}}\n{"b":2}\n`,
    );
    expect(built.target).toBe('POST https://search.example.com:9200/_bulk');
    expect(built.cluster).toEqual({ clusterEndpoint: 'https://search.example.com:9200' });
  });

  it('keeps the NDJSON framing whatever a record holds', () => {
    expect(documentLine(Buffer.from('{"a":1}\r\n'))?.toString()).toBe('{"a":1}');
    // JSON with line breaks between tokens: the same document on one line.
    expect(documentLine(Buffer.from('{\n  "a": 1,\n  "b": [1,\n2]\n}\n'))?.toString()).toBe(
      '{   "a": 1,   "b": [1, 2] }',
    );
    // Not JSON and multi-line: cannot be framed.
    expect(documentLine(Buffer.from('line one\nline two'))).toBeUndefined();
    // Not JSON but one line, or empty: sent, for the cluster to refuse alone.
    expect(documentLine(Buffer.from('plain text'))?.toString()).toBe('plain text');
    expect(documentLine(Buffer.alloc(0))?.length).toBe(0);
    expect(documentLine(Buffer.from([0, 1, 2, 255, 10, 13]))).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it('leaves out a record it cannot frame (OS.MalformedData), counting positions past it', async () => {
    const { request: built, rejected } = await request(plan, [
      record(0, '{"a":1}'),
      record(1, 'not\njson'),
      record(2, '{"c":3}'),
    ]);
    expect(rejected).toEqual([
      expect.objectContaining({
        position: 1,
        code: 'OS.MalformedData',
        outputType: 'AmazonOpenSearchService-failed',
      }),
    ]);
    expect(built.items.map((i) => [i.index, i.position])).toEqual([
      [0, 0],
      [2, 2],
    ]);
    expect(built.body.toString().split('\n')).toHaveLength(5);
  });
});

describe('the bulk classifier', () => {
  const plan = planOpenSearchDelivery('opensearch', create(minimal()), context);

  async function built(count: number): Promise<OpenSearchRequest> {
    return (
      await request(
        plan,
        Array.from({ length: count }, (_, i) => record(i, `{"n":${i}}`)),
      )
    ).request;
  }

  const ok = (status = 201) => ({ index: { _index: 'logs', _id: 'x', status, result: 'created' } });
  const failed = (status: number, type: string, reason = 'r') => ({
    index: { _index: 'logs', _id: 'x', status, error: { type, reason } },
  });

  it('delivers a 200 whose items all succeeded', async () => {
    const req = await built(2);
    const outcome = classifyBulkResponse(req, {
      response: { status: 200, body: { took: 3, errors: false, items: [ok(201), ok(200)] } },
    });
    expect(outcome).toEqual({
      kind: 'delivered',
      location: 'POST https://search.example.com:9200/_bulk (2 documents to logs-2024-03-09)',
    });
  });

  it('classifies every item status', () => {
    expect(classifyItem(429, { type: 'rejected_execution_exception' })).toEqual({
      code: 'OS.TooManyRequests',
      retryable: true,
    });
    for (const status of [500, 502, 503, 504]) {
      expect(classifyItem(status, { type: 'unavailable_shards_exception' })).toEqual({
        code: 'OS.ClusterError',
        retryable: true,
      });
    }
    for (const type of [
      'mapper_parsing_exception',
      'document_parsing_exception',
      'strict_dynamic_mapping_exception',
      'json_parse_exception',
    ]) {
      expect(classifyItem(400, { type })).toEqual({
        code: 'OS.MapperParsingException',
        retryable: false,
      });
    }
    expect(classifyItem(400, { type: 'illegal_argument_exception' })).toEqual({
      code: 'OS.DocumentRejected',
      retryable: false,
    });
    expect(classifyItem(404, { type: 'index_not_found_exception' })).toEqual({
      code: 'OS.DocumentRejected',
      retryable: false,
    });
    expect(classifyItem(409, { type: 'version_conflict_engine_exception' }).retryable).toBe(false);
    expect(classifyItem(403, { type: 'cluster_block_exception' })).toEqual({
      code: 'OS.ClusterBlockException',
      retryable: true,
    });
  });

  it('reports mixed items as partial, by position in the attempt, with the cluster’s error', async () => {
    const req = await built(4);
    const outcome = classifyBulkResponse(req, {
      response: {
        status: 200,
        body: {
          errors: true,
          items: [
            ok(),
            failed(429, 'rejected_execution_exception'),
            failed(400, 'mapper_parsing_exception', 'failed to parse field [n] of type [date]'),
            ok(),
          ],
        },
      },
    });
    expect(outcome.kind).toBe('partial');
    const { failed: failures } = outcome as Extract<DeliveryOutcome, { kind: 'partial' }>;
    expect(failures.map((f) => [f.index, f.code, f.retryable])).toEqual([
      [1, 'OS.TooManyRequests', true],
      [2, 'OS.MapperParsingException', false],
    ]);
    expect(failures[1]?.reason).toBe(
      `The cluster answered 400 for the document ${plan.documentIdBase}-2 in logs-2024-03-09: {"type":"mapper_parsing_exception","reason":"failed to parse field [n] of type [date]"}`,
    );
  });

  it('retries a 200 that is not the answer to the request', async () => {
    const req = await built(2);
    const outcome = classifyBulkResponse(req, {
      response: { status: 200, body: { errors: false, items: [ok()] } },
    });
    expect(outcome).toMatchObject({ kind: 'retry', code: 'OS.ClusterError' });
  });

  it('classifies whole-request answers', async () => {
    const req = await built(1);
    const whole = (status: number, body: unknown = { error: { type: 't', reason: 'r' }, status }) =>
      classifyBulkResponse(req, { response: { status, body } });
    expect(whole(401)).toMatchObject({ kind: 'retry', code: 'OS.AuthenticationFailed' });
    expect(whole(403)).toMatchObject({ kind: 'retry', code: 'OS.AccessDenied' });
    expect(whole(404)).toMatchObject({ kind: 'retry', code: 'OS.ResourceNotFound' });
    expect(whole(429)).toMatchObject({ kind: 'retry', code: 'OS.TooManyRequests' });
    expect(whole(400)).toMatchObject({ kind: 'retry', code: 'OS.BadRequest' });
    for (const status of [500, 502, 503, 504]) {
      expect(whole(status, '<html>Bad Gateway</html>')).toMatchObject({
        kind: 'retry',
        code: 'OS.ClusterError',
      });
    }
    const tooLarge = whole(413, '');
    expect(tooLarge).toMatchObject({ kind: 'permanent', code: 'OS.RequestEntityTooLarge' });
    expect((tooLarge as { reason: string }).reason).toContain('413');
  });

  it('classifies the errors that stop a request', async () => {
    const req = await built(1);
    const failedWith = (error: unknown) => classifyBulkResponse(req, { error });
    expect(failedWith(new errors.TimeoutError('Request timed out', {} as never))).toMatchObject({
      code: 'OS.RequestTimeout',
    });
    expect(
      failedWith(new errors.ConnectionError('connect ECONNREFUSED 127.0.0.1:9', {} as never)),
    ).toMatchObject({ code: 'OS.ConnectionFailed' });
    expect(failedWith(new errors.ConnectionError('socket hang up', {} as never))).toMatchObject({
      code: 'OS.ConnectionReset',
    });
    expect(
      failedWith(new errors.ConnectionError('self-signed certificate', {} as never)),
    ).toMatchObject({ code: 'OS.SSLHandshakeFailure' });
    expect(failedWith(new DomainNotMappedError(DOMAIN))).toMatchObject({
      kind: 'retry',
      code: 'OS.ResourceNotFound',
    });
  });

  it('uses only catalogued codes', async () => {
    const req = await built(1);
    const outcomes = [401, 403, 404, 413, 429, 400, 500].map((status) =>
      classifyBulkResponse(req, { response: { status, body: '' } }),
    );
    for (const outcome of outcomes) {
      if (outcome.kind === 'retry' || outcome.kind === 'permanent') {
        expect(DELIVERY_ERROR_CODES).toHaveProperty([outcome.code]);
      }
    }
  });
});
