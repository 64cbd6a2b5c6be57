import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

/**
 * Reading and breaking Sluice's local-directory object store (`SLUICE_DATA_DIR/s3/<bucket>/
 * <key>`) from the outside, with plain file-system calls rather than Sluice's own store, so
 * that a fault in the store cannot hide itself from the test.
 */

/** The name the local store writes an object under before renaming it into place. */
const PARTIAL_FILE = /\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.partial$/;

/** Where a directory is kept while {@link blockDirectory} has a file in its place. */
const HELD_SUFFIX = '.held-by-test';

/**
 * The regular files under `dir` as `/`-separated paths relative to it, sorted: the keys of a
 * bucket directory. Objects still being written (`*.partial`) are left out, as S3 never lists
 * an unfinished upload. A missing `dir` has none.
 */
export async function listObjects(dir: string): Promise<string[]> {
  return (await listFiles(dir)).filter((key) => !PARTIAL_FILE.test(key));
}

/** The `*.partial` files under `dir`: objects the local store is writing right now. */
export async function partialFiles(dir: string): Promise<string[]> {
  return (await listFiles(dir)).filter((key) => PARTIAL_FILE.test(key));
}

async function listFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw error;
  }
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}

/**
 * Puts a regular file where the directory `path` goes (moving an existing directory aside), so
 * that creating anything in it fails (EEXIST / ENOTDIR) until {@link unblockDirectory}.
 */
export async function blockDirectory(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  if (await isDirectory(path)) await rename(path, `${path}${HELD_SUFFIX}`);
  await writeFile(path, 'not a directory: a conformance test fault\n');
}

/** Undoes {@link blockDirectory}: the file goes, the directory (if there was one) comes back. */
export async function unblockDirectory(path: string): Promise<void> {
  if (!(await isDirectory(path))) await rm(path, { force: true });
  if (await isDirectory(`${path}${HELD_SUFFIX}`)) await rename(`${path}${HELD_SUFFIX}`, path);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
