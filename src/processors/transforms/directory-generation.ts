import { createHash } from 'node:crypto';
import { watch, type Dirent, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A cheap fingerprint of the transforms directory: the path, size and modification time of
 * every file under it (recursively, without `node_modules` and dot-entries such as `.git` or
 * an editor's swap files). Any edit, added or removed file changes it; the transform host then
 * starts fresh workers, so a transform and every helper module it imports are loaded anew.
 */

/** How deep the walk goes: transforms directories are shallow; a link loop must not be walked. */
const MAX_DEPTH = 8;
/** Most files looked at: beyond that a directory is not a transforms directory. */
const MAX_FILES = 10_000;

/** The fingerprint of a directory that does not exist (or cannot be read). */
export const MISSING_DIRECTORY = 'missing';

/**
 * Fingerprints of one directory, computed at most once per `minIntervalMs` — and at once after
 * the file system reports a change in it (a recursive `fs.watch`, where the platform has one),
 * so that an edit applies to the very next batch, not only to batches a quarter second later.
 * The interval stays the fallback where change events do not arrive (network file systems, a
 * directory created after the start).
 */
export class DirectoryGeneration {
  readonly #dir: string;
  readonly #minIntervalMs: number;
  readonly #watcher: FSWatcher | undefined;
  #value: string | undefined;
  #checkedAt = -Infinity;
  #computing: Promise<string> | undefined;

  constructor(dir: string, minIntervalMs = 250) {
    this.#dir = dir;
    this.#minIntervalMs = minIntervalMs;
    this.#watcher = watchChanges(dir, () => {
      this.#checkedAt = -Infinity;
    });
  }

  /** Stops watching the directory. */
  close(): void {
    this.#watcher?.close();
  }

  /** The current fingerprint: the last one when it is fresh enough, else a new one. */
  current(): Promise<string> {
    if (this.#value !== undefined && performance.now() - this.#checkedAt < this.#minIntervalMs) {
      return Promise.resolve(this.#value);
    }
    this.#computing ??= fingerprint(this.#dir).then(
      (value) => {
        this.#value = value;
        this.#checkedAt = performance.now();
        this.#computing = undefined;
        return value;
      },
      (error: unknown) => {
        this.#computing = undefined;
        throw error;
      },
    );
    return this.#computing;
  }
}

/** Calls `changed` on every change under `dir`; undefined where that cannot be watched. */
function watchChanges(dir: string, changed: () => void): FSWatcher | undefined {
  try {
    const watcher = watch(dir, { recursive: true, persistent: false }, changed);
    // A watcher that fails later (the directory removed) leaves the interval to notice.
    watcher.on('error', () => watcher.close());
    return watcher;
  } catch {
    return undefined;
  }
}

/** The fingerprint of `dir` now. */
export async function fingerprint(dir: string): Promise<string> {
  const lines: string[] = [];
  const readable = await walk(dir, '', 0, lines);
  if (!readable) return MISSING_DIRECTORY;
  lines.sort();
  return createHash('sha1').update(lines.join('\n')).digest('hex');
}

/** Adds `<path> <size> <mtime>` of each file under `dir` to `lines`; false if unreadable. */
async function walk(dir: string, prefix: string, depth: number, lines: string[]): Promise<boolean> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  const subdirectories: Promise<boolean>[] = [];
  const files: Promise<void>[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    if (lines.length + files.length >= MAX_FILES) break;
    const path = join(dir, entry.name);
    const relative = `${prefix}${entry.name}`;
    if (entry.isDirectory()) {
      if (depth < MAX_DEPTH) subdirectories.push(walk(path, `${relative}/`, depth + 1, lines));
      continue;
    }
    // Files, and links to files (followed: it is the target that gets edited).
    files.push(
      stat(path).then(
        (info) => {
          if (info.isFile()) lines.push(`${relative}\0${info.size}\0${info.mtimeMs}`);
        },
        () => undefined,
      ),
    );
  }
  await Promise.all([...files, ...subdirectories]);
  return true;
}
