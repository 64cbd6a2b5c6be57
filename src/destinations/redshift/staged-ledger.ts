import type pg from 'pg';
import { renderTable, type TableName } from './identifiers.js';
import { createLedgerTable, outcomeOf, type LedgerPlan, type LoadOutcome } from './ledger.js';
import { displayTable } from './request.js';

/**
 * The delivery ledger as the staged path keeps it: the same table, key and rows as the direct
 * path's (ledger.ts), in SQL that Redshift runs as well as PostgreSQL. Redshift has no
 * `INSERT … ON CONFLICT`, no `jsonb`, no `to_regclass` and does not enforce primary keys, so a
 * load claims its row under `LOCK` (held to the commit, which serializes the loads sharing a
 * ledger, as Redshift serializes COPYs into a table anyway), finds a committed row by a plain
 * `SELECT`, keeps the outcome as JSON text, and looks the table up in `pg_class`.
 */

/** The ledger's columns, in types both databases have (the outcome as JSON text). */
const LEDGER_COLUMNS = `(
        delivery_id varchar(256) NOT NULL PRIMARY KEY,
        stream varchar(256) NOT NULL,
        batch_id varchar(256) NOT NULL,
        stream_version integer NOT NULL,
        data_table varchar(1024) NOT NULL,
        records integer NOT NULL,
        loaded integer,
        outcome varchar(65535),
        loaded_at timestamp NOT NULL
      )`;

/**
 * Creates the ledger when it does not exist (looked up first: a loading user may lack the
 * CREATE privilege once it does).
 */
export async function ensureStagedLedger(client: pg.PoolClient, ledger: TableName): Promise<void> {
  const found = await client.query(
    `SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relname = $1 AND n.nspname = ${ledger.schema === undefined ? 'current_schema()' : '$2'}`,
    ledger.schema === undefined ? [ledger.table] : [ledger.table, ledger.schema],
  );
  if (found.rows.length > 0) return;
  await createLedgerTable(
    client,
    `CREATE TABLE IF NOT EXISTS ${renderTable(ledger)} ${LEDGER_COLUMNS}`,
  );
}

/**
 * Claims the load's ledger row in the open transaction: locks the ledger (so an attempt of the
 * same batch waits for this one's commit and then sees its row), then looks for a committed
 * row, then inserts one.
 *
 * @returns undefined when claimed (go on and load), or the outcome a committed load recorded.
 */
export async function claimStagedLoad(
  client: pg.PoolClient,
  ledger: TableName,
  key: string,
  plan: LedgerPlan,
  records: number,
): Promise<LoadOutcome | undefined> {
  const name = renderTable(ledger);
  await client.query(`LOCK ${name}`);
  const found = await client.query<{ outcome: unknown }>(
    `SELECT outcome FROM ${name} WHERE delivery_id = $1`,
    [key],
  );
  if (found.rows.length > 0) return outcomeOf(key, found.rows[0]?.outcome);
  await client.query(
    `INSERT INTO ${name} (delivery_id, stream, batch_id, stream_version, data_table, records, loaded_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      key,
      plan.stream,
      plan.batchId,
      plan.streamVersion,
      displayTable(plan),
      records,
      new Date().toISOString(),
    ],
  );
  return undefined;
}
