import { describe, expect, it } from 'vitest';

import { loadSettings, settingSecrets, SettingsError } from '../../src/config/env.js';
import { Redactor, redactUrlCredentials, urlCredentials } from '../../src/telemetry/redact.js';

describe('redactUrlCredentials', () => {
  it.each([
    ['redis://:pw@127.0.0.1:6379', 'redis://***@127.0.0.1:6379'],
    ['rediss://user:pw@redis.example:6380/2', 'rediss://***@redis.example:6380/2'],
    ['http://AKID:secret@minio:9000/bucket', 'http://***@minio:9000/bucket'],
    ['redis://token@host', 'redis://***@host'],
    // A raw `@` in the password: blanked whole, up to the last `@` before the host.
    ['redis://:p@ss@host:1', 'redis://***@host:1'],
    ['at "redis://:pw@h:1", then', 'at "redis://***@h:1", then'],
  ])('%s', (input, expected) => {
    expect(redactUrlCredentials(input)).toBe(expected);
  });

  it('leaves URLs without user-info, and the text around URLs, alone', () => {
    const line = '{"redis":"redis://127.0.0.1:6379","to":"a@b.example","s3":"http://h/k@v"}';
    expect(redactUrlCredentials(line)).toBe(line);
  });
});

describe('urlCredentials', () => {
  it('finds passwords raw and decoded, not user names', () => {
    expect(urlCredentials('redis://default:p%40ss@h:1 and http://x:y2@z')).toEqual([
      'p%40ss',
      'p@ss',
      'y2',
      'y2',
    ]);
  });
});

describe('Redactor', () => {
  it('blanks known secrets anywhere, in raw, JSON-escaped and URL-encoded form', () => {
    const redactor = new Redactor(['s3cr"et/1']);
    expect(redactor.redact('AUTH s3cr"et/1')).toBe('AUTH ***');
    expect(redactor.redact('{"args":["s3cr\\"et/1"]}')).toBe('{"args":["***"]}');
    expect(redactor.redact('pw=s3cr%22et%2F1')).toBe('pw=***');
  });

  it('ignores secrets too short to hide anything without garbling every line', () => {
    expect(new Redactor(['ab']).redact('a cab')).toBe('a cab');
  });
});

describe('settingSecrets', () => {
  it('collects secret settings and URL passwords from the raw environment', () => {
    const secrets = settingSecrets({
      SLUICE_REDIS_URL: 'redis://:hunter22@127.0.0.1:1',
      SLUICE_S3_ENDPOINT: 'http://key:s3pass99@minio',
      SLUICE_ACCESS_KEYS: 'AKID1:first-secret,AKID2:second-secret',
      SLUICE_REGION: 'us-east-1',
    });
    expect(secrets).toEqual(
      expect.arrayContaining(['hunter22', 's3pass99', 'first-secret', 'second-secret']),
    );
    expect(secrets).not.toContain('us-east-1');
  });
});

describe('loadSettings', () => {
  it('shows a refused URL with its user-info redacted', () => {
    let message = '';
    try {
      loadSettings({ SLUICE_REDIS_URL: 'redis://:hunter22@127.0.0.1:99999' });
    } catch (error) {
      if (!(error instanceof SettingsError)) throw error;
      message = error.message;
    }
    expect(message).toContain('SLUICE_REDIS_URL="redis://***@127.0.0.1:99999"');
    expect(message).not.toContain('hunter22');
  });
});
