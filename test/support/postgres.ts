import pg from 'pg';

import type { Cleanups } from './e2e.js';
import { startPostgresInstance, type PostgresInstance } from './postgres-instance.js';

/**
 * The PostgreSQL tests load into: `SLUICE_TEST_POSTGRES_URL`, else the shared server these
 * machines run (127.0.0.1:5432, database `test`, trust authentication, as `postgres` or
 * `root`), else — on a machine without one — a private server started for this test process.
 * Each test works in a schema of its own ({@link testSchema}).
 */
export interface TestPostgres {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  /** A pool for the test's own queries. */
  pool: pg.Pool;
}

let shared: Promise<TestPostgres> | undefined;
let privateInstance: PostgresInstance | undefined;

/** The test PostgreSQL (found or started once per test process). */
export function testPostgres(): Promise<TestPostgres> {
  shared ??= findPostgres();
  return shared;
}

async function findPostgres(): Promise<TestPostgres> {
  const env = process.env.SLUICE_TEST_POSTGRES_URL;
  const candidates = env
    ? [env]
    : ['postgres://postgres@127.0.0.1:5432/test', 'postgres://root@127.0.0.1:5432/test'];
  for (const url of candidates) {
    const parsed = new URL(url);
    const found = {
      host: parsed.hostname,
      port: Number(parsed.port || 5432),
      database: parsed.pathname.slice(1) || 'postgres',
      user: decodeURIComponent(parsed.username) || 'postgres',
      password: decodeURIComponent(parsed.password),
    };
    if (await answers(found)) return { ...found, pool: poolOf(found) };
  }
  if (env) throw new Error(`SLUICE_TEST_POSTGRES_URL ${env} does not answer`);
  privateInstance = await startPostgresInstance();
  const admin = new pg.Client({ ...instanceConnection(privateInstance), database: 'postgres' });
  await admin.connect();
  await admin.query('CREATE DATABASE test');
  await admin.end();
  const found = { ...instanceConnection(privateInstance), database: 'test' };
  return { ...found, pool: poolOf(found) };
}

function instanceConnection(instance: PostgresInstance) {
  return {
    host: instance.host,
    port: instance.port,
    user: instance.user,
    password: instance.password,
  };
}

async function answers(connection: Omit<TestPostgres, 'pool'>): Promise<boolean> {
  const client = new pg.Client({ ...connection, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function poolOf(connection: Omit<TestPostgres, 'pool'>): pg.Pool {
  const pool = new pg.Pool({ ...connection, max: 4 });
  pool.on('error', () => undefined);
  return pool;
}

let schemaCounter = 0;

/** A fresh schema for one test, dropped with everything in it when `cleanups` run. */
export async function testSchema(cleanups: Cleanups, db: TestPostgres): Promise<string> {
  schemaCounter += 1;
  const name = `sluice_t_${process.pid}_${schemaCounter}_${Math.random().toString(36).slice(2, 8)}`;
  await db.pool.query(`CREATE SCHEMA ${name}`);
  cleanups.add(() => db.pool.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`));
  return name;
}

/** Ends the pool and any private server (call once per test file, after all tests). */
export async function closeTestPostgres(): Promise<void> {
  const found = await shared?.catch(() => undefined);
  shared = undefined;
  await found?.pool.end().catch(() => undefined);
  await privateInstance?.close();
  privateInstance = undefined;
}
