import { SETTINGS } from '../config/env.js';
import { redactUrlCredentials } from '../telemetry/redact.js';
import { UsageError } from './cli-error.js';

/**
 * Where Sluice's admin API is: `--endpoint`, else `SLUICE_ENDPOINT`, else the address a default
 * `npm start` listens on (taken from the server's own settings table, so the two stay equal).
 */

/** The address used when neither `--endpoint` nor `SLUICE_ENDPOINT` is given. */
export const DEFAULT_ENDPOINT = `http://${SETTINGS.SLUICE_HOST.default}:${SETTINGS.SLUICE_PORT.default}`;

/** A checked endpoint. */
export interface Endpoint {
  /**
   * The URL without user-info. A path (Sluice behind a proxy at `/sluice/`) is kept: API paths
   * are appended to it.
   */
  readonly base: URL;
  /**
   * `Basic …` for the user-info in the URL given (`https://user:pw@proxy`), which `fetch`
   * refuses to send itself; `undefined` when there is none.
   */
  readonly basicAuthorization: string | undefined;
  /** The URL as given, user-info redacted: what messages show. */
  readonly display: string;
}

/**
 * The endpoint from the flag, the environment or the default.
 *
 * @throws UsageError when the chosen value is not an http(s) URL; the message names where the
 *   value came from.
 */
export function resolveEndpoint(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Endpoint {
  const fromEnv = env.SLUICE_ENDPOINT?.trim();
  const [text, source] =
    flag !== undefined
      ? [flag.trim(), '--endpoint']
      : fromEnv !== undefined && fromEnv !== ''
        ? [fromEnv, 'SLUICE_ENDPOINT']
        : [DEFAULT_ENDPOINT, 'the default endpoint'];
  const display = redactUrlCredentials(text);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(
      `${source} ${JSON.stringify(display)} is not a URL; expected one like ${DEFAULT_ENDPOINT}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(
      `${source} ${JSON.stringify(display)} must be an http:// or https:// URL, like ${DEFAULT_ENDPOINT}`,
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw new UsageError(
      `${source} ${JSON.stringify(display)} must not have a query or fragment; give the address only, like ${DEFAULT_ENDPOINT}`,
    );
  }
  let basicAuthorization: string | undefined;
  if (url.username !== '' || url.password !== '') {
    const userInfo = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    basicAuthorization = `Basic ${Buffer.from(userInfo).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  return { base: url, basicAuthorization, display };
}
