import type { LoadPath } from './copy-options.js';

/** Where a `ClusterJDBCURL` points, and which load path it selects. */
export interface JdbcEndpoint {
  /** `postgresql`: the direct COPY … FROM STDIN path; `redshift`: staged through S3. */
  path: LoadPath;
  host: string;
  port: number;
  database: string;
}

/**
 * Reads `jdbc:(postgresql|redshift)://host:port/database`. Firehose's model also demands a
 * Redshift host name (`….redshift.amazonaws.com`); Sluice accepts any host, so that a
 * PostgreSQL on the same machine or network can be the destination.
 *
 * @returns the endpoint, or a sentence saying what is wrong.
 */
export function parseJdbcUrl(url: string): JdbcEndpoint | string {
  const match =
    /^jdbc:(postgresql|redshift):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?\/([A-Za-z0-9_$-]+)(\?.*)?$/u.exec(
      url,
    );
  if (match === null) {
    return 'it is not of the form jdbc:postgresql://host:port/database (PostgreSQL, loaded directly) or jdbc:redshift://host:port/database (Redshift, staged through the S3Configuration bucket)';
  }
  const [, scheme, host, port, database, query] = match;
  if (port === undefined)
    return 'it has no port (as Firehose requires): add one, such as :5432 or :5439';
  const portNumber = Number(port);
  if (portNumber < 1 || portNumber > 65535) return `its port ${port} is not from 1 to 65535`;
  if (query !== undefined) {
    return 'it has connection parameters (?…), which Sluice does not take: give host, port and database only';
  }
  return {
    path: scheme === 'redshift' ? 'redshift' : 'postgresql',
    host: (host as string).replace(/^\[(.*)\]$/u, '$1'),
    port: portNumber,
    database: database as string,
  };
}
