import { mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import {
  DirectoryGeneration,
  fingerprint,
  MISSING_DIRECTORY,
} from '../../src/processors/transforms/directory-generation.js';
import { cleanupAfterEach, tempDir } from '../support/e2e.js';

/** The transforms directory's fingerprint: what changes it, what does not, how often it is taken. */

const cleanups = cleanupAfterEach();

describe('fingerprint', () => {
  it('changes when a file anywhere under the directory is added, edited or removed', async () => {
    const dir = await tempDir(cleanups, 'sluice-generation-');
    await mkdir(join(dir, 'lib', 'deep'), { recursive: true });
    await writeFile(join(dir, 't.ts'), 'a');
    const first = await fingerprint(dir);
    expect(await fingerprint(dir)).toBe(first);

    await writeFile(join(dir, 'lib', 'deep', 'helper.ts'), 'x');
    const added = await fingerprint(dir);
    expect(added).not.toBe(first);

    // Same size, new time: an edit that keeps the length is still an edit.
    await writeFile(join(dir, 'lib', 'deep', 'helper.ts'), 'y');
    await utimes(join(dir, 'lib', 'deep', 'helper.ts'), new Date(), new Date(Date.now() + 5_000));
    const edited = await fingerprint(dir);
    expect(edited).not.toBe(added);

    await rm(join(dir, 'lib', 'deep', 'helper.ts'));
    expect(await fingerprint(dir)).not.toBe(edited);
  });

  it('ignores node_modules and dot-entries (.git, editor swap files)', async () => {
    const dir = await tempDir(cleanups, 'sluice-generation-');
    await writeFile(join(dir, 't.ts'), 'a');
    const before = await fingerprint(dir);
    await mkdir(join(dir, 'node_modules', 'pkg'), { recursive: true });
    await writeFile(join(dir, 'node_modules', 'pkg', 'index.js'), 'x');
    await mkdir(join(dir, '.git'));
    await writeFile(join(dir, '.git', 'HEAD'), 'ref');
    await writeFile(join(dir, '.t.ts.swp'), 'swap');
    expect(await fingerprint(dir)).toBe(before);
  });

  it('is "missing" for a directory that does not exist', async () => {
    const dir = await tempDir(cleanups, 'sluice-generation-');
    expect(await fingerprint(join(dir, 'nope'))).toBe(MISSING_DIRECTORY);
  });
});

describe('DirectoryGeneration', () => {
  it('sees a change the file system reports at once, long before its interval', async () => {
    const dir = await tempDir(cleanups, 'sluice-generation-');
    await mkdir(join(dir, 'lib'));
    await writeFile(join(dir, 't.ts'), 'a');
    const generation = new DirectoryGeneration(dir, 600_000);
    cleanups.add(() => generation.close());
    const first = await generation.current();
    await writeFile(join(dir, 'lib', 'helper.ts'), 'b');
    const deadline = Date.now() + 5_000;
    let now = first;
    while (now === first && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      now = await generation.current();
    }
    expect(now).toBe(await fingerprint(dir));
    expect(now).not.toBe(first);
  });

  it('without change events (a directory made after the start), takes a fresh fingerprint at most once per interval', async () => {
    const dir = join(await tempDir(cleanups, 'sluice-generation-'), 'later');
    const generation = new DirectoryGeneration(dir, 60_000);
    cleanups.add(() => generation.close());
    expect(await generation.current()).toBe(MISSING_DIRECTORY);
    await mkdir(dir);
    await writeFile(join(dir, 'u.ts'), 'b');
    expect(await generation.current()).toBe(MISSING_DIRECTORY);
    const eager = new DirectoryGeneration(dir, 0);
    cleanups.add(() => eager.close());
    const seen = await eager.current();
    await writeFile(join(dir, 'v.ts'), 'c');
    expect(await eager.current()).not.toBe(seen);
  });

  it('shares one walk between concurrent callers', async () => {
    const dir = await tempDir(cleanups, 'sluice-generation-');
    const generation = new DirectoryGeneration(dir, 0);
    const [a, b] = [generation.current(), generation.current()];
    expect(a).toBe(b);
    expect(await a).toBe(await b);
  });
});
