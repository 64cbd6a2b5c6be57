import { createHash, timingSafeEqual } from 'node:crypto';
import type { AccessKeys } from '../api/auth/access-keys.js';

/** The realm the browser shows when it asks for credentials. */
export const CONSOLE_REALM = 'Sluice console (access key id and secret access key)';

/** Longest `Authorization` header read: an id is at most 128 characters, a secret 256. */
const MAX_HEADER_LENGTH = 1024;

/**
 * Whether an `Authorization` header carries HTTP Basic credentials that are one of `keys`:
 * the access key id as the user name and its secret access key as the password.
 *
 * The secret is compared in constant time (as SHA-256 digests, so that its length does not
 * show either); an unknown id costs the same comparison against a dummy, so timing does not
 * tell which ids exist.
 */
export function basicCredentialsMatch(header: string | undefined, keys: AccessKeys): boolean {
  if (header === undefined || header.length > MAX_HEADER_LENGTH || keys.size === 0) return false;
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
  if (match === null) return false;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return false;
  const id = decoded.slice(0, colon);
  const secret = decoded.slice(colon + 1);
  const expected = keys.get(id);
  const same = timingSafeEqual(digest(secret), digest(expected ?? `\u0000${secret}`));
  return expected !== undefined && same;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
