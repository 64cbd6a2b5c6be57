import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SettingsError } from '../../config/env.js';

/**
 * Where OpenSearch clusters are and how to reach them: the `SLUICE_OPENSEARCH_ENDPOINTS`
 * setting. A stream names its cluster the Firehose way — `ClusterEndpoint` (a URL) or
 * `DomainARN` — and this table, kept out of the API so that unmodified AWS clients work and
 * credentials never pass through a request or a Describe, says which URL a `DomainARN` stands
 * for and which basic-auth credentials and TLS options a cluster's connections use.
 *
 * The setting is a JSON document, inline (it starts with `{`) or the path of a file:
 *
 * ```json
 * { "endpoints": [
 *   { "domainArn": "arn:aws:es:us-east-1:123456789012:domain/logs",
 *     "url": "https://search.internal:9200",
 *     "username": "firehose", "passwordEnv": "OPENSEARCH_PASSWORD",
 *     "caFile": "/etc/ssl/search-ca.pem", "rejectUnauthorized": true } ] }
 * ```
 *
 * Passwords are read once at start (`password`, `passwordFile` or `passwordEnv`), held only
 * here, and never written anywhere: messages about an entry name its URL or domain ARN.
 */

/** The setting, for messages. */
export const ENDPOINTS_SETTING = 'SLUICE_OPENSEARCH_ENDPOINTS';

const EntrySchema = z.strictObject({
  /** The `DomainARN` streams name this cluster by; absent: only `ClusterEndpoint` finds it. */
  domainArn: z.string().min(1).optional(),
  url: z
    .string()
    .regex(/^https?:\/\/[^/]/u, { message: 'must be an http:// or https:// URL' })
    .max(512),
  username: z.string().min(1).optional(),
  password: z.string().optional(),
  passwordFile: z.string().min(1).optional(),
  passwordEnv: z.string().min(1).optional(),
  caFile: z.string().min(1).optional(),
  rejectUnauthorized: z.boolean().optional(),
});

const DocumentSchema = z.strictObject({ endpoints: z.array(EntrySchema) });

/** How Sluice connects to one cluster. */
export interface OpenSearchConnection {
  /** The cluster's URL (scheme, host, port, optional path), never with credentials in it. */
  url: string;
  /** Basic-auth credentials; absent: none sent. */
  auth?: { username: string; password: string } | undefined;
  /** PEM CA certificates to trust instead of Node's defaults; absent: the defaults. */
  ca?: Buffer | undefined;
  /** Whether the cluster's certificate is verified (default true). */
  rejectUnauthorized: boolean;
}

/** What a stream names its cluster by (its plan's `DomainARN` or `ClusterEndpoint`). */
export type ClusterReference = { domainArn: string } | { clusterEndpoint: string };

/** Raised when a `DomainARN` has no entry: retried, and refused at create time. */
export class DomainNotMappedError extends Error {
  override name = 'DomainNotMappedError';

  constructor(readonly domainArn: string) {
    super(
      `No OpenSearch endpoint is configured for the domain ${domainArn}: add an entry with "domainArn": ${JSON.stringify(domainArn)} and its "url" to ${ENDPOINTS_SETTING} (see docs/destinations.md#connecting-sluice_opensearch_endpoints), or name the cluster by ClusterEndpoint instead.`,
    );
  }
}

/** The endpoints table, as read from the setting. */
export class OpenSearchEndpoints {
  private readonly byArn = new Map<string, OpenSearchConnection>();
  private readonly byUrl = new Map<string, OpenSearchConnection>();

  constructor(connections: readonly (OpenSearchConnection & { domainArn?: string | undefined })[]) {
    for (const { domainArn, ...connection } of connections) {
      if (domainArn !== undefined) this.byArn.set(domainArn, connection);
      this.byUrl.set(urlKey(connection.url), connection);
    }
  }

  /** Whether `domainArn` has an entry. */
  hasDomain(domainArn: string): boolean {
    return this.byArn.has(domainArn);
  }

  /**
   * How to connect to `cluster`: a domain's entry, or for a `ClusterEndpoint` the entry with
   * the same URL (scheme, host, port and path; a trailing `/` ignored) if there is one, else the
   * endpoint as it is, without credentials, its certificate checked against Node's CAs.
   *
   * @throws DomainNotMappedError for a `DomainARN` without an entry.
   */
  resolve(cluster: ClusterReference): OpenSearchConnection {
    if ('domainArn' in cluster) {
      const connection = this.byArn.get(cluster.domainArn);
      if (connection === undefined) throw new DomainNotMappedError(cluster.domainArn);
      return connection;
    }
    return (
      this.byUrl.get(urlKey(cluster.clusterEndpoint)) ?? {
        url: cluster.clusterEndpoint,
        rejectUnauthorized: true,
      }
    );
  }
}

/** An empty table: every `ClusterEndpoint` as it is, no `DomainARN`. */
export const NO_ENDPOINTS = new OpenSearchEndpoints([]);

