import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAccessKeys } from '../../src/api/auth/access-keys.js';
import { isLoopbackHost } from '../../src/api/auth/loopback.js';
import { SettingsError } from '../../src/config/env.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-keys-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const settings = (list: string, file = '') => ({
  SLUICE_ACCESS_KEYS: list,
  SLUICE_ACCESS_KEYS_FILE: file,
});

/** The SettingsError `promise` rejects with. */
async function settingsErrorOf(promise: Promise<unknown>): Promise<SettingsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SettingsError);
  return error as SettingsError;
}

describe('access keys from SLUICE_ACCESS_KEYS', () => {
  it('reads comma-separated pairs; a secret may hold / + = and :', async () => {
    const keys = await loadAccessKeys(settings(`AKIA1:${SECRET}, AKIA2:a:b=c ,`));
    expect([...keys]).toEqual([
      ['AKIA1', SECRET],
      ['AKIA2', 'a:b=c'],
    ]);
  });

  it('is empty when neither setting is set', async () => {
    expect((await loadAccessKeys(settings(''))).size).toBe(0);
  });

  it('names every malformed entry by position, never printing a secret', async () => {
    const error = await settingsErrorOf(
      loadAccessKeys(
        settings(`${SECRET},AK/IA:${SECRET},AKIA3:,AKIA4:${SECRET} x,AKIA5:s,AKIA5:t`),
      ),
    );
    expect(error.problems).toEqual([
      expect.stringContaining("entry 1 has no ':'"),
      expect.stringContaining('entry 2 has an access key id'),
      expect.stringContaining('entry 3 (access key id AKIA3) has a secret that is empty'),
      expect.stringContaining('entry 4 (access key id AKIA4) has a secret'),
      expect.stringContaining('access key id AKIA5 appears more than once (again at entry 6)'),
    ]);
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain('wJalr');
  });

  it('refuses both settings at once', async () => {
    const error = await settingsErrorOf(loadAccessKeys(settings('a:b', join(dir, 'keys'))));
    expect(error.message).toContain('SLUICE_ACCESS_KEYS and SLUICE_ACCESS_KEYS_FILE are both set');
  });
});

describe('access keys from SLUICE_ACCESS_KEYS_FILE', () => {
  it('reads one pair a line, skipping blank lines and comments', async () => {
    const file = join(dir, 'good');
    await writeFile(file, `# producers\r\nAKIA1:${SECRET}\r\n\n  AKIA2:second  \n`);
    expect([...(await loadAccessKeys(settings('', file)))]).toEqual([
      ['AKIA1', SECRET],
      ['AKIA2', 'second'],
    ]);
  });

  it('names a bad line by number without its secret', async () => {
    const file = join(dir, 'bad');
    await writeFile(file, `AKIA1:${SECRET}\n${SECRET}\n`);
    const error = await settingsErrorOf(loadAccessKeys(settings('', file)));
    expect(error.problems).toEqual([expect.stringContaining("line 2 has no ':'")]);
    expect(error.message).not.toContain(SECRET);
  });

  it('refuses a missing file and a file without pairs', async () => {
    const missing = await settingsErrorOf(loadAccessKeys(settings('', join(dir, 'absent'))));
    expect(missing.message).toContain('cannot be read (ENOENT)');
    const empty = join(dir, 'empty');
    await writeFile(empty, '# nothing yet\n\n');
    const none = await settingsErrorOf(loadAccessKeys(settings('', empty)));
    expect(none.message).toContain('holds no ACCESS_KEY_ID:SECRET pair');
  });
});

describe('isLoopbackHost', () => {
  it('knows which SLUICE_HOST values only this machine reaches', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      'localhost',
      '::1',
      '[::1]',
      '::ffff:127.0.0.1',
    ]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'sluice.internal', '::ffff:10.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});
