import { readFile } from 'node:fs/promises';
import { SettingsError, type Settings } from '../../config/env.js';

/**
 * The access keys clients sign Firehose requests with: access key id → secret access key.
 * Read from `SLUICE_ACCESS_KEYS` or `SLUICE_ACCESS_KEYS_FILE`; empty means "no
 * authentication".
 */
export type AccessKeys = ReadonlyMap<string, string>;

/**
 * What an access key id may be: it travels in the credential scope
 * (`<id>/<date>/<region>/firehose/aws4_request`) and in the settings' `id:secret` pairs, so
 * no `/`, `:`, `,` or whitespace. AWS's own ids are 16–128 capitals and digits.
 */
const ACCESS_KEY_ID = /^[A-Za-z0-9._-]{1,128}$/;
/** A secret may hold anything but whitespace (and `,` in the one-line list), up to 256 characters. */
const SECRET = /^\S{1,256}$/;

/**
 * Parses `ACCESS_KEY_ID:SECRET` pairs.
 *
 * Error messages name the entry by its position and, when it could be read, its access key
 * id; they never repeat the secret, nor an entry whose parts cannot be told apart (it might
 * be a secret pasted alone).
 *
 * @param entries - the pairs, with their position as the user counts them.
 * @param source - how the messages name where the pairs came from.
 * @throws SettingsError listing every malformed or repeated entry.
 */
export function parseAccessKeys(
  entries: readonly { text: string; position: string }[],
  source: string,
): AccessKeys {
  const keys = new Map<string, string>();
  const problems: string[] = [];
  for (const { text, position } of entries) {
    const colon = text.indexOf(':');
    if (colon < 0) {
      problems.push(
        `${source}: ${position} has no ':' between the access key id and the secret. Fix: write it as ACCESS_KEY_ID:SECRET.`,
      );
      continue;
    }
    const id = text.slice(0, colon).trim();
    const secret = text.slice(colon + 1).trim();
    if (!ACCESS_KEY_ID.test(id)) {
      problems.push(
        `${source}: ${position} has an access key id that is empty, longer than 128 characters or has characters other than letters, digits, '.', '_' and '-'. Fix: use an id such as AKIASLUICEPRODUCER01.`,
      );
      continue;
    }
    if (!SECRET.test(secret)) {
      problems.push(
        `${source}: ${position} (access key id ${id}) has a secret that is empty, longer than 256 characters or contains whitespace. Fix: give it a secret of 1 to 256 characters without spaces (for example 40 random base64 characters).`,
      );
      continue;
    }
    if (keys.has(id)) {
      problems.push(
        `${source}: access key id ${id} appears more than once (again at ${position}). Fix: keep one entry per access key id.`,
      );
      continue;
    }
    keys.set(id, secret);
  }
  if (problems.length > 0) throw new SettingsError(problems);
  return keys;
}

/**
 * The access keys the settings configure: from `SLUICE_ACCESS_KEYS` (comma-separated pairs)
 * or `SLUICE_ACCESS_KEYS_FILE` (one pair a line; blank lines and lines starting with `#` are
 * skipped). An empty map when neither is set.
 *
 * @throws SettingsError when both are set, the file cannot be read or holds no pair, or a
 *   pair is malformed; the message never contains a secret.
 */
export async function loadAccessKeys(
  settings: Pick<Settings, 'SLUICE_ACCESS_KEYS' | 'SLUICE_ACCESS_KEYS_FILE'>,
): Promise<AccessKeys> {
  const list = settings.SLUICE_ACCESS_KEYS;
  const file = settings.SLUICE_ACCESS_KEYS_FILE;
  if (list !== '' && file !== '') {
    throw new SettingsError([
      'SLUICE_ACCESS_KEYS and SLUICE_ACCESS_KEYS_FILE are both set. Fix: set only one of them (put every pair in the file, or every pair in the variable).',
    ]);
  }
  if (list !== '') {
    // A stray comma (`a:b,`) leaves an empty entry, which is not a mistake worth stopping for.
    const entries = list
      .split(',')
      .map((text, i) => ({ text, position: `entry ${i + 1}` }))
      .filter(({ text }) => text.trim() !== '');
    return parseAccessKeys(entries, 'SLUICE_ACCESS_KEYS');
  }
  if (file === '') return new Map();

  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new SettingsError([
      `SLUICE_ACCESS_KEYS_FILE=${JSON.stringify(file)} cannot be read (${code}). Fix: point it at a readable file with one ACCESS_KEY_ID:SECRET pair a line, or unset it.`,
    ]);
  }
  const entries = text
    .split(/\r?\n/)
    .map((line, i) => ({ text: line.trim(), position: `line ${i + 1}` }))
    .filter(({ text: line }) => line !== '' && !line.startsWith('#'));
  if (entries.length === 0) {
    throw new SettingsError([
      `SLUICE_ACCESS_KEYS_FILE=${JSON.stringify(file)} holds no ACCESS_KEY_ID:SECRET pair. Fix: add one pair a line, or unset it to run without authentication.`,
    ]);
  }
  return parseAccessKeys(entries, `SLUICE_ACCESS_KEYS_FILE (${file})`);
}
