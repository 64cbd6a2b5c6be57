import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import pg from 'pg';

/**
 * The Redshift/PostgreSQL destinations' connections: a small pool per endpoint and user, built
 * once per process by the service and closed at shutdown, and the secrets that
 * `SecretsManagerConfiguration` names, read from `SLUICE_REDSHIFT_SECRETS_FILE`.
 */

/** Where to connect. */
export interface DatabaseEndpoint {
  host: string;
  port: number;
  database: string;
}

/** A user name and password (never logged, never in a plan). */
export interface DatabaseCredentials {
  user: string;
  password: string;
}

/** A secret's members, as AWS Secrets Manager keeps them for Redshift. */
interface SecretValue {
  username: string;
  password: string;
}

/** Thrown when a secret cannot be read; the message names the ARN, never a value. */
export class SecretUnavailableError extends Error {
  override name = 'SecretUnavailableError';
}

/** What the service configures. */
export interface RedshiftConnectionOptions {
  /** Most connections per endpoint and user (the stream deliveries that may run at once). */
  maxPerEndpoint: number;
  /** `SLUICE_REDSHIFT_SECRETS_FILE`; empty: no secrets. */
  secretsFile: string;
  /** Longest wait for a connection, ms. */
  connectTimeoutMs?: number;
}

/** Per-process connections of Redshift/PostgreSQL destinations. */
export class RedshiftConnections {
  private readonly pools = new Map<string, { pool: pg.Pool; passwordHash: string }>();
  /** Ledger tables known to exist, per endpoint: created once per process. */
  readonly ledgersReady = new Set<string>();
  private secrets: { mtimeMs: number; values: Map<string, SecretValue> } | undefined;
  private closed = false;
  /** Connections given an error listener (pools hand the same ones out again). */
  private readonly listened = new WeakSet<pg.PoolClient>();

  constructor(private readonly options: RedshiftConnectionOptions) {}

  /**
   * A connection to `endpoint` as `credentials`, from the endpoint's pool. A password changed
   * since the pool was made replaces the pool (its connections close as they are released).
   * Release it with `release()`, or `release(true)` after an error that may have broken it.
   */
  async connect(
    endpoint: DatabaseEndpoint,
    credentials: DatabaseCredentials,
  ): Promise<pg.PoolClient> {
    if (this.closed) throw new Error('the destination connections are closed (shutting down)');
    const key = JSON.stringify([endpoint.host, endpoint.port, endpoint.database, credentials.user]);
    const passwordHash = createHash('sha256').update(credentials.password).digest('hex');
    let entry = this.pools.get(key);
    if (entry !== undefined && entry.passwordHash !== passwordHash) {
      void entry.pool.end().catch(() => undefined);
      entry = undefined;
    }
    if (entry === undefined) {
      const pool = new pg.Pool({
        host: endpoint.host,
        port: endpoint.port,
        database: endpoint.database,
        user: credentials.user,
        password: credentials.password,
        max: this.options.maxPerEndpoint,
        idleTimeoutMillis: 30_000,
        connectionTimeoutMillis: this.options.connectTimeoutMs ?? 10_000,
        keepAlive: true,
        application_name: 'sluice',
      });
      // An idle connection the server drops (a restart) must not crash the process; the next
      // checkout makes a new one.
      pool.on('error', () => undefined);
      entry = { pool, passwordHash };
      this.pools.set(key, entry);
    }
    const client = await entry.pool.connect();
    if (!this.listened.has(client)) {
      // A connection lost while checked out (a server restart mid-load) is also emitted as an
      // event; unheard, it would end the process. The query in flight fails with it anyway.
      client.on('error', () => undefined);
      this.listened.add(client);
    }
    return client;
  }

  /**
   * The user name and password a `SecretARN` maps to in `SLUICE_REDSHIFT_SECRETS_FILE`, read
   * again whenever the file changes.
   *
   * @throws SecretUnavailableError when there is no file, it is not valid, or it lacks the ARN.
   */
  async secret(arn: string): Promise<DatabaseCredentials> {
    const file = this.options.secretsFile;
    if (file === '') {
      throw new SecretUnavailableError(
        `SecretsManagerConfiguration names ${arn}, but SLUICE_REDSHIFT_SECRETS_FILE is not set, so Sluice has no secrets to read it from`,
      );
    }
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(file)).mtimeMs;
    } catch (error) {
      throw new SecretUnavailableError(
        `SLUICE_REDSHIFT_SECRETS_FILE ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    if (this.secrets?.mtimeMs !== mtimeMs)
      this.secrets = { mtimeMs, values: await readSecrets(file) };
    const value = this.secrets.values.get(arn);
    if (value === undefined) {
      throw new SecretUnavailableError(`SLUICE_REDSHIFT_SECRETS_FILE has no secret ${arn}`);
    }
    return { user: value.username, password: value.password };
  }

  /** Closes every pool; connections in use close when released. */
  async close(): Promise<void> {
    this.closed = true;
    const pools = [...this.pools.values()].map((e) => e.pool.end().catch(() => undefined));
    this.pools.clear();
    await Promise.all(pools);
  }
}

/** The secrets file: a JSON object of ARN → `{username, password}`. */
async function readSecrets(file: string): Promise<Map<string, SecretValue>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    // The parser's message may quote the file's text: a password. Say only where.
    throw new SecretUnavailableError(`SLUICE_REDSHIFT_SECRETS_FILE ${file} is not valid JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SecretUnavailableError(
      `SLUICE_REDSHIFT_SECRETS_FILE ${file} must be a JSON object of SecretARN → {"username", "password"}`,
    );
  }
  const values = new Map<string, SecretValue>();
  for (const [arn, value] of Object.entries(parsed)) {
    const secret = value as Partial<SecretValue> | null;
    if (typeof secret?.username === 'string' && typeof secret.password === 'string') {
      values.set(arn, { username: secret.username, password: secret.password });
    }
  }
  return values;
}
