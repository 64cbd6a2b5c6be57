import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  DescribeDeliveryStreamCommand,
  UpdateDestinationCommand,
  type FirehoseClient,
  type RedshiftDestinationConfiguration,
} from '@aws-sdk/client-firehose';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  readErrorObject,
  ROLE_ARN,
  type ErrorOutputObject,
} from '../conformance/destination-harness.js';
import { listObjects } from '../conformance/local-files.js';
import { firehoseClient, startChild, startInProcess } from '../conformance/sluice-under-test.js';
import { endedAttempts, streamState } from '../conformance/stream-state.js';
import { eventually, tempDir } from '../support/e2e.js';
import {
  createRedshiftStream,
  jsonLine as json,
  putAccepted as put,
} from '../support/firehose-stream.js';
import { testSchema } from '../support/postgres.js';
import { postgresE2eSuite } from '../support/postgres-e2e-suite.js';
import { startPostgresInstance, type PostgresInstance } from '../support/postgres-instance.js';
import { startPostgresProxy } from '../support/postgres-proxy.js';
import { uniqueName } from '../support/unique.js';

/**
 * The Redshift destination's direct PostgreSQL path end to end, driven through the Firehose
 * API: typed loads with rows PostgreSQL rejects isolated, a dropped table, a wrong password
 * fixed by UpdateDestination, a server restart in the middle of a load, secrets from the
 * secrets file, and a crash after the commit answered from the ledger. The shared PostgreSQL
 * (trust authentication) holds the plain loads; a private server with passwords, which the
 * tests may restart, holds the rest.
 */

const suite = postgresE2eSuite();
const { file, cleanups, drained } = suite;
let instance: PostgresInstance;
let instanceDb: pg.Pool;
let dataDir: string;

beforeAll(async () => {
  instance = await startPostgresInstance('right-password-1');
  file.add(() => instance.close());
  instanceDb = new pg.Pool({ ...connectionOf(instance), database: 'postgres', max: 2 });
  instanceDb.on('error', () => undefined);
  file.add(() => instanceDb.end());
  dataDir = await tempDir(file, 'sluice-pg-e2e-');
}, 120_000);

function connectionOf(server: PostgresInstance) {
  return { host: server.host, port: server.port, user: server.user, password: server.password };
}

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    SLUICE_REDIS_URL: suite.redisServer.url,
    SLUICE_S3_ENDPOINT: '',
    SLUICE_DATA_DIR: dataDir,
    ...extra,
  };
}

/** A destination loading into `table` of database `database` at `port`. */
function destination(
  port: number,
  database: string,
  table: string,
  bucket: string,
  overrides: Partial<RedshiftDestinationConfiguration> = {},
): RedshiftDestinationConfiguration {
  return {
    RoleARN: ROLE_ARN,
    ClusterJDBCURL: `jdbc:postgresql://127.0.0.1:${port}/${database}`,
    CopyCommand: { DataTableName: table, CopyOptions: "JSON 'auto ignorecase' TIMEFORMAT 'auto'" },
    Username: suite.db.user,
    Password: suite.db.password || 'trust-ignores-it',
    RetryOptions: { DurationInSeconds: 60 },
    S3Configuration: {
      RoleARN: ROLE_ARN,
      BucketARN: `arn:aws:s3:::${bucket}`,
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
    },
    ...overrides,
  };
}

const createStream = (client: FirehoseClient, config: RedshiftDestinationConfiguration) =>
  createRedshiftStream(client, config, 'pg');

/** A new database on the private server, holding one table made by `createTable`. */
async function instanceDatabase(createTable: string): Promise<string> {
  const database = `d_${Math.random().toString(36).slice(2, 10)}`;
  await instanceDb.query(`CREATE DATABASE ${database}`);
  await queryInstance(database, createTable);
  return database;
}

