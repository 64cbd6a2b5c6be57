import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { PipelineRecord, RecordStream } from '../../src/destinations/destination-kind.js';
import type { StoredRedshiftDestination } from '../../src/destinations/redshift/config.js';
import { RedshiftConnections } from '../../src/destinations/redshift/connections.js';
import { redshiftKind } from '../../src/destinations/redshift/index.js';
import { ledgerKey } from '../../src/destinations/redshift/ledger.js';
import type { RedshiftDeliveryPlan } from '../../src/destinations/redshift/plan.js';
import { closeRowConversionPool } from '../../src/destinations/redshift/row-conversion-pool.js';
import type { RedshiftRequest } from '../../src/destinations/redshift/request.js';
import { storedGroups } from '../support/record-groups.js';
import { Cleanups, cleanupAfterAll } from '../support/e2e.js';
import { testSchema, type TestPostgres } from '../support/postgres.js';
import { testPostgresForFile } from '../support/test-postgres-for-file.js';

/**
 * The direct path's sender against the shared PostgreSQL, called directly through the kind's
 * encode stage (record runs) and builder: a batch of several runs loads once under the ledger
 * key of its records — a second attempt, or one at the same time, answers from the ledger and
 * leaves nothing of its own — rejected rows are isolated across runs, and an attempt whose
 * records could not all be read fails before anything is loaded. Told the records' positions
 * up front (as the driver tells the builder), the runs stream into the COPY after the ledger
 * row is claimed under the same key; a read that fails part-way rolls everything back, and
 * records other than those told are committed under their own key.
 */

const file = cleanupAfterAll();
const cleanups = new Cleanups();
const ROLE = 'arn:aws:iam::123456789012:role/firehose';
let db: TestPostgres;
let connections: RedshiftConnections;

beforeAll(async () => {
  db = await testPostgresForFile(file);
  connections = new RedshiftConnections({ maxPerEndpoint: 4, secretsFile: '' });
  file.add(() => connections.close());
  file.add(() => closeRowConversionPool());
});

afterEach(() => cleanups.run());
afterAll(() => file.run());

function destination(table: string): StoredRedshiftDestination {
  return redshiftKind.normalize(
    redshiftKind.createSchema.parse({
      RoleARN: ROLE,
      ClusterJDBCURL: `jdbc:postgresql://${db.host}:${db.port}/${db.database}`,
      CopyCommand: {
        DataTableName: table,
        DataTableColumns: 'id,name',
        CopyOptions: "JSON 'auto'",
      },
      Username: db.user,
      Password: db.password || 'trust-ignores-it',
      S3Configuration: { RoleARN: ROLE, BucketARN: 'arn:aws:s3:::direct-load' },
    }),
    'RedshiftDestinationConfiguration',
  ) as StoredRedshiftDestination;
}

/** A table `(id integer, name text)` in a schema of its own, and a plan of `batchId` into it. */
async function idNameTable(batchId: string) {
  const schema = await testSchema(cleanups, db);
  const table = `${schema}.t`;
  await db.pool.query(`CREATE TABLE ${table} (id integer, name text)`);
  return { schema, table, plan: await planOf(table, batchId) };
}

async function planOf(table: string, batchId: string): Promise<RedshiftDeliveryPlan> {
  return (await redshiftKind.plan(destination(table), {
    streamName: 's',
    streamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/s',
    versionId: 1,
    batchId,
    firstArrivalMs: Date.UTC(2026, 11, 3),
  })) as RedshiftDeliveryPlan;
}

/** `count` JSON records at positions from `first`, ~100 bytes each; `bad` ones have a text id. */
function records(count: number, first = 0, bad: readonly number[] = []): PipelineRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `r${i}`,
    position: first + i,
    arrivalMs: 0,
    data: Buffer.from(
      `${JSON.stringify({ id: bad.includes(i) ? `bad-${i}` : i, name: `name ${i} é ${'x'.repeat(70)}` })}\n`,
    ),
  }));
}

