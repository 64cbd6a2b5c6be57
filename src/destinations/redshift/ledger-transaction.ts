import type pg from 'pg';
import type { RedshiftConnections } from './connections.js';
import { renderTable, type TableName } from './identifiers.js';
import {
  claimLoad,
  ensureLedger,
  ledgerOf,
  recordOutcome,
  type LedgerPlan,
  type LoadOutcome,
} from './ledger.js';
import type { RedshiftResponse } from './sender.js';
import { claimStagedLoad, ensureStagedLedger } from './staged-ledger.js';

/**
 * One attempt's load, exactly once, for both paths: the ledger made ready (once per process
 * and database, again after a failure, since a dropped ledger must be created anew), then in
 * one transaction the attempt's ledger row claimed, the records loaded, the outcome recorded
 * and committed. An attempt whose row a committed load already holds loads nothing and
 * answers what that load answered.
 */

/** The SQL a ledger is kept in. */
export interface LedgerDialect {
  ensure(client: pg.PoolClient, ledger: TableName): Promise<void>;
  /** Claims the row; undefined when claimed, else the outcome a committed load recorded. */
  claim(
    client: pg.PoolClient,
    ledger: TableName,
    key: string,
    plan: LedgerPlan,
    records: number,
  ): Promise<LoadOutcome | undefined>;
}

/** PostgreSQL's (ledger.ts): `jsonb`, `INSERT … ON CONFLICT`. */
export const POSTGRES_LEDGER: LedgerDialect = { ensure: ensureLedger, claim: claimLoad };

/** SQL Redshift runs as well as PostgreSQL (staged-ledger.ts). */
export const REDSHIFT_LEDGER: LedgerDialect = {
  ensure: ensureStagedLedger,
  claim: claimStagedLoad,
};

/** Where a load goes: the plan's database and table, and the ledger row's identity. */
export type LoadTarget = LedgerPlan & { host: string; port: number; database: string };

/** What names an attempt's ledger row: its key (ledger.ts) and how many records it carries. */
export interface LoadIdentity {
  key: string;
  records: number;
}

/**
 * What a load answered; with `loadedAs`, the identity of the records it read as they streamed,
 * which the transaction checks against the one it claimed.
 */
export interface LoadResult {
  outcome: LoadOutcome;
  loadedAs?: LoadIdentity | undefined;
}

/**
 * Makes the ledger ready once per process and database.
 *
 * @returns its name in `connections.ledgersReady`.
 */
async function readyLedger(
  client: pg.PoolClient,
  connections: RedshiftConnections,
  plan: LoadTarget,
  ledger: TableName,
  dialect: LedgerDialect,
): Promise<string> {
  const ready = `${plan.host}:${plan.port}/${plan.database}/${renderTable(ledger)}`;
  if (!connections.ledgersReady.has(ready)) {
    await dialect.ensure(client, ledger);
    connections.ledgersReady.add(ready);
  }
  return ready;
}

/**
 * Runs `load` once for the attempt `identity` names, in a transaction with its ledger row.
 * A load that read other records than `identity` said (see {@link LoadResult}) gives its row
 * up and claims theirs before it commits: the rows and the ledger row always commit together
 * under the key of the records loaded.
 */
export async function loadOnce(
  client: pg.PoolClient,
  connections: RedshiftConnections,
  plan: LoadTarget,
  identity: LoadIdentity,
  dialect: LedgerDialect,
  load: () => Promise<LoadResult>,
): Promise<RedshiftResponse> {
  const ledger = ledgerOf(plan.table);
  const ready = await readyLedger(client, connections, plan, ledger, dialect);
  let key = identity.key;
  try {
    await client.query('BEGIN');
    const earlier = await dialect.claim(client, ledger, key, plan, identity.records);
    if (earlier !== undefined) {
      await client.query('ROLLBACK');
      return { ...earlier, key, replayed: true };
    }
    const { outcome, loadedAs } = await load();
    if (loadedAs !== undefined && loadedAs.key !== key) {
      await client.query(`DELETE FROM ${renderTable(ledger)} WHERE delivery_id = $1`, [key]);
      key = loadedAs.key;
      const committed = await dialect.claim(client, ledger, key, plan, loadedAs.records);
      if (committed !== undefined) {
        await client.query('ROLLBACK');
        return { ...committed, key, replayed: true };
      }
    }
    await recordOutcome(client, ledger, key, outcome);
    await client.query('COMMIT');
    return { ...outcome, key, replayed: false };
  } catch (error) {
    // A dropped ledger is created again by the next attempt.
    connections.ledgersReady.delete(ready);
    throw error;
  }
}