/** Runs `sql` in `database` of the private server on a connection of its own. */
async function queryInstance<Row extends pg.QueryResultRow>(
  database: string,
  sql: string,
): Promise<Row[]> {
  const connection = new pg.Client({ ...connectionOf(instance), database });
  await connection.connect();
  try {
    return (await connection.query<Row>(sql)).rows;
  } finally {
    await connection.end();
  }
}

async function errorOutput(bucket: string): Promise<ErrorOutputObject[]> {
  const dir = join(dataDir, 's3', bucket);
  const keys = await listObjects(dir);
  return Promise.all(keys.map(async (key) => readErrorObject(key, await readFile(join(dir, key)))));
}

/**
 * A table `name (columns)` in a schema of its own on the shared PostgreSQL, a Sluice in this
 * process, and a stream loading the table directly with an error bucket of its own;
 * `overrides` (given the qualified table) change the stream's destination.
 */
async function sharedDatabaseStream(
  name: string,
  columns: string,
  overrides: (table: string) => Partial<RedshiftDestinationConfiguration> = () => ({}),
) {
  const schema = await testSchema(cleanups, suite.db);
  const table = `${schema}.${name}`;
  await suite.db.pool.query(`CREATE TABLE ${table} (${columns})`);
  const sluice = await startInProcess(cleanups, env());
  const client = firehoseClient(cleanups, sluice);
  const bucket = uniqueName('pg-errors').toLowerCase();
  const stream = await createStream(
    client,
    destination(suite.db.port, suite.db.database, table, bucket, overrides(table)),
  );
  return { schema, table, sluice, client, bucket, stream };
}

