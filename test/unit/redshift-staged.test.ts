import { gunzipSync } from 'node:zlib';
import { Readable } from 'node:stream';

import type { PoolClient } from 'pg';
import { describe, expect, it } from 'vitest';

import { parseDeliveryPlan, serializeDeliveryPlan } from '../../src/delivery/delivery-plan.js';
import type { GiveUpObject, PipelineRecord } from '../../src/destinations/destination-kind.js';
import type { ObjectStore, PutObjectRequest } from '../../src/destinations/object-store.js';
import { classifyStagedResult, stagedCodeOf } from '../../src/destinations/redshift/classify.js';
import type { RedshiftConnections } from '../../src/destinations/redshift/connections.js';
import type { StoredRedshiftDestination } from '../../src/destinations/redshift/config.js';
import { parseCopyOptions } from '../../src/destinations/redshift/copy-options.js';
import { redshiftKind } from '../../src/destinations/redshift/index.js';
import { manifestOf } from '../../src/destinations/redshift/manifest.js';
import {
  isStagedPlan,
  type RedshiftPlan,
  type StagedRedshiftDeliveryPlan,
} from '../../src/destinations/redshift/plan.js';
import { frameRecords } from '../../src/destinations/redshift/record-runs.js';
import { DatabaseFailure } from '../../src/destinations/redshift/database-session.js';
import {
  redshiftLiteral,
  stagedCopyStatement,
} from '../../src/destinations/redshift/staged-copy.js';
import { stagedKeysOf } from '../../src/destinations/redshift/staged-keys.js';
import type { StagedRedshiftRequest } from '../../src/destinations/redshift/staged-request.js';
import {
  claimStagedLoad,
  ensureStagedLedger,
} from '../../src/destinations/redshift/staged-ledger.js';
import { StagingFailure } from '../../src/destinations/redshift/staged-sender.js';
import { FirehoseError } from '../../src/errors/catalogue.js';

/**
 * The staged Redshift path (`jdbc:redshift://`) without a database: what CreateDeliveryStream
 * accepts and refuses, the plan and its keys, the exact COPY text and manifest bytes, the
 * objects a send writes before it reaches the database, the classification of what comes back
 * and the manifest left under `errors/` for a batch given up.
 */

const ROLE = 'arn:aws:iam::123456789012:role/firehose';
const STREAM_ARN = 'arn:aws:firehose:us-east-1:123456789012:deliverystream/orders';
const BATCH = '0b6c8c2e-4f7e-4f55-9b1e-2d0b7a4c1f00';
// 2026-12-03T07:05:09.123Z
const ARRIVAL = Date.UTC(2026, 11, 3, 7, 5, 9, 123);

/** A valid staged create member, with `overrides` on top. */
function config(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    RoleARN: ROLE,
    ClusterJDBCURL: 'jdbc:redshift://c1.abc.us-east-1.redshift.amazonaws.com:5439/dev',
    CopyCommand: {
      DataTableName: 'public.events',
      DataTableColumns: 'id, "Name"',
      CopyOptions: "JSON 'auto' TIMEFORMAT 'auto' REGION 'us-east-1'",
    },
    Username: 'loader',
    Password: 'sup3r-secret-pw',
    S3Configuration: {
      RoleARN: ROLE,
      BucketARN: 'arn:aws:s3:::intermediate',
      Prefix: 'staging/',
    },
    ...overrides,
  };
}

function stored(overrides: Record<string, unknown> = {}): StoredRedshiftDestination {
  return redshiftKind.normalize(
    redshiftKind.createSchema.parse(config(overrides)),
    'RedshiftDestinationConfiguration',
  ) as StoredRedshiftDestination;
}

async function planOf(overrides: Record<string, unknown> = {}): Promise<RedshiftPlan> {
  return (await redshiftKind.plan(stored(overrides), {
    streamName: 'orders',
    streamArn: STREAM_ARN,
    versionId: 3,
    batchId: BATCH,
    firstArrivalMs: ARRIVAL,
  })) as RedshiftPlan;
}

