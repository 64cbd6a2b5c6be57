import { mkdir, mkdtemp, readFile, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../src/destinations/local/local-object-store.js';

/**
 * The local-directory store keeps every object inside `<root>/<bucket>/`, whatever the bucket
 * and key: the root (`SLUICE_DATA_DIR/s3`) sits beside the embedded Redis's own files.
 */

let dataDir: string;
let root: string;
let store: LocalObjectStore;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-local-store-'));
  await mkdir(join(dataDir, 'redis'));
  root = join(dataDir, 's3');
  store = new LocalObjectStore(root);
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function put(bucket: string, key: string, body = 'payload') {
  return store.put({
    bucket,
    key,
    body: Readable.from([Buffer.from(body)]),
    contentEncoding: undefined,
  });
}

/** The rejection of `put`, checked to be permanent (no retry can fix it). */
async function refused(bucket: string, key: string): Promise<Error> {
  const error: unknown = await put(bucket, key).then(
    () => {
      throw new Error(`put ${bucket}/${key} was accepted`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  expect(store.isPermanent(error)).toBe(true);
  return error as Error;
}

/** Every path under `dir`, relative to it, sorted. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.sort();
}

describe('LocalObjectStore', () => {
  it('writes <root>/<bucket>/<key>, a redis/ prefix included', async () => {
    await put('my-bucket', 'redis/2026/01/01/00/s-1-x', 'kept');
    expect(await readFile(join(root, 'my-bucket', 'redis/2026/01/01/00/s-1-x'), 'utf8')).toBe(
      'kept',
    );
    expect(await tree(join(dataDir, 'redis'))).toEqual([]);
  });

  it.each(['..', '.', '', 'a/b', '../s3', '../redis'])(
    'refuses bucket %j and writes nothing outside the root',
    async (bucket) => {
      await refused(bucket, 'redis/object');
      await refused(bucket, 'object');
      expect(await tree(join(dataDir, 'redis'))).toEqual([]);
      expect((await tree(dataDir)).filter((p) => p.endsWith('object'))).toEqual([]);
    },
  );

  it.each(['../other/object', '../../escaped', '/etc/passwd-copy', '.', ''])(
    'refuses key %j that resolves outside its bucket',
    async (key) => {
      await refused('my-bucket', key);
      expect((await tree(dataDir)).filter((p) => !p.startsWith('s3/my-bucket/'))).toEqual([
        'redis',
        's3',
        's3/my-bucket',
      ]);
      expect(await tree(join(root, 'my-bucket'))).toEqual([]);
    },
  );

  it('refuses a bucket directory that is a link out of the root', async () => {
    const outside = join(dataDir, 'redis');
    await mkdir(root);
    await symlink(outside, join(root, 'linked'));
    await refused('linked', 'object');
    expect(await tree(outside)).toEqual([]);
  });

  it('refuses a key through a link inside the bucket that leads out of it', async () => {
    const outside = join(dataDir, 'redis');
    await mkdir(join(root, 'my-bucket'), { recursive: true });
    await symlink(outside, join(root, 'my-bucket', 'redis'));
    await refused('my-bucket', 'redis/object');
    await refused('my-bucket', 'redis/new-dir/object');
    expect(await tree(outside)).toEqual([]);
  });
});