describe('the Redshift destination on the direct PostgreSQL path', () => {
  it('loads JSON records into typed columns; a type mismatch, a constraint violation and a record that is not JSON go alone to the error output with the reason; the rest is loaded', async () => {
    const { schema, sluice, client, bucket, stream } = await sharedDatabaseStream(
      'orders',
      'id integer PRIMARY KEY, name text NOT NULL, amount numeric(12,2), at timestamptz, tags jsonb',
    );
    const good = Array.from({ length: 40 }, (_, i) =>
      json({ ID: i, Name: `n\t${i}\\`, amount: '1.50', at: '2026-12-02T05:20:44Z', tags: { i } }),
    );
    const bad = [
      json({ id: 'abc', name: 'type mismatch' }),
      json({ id: 3, name: 'duplicate id' }),
      json({ id: 100, name: null }),
      'not json at all\n',
    ];
    const records = [
      ...good.slice(0, 10),
      bad[0],
      ...good.slice(10, 25),
      bad[1],
      bad[2],
      ...good.slice(25),
      bad[3],
    ] as string[];
    await put(client, stream, records);
    await drained(stream, sluice);

    const rows = await suite.db.pool.query<{
      id: number;
      name: string;
      amount: string;
      at: Date;
      tags: unknown;
    }>(`SELECT id, name, amount, at, tags FROM ${schema}.orders ORDER BY id`);
    expect(rows.rows.map((r) => r.id)).toEqual(good.map((_, i) => i));
    expect(rows.rows[7]).toEqual({
      id: 7,
      name: 'n\t7\\',
      amount: '1.50',
      at: new Date('2026-12-02T05:20:44Z'),
      tags: { i: 7 },
    });
    const objects = await errorOutput(bucket);
    expect(objects).toHaveLength(1);
    const [object] = objects as [ErrorOutputObject];
    expect(object.key).toMatch(/^redshift-failed\/\d{4}\/\d\d\/\d\d\/\d\d\//);
    expect(object.records.map((r) => r.rawData.toString())).toEqual(bad);
    expect(object.records.map((r) => r.code)).toEqual(bad.map(() => 'Redshift.DataLoadFailed'));
    const messages = object.records.map((r) => r.message);
    expect(messages[0]).toMatch(
      /invalid input syntax for type integer: "abc".*\(column id: "abc"\) \[SQLSTATE 22P02\]/,
    );
    expect(messages[1]).toMatch(
      /duplicate key value violates unique constraint "orders_pkey"\. Key \(id\)=\(3\) already exists\..*\[SQLSTATE 23505\]/,
    );
    expect(messages[2]).toMatch(
      /null value in column "name" of relation "orders" violates not-null constraint.*\[SQLSTATE 23502\]/,
    );
    expect(messages[3]).toMatch(
      /^The record is not JSON objects: expected a JSON object at character 1/,
    );
    const ledger = await suite.db.pool.query(
      `SELECT stream, records, loaded, outcome FROM ${schema}.sluice_delivery_ledger`,
    );
    expect(ledger.rows).toHaveLength(1);
    expect(ledger.rows[0]).toMatchObject({ stream, records: records.length, loaded: good.length });
    expect(await streamState(suite.redis, stream)).toMatchObject({ dead: 0, backlogRecords: 0 });
  });

  it('converts a batch of several worker runs, fast and general records mixed, and isolates rejected rows across the runs', async () => {
    const { schema, sluice, client, bucket, stream } = await sharedDatabaseStream(
      'runs',
      'id integer PRIMARY KEY, name text, big numeric, tags jsonb',
    );
    // About 800 KiB in one batch: more than one run of the conversion workers (512 KiB).
    const pad = 'p'.repeat(1_600);
    const record = (i: number) =>
      i % 7 === 0
        ? // 16+ digits: the general path, which keeps the number exactly as written.
          `{"id":${i},"name":"n${i} \u00e9","big":12345678901234567890.5,"tags":{"i":${i}},"pad":"${pad}"}\n`
        : json({ id: i, name: `n${i} é`, big: i / 4, tags: { i }, pad });
    const records = Array.from({ length: 500 }, (_, i) => record(i));
    records[100] = `${json({ id: 100, name: 'first of two' })}${json({ id: 1000, name: 'second' })}`;
    records[10] = json({ id: 'abc', pad });
    records[300] = `not json ${pad}\n`;
    records[400] = json({ id: 'bad', pad });
    records[450] = json({ id: 5, name: 'duplicate', pad });
    await put(client, stream, records);
    await drained(stream, sluice);

    const bad = [10, 300, 400, 450];
    const rows = await suite.db.pool.query<{
      id: number;
      name: string;
      big: string;
      tags: unknown;
    }>(`SELECT id, name, big, tags FROM ${schema}.runs ORDER BY id`);
    const expectedIds = [...records.keys()].filter((i) => !bad.includes(i));
    expectedIds.push(1000);
    expect(rows.rows.map((r) => r.id)).toEqual(expectedIds);
    const byId = new Map(rows.rows.map((r) => [r.id, r]));
    expect(byId.get(7)).toEqual({
      id: 7,
      name: 'n7 é',
      big: '12345678901234567890.5',
      tags: { i: 7 },
    });
    expect(byId.get(499)).toEqual({ id: 499, name: 'n499 é', big: '124.75', tags: { i: 499 } });
    expect(byId.get(1000)).toEqual({ id: 1000, name: 'second', big: null, tags: null });
    const objects = await errorOutput(bucket);
    const failed = objects.flatMap((o) => o.records);
    expect(failed.map((r) => r.rawData.toString())).toEqual(bad.map((i) => records[i]));
    expect(failed[0]?.message).toMatch(/invalid input syntax for type integer: "abc"/);
    expect(failed[1]?.message).toMatch(/^The record is not JSON objects/);
    expect(failed[2]?.message).toMatch(/invalid input syntax for type integer: "bad"/);
    expect(failed[3]?.message).toMatch(/Key \(id\)=\(5\) already exists/);
  });

  it('retries a dropped table with Redshift.TableNotFound, then writes the records to the error output once RetryOptions ends', async () => {
    const { table, sluice, client, bucket, stream } = await sharedDatabaseStream(
      'gone',
      'id integer',
      (gone) => ({
        CopyCommand: { DataTableName: gone, DataTableColumns: 'id', CopyOptions: "JSON 'auto'" },
        RetryOptions: { DurationInSeconds: 2 },
      }),
    );
    await suite.db.pool.query(`DROP TABLE ${table}`);
    const records = [json({ id: 1 }), json({ id: 2 })];
    await put(client, stream, records);
    const objects = await eventually(
      'the error output',
      async () => {
        const found = await errorOutput(bucket);
        return found.length > 0 ? found : undefined;
      },
      { state: () => sluice.logs() },
    );
    const [object] = objects as [ErrorOutputObject];
    expect(object.records.map((r) => r.rawData.toString())).toEqual(records);
    for (const record of object.records) {
      expect(record.code).toBe('Redshift.TableNotFound');
      expect(record.message).toMatch(
        /relation ".*\.gone" does not exist \(the retry window of 2 s ended after \d+ attempts\)/,
      );
    }
    expect(await endedAttempts(suite.redis, stream)).toBeGreaterThanOrEqual(2);
    await drained(stream, sluice);
  });

  it('retries a wrong password with Redshift.AuthenticationFailed until UpdateDestination fixes it; no password reaches the logs or Describe', async () => {
    const database = await instanceDatabase('CREATE TABLE t (id integer, note text)');
    const sluice = await startInProcess(cleanups, env());
    const client = firehoseClient(cleanups, sluice);
    const bucket = uniqueName('pg-errors').toLowerCase();
    const stream = await createStream(
      client,
      destination(instance.port, database, 't', bucket, {
        Username: instance.user,
        Password: 'wrong-password-9',
      }),
    );
    await put(client, stream, [json({ id: 1, note: 'a' }), json({ id: 2, note: 'b' })]);
    await eventually(
      '2 failed attempts',
      async () => (await endedAttempts(suite.redis, stream)) >= 2,
      {
        state: () => sluice.logs(),
      },
    );
    expect(sluice.logs()).toContain('Redshift.AuthenticationFailed');
    expect(sluice.logs()).toContain(
      `password authentication failed for user \\"${instance.user}\\"`,
    );

    const described = await client.send(
      new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream }),
    );
    const description = described.DeliveryStreamDescription;
    expect(JSON.stringify(description)).not.toContain('wrong-password-9');
    expect(description?.Destinations?.[0]?.RedshiftDestinationDescription?.Username).toBe(
      instance.user,
    );
    await client.send(
      new UpdateDestinationCommand({
        DeliveryStreamName: stream,
        CurrentDeliveryStreamVersionId: description?.VersionId,
        DestinationId: description?.Destinations?.[0]?.DestinationId,
        RedshiftDestinationUpdate: { Password: instance.password },
      }),
    );
    await drained(stream, sluice);
    expect(await queryInstance(database, 'SELECT id, note FROM t ORDER BY id')).toEqual([
      { id: 1, note: 'a' },
      { id: 2, note: 'b' },
    ]);
    expect(sluice.logs()).not.toContain('wrong-password-9');
    expect(sluice.logs()).not.toContain(instance.password);
    expect(await errorOutput(bucket)).toEqual([]);
  });

  it('reads credentials from SLUICE_REDSHIFT_SECRETS_FILE for SecretsManagerConfiguration', async () => {
    const database = await instanceDatabase('CREATE TABLE t (id integer)');
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:sluice-db';
    const secrets = join(await tempDir(cleanups, 'sluice-secrets-'), 'secrets.json');
    await writeFile(
      secrets,
      JSON.stringify({ [arn]: { username: instance.user, password: instance.password } }),
    );
    const sluice = await startInProcess(cleanups, env({ SLUICE_REDSHIFT_SECRETS_FILE: secrets }));
    const client = firehoseClient(cleanups, sluice);
    const config = destination(
      instance.port,
      database,
      't',
      uniqueName('pg-errors').toLowerCase(),
      {
        SecretsManagerConfiguration: { Enabled: true, SecretARN: arn },
      },
    );
    delete config.Username;
    delete config.Password;
    const stream = await createStream(client, config);
    await put(client, stream, [json({ id: 5 })]);
    await drained(stream, sluice);
    expect(await queryInstance(database, 'SELECT id FROM t')).toEqual([{ id: 5 }]);
    expect(sluice.logs()).not.toContain(instance.password);
  });

  it('when PostgreSQL restarts in the middle of a load, retries it (Redshift.ConnectionFailed) and loads each row once', async () => {
    const database = await instanceDatabase('CREATE TABLE t (id integer)');
    const proxy = await startPostgresProxy(instance.host, instance.port);
    cleanups.add(() => proxy.close());
    proxy.holdCommits(5_000, 'before');
    const sluice = await startInProcess(cleanups, env());
    const client = firehoseClient(cleanups, sluice);
    const stream = await createStream(
      client,
      destination(proxy.port, database, 't', uniqueName('pg-errors').toLowerCase(), {
        Username: instance.user,
        Password: instance.password,
      }),
    );
    const records = Array.from({ length: 300 }, (_, i) => json({ id: i }));
    await put(client, stream, records);
    await eventually('a load waiting for its COMMIT', () => proxy.holding(), {
      state: () => sluice.logs(),
    });
    proxy.holdCommits(0);
    await instance.restart();
    await drained(stream, sluice, 60_000);
    expect(sluice.logs()).toContain('Redshift.ConnectionFailed');
    const rows = await queryInstance<{ id: number }>(database, 'SELECT id FROM t ORDER BY id');
    expect(rows.map((r) => r.id)).toEqual(records.map((_, i) => i));
    expect(proxy.loads[0]?.committed).toBe(false);
    expect(proxy.loads.filter((l) => l.committed)).toHaveLength(1);
    expect(new Set(proxy.loads.map((l) => l.key)).size).toBe(1);
  }, 90_000);

  it('after a SIGKILL between the commit and the driver recording it, the retry answers from the ledger: each row once, the rejected record still in the error output', async () => {
    const schema = await testSchema(cleanups, suite.db);
    await suite.db.pool.query(`CREATE TABLE ${schema}.t (id integer)`);
    const proxy = await startPostgresProxy(suite.db.host, suite.db.port);
    cleanups.add(() => proxy.close());
    proxy.holdCommits(3_000, 'after');
    const first = await startChild(cleanups, env());
    const client = firehoseClient(cleanups, first);
    const bucket = uniqueName('pg-errors').toLowerCase();
    const stream = await createStream(
      client,
      destination(proxy.port, suite.db.database, `${schema}.t`, bucket),
    );
    const records = [json({ id: 1 }), json({ id: 'x' }), json({ id: 3 })];
    await put(client, stream, records);
    await eventually('a COMMIT whose answer is held', () => proxy.holding(), {
      state: () => first.logs(),
    });
    await first.kill();
    proxy.holdCommits(0);
    // The COMMIT reached the server: the rows are there although the process that sent it died.
    await eventually('the commit', async () => {
      const { rows } = await suite.db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${schema}.t`,
      );
      return rows[0]?.n === 2;
    });

    const second = await startChild(cleanups, env());
    await drained(stream, second, 90_000);
    const rows = await suite.db.pool.query<{ id: number }>(
      `SELECT id FROM ${schema}.t ORDER BY id`,
    );
    expect(rows.rows.map((r) => r.id)).toEqual([1, 3]);
    const [object] = await errorOutput(bucket);
    expect(object?.records.map((r) => r.rawData.toString())).toEqual([records[1]]);
    expect(object?.records[0]?.message).toMatch(/invalid input syntax for type integer: "x"/);
    expect(proxy.loads.map((l) => l.key)).toEqual([proxy.loads[0]?.key, proxy.loads[0]?.key]);
    // The retry found the committed ledger row and rolled back its own claim.
    expect(proxy.loads[1]?.committed).toBe(false);
  }, 150_000);
});