/** The records as the batch store streams them (groups of 500), optionally failing after `failAfter` groups. */
function stream(all: readonly PipelineRecord[], failAfter?: number): RecordStream {
  return (async function* () {
    for (let i = 0, group = 0; i < all.length; i += 500, group += 1) {
      // As a read from Redis: the next group comes later.
      await new Promise((resolve) => setImmediate(resolve));
      if (group === failAfter) throw new Error('the batch could not be read');
      yield* storedGroups(all.slice(i, i + 500), 500);
    }
  })();
}

/**
 * One attempt: the records through the kind's encode stage, built and sent. With `positions`
 * the builder is told them up front, as the driver does, and the runs stream into the COPY.
 */
async function attempt(
  plan: RedshiftDeliveryPlan,
  table: string,
  all: readonly PipelineRecord[],
  failAfter?: number,
  positions?: readonly number[],
) {
  const body = redshiftKind.encode(plan, stream(all, failAfter), {
    attemptAtMs: 0,
    reject: () => undefined,
    services: services(),
  });
  const context = positions === undefined ? undefined : { positions: () => positions };
  const request = (await redshiftKind.build(
    plan,
    body,
    destination(table),
    context,
  )) as RedshiftRequest;
  return redshiftKind.classify(request, await redshiftKind.send(request, services()));
}

/** {@link attempt} with the records' positions told up front (the driver's way). */
function streamedAttempt(
  plan: RedshiftDeliveryPlan,
  table: string,
  all: readonly PipelineRecord[],
  failAfter?: number,
) {
  return attempt(
    plan,
    table,
    all,
    failAfter,
    all.map((r) => r.position),
  );
}

const services = () => ({
  objectStore: undefined as never,
  httpResponseTimeoutMs: 1000,
  redshift: connections,
});

async function ids(table: string): Promise<number[]> {
  const { rows } = await db.pool.query<{ id: number }>(`SELECT id FROM ${table} ORDER BY id`);
  return rows.map((r) => r.id);
}

describe('the direct path loading record runs', () => {
  it('loads a batch of many runs once, under the key of its records; a second attempt answers from the ledger and leaves nothing of its own', async () => {
    const { schema, table, plan } = await idNameTable('31111111-2222-4333-8444-555555555555');
    // About 1 MiB: three runs of the encoder.
    const all = records(10_000, 7);
    const first = await attempt(plan, table, all);
    expect(first).toEqual({
      kind: 'delivered',
      location: `COPY ${table} on postgresql://${db.host}:${db.port}/${db.database} (ledger ${ledgerKey(plan, all)})`,
    });
    const again = await attempt(plan, table, all);
    expect(again).toMatchObject({
      kind: 'delivered',
      location: expect.stringContaining('loaded by an earlier attempt') as unknown,
    });
    expect(await ids(table)).toEqual(all.map((_, i) => i));
    const ledger = await db.pool.query(
      `SELECT delivery_id, records, loaded, outcome FROM ${schema}.sluice_delivery_ledger`,
    );
    expect(ledger.rows).toEqual([
      {
        delivery_id: ledgerKey(plan, all),
        records: 10_000,
        loaded: 10_000,
        outcome: { loaded: 10_000, failed: [] },
      },
    ]);
  });

  it('two attempts at once: one loads, the other waits on the ledger row and answers from it', async () => {
    const { table, plan } = await idNameTable('41111111-2222-4333-8444-555555555555');
    const all = records(3_000);
    const outcomes = await Promise.all([attempt(plan, table, all), attempt(plan, table, all)]);
    expect(outcomes.map((o) => o.kind)).toEqual(['delivered', 'delivered']);
    expect(
      outcomes.filter(
        (o) => o.kind === 'delivered' && o.location.includes('loaded by an earlier attempt'),
      ),
    ).toHaveLength(1);
    expect(await ids(table)).toEqual(all.map((_, i) => i));
  });

  it('isolates rejected rows across runs and records them in the ledger row; a retry of the same records answers the same', async () => {
    const { table, plan } = await idNameTable('51111111-2222-4333-8444-555555555555');
    const bad = [3, 4_999, 5_000, 9_999];
    const all = records(10_000, 0, bad);
    const first = await attempt(plan, table, all);
    expect(first.kind).toBe('partial');
    const failed = first.kind === 'partial' ? first.failed : [];
    expect(failed.map((f) => f.index)).toEqual(bad);
    expect(failed[0]?.reason).toMatch(/invalid input syntax for type integer: "bad-3"/);
    expect(await attempt(plan, table, all)).toEqual({
      ...first,
      location: `${first.kind === 'partial' ? first.location.replace(/\)$/u, '') : ''}, loaded by an earlier attempt)`,
    });
    expect(await ids(table)).toEqual(all.map((_, i) => i).filter((i) => !bad.includes(i)));
  });

  it('an attempt whose records cannot all be read fails with that error and loads nothing', async () => {
    const { schema, table, plan } = await idNameTable('61111111-2222-4333-8444-555555555555');
    const all = records(10_000);
    await expect(attempt(plan, table, all, 12)).rejects.toThrow('the batch could not be read');
    expect(await ids(table)).toEqual([]);
    // It never reached the database: not even the ledger was made.
    const ledger = await db.pool.query<{ found: string | null }>(
      'SELECT to_regclass($1) AS found',
      [`${schema}.sluice_delivery_ledger`],
    );
    expect(ledger.rows).toEqual([{ found: null }]);
    // The next attempt loads them.
    expect((await attempt(plan, table, all)).kind).toBe('delivered');
    expect(await ids(table)).toEqual(all.map((_, i) => i));
  });
});

