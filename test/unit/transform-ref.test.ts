import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  parseLambdaArn,
  resolveLocalTransform,
} from '../../src/processors/transforms/transform-ref.js';

describe('parseLambdaArn', () => {
  it('reads sluice:transform:<name>', () => {
    expect(parseLambdaArn('sluice:transform:redact-pii')).toEqual({
      kind: 'local',
      name: 'redact-pii',
    });
    expect(parseLambdaArn(`sluice:transform:A${'b'.repeat(127)}`)).toEqual({
      kind: 'local',
      name: `A${'b'.repeat(127)}`,
    });
  });

  it.each([
    ['sluice:transform:'],
    ['sluice:transform:-leading-dash'],
    ['sluice:transform:../etc/passwd'],
    ['sluice:transform:a/b'],
    ['sluice:transform:has space'],
    ['sluice:transform:dotted.name'],
    [`sluice:transform:a${'b'.repeat(128)}`],
  ])('refuses the transform name in %s', (arn) => {
    expect(() => parseLambdaArn(arn)).toThrow(/names no valid transform: a name is 1 to 128/);
  });

  it('reads http and https URLs', () => {
    expect(parseLambdaArn('http://127.0.0.1:8080/transform')).toEqual({
      kind: 'remote',
      url: 'http://127.0.0.1:8080/transform',
    });
    expect(parseLambdaArn('HTTPS://Transforms.Example.com/x?y=1')).toEqual({
      kind: 'remote',
      url: 'https://transforms.example.com/x?y=1',
    });
  });

  it('refuses a URL with credentials without quoting them', () => {
    let message = '';
    try {
      parseLambdaArn('https://alice:s3cret@example.com/t');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/has credentials in it/);
    expect(message).not.toContain('s3cret');
    expect(message).not.toContain('alice');
  });

  it('refuses a URL that does not parse', () => {
    expect(() => parseLambdaArn('http://')).toThrow(/is not a valid URL/);
  });

  it.each([
    ['arn:aws:lambda:us-east-1:123456789012:function:my-transform:$LATEST'],
    ['ftp://example.com/t'],
    ['my-transform'],
    [''],
  ])('says what Sluice supports for %j', (arn) => {
    expect(() => parseLambdaArn(arn)).toThrow(
      `LambdaArn '${arn}' cannot be invoked by Sluice: use sluice:transform:<name> for a module in the transforms directory, or an http(s):// URL of a remote transform`,
    );
  });

  it('shortens a long LambdaArn in its message', () => {
    expect(() => parseLambdaArn(`arn:${'x'.repeat(1000)}`)).toThrow(/'arn:x{196}…' cannot/);
  });
});

describe('resolveLocalTransform', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-ref-'));
    await writeFile(join(dir, 'both.js'), '');
    await writeFile(join(dir, 'both.ts'), '');
    await writeFile(join(dir, 'module.mjs'), '');
    await writeFile(join(dir, 'typed.mts'), '');
    await mkdir(join(dir, 'folder.ts'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds .ts before .mts, .js and .mjs', () => {
    expect(resolveLocalTransform(dir, 'both')).toBe(join(dir, 'both.ts'));
    expect(resolveLocalTransform(dir, 'typed')).toBe(join(dir, 'typed.mts'));
    expect(resolveLocalTransform(dir, 'module')).toBe(join(dir, 'module.mjs'));
  });

  it('finds nothing for a missing name, a directory, or a name that is no transform name', () => {
    expect(resolveLocalTransform(dir, 'missing')).toBeUndefined();
    expect(resolveLocalTransform(dir, 'folder')).toBeUndefined();
    expect(resolveLocalTransform(join(dir, 'sub'), '../both')).toBeUndefined();
  });
});
