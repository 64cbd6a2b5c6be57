import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { PipelineRecord } from '../../src/destinations/destination-kind.js';
import { LocalObjectStore } from '../../src/destinations/local/local-object-store.js';
import type { StoredRedshiftDestination } from '../../src/destinations/redshift/config.js';
import { RedshiftConnections } from '../../src/destinations/redshift/connections.js';
import { redshiftKind } from '../../src/destinations/redshift/index.js';
import type { StagedRedshiftDeliveryPlan } from '../../src/destinations/redshift/plan.js';
import { frameRecords } from '../../src/destinations/redshift/record-runs.js';
import type { StagedRedshiftRequest } from '../../src/destinations/redshift/staged-request.js';
import { Cleanups, cleanupAfterAll, tempDir } from '../support/e2e.js';
import { testSchema, type TestPostgres } from '../support/postgres.js';
import { startRedshiftStandin, type RedshiftStandin } from '../support/redshift-standin.js';
import { testPostgresForFile } from '../support/test-postgres-for-file.js';

/**
 * The staged path's sender against the Redshift stand-in and the shared PostgreSQL, called
 * directly: two attempts of one batch at once load it once (the second waits on the ledger's
 * LOCK and then answers from the committed row), and a ledger the direct path created first
 * (its outcome `jsonb`) serves the staged path too.
 */

const file = cleanupAfterAll();
const cleanups = new Cleanups();
const ROLE = 'arn:aws:iam::123456789012:role/firehose';
let db: TestPostgres;
let root: string;
let store: LocalObjectStore;
let proxy: RedshiftStandin;
let connections: RedshiftConnections;

beforeAll(async () => {
  db = await testPostgresForFile(file);
  root = await tempDir(file, 'sluice-staged-ledger-');
  store = new LocalObjectStore(root);
  proxy = await startRedshiftStandin(db.host, db.port, async (bucket, key) => {
    try {
      return await readFile(join(root, bucket, key));
    } catch {
      return undefined;
    }
  });
  file.add(() => proxy.close());
  connections = new RedshiftConnections({ maxPerEndpoint: 4, secretsFile: '' });
  file.add(() => connections.close());
});

afterEach(() => cleanups.run());
afterAll(() => file.run());

function destination(table: string): StoredRedshiftDestination {
  return redshiftKind.normalize(
    redshiftKind.createSchema.parse({
      RoleARN: ROLE,
      ClusterJDBCURL: `jdbc:redshift://127.0.0.1:${proxy.port}/${db.database}`,
      CopyCommand: { DataTableName: table, DataTableColumns: 'id', CopyOptions: "JSON 'auto'" },
      Username: db.user,
      Password: db.password || 'trust-ignores-it',
      S3Configuration: { RoleARN: ROLE, BucketARN: 'arn:aws:s3:::staged-ledger' },
    }),
    'RedshiftDestinationConfiguration',
  ) as StoredRedshiftDestination;
}

async function request(table: string, batchId: string): Promise<StagedRedshiftRequest> {
  const stored = destination(table);
  const plan = (await redshiftKind.plan(stored, {
    streamName: 's',
    streamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/s',
    versionId: 1,
    batchId,
    firstArrivalMs: Date.UTC(2026, 11, 3),
  })) as StagedRedshiftDeliveryPlan;
  const records: PipelineRecord[] = [1, 2, 3].map((id, position) => ({
    id: `r${position}`,
    position,
    arrivalMs: 0,
    data: Buffer.from(`{"id":${id}}\n`),
  }));
  return (await redshiftKind.build(
    plan,
    Readable.from([frameRecords(records)]),
    stored,
  )) as StagedRedshiftRequest;
}

const services = () => ({ objectStore: store, httpResponseTimeoutMs: 1000, redshift: connections });

describe('the staged ledger on PostgreSQL', () => {
  it('two attempts of one batch at once: one loads, the other answers from the ledger', async () => {
    const schema = await testSchema(cleanups, db);
    await db.pool.query(`CREATE TABLE ${schema}.t (id integer)`);
    const attempt = await request(`${schema}.t`, '11111111-2222-4333-8444-555555555555');
    const results = await Promise.all([
      redshiftKind.send(attempt, services()),
      redshiftKind.send(attempt, services()),
    ]);
    const outcomes = results.map((result) => redshiftKind.classify(attempt, result));
    expect(outcomes.map((o) => o.kind)).toEqual(['delivered', 'delivered']);
    const replayed = outcomes.filter(
      (o) => o.kind === 'delivered' && o.location.includes('loaded by an earlier attempt'),
    );
    expect(replayed).toHaveLength(1);
    const { rows } = await db.pool.query<{ id: number }>(`SELECT id FROM ${schema}.t ORDER BY id`);
    expect(rows.map((r) => r.id)).toEqual([1, 2, 3]);
    const ledger = await db.pool.query(
      `SELECT records, loaded, outcome FROM ${schema}.sluice_delivery_ledger`,
    );
    expect(ledger.rows).toEqual([{ records: 3, loaded: 3, outcome: '{"loaded":3,"failed":[]}' }]);
  });

  it('uses a ledger the direct path created (outcome jsonb)', async () => {
    const schema = await testSchema(cleanups, db);
    await db.pool.query(`CREATE TABLE ${schema}.t (id integer)`);
    await db.pool.query(
      `CREATE TABLE ${schema}.sluice_delivery_ledger (
        delivery_id text PRIMARY KEY, stream text NOT NULL, batch_id text NOT NULL,
        stream_version integer NOT NULL, data_table text NOT NULL, records integer NOT NULL,
        loaded integer, outcome jsonb, loaded_at timestamptz NOT NULL DEFAULT now())`,
    );
    const attempt = await request(`${schema}.t`, '21111111-2222-4333-8444-555555555555');
    const first = redshiftKind.classify(attempt, await redshiftKind.send(attempt, services()));
    const again = redshiftKind.classify(attempt, await redshiftKind.send(attempt, services()));
    expect(first.kind).toBe('delivered');
    expect(again).toMatchObject({
      kind: 'delivered',
      location: expect.stringContaining('loaded by an earlier attempt') as unknown,
    });
    const { rows } = await db.pool.query<{ id: number }>(`SELECT id FROM ${schema}.t ORDER BY id`);
    expect(rows.map((r) => r.id)).toEqual([1, 2, 3]);
    const ledger = await db.pool.query(`SELECT outcome FROM ${schema}.sluice_delivery_ledger`);
    expect(ledger.rows).toEqual([{ outcome: { loaded: 3, failed: [] } }]);
  });
});