async function stagedPlan(
  overrides: Record<string, unknown> = {},
): Promise<StagedRedshiftDeliveryPlan> {
  const plan = await planOf(overrides);
  if (!isStagedPlan(plan)) throw new Error('expected a staged plan');
  return plan;
}

/** The InvalidArgumentException message normalizing `input` throws. */
function refusal(overrides: Record<string, unknown>): string {
  try {
    stored(overrides);
  } catch (error) {
    expect(error).toBeInstanceOf(FirehoseError);
    expect((error as FirehoseError).name).toBe('InvalidArgumentException');
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('the staged path at CreateDeliveryStream', () => {
  it('accepts jdbc:redshift:// with CopyOptions kept as written', () => {
    const destination = stored();
    expect(destination.ClusterJDBCURL).toBe(
      'jdbc:redshift://c1.abc.us-east-1.redshift.amazonaws.com:5439/dev',
    );
    expect(destination.CopyCommand.CopyOptions).toBe(
      "JSON 'auto' TIMEFORMAT 'auto' REGION 'us-east-1'",
    );
  });

  it('passes Redshift-only options through that the direct path refuses', () => {
    expect(
      parseCopyOptions(
        `JSON 's3://b/paths.json' ACCEPTINVCHARS MAXERROR 10 TRUNCATECOLUMNS`,
        'redshift',
      ).text,
    ).toBe(`JSON 's3://b/paths.json' ACCEPTINVCHARS MAXERROR 10 TRUNCATECOLUMNS`);
  });

  it.each([
    [
      { CopyCommand: { DataTableName: 't', CopyOptions: "JSON 'auto' MANIFEST" } },
      'RedshiftDestinationConfiguration.CopyCommand.CopyOptions: MANIFEST cannot be used: Firehose writes the manifest of each batch itself and adds MANIFEST to the COPY it issues; leave it out.',
    ],
    [
      { CopyCommand: { DataTableName: 't', CopyOptions: "IAM_ROLE 'arn:aws:iam::1:role/x'" } },
      'RedshiftDestinationConfiguration.CopyCommand.CopyOptions: IAM_ROLE cannot be used: the COPY is authorized by the destination’s RoleARN, as Firehose does; leave it out.',
    ],
    [
      { CopyCommand: { DataTableName: 't', CopyOptions: 'BZIP2' } },
      'RedshiftDestinationConfiguration.CopyCommand.CopyOptions: BZIP2 cannot be used on the staged Redshift path (jdbc:redshift://): the staged objects are GZIP or uncompressed (S3Configuration.CompressionFormat), never BZIP2.',
    ],
    [
      { CopyCommand: { DataTableName: 't', CopyOptions: 'FORMAT AS PARQUET' } },
      'RedshiftDestinationConfiguration.CopyCommand.CopyOptions: PARQUET cannot be used on the staged Redshift path (jdbc:redshift://): a staged object is the batch’s records concatenated, which is never one Parquet or ORC file.',
    ],
    [
      { CopyCommand: { DataTableName: 't', CopyOptions: 'NOLOAD' } },
      'RedshiftDestinationConfiguration.CopyCommand.CopyOptions: NOLOAD cannot be used on the staged Redshift path (jdbc:redshift://): a COPY that loads nothing would drop every record of every batch.',
    ],
    [
      { CopyCommand: { DataTableName: 't', CopyOptions: 'FORMAT AS RAW' } },
      'RedshiftDestinationConfiguration.CopyCommand.CopyOptions: FORMAT AS RAW is Sluice’s own option of the direct PostgreSQL path (jdbc:postgresql://); Redshift has no such format.',
    ],
    [
      {
        S3Configuration: {
          RoleARN: ROLE,
          BucketARN: 'arn:aws:s3:::intermediate',
          CompressionFormat: 'GZIP',
        },
      },
      'RedshiftDestinationConfiguration.CopyCommand.CopyOptions must include GZIP because RedshiftDestinationConfiguration.S3Configuration.CompressionFormat is GZIP: the COPY reads the GZIP objects Firehose stages (as Firehose requires).',
    ],
    [
      { CopyCommand: { DataTableName: 't', CopyOptions: "JSON 'auto' gzip" } },
      'RedshiftDestinationConfiguration.CopyCommand.CopyOptions includes GZIP, but RedshiftDestinationConfiguration.S3Configuration.CompressionFormat is UNCOMPRESSED: set it to GZIP so the staged objects are what the COPY expects, or drop GZIP.',
    ],
    [
      {
        S3Configuration: {
          RoleARN: ROLE,
          BucketARN: 'arn:aws:s3:::intermediate',
          Prefix: 'staging/!{timestamp:yyyy}/',
        },
      },
      'RedshiftDestinationConfiguration.S3Configuration.Prefix cannot contain expressions (!{…}) for a Redshift destination, as in Firehose; give a plain prefix such as "staging/".',
    ],
    [
      {
        S3Configuration: {
          RoleARN: ROLE,
          BucketARN: 'arn:aws:s3:::intermediate',
          CompressionFormat: 'Snappy',
        },
      },
      "Compression format Snappy cannot be specified in RedshiftDestinationConfiguration.S3Configuration because the Amazon Redshift COPY operation that reads from the S3 bucket doesn't support it; use UNCOMPRESSED or GZIP.",
    ],
  ])('refuses %j', (overrides, message) => {
    expect(refusal(overrides)).toBe(message);
  });

  it('keeps the direct path’s refusals for jdbc:postgresql://', () => {
    expect(
      refusal({
        ClusterJDBCURL: 'jdbc:postgresql://db:5432/x',
        CopyCommand: { DataTableName: 't', CopyOptions: 'MAXERROR 10' },
      }),
    ).toMatch(/MAXERROR cannot be used on the direct PostgreSQL path/);
  });
});

describe('the staged plan', () => {
  it('fixes the object, manifest and errors/ manifest keys in Firehose’s layout under the Prefix', async () => {
    const plan = await stagedPlan();
    expect(plan).toEqual({
      destination: 'redshift',
      path: 'staged',
      streamVersion: 3,
      stream: 'orders',
      batchId: BATCH,
      deliveryId: plan.deliveryId,
      host: 'c1.abc.us-east-1.redshift.amazonaws.com',
      port: 5439,
      database: 'dev',
      table: { schema: 'public', table: 'events' },
      columns: ['id', 'Name'],
      bucket: 'intermediate',
      objectKey: `staging/2026/12/03/07/orders-3-2026-12-03-07-05-09-${BATCH}`,
      manifestKey: `staging/manifests/2026/12/03/07/orders-3-2026-12-03-07-05-09-${BATCH}`,
      skippedManifestKey: `staging/errors/manifests/2026/12/03/07/orders-3-2026-12-03-07-05-09-${BATCH}`,
      compression: 'UNCOMPRESSED',
      roleArn: ROLE,
      copyOptions: "JSON 'auto' TIMEFORMAT 'auto' REGION 'us-east-1'",
      errorOutput: {
        bucket: 'intermediate',
        prefix: 'staging/',
        compression: 'UNCOMPRESSED',
        timeZone: 'UTC',
      },
    });
    expect(plan.deliveryId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-/);
    expect(JSON.stringify(plan)).not.toContain('sup3r-secret-pw');
  });

  it('gives a GZIP object the .gz extension; a Prefix without a slash is concatenated, as Firehose does', () => {
    expect(
      stagedKeysOf({
        streamName: 's',
        versionId: 1,
        prefix: 'legacy',
        compression: 'GZIP',
        batchId: 'b',
        firstArrivalMs: ARRIVAL,
      }),
    ).toEqual({
      objectKey: 'legacy2026/12/03/07/s-1-2026-12-03-07-05-09-b.gz',
      manifestKey: 'legacymanifests/2026/12/03/07/s-1-2026-12-03-07-05-09-b',
      skippedManifestKey: 'legacyerrors/manifests/2026/12/03/07/s-1-2026-12-03-07-05-09-b',
    });
    expect(
      stagedKeysOf({
        streamName: 's',
        versionId: 1,
        prefix: '',
        compression: 'UNCOMPRESSED',
        batchId: 'b',
        firstArrivalMs: ARRIVAL,
      }),
    ).toEqual({
      objectKey: '2026/12/03/07/s-1-2026-12-03-07-05-09-b',
      manifestKey: 'manifests/2026/12/03/07/s-1-2026-12-03-07-05-09-b',
      skippedManifestKey: 'errors/manifests/2026/12/03/07/s-1-2026-12-03-07-05-09-b',
    });
  });

  it('is the same plan when made twice (keys derived, not drawn)', async () => {
    expect(await stagedPlan()).toEqual(await stagedPlan());
  });

  it('round-trips through the stored form; a stored direct plan (no path) still reads as direct', async () => {
    const staged = await stagedPlan();
    expect(parseDeliveryPlan(serializeDeliveryPlan(staged)).plan).toEqual(staged);
    const direct = await planOf({
      ClusterJDBCURL: 'jdbc:postgresql://db:5432/x',
      CopyCommand: { DataTableName: 't', CopyOptions: "JSON 'auto'" },
    });
    expect('path' in direct).toBe(false);
    const read = parseDeliveryPlan(serializeDeliveryPlan(direct)).plan as RedshiftPlan;
    expect(read).toEqual(direct);
    expect(isStagedPlan(read)).toBe(false);
  });

  it('refuses to read a staged plan missing a key', async () => {
    const broken: Partial<StagedRedshiftDeliveryPlan> = await stagedPlan();
    delete broken.manifestKey;
    expect(() => parseDeliveryPlan(JSON.stringify(broken))).toThrow(/not one this version reads/);
  });
});

describe('the COPY and the manifest', () => {
  it('COPY names the quoted table and columns, the manifest, the role, MANIFEST and the options as written', async () => {
    expect(stagedCopyStatement(await stagedPlan())).toBe(
      `COPY "public"."events" ("id", "Name") FROM 's3://intermediate/staging/manifests/2026/12/03/07/orders-3-2026-12-03-07-05-09-${BATCH}' CREDENTIALS 'aws_iam_role=${ROLE}' MANIFEST JSON 'auto' TIMEFORMAT 'auto' REGION 'us-east-1'`,
    );
  });

  it('COPY without columns or options ends at MANIFEST', async () => {
    const plan = await stagedPlan({ CopyCommand: { DataTableName: 'Events' } });
    expect(stagedCopyStatement(plan)).toBe(
      `COPY "events" FROM 's3://intermediate/staging/manifests/2026/12/03/07/orders-3-2026-12-03-07-05-09-${BATCH}' CREDENTIALS 'aws_iam_role=${ROLE}' MANIFEST`,
    );
  });

  it('escapes quotes and backslashes of a Prefix in the manifest literal, as Redshift reads literals', async () => {
    const plan = await stagedPlan({
      S3Configuration: {
        RoleARN: ROLE,
        BucketARN: 'arn:aws:s3:::intermediate',
        Prefix: "it's\\x/",
      },
    });
    expect(stagedCopyStatement(plan)).toContain(
      `FROM 's3://intermediate/it''s\\\\x/manifests/2026/12/03/07/`,
    );
    expect(redshiftLiteral(`a'b\\c`)).toBe(`'a''b\\\\c'`);
  });

  it('the manifest is compact JSON in Redshift’s form: url, mandatory, meta.content_length', () => {
    expect(
      manifestOf([{ bucket: 'b', key: 'p/2026/x "q".gz', contentLength: 1234 }]).toString(),
    ).toBe(
      '{"entries":[{"url":"s3://b/p/2026/x \\"q\\".gz","mandatory":true,"meta":{"content_length":1234}}]}',
    );
    expect(manifestOf([{ bucket: 'b', key: 'k' }]).toString()).toBe(
      '{"entries":[{"url":"s3://b/k","mandatory":true}]}',
    );
  });

  it('a batch given up leaves a manifest of its object under errors/; a direct plan leaves nothing', async () => {
    const plan = await stagedPlan();
    const objects = redshiftKind.giveUpObjects?.(plan) as readonly GiveUpObject[];
    expect(objects).toEqual([
      {
        bucket: 'intermediate',
        key: `staging/errors/manifests/2026/12/03/07/orders-3-2026-12-03-07-05-09-${BATCH}`,
        body: Buffer.from(
          `{"entries":[{"url":"s3://intermediate/staging/2026/12/03/07/orders-3-2026-12-03-07-05-09-${BATCH}","mandatory":true}]}`,
        ),
      },
    ]);
    const direct = await planOf({
      ClusterJDBCURL: 'jdbc:postgresql://db:5432/x',
      CopyCommand: { DataTableName: 't', CopyOptions: "JSON 'auto'" },
    });
    expect(redshiftKind.giveUpObjects?.(direct)).toEqual([]);
  });
});

/** An object store that keeps what is put, and may fail writes. */
class MemoryStore implements ObjectStore {
  readonly description = 'memory';
  readonly objects = new Map<string, { body: Buffer; contentEncoding: string | undefined }>();
  failWith: Error | undefined;

  async put(request: PutObjectRequest): Promise<void> {
    if (this.failWith !== undefined) throw this.failWith;
    const chunks: Buffer[] = [];
    for await (const chunk of request.body) chunks.push(chunk as Buffer);
    this.objects.set(`${request.bucket}/${request.key}`, {
      body: Buffer.concat(chunks),
      contentEncoding: request.contentEncoding,
    });
  }

  get(): Promise<Buffer> {
    return Promise.reject(new Error('not used'));
  }

  list(): AsyncIterable<string> {
    return Readable.from([]);
  }

  isPermanent(): boolean {
    return false;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function records(texts: readonly string[]): PipelineRecord[] {
  return texts.map((text, position) => ({
    id: `r${position}`,
    position,
    arrivalMs: ARRIVAL,
    data: Buffer.from(text),
  }));
}

function once(buffer: Buffer): AsyncIterable<Buffer> {
  return Readable.from([buffer]);
}

async function stagedRequest(plan: StagedRedshiftDeliveryPlan, texts: readonly string[]) {
  return (await redshiftKind.build(
    plan,
    once(frameRecords(records(texts))),
    stored(),
  )) as StagedRedshiftRequest;
}

describe('a staged send', () => {
  const texts = ['{"id":1}\n', '{"id":2,"Name":"b"}\n', '{"id":3}\n'];

  it('writes the object (records concatenated) and then its manifest before connecting', async () => {
    const plan = await stagedPlan();
    const store = new MemoryStore();
    const connections = {
      connect: () =>
        Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    } as unknown as RedshiftConnections;
    const request = await stagedRequest(plan, texts);
    expect(request.target).toBe(
      `COPY public.events from s3://intermediate/${plan.manifestKey} on redshift://c1.abc.us-east-1.redshift.amazonaws.com:5439/dev`,
    );
    const result = await redshiftKind.send(request, {
      objectStore: store,
      httpResponseTimeoutMs: 1000,
      redshift: connections,
    });
    const object = store.objects.get(`intermediate/${plan.objectKey}`);
    expect(object).toEqual({ body: Buffer.from(texts.join('')), contentEncoding: undefined });
    expect(store.objects.get(`intermediate/${plan.manifestKey}`)?.body.toString()).toBe(
      `{"entries":[{"url":"s3://intermediate/${plan.objectKey}","mandatory":true,"meta":{"content_length":${texts.join('').length}}}]}`,
    );
    expect(redshiftKind.classify(request, result)).toEqual({
      kind: 'retry',
      code: 'Redshift.ConnectionFailed',
      reason: `${request.target} failed: connect ECONNREFUSED`,
    });
  });

  it('writes a GZIP object with Content-Encoding gzip; the manifest gives its compressed length', async () => {
    const plan = await stagedPlan({
      CopyCommand: { DataTableName: 't', CopyOptions: "JSON 'auto' GZIP" },
      S3Configuration: {
        RoleARN: ROLE,
        BucketARN: 'arn:aws:s3:::intermediate',
        CompressionFormat: 'GZIP',
      },
    });
    expect(plan.objectKey).toMatch(/\.gz$/);
    const store = new MemoryStore();
    const request = await stagedRequest(plan, texts);
    await redshiftKind.send(request, {
      objectStore: store,
      httpResponseTimeoutMs: 1000,
      redshift: {
        connect: () => Promise.reject(new Error('no')),
      } as unknown as RedshiftConnections,
    });
    const object = store.objects.get(`intermediate/${plan.objectKey}`);
    expect(object?.contentEncoding).toBe('gzip');
    expect(gunzipSync(object?.body as Buffer).toString()).toBe(texts.join(''));
    const manifest = JSON.parse(
      store.objects.get(`intermediate/${plan.manifestKey}`)?.body.toString() ?? '',
    ) as { entries: { meta: { content_length: number } }[] };
    expect(manifest.entries[0]?.meta.content_length).toBe(object?.body.length);
  });

  it('classifies a failed staging write as the S3 destination does, and connects to nothing', async () => {
    const plan = await stagedPlan();
    const store = new MemoryStore();
    store.failWith = Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    let connected = false;
    const request = await stagedRequest(plan, texts);
    const result = await redshiftKind.send(request, {
      objectStore: store,
      httpResponseTimeoutMs: 1000,
      redshift: {
        connect: () => {
          connected = true;
          return Promise.reject(new Error('no'));
        },
      } as unknown as RedshiftConnections,
    });
    expect(connected).toBe(false);
    expect(redshiftKind.classify(request, result)).toEqual({
      kind: 'retry',
      code: 'S3.AccessDenied',
      reason: `S3 PutObject s3://intermediate/${plan.objectKey} failed: AccessDenied: Access Denied`,
    });
  });
});

describe('classifying a staged COPY', () => {
  it.each([
    [
      'COPY from stdin failed: S3ServiceException:The specified key does not exist.,Status 404,Error NoSuchKey',
      '57014',
      'Redshift.MissingS3File',
    ],
    [
      'S3ServiceException:Access Denied,Status 403,Error AccessDenied',
      'XX000',
      'Redshift.S3BucketAccessDenied',
    ],
    [
      "Load into table 'events' failed.  Check 'stl_load_errors' system table for details.",
      'XX000',
      'Redshift.DataLoadFailed',
    ],
    ['invalid input syntax for type integer: "x"', '22P02', 'Redshift.DataLoadFailed'],
    ['relation "public.events" does not exist', '42P01', 'Redshift.TableNotFound'],
    ['something else', 'XX000', 'Redshift.Unknown'],
  ])('%s → %s', (message, code, expected) => {
    expect(stagedCodeOf(new DatabaseFailure(message, code))).toBe(expected);
  });

  it('a committed COPY delivers the whole batch; one answered from the ledger says so', async () => {
    const plan = await stagedPlan();
    const request = await stagedRequest(plan, ['a']);
    expect(
      classifyStagedResult(request, {
        response: { key: 'k', replayed: true, loaded: 1, failed: [] },
      }),
    ).toEqual({
      kind: 'delivered',
      location: `${request.target} (ledger k, loaded by an earlier attempt)`,
    });
    expect(
      classifyStagedResult(request, {
        error: new StagingFailure(new Error('gone'), true, 's3://intermediate/k'),
      }),
    ).toEqual({
      kind: 'permanent',
      code: 'S3.Unknown',
      reason: 'S3 PutObject s3://intermediate/k failed: Error: gone',
    });
  });
});

describe('the staged ledger', () => {
  /** A client that records statements and answers from `answers` in order. */
  function recordingClient(answers: { rows: unknown[] }[]) {
    const statements: { text: string; values: unknown[] | undefined }[] = [];
    const client = {
      query: (text: string, values?: unknown[]) => {
        statements.push({ text: text.replace(/\s+/gu, ' ').trim(), values });
        return Promise.resolve(answers.shift() ?? { rows: [], rowCount: 0 });
      },
    } as unknown as PoolClient;
    return { client, statements };
  }

  const plan = {
    deliveryId: '6f1b2c3d-1111-5222-8333-444455556666',
    stream: 'orders',
    batchId: BATCH,
    streamVersion: 3,
    table: { schema: 'public', table: 'events' },
  };
  const ledger = { schema: 'public', table: 'sluice_delivery_ledger' };

  it('claims under LOCK with a plain SELECT and INSERT: SQL Redshift runs (no ON CONFLICT, jsonb or to_regclass)', async () => {
    const { client, statements } = recordingClient([{ rows: [] }, { rows: [] }, { rows: [] }]);
    expect(await claimStagedLoad(client, ledger, 'k:3:abc', plan, 3)).toBeUndefined();
    expect(statements.map((s) => s.text)).toEqual([
      'LOCK "public"."sluice_delivery_ledger"',
      'SELECT outcome FROM "public"."sluice_delivery_ledger" WHERE delivery_id = $1',
      'INSERT INTO "public"."sluice_delivery_ledger" (delivery_id, stream, batch_id, stream_version, data_table, records, loaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    ]);
    expect(statements[2]?.values?.slice(0, 6)).toEqual([
      'k:3:abc',
      'orders',
      BATCH,
      3,
      'public.events',
      3,
    ]);
  });

  it('answers from a committed row, its outcome JSON text or parsed jsonb', async () => {
    for (const outcome of ['{"loaded":3,"failed":[]}', { loaded: 3, failed: [] }]) {
      const { client, statements } = recordingClient([{ rows: [] }, { rows: [{ outcome }] }]);
      expect(await claimStagedLoad(client, ledger, 'k', plan, 3)).toEqual({
        loaded: 3,
        failed: [],
      });
      expect(statements).toHaveLength(2);
    }
  });

  it('creates the ledger in types both databases have when pg_class has no such table', async () => {
    const { client, statements } = recordingClient([{ rows: [] }, { rows: [] }]);
    await ensureStagedLedger(client, ledger);
    expect(statements[0]?.values).toEqual(['sluice_delivery_ledger', 'public']);
    expect(statements[1]?.text).toBe(
      'CREATE TABLE IF NOT EXISTS "public"."sluice_delivery_ledger" ( delivery_id varchar(256) NOT NULL PRIMARY KEY, stream varchar(256) NOT NULL, batch_id varchar(256) NOT NULL, stream_version integer NOT NULL, data_table varchar(1024) NOT NULL, records integer NOT NULL, loaded integer, outcome varchar(65535), loaded_at timestamp NOT NULL )',
    );
    const found = recordingClient([{ rows: [{ '?column?': 1 }] }]);
    await ensureStagedLedger(found.client, { table: 'sluice_delivery_ledger' });
    expect(found.statements).toHaveLength(1);
    expect(found.statements[0]?.text).toContain('n.nspname = current_schema()');
  });
});
