import { describe, expect, it } from 'vitest';
import { loadSettings, SettingsError } from '../../src/config/env.js';

/** The message of the settings error `env` causes. */
function refusal(env: Record<string, string>): string {
  try {
    loadSettings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    return (error as Error).message;
  }
  throw new Error(`accepted: ${JSON.stringify(env)}`);
}

describe('SLUICE_REDIS_MODE and SLUICE_REDIS_URL', () => {
  it('takes one URL by default and several nodes of a cluster, comma-separated', () => {
    expect(loadSettings({}).SLUICE_REDIS_MODE).toBe('single');
    const cluster = loadSettings({
      SLUICE_REDIS_MODE: 'cluster',
      SLUICE_REDIS_URL: 'redis://10.0.0.1:7000, redis://10.0.0.2:7000',
    });
    expect(cluster.SLUICE_REDIS_URL).toBe('redis://10.0.0.1:7000,redis://10.0.0.2:7000');
    expect(cluster.SLUICE_REDIS_MODE).toBe('cluster');
  });

  it('refuses several URLs for one Redis, saying how to fix it', () => {
    expect(refusal({ SLUICE_REDIS_URL: 'redis://a:1,redis://b:2' })).toContain(
      'SLUICE_REDIS_URL names 2 Redis URLs but SLUICE_REDIS_MODE is single. Fix: set SLUICE_REDIS_MODE=cluster',
    );
  });

  it('refuses a mix of redis:// and rediss://, an empty entry, and an unknown mode', () => {
    const cluster = { SLUICE_REDIS_MODE: 'cluster' };
    expect(refusal({ ...cluster, SLUICE_REDIS_URL: 'redis://a:1,rediss://b:2' })).toContain(
      'the URLs must all be redis:// or all rediss://',
    );
    const empty = refusal({ ...cluster, SLUICE_REDIS_URL: 'redis://a:1,,redis://b:2' });
    expect(empty).toContain('SLUICE_REDIS_URL="redis://a:1,,redis://b:2": Invalid URL.');
    expect(refusal({ SLUICE_REDIS_MODE: 'clustered' })).toContain(
      'SLUICE_REDIS_MODE="clustered": Invalid option',
    );
  });

  it('never shows a password of any of the URLs', () => {
    const message = refusal({
      SLUICE_REDIS_URL: 'redis://:hunter22@a:1,redis://:hunter22@b:99999',
      SLUICE_REDIS_MODE: 'cluster',
    });
    expect(message).not.toContain('hunter22');
  });
});