/**
 * Reads the setting: '' (no entries), inline JSON, or the path of a JSON file; then each
 * entry's password and CA file.
 *
 * @throws SettingsError naming the setting, the entry (by URL) and what is wrong; never a
 *   password or a file's contents.
 */
export function loadOpenSearchEndpoints(
  value: string,
  env: NodeJS.ProcessEnv = process.env,
): OpenSearchEndpoints {
  if (value.trim() === '') return NO_ENDPOINTS;
  const inline = value.trimStart().startsWith('{');
  const source = inline ? 'its inline JSON' : `the file ${value}`;
  let text = value;
  if (!inline) {
    try {
      text = readFileSync(value, 'utf8');
    } catch (error) {
      throw settingsError(`cannot read ${source}: ${(error as Error).message}`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // JSON.parse quotes the text near the error, which may hold a password: not repeated.
    throw settingsError(
      `${source} is not valid JSON (${(error as Error).name}); expected {"endpoints": [{"url": …}, …]}`,
    );
  }
  const parsed = DocumentSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') ?? '';
    throw settingsError(
      `${source}: ${where === '' ? 'the document' : where} ${issue?.message ?? 'is invalid'}; expected {"endpoints": [{"url": …, "domainArn"?, "username"?, "password" | "passwordFile" | "passwordEnv"?, "caFile"?, "rejectUnauthorized"?}, …]}`,
    );
  }
  const problems: string[] = [];
  const seenArns = new Set<string>();
  const connections = parsed.data.endpoints.map((entry, i) => {
    const name = `endpoints[${i}] (${displayEndpoint(entry.url)})`;
    let url: URL | undefined;
    try {
      url = new URL(entry.url);
    } catch {
      problems.push(`${name}: url is not a valid URL`);
    }
    if (url !== undefined && (url.username !== '' || url.password !== '')) {
      problems.push(
        `${name}: url must not contain credentials (user:password@); give "username" and "password", "passwordFile" or "passwordEnv"`,
      );
    }
    if (entry.domainArn !== undefined) {
      if (seenArns.has(entry.domainArn)) {
        problems.push(`${name}: the domain ${entry.domainArn} is mapped more than once`);
      }
      seenArns.add(entry.domainArn);
    }
    const password = readPassword(entry, name, env, problems);
    if ((entry.username === undefined) !== (password === undefined)) {
      problems.push(`${name}: give both "username" and a password, or neither`);
    }
    let ca: Buffer | undefined;
    if (entry.caFile !== undefined) {
      try {
        ca = readFileSync(entry.caFile);
      } catch (error) {
        problems.push(`${name}: cannot read caFile ${entry.caFile}: ${(error as Error).message}`);
      }
      if (ca !== undefined && !ca.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) {
        problems.push(`${name}: caFile ${entry.caFile} holds no PEM certificate`);
      }
    }
    return {
      domainArn: entry.domainArn,
      url: entry.url,
      ...(entry.username !== undefined && password !== undefined
        ? { auth: { username: entry.username, password } }
        : {}),
      ...(ca !== undefined ? { ca } : {}),
      rejectUnauthorized: entry.rejectUnauthorized ?? true,
    };
  });
  if (problems.length > 0)
    throw new SettingsError(problems.map((p) => `${ENDPOINTS_SETTING}: ${p}`));
  return new OpenSearchEndpoints(connections);

  function settingsError(problem: string): SettingsError {
    return new SettingsError([`${ENDPOINTS_SETTING}: ${problem}.`]);
  }
}

function readPassword(
  entry: z.infer<typeof EntrySchema>,
  name: string,
  env: NodeJS.ProcessEnv,
  problems: string[],
): string | undefined {
  const given = [entry.password, entry.passwordFile, entry.passwordEnv].filter(
    (v) => v !== undefined,
  );
  if (given.length > 1) {
    problems.push(`${name}: give one of "password", "passwordFile" and "passwordEnv"`);
    return undefined;
  }
  if (entry.password !== undefined) return entry.password;
  if (entry.passwordFile !== undefined) {
    try {
      // One trailing newline is the file's, not the password's (as Docker secrets are written).
      return readFileSync(entry.passwordFile, 'utf8').replace(/\r?\n$/u, '');
    } catch (error) {
      problems.push(
        `${name}: cannot read passwordFile ${entry.passwordFile}: ${(error as Error).message}`,
      );
      return undefined;
    }
  }
  if (entry.passwordEnv !== undefined) {
    const password = env[entry.passwordEnv];
    if (password === undefined || password === '') {
      problems.push(
        `${name}: the environment variable ${entry.passwordEnv} (passwordEnv) is not set`,
      );
      return undefined;
    }
    return password;
  }
  return undefined;
}

/** `url` reduced to what identifies a cluster: origin and path, without a trailing `/`. */
function urlKey(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname.replace(/\/+$/u, '')}`;
  } catch {
    return url;
  }
}

/**
 * A cluster URL as logs and messages show it: scheme, host, port and path, a query as `?…`,
 * never user-info (refused anyway where URLs are configured).
 */
export function displayEndpoint(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}${parsed.search !== '' ? '?…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}