describe('the direct path streaming record runs into the COPY (positions told up front)', () => {
  it('claims the ledger row under the key of the positions before the rows, loads once, and a second attempt answers from the ledger', async () => {
    const { table, plan } = await idNameTable('71111111-2222-4333-8444-555555555555');
    const all = records(10_000, 3);
    // The batch is still being read when the ledger row is claimed: an attempt at the same
    // time waits on that row, so it can only answer from the ledger.
    const outcomes = await Promise.all([
      streamedAttempt(plan, table, all),
      streamedAttempt(plan, table, all),
    ]);
    expect(outcomes.map((o) => o.kind)).toEqual(['delivered', 'delivered']);
    expect(
      outcomes.filter(
        (o) => o.kind === 'delivered' && o.location.includes('loaded by an earlier attempt'),
      ),
    ).toHaveLength(1);
    // The same key as an attempt that read the runs first.
    expect(await attempt(plan, table, all)).toMatchObject({
      kind: 'delivered',
      location: expect.stringContaining(
        `(ledger ${ledgerKey(plan, all)}, loaded by an earlier attempt)`,
      ) as unknown,
    });
    expect(await ids(table)).toEqual(all.map((_, i) => i));
  });

  it('starts the COPY before the batch is read to its end', async () => {
    const { schema, table, plan } = await idNameTable('b1111111-2222-4333-8444-555555555555');
    const all = records(10_000);
    let copyWhileReading = false;
    // The last groups are read only once the database shows this table's COPY running.
    const gated = (async function* () {
      for (let i = 0; i < all.length; i += 500) {
        if (i === 8_000) {
          for (let tries = 0; tries < 100 && !copyWhileReading; tries += 1) {
            const { rows } = await db.pool.query<{ n: string }>(
              `SELECT count(*) AS n FROM pg_stat_activity
               WHERE state = 'active' AND query LIKE 'COPY %' AND query LIKE $1`,
              [`%${schema}%`],
            );
            copyWhileReading = Number(rows[0]?.n) > 0;
            if (!copyWhileReading) await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
        yield* storedGroups(all.slice(i, i + 500), 500);
      }
    })();
    const body = redshiftKind.encode(plan, gated, {
      attemptAtMs: 0,
      reject: () => undefined,
      services: services(),
    });
    const request = (await redshiftKind.build(plan, body, destination(table), {
      positions: () => all.map((r) => r.position),
    })) as RedshiftRequest;
    const outcome = redshiftKind.classify(request, await redshiftKind.send(request, services()));
    expect(outcome.kind).toBe('delivered');
    expect(copyWhileReading).toBe(true);
    expect(await ids(table)).toEqual(all.map((_, i) => i));
  });

  it('isolates rejected rows of streamed runs as of collected ones', async () => {
    const { table, plan } = await idNameTable('81111111-2222-4333-8444-555555555555');
    const bad = [0, 2_500, 7_777, 9_999];
    const all = records(10_000, 0, bad);
    const first = await streamedAttempt(plan, table, all);
    expect(first.kind).toBe('partial');
    expect(first.kind === 'partial' ? first.failed.map((f) => f.index) : []).toEqual(bad);
    expect(await ids(table)).toEqual(all.map((_, i) => i).filter((i) => !bad.includes(i)));
  });

  it('a batch that cannot be read part-way fails with that error, rolls back its rows and its ledger row, and the next attempt loads it', async () => {
    const { schema, table, plan } = await idNameTable('91111111-2222-4333-8444-555555555555');
    const all = records(10_000);
    await expect(streamedAttempt(plan, table, all, 12)).rejects.toThrow(
      'the batch could not be read',
    );
    expect(await ids(table)).toEqual([]);
    const ledger = await db.pool.query(`SELECT delivery_id FROM ${schema}.sluice_delivery_ledger`);
    expect(ledger.rows).toEqual([]);
    expect((await streamedAttempt(plan, table, all)).kind).toBe('delivered');
    expect(await ids(table)).toEqual(all.map((_, i) => i));
  });

  it('records other than the positions told are loaded under their own key, and only once', async () => {
    const { schema, table, plan } = await idNameTable('a1111111-2222-4333-8444-555555555555');
    const all = records(2_000);
    const told = all.slice(0, 1_999).map((r) => r.position);
    const first = await attempt(plan, table, all, undefined, told);
    expect(first).toEqual({
      kind: 'delivered',
      location: `COPY ${table} on postgresql://${db.host}:${db.port}/${db.database} (ledger ${ledgerKey(plan, all)})`,
    });
    const ledger = await db.pool.query<{ delivery_id: string }>(
      `SELECT delivery_id FROM ${schema}.sluice_delivery_ledger`,
    );
    expect(ledger.rows).toEqual([{ delivery_id: ledgerKey(plan, all) }]);
    // Told wrong again: the records' own key is found committed, nothing is loaded twice.
    expect(await attempt(plan, table, all, undefined, told)).toMatchObject({
      kind: 'delivered',
      location: expect.stringContaining('loaded by an earlier attempt') as unknown,
    });
    expect(await ids(table)).toEqual(all.map((_, i) => i));
    // Told the positions of that committed load, but carrying fewer records: the ledger's
    // answer is not theirs, so they are loaded under their own key.
    const fewer = all.slice(0, 1_000);
    expect(
      await attempt(
        plan,
        table,
        fewer,
        undefined,
        all.map((r) => r.position),
      ),
    ).toEqual({
      kind: 'delivered',
      location: `COPY ${table} on postgresql://${db.host}:${db.port}/${db.database} (ledger ${ledgerKey(plan, fewer)})`,
    });
  });

  it('an attempt the ledger answers still reads every record, so the driver can count them and place a rejected one', async () => {
    const { table, plan } = await idNameTable('c1111111-2222-4333-8444-555555555555');
    const all = records(3_000, 0, [2_999]);
    expect((await streamedAttempt(plan, table, all)).kind).toBe('partial');
    let read = 0;
    const counted = (async function* () {
      for await (const group of stream(all)) {
        read += group.length;
        yield group;
      }
    })();
    const body = redshiftKind.encode(plan, counted, {
      attemptAtMs: 0,
      reject: () => undefined,
      services: services(),
    });
    const request = (await redshiftKind.build(plan, body, destination(table), {
      positions: () => all.map((r) => r.position),
    })) as RedshiftRequest;
    const again = redshiftKind.classify(request, await redshiftKind.send(request, services()));
    expect(again).toMatchObject({
      kind: 'partial',
      location: expect.stringContaining('loaded by an earlier attempt') as unknown,
      failed: [{ index: 2_999 }],
    });
    expect(read).toBe(3_000);
  });
});
