import type { BuildContext, BuiltRequest } from '../destination-kind.js';
import type { DatabaseCredentials } from './connections.js';
import type { StoredRedshiftDestination } from './config.js';
import type { RedshiftDeliveryPlan } from './plan.js';

/**
 * The direct path's request builder. The encode stage (record-runs.ts) puts the attempt's
 * records in runs; the request keeps the runs as they are (no object per record), and the
 * sender moves them to the row conversion workers. Records become rows in the sender, because
 * JSON 'auto' without `DataTableColumns` needs the table's columns from the database, and the
 * database is reached with the password read at send time. When the driver says which records
 * the attempt carries (their positions), the runs are left unread: the sender claims the ledger
 * row under their key and streams the runs into the COPY as they are read from the batch.
 */

/** How the sender authenticates: as given, or through a `SecretARN` resolved at send time. */
export type RequestCredentials = DatabaseCredentials | { secretArn: string } | { missing: string };

/**
 * One attempt's load. `credentials` may hold the password: log `target`, never the request.
 * The sender moves the runs' buffers to the conversion workers (and reads streamed runs once),
 * so a request is sent once (each attempt builds its own).
 */
export interface RedshiftRequest extends BuiltRequest {
  plan: RedshiftDeliveryPlan;
  /**
   * The attempt's records in runs, in the order the driver counts them (partial outcomes'
   * indexes): collected, or still to be read when `positions` is known.
   */
  runs: readonly Buffer[] | AsyncIterable<Buffer>;
  /** The batch positions of the runs' records, in order, when known before they are read. */
  positions?: readonly number[] | undefined;
  credentials: RequestCredentials;
}

/**
 * The request builder: the attempt's record runs (left to the sender to read when `context`
 * gives their positions), and the credentials from `current`, the stream's configuration now,
 * so a password fixed by UpdateDestination is used from the next attempt on.
 */
export async function buildRedshiftRequest(
  plan: RedshiftDeliveryPlan,
  body: AsyncIterable<Buffer>,
  current: StoredRedshiftDestination | undefined,
  context?: BuildContext,
): Promise<RedshiftRequest> {
  const target = `COPY ${displayTable(plan)} on postgresql://${plan.host}:${plan.port}/${plan.database}`;
  const credentials = credentialsOf(current);
  if (context?.positions !== undefined) {
    return { target, plan, runs: body, positions: context.positions(), credentials };
  }
  const runs: Buffer[] = [];
  for await (const run of body) runs.push(run);
  return { target, plan, runs, credentials };
}

/** The table as logs show it. */
export function displayTable(plan: Pick<RedshiftDeliveryPlan, 'table'>): string {
  return plan.table.schema === undefined
    ? plan.table.table
    : `${plan.table.schema}.${plan.table.table}`;
}

/** How the sender authenticates, from the stream's destination now. */
export function credentialsOf(current: StoredRedshiftDestination | undefined): RequestCredentials {
  if (current === undefined) {
    return { missing: 'the stream no longer has a Redshift destination to take credentials from' };
  }
  const secrets = current.SecretsManagerConfiguration;
  if (secrets?.Enabled === true && secrets.SecretARN !== undefined)
    return { secretArn: secrets.SecretARN };
  if (current.Username === undefined || current.Password === undefined) {
    return { missing: 'the destination has no Username and Password' };
  }
  return { user: current.Username, password: current.Password };
}
