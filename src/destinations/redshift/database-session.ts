import type pg from 'pg';
import type { SendResult } from '../destination-kind.js';
import type { DatabaseCredentials, RedshiftConnections } from './connections.js';
import type { RequestCredentials } from './request.js';

/**
 * One attempt's session with the database, for both paths' senders: the credentials resolved
 * (a `SecretARN` read now, so a rotated password applies to the next attempt), a pooled
 * connection, and every error turned into a {@link DatabaseFailure} whose text holds no
 * credential. A connection whose attempt failed is destroyed, never returned to the pool: its
 * state is unknown, and the server rolls back what it left open.
 */

/** An error of the database or the connection, with every credential scrubbed from its text. */
export class DatabaseFailure extends Error {
  override name = 'DatabaseFailure';
  constructor(
    message: string,
    /** SQLSTATE, or Node's socket error code, when there is one. */
    readonly code: string | undefined,
    readonly secretProblem = false,
  ) {
    super(message);
  }
}

/** Where a session connects: a plan's database. */
export interface DatabaseTarget {
  host: string;
  port: number;
  database: string;
}

/** Runs `work` on a connection to `target`, authenticated by `credentials`. */
export async function withDatabaseSession<R>(
  connections: RedshiftConnections | undefined,
  target: DatabaseTarget,
  credentials: RequestCredentials,
  work: (client: pg.PoolClient, connections: RedshiftConnections) => Promise<R>,
): Promise<SendResult<R>> {
  if (connections === undefined) {
    return {
      error: new DatabaseFailure(
        'this process has no database connections for Redshift destinations',
        undefined,
      ),
    };
  }
  const secrets: string[] = [];
  let client: pg.PoolClient | undefined;
  try {
    const resolved = await resolveCredentials(credentials, connections);
    secrets.push(resolved.password);
    client = await connections.connect(
      { host: target.host, port: target.port, database: target.database },
      resolved,
    );
    const response = await work(client, connections);
    client.release();
    return { response };
  } catch (error) {
    client?.release(true);
    return { error: scrubbed(error, secrets) };
  }
}

async function resolveCredentials(
  credentials: RequestCredentials,
  connections: RedshiftConnections,
): Promise<DatabaseCredentials> {
  if ('missing' in credentials) throw new DatabaseFailure(credentials.missing, '28000');
  if ('secretArn' in credentials) {
    try {
      return await connections.secret(credentials.secretArn);
    } catch (error) {
      throw new DatabaseFailure((error as Error).message, undefined, true);
    }
  }
  return credentials;
}

/**
 * The error as a {@link DatabaseFailure} whose text holds no credential: a driver's message can
 * quote a connection string, and a server's may echo what it was sent.
 */
function scrubbed(error: unknown, secrets: readonly string[]): DatabaseFailure {
  if (error instanceof DatabaseFailure) return error;
  const e = error as { message?: unknown; code?: unknown; detail?: unknown };
  let text = typeof e.message === 'string' && e.message !== '' ? e.message : String(error);
  if (typeof e.detail === 'string' && e.detail !== '') text += `. ${e.detail}`;
  text = text.replace(/((?:postgres(?:ql)?|redshift):\/\/[^:/@\s]*:)[^@\s]*@/giu, '$1[password]@');
  for (const secret of secrets) if (secret !== '') text = text.replaceAll(secret, '[password]');
  return new DatabaseFailure(text, typeof e.code === 'string' ? e.code : undefined);
}
