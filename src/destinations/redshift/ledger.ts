import { createHash } from 'node:crypto';
import type pg from 'pg';
import { renderTable, type TableName } from './identifiers.js';
import { LEDGER_TABLE, type RedshiftDeliveryPlan } from './plan.js';
import type { AttemptRecord } from './record-runs.js';
import { displayTable } from './request.js';

/**
 * The delivery ledger: one row per committed load, inserted in the same transaction as the
 * load's rows, keyed by the load's identity (the batch's plan and the records the attempt
 * carried). A redelivered batch finds its row and is not loaded again; an attempt killed
 * before its commit left no row and no rows. The row also keeps the load's outcome — which
 * records PostgreSQL rejected, and why — so an attempt answered from the ledger says what the
 * committed one said, and the rejected records still reach the error output.
 *
 * The ledger lives beside the data table (`<schema>.sluice_delivery_ledger`, or on the search
 * path for an unqualified table), created by Sluice when missing.
 */

/** What of a plan (direct or staged) names its ledger row. */
export type LedgerPlan = Pick<
  RedshiftDeliveryPlan,
  'deliveryId' | 'stream' | 'batchId' | 'streamVersion' | 'table'
>;

/** What a committed load said: records loaded, and the records rejected with the reason. */
export interface LoadOutcome {
  loaded: number;
  /** Indexes into the attempt's records, with the database's message. */
  failed: { index: number; message: string }[];
}

/** The ledger table next to `table`. */
export function ledgerOf(table: TableName): TableName {
  return table.schema === undefined
    ? { table: LEDGER_TABLE }
    : { schema: table.schema, table: LEDGER_TABLE };
}

/**
 * The ledger key of an attempt: the batch's load identity and a digest of the positions of
 * the records it carries (a retry of only some records is another load).
 */
export function ledgerKey(plan: LedgerPlan, records: readonly AttemptRecord[]): string {
  return positionsKey(
    plan,
    records.map((r) => r.position),
  );
}

/** {@link ledgerKey} of the records at `positions` (in the attempt's order). */
export function positionsKey(plan: LedgerPlan, positions: readonly number[]): string {
  const bytes = Buffer.allocUnsafe(positions.length * 4);
  positions.forEach((position, i) => bytes.writeUInt32BE(position, i * 4));
  const digest = new PositionDigest();
  digest.update(bytes, positions.length);
  return digest.key(plan);
}

/**
 * {@link ledgerKey} made as the records stream past: fed their positions (u32 big-endian each,
 * as record runs hold them) a run at a time, it gives the same key.
 */
export class PositionDigest {
  readonly #hash = createHash('sha256');
  #records = 0;

  /** How many records were fed. */
  get records(): number {
    return this.#records;
  }

  /** Feeds the positions of `records` records, as u32 big-endian each. */
  update(positions: Uint8Array, records: number): void {
    this.#hash.update(positions);
    this.#records += records;
  }

  /** The ledger key of the records fed (once: the digest is final). */
  key(plan: LedgerPlan): string {
    const digest = this.#hash.digest('hex').slice(0, 32);
    return `${plan.deliveryId}:${this.#records}:${digest}`;
  }
}

/**
 * Creates the ledger if it does not exist. Looked up first: `CREATE TABLE IF NOT EXISTS` needs
 * the CREATE privilege even when the table is there, and a loading user may lack it.
 */
export async function ensureLedger(client: pg.PoolClient, ledger: TableName): Promise<void> {
  const name = renderTable(ledger);
  const found = await client.query<{ oid: string | null }>('SELECT to_regclass($1) AS oid', [name]);
  if (found.rows[0]?.oid !== null && found.rows[0]?.oid !== undefined) return;
  await createLedgerTable(
    client,
    `CREATE TABLE IF NOT EXISTS ${name} (
        delivery_id text PRIMARY KEY,
        stream text NOT NULL,
        batch_id text NOT NULL,
        stream_version integer NOT NULL,
        data_table text NOT NULL,
        records integer NOT NULL,
        loaded integer,
        outcome jsonb,
        loaded_at timestamptz NOT NULL DEFAULT now()
      )`,
  );
}

/**
 * Runs a ledger's `CREATE TABLE IF NOT EXISTS`. Two processes creating it at once: one wins,
 * the other sees its catalog rows (a unique violation or "already exists"), which is fine.
 */
export async function createLedgerTable(client: pg.PoolClient, sql: string): Promise<void> {
  try {
    await client.query(sql);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== '23505' && code !== '42P07') throw error;
  }
}

/**
 * Claims the load's ledger row in the open transaction. The insert waits for another
 * transaction holding the same key, so two attempts of one batch never both load.
 *
 * @returns undefined when claimed (go on and load), or the outcome a committed load recorded.
 */
export async function claimLoad(
  client: pg.PoolClient,
  ledger: TableName,
  key: string,
  plan: LedgerPlan,
  records: number,
): Promise<LoadOutcome | undefined> {
  const name = renderTable(ledger);
  const claimed = await client.query(
    `INSERT INTO ${name} (delivery_id, stream, batch_id, stream_version, data_table, records)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (delivery_id) DO NOTHING`,
    [key, plan.stream, plan.batchId, plan.streamVersion, displayTable(plan), records],
  );
  if (claimed.rowCount === 1) return undefined;
  const found = await client.query<{ outcome: unknown }>(
    `SELECT outcome FROM ${name} WHERE delivery_id = $1`,
    [key],
  );
  return outcomeOf(key, found.rows[0]?.outcome);
}

/**
 * A committed row's outcome: already parsed (a `jsonb` ledger the direct path created) or JSON
 * text (a ledger the staged path created, in SQL Redshift also runs).
 */
export function outcomeOf(key: string, stored: unknown): LoadOutcome {
  const value = typeof stored === 'string' ? (JSON.parse(stored) as unknown) : stored;
  if (value === null || value === undefined) {
    throw new Error(`the ledger row ${key} has no outcome`);
  }
  const outcome = value as { loaded: number; failed: [number, string][] };
  return {
    loaded: outcome.loaded,
    failed: outcome.failed.map(([index, message]) => ({ index, message })),
  };
}

/**
 * Records the load's outcome in its ledger row (committed with the rows). Sent as JSON text,
 * which a `jsonb` column and the staged path's text column both take.
 */
export async function recordOutcome(
  client: pg.PoolClient,
  ledger: TableName,
  key: string,
  outcome: LoadOutcome,
): Promise<void> {
  await client.query(
    `UPDATE ${renderTable(ledger)} SET loaded = $2, outcome = $3 WHERE delivery_id = $1`,
    [key, outcome.loaded, outcomeJson(outcome)],
  );
}

/** An outcome as the ledger keeps it: JSON text, which `jsonb` and text columns both take. */
function outcomeJson(outcome: LoadOutcome): string {
  return JSON.stringify({
    loaded: outcome.loaded,
    failed: outcome.failed.map((f) => [f.index, f.message]),
  });
}
