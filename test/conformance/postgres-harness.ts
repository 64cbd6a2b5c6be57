import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { testPostgres, type TestPostgres } from '../support/postgres.js';
import { startPostgresProxy, type PostgresProxy } from '../support/postgres-proxy.js';
import {
  pollUntil,
  readErrorObject,
  ROLE_ARN,
  uniqueBucket,
  type DeliveredWrite,
  type DeliveryAttempt,
  type DestinationHarness,
  type DestinationTarget,
  type ErrorOutputObject,
  type StreamOptions,
} from './destination-harness.js';
import { blockDirectory, listObjects, unblockDirectory } from './local-files.js';

/** `RetryOptions.DurationInSeconds` of a test that does not name one. */
const DEFAULT_RETRY_SECONDS = 60;

/**
 * A Redshift destination on the direct PostgreSQL path (`jdbc:postgresql://`), loading into
 * the test PostgreSQL through a wire-protocol proxy (`test/support/postgres-proxy.ts`) that
 * sees each load and can hold its COMMIT. Each target is a table of its own schema,
 * `(seq bigserial, data bytea)`, loaded with `FORMAT AS RAW` (Sluice's option: each record's
 * bytes one row), so records of any bytes come back exactly. A write is one committed ledger
 * row: its rows are those its transaction inserted (`load_tx`, a column default of
 * `txid_current()`), grouped so even when two batches load at once.
 *
 * Faults: retryable — the table is renamed away (`Redshift.TableNotFound`); permanent — a
 * CHECK constraint no row meets (every record rejected alone, `Redshift.DataLoadFailed`);
 * slow — the COMMIT is held back by the proxy; error output broken — a regular file where the
 * error bucket's directory goes.
 */
export function postgresHarness(): DestinationHarness {
  let dataDir: string | undefined;
  let db: TestPostgres | undefined;
  const started = (): { dataDir: string; db: TestPostgres } => {
    if (dataDir === undefined || db === undefined) throw new Error('postgres harness: not started');
    return { dataDir, db };
  };
  return {
    name: 'PostgreSQL (RedshiftDestinationConfiguration, jdbc:postgresql://)',
    member: 'RedshiftDestinationConfiguration',
    failureRouting: {
      kind: 'error-output',
      type: 'redshift-failed',
      permanentCode: 'Redshift.DataLoadFailed',
      retryableCode: 'Redshift.TableNotFound',
      permanentMessage: /violates check constraint "conformance_refuse"/,
    },
    partialRetry: {
      notApplicable:
        'a batch is loaded in one COPY transaction; rows PostgreSQL rejects are isolated inside it and go to the error output, never retried',
    },
    inFlightWindow: 'slow-answer',
    async start() {
      dataDir = await mkdtemp(join(tmpdir(), 'sluice-conformance-pg-'));
      db = await testPostgres();
    },
    async stop() {
      if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
      dataDir = undefined;
    },
    env: () => ({ SLUICE_S3_ENDPOINT: '', SLUICE_DATA_DIR: started().dataDir }),
    async target() {
      const { dataDir: dir, db: database } = started();
      return postgresTarget(database, join(dir, 's3'));
    },
  };
}

async function postgresTarget(db: TestPostgres, root: string): Promise<DestinationTarget> {
  const schema = `conf_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  await db.pool.query(`CREATE SCHEMA ${schema}`);
  // txid_current() is the top-level transaction's id also for rows a savepoint's
  // subtransaction inserts (whose xmin is the subtransaction's own): it ties each row to the
  // transaction that wrote the ledger row.
  await db.pool.query(
    `CREATE TABLE ${schema}.events (seq bigserial PRIMARY KEY, data bytea, load_tx bigint DEFAULT txid_current())`,
  );
  const proxy: PostgresProxy = await startPostgresProxy(db.host, db.port);
  const errorBucket = uniqueBucket('conf-pg-errors');
  const errorDir = join(root, errorBucket);
  return {
    members: (options: StreamOptions) => ({
      RedshiftDestinationConfiguration: {
        RoleARN: ROLE_ARN,
        ClusterJDBCURL: `jdbc:postgresql://127.0.0.1:${proxy.port}/${db.database}`,
        CopyCommand: {
          DataTableName: `${schema}.events`,
          DataTableColumns: 'data',
          CopyOptions: 'FORMAT AS RAW',
        },
        Username: db.user,
        Password: db.password || 'trust-auth-ignores-it',
        RetryOptions: { DurationInSeconds: options.retrySeconds ?? DEFAULT_RETRY_SECONDS },
        S3Configuration: {
          RoleARN: ROLE_ARN,
          BucketARN: `arn:aws:s3:::${errorBucket}`,
          BufferingHints: {
            SizeInMBs: options.sizeMBs,
            IntervalInSeconds: options.intervalSeconds,
          },
          CompressionFormat: 'UNCOMPRESSED',
        },
      },
    }),
    async delivered(): Promise<DeliveredWrite[]> {
      const found = await db.pool.query<{ events: string | null; ledger: string | null }>(
        'SELECT to_regclass($1) AS events, to_regclass($2) AS ledger',
        [`${schema}.events`, `${schema}.sluice_delivery_ledger`],
      );
      // Renamed away (a retryable fault): nothing can be read, and nothing was loaded.
      if (found.rows[0]?.events === null) return [];
      const join = found.rows[0]?.ledger
        ? `LEFT JOIN ${schema}.sluice_delivery_ledger l ON l.xmin::text::bigint = t.load_tx % 4294967296`
        : 'LEFT JOIN (SELECT NULL::text AS delivery_id) l ON false';
      const rows = await db.pool.query<{ key: string | null; data: Buffer }>(
        `SELECT l.delivery_id AS key, t.data FROM ${schema}.events t ${join} ORDER BY t.load_tx, t.seq`,
      );
      const writes: DeliveredWrite[] = [];
      for (const row of rows.rows) {
        const identity = row.key ?? '(rows without a ledger row)';
        let write = writes[writes.length - 1];
        if (write?.identity !== identity) {
          write = { identity, records: [], bytes: Buffer.alloc(0) };
          writes.push(write);
        }
        (write.records as Buffer[]).push(row.data);
      }
      return writes.map((w) => ({ ...w, bytes: Buffer.concat(w.records ?? []) }));
    },
    attempts: (): DeliveryAttempt[] =>
      proxy.loads.map((load) => ({
        identity: load.key,
        records: load.records,
        accepted: load.committed,
      })),
    async errorOutput(): Promise<ErrorOutputObject[]> {
      const keys = await listObjects(errorDir);
      return Promise.all(
        keys.map(async (key) => readErrorObject(key, await readFile(join(errorDir, key)))),
      );
    },
    async failRetryable() {
      await db.pool.query(`ALTER TABLE ${schema}.events RENAME TO events_away`);
    },
    async failPermanent() {
      await db.pool.query(
        `ALTER TABLE ${schema}.events ADD CONSTRAINT conformance_refuse CHECK (octet_length(data) < 0) NOT VALID`,
      );
    },
    async recover() {
      proxy.holdCommits(0);
      await db.pool.query(`ALTER TABLE IF EXISTS ${schema}.events_away RENAME TO events`);
      await db.pool.query(
        `ALTER TABLE ${schema}.events DROP CONSTRAINT IF EXISTS conformance_refuse`,
      );
    },
    slowDeliveries(delayMs) {
      proxy.holdCommits(delayMs, 'before');
    },
    deliveryInFlight: (timeoutMs) =>
      pollUntil(
        `a load through port ${proxy.port} with its COMMIT held`,
        () => proxy.holding(),
        timeoutMs,
      ),
    errorOutputFaults: {
      break: () => blockDirectory(errorDir),
      repair: () => unblockDirectory(errorDir),
    },
    scriptRequests: undefined,
    async close() {
      await proxy.close();
      await db.pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}
