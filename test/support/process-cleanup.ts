import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What the server helpers (`redis-server.ts`, `s3-server.ts`, `sluice-process.ts`) leave behind
 * when a test process exits without calling their `stop()` (a failed `beforeAll`, an aborted
 * run): one exit hook for all of them, so no orphan keeps a port, a Redis client or disk space.
 */

const running = new Set<ChildProcess>();
const ownedDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' allows only synchronous work, hence SIGKILL and rmSync.
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
    for (const dir of ownedDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/**
 * SIGKILLs `child` if the test process exits while `child` still runs; it is forgotten as soon
 * as it exits by itself. (A child that could not be spawned stays listed, harmlessly: killing
 * it does nothing.)
 */
export function killOnExit(child: ChildProcess): void {
  installExitHook();
  running.add(child);
  child.once('exit', () => running.delete(child));
}

/**
 * Creates a fresh directory under the system's temporary directory that is removed when the
 * test process exits, unless {@link removeTempDir} removed it before.
 *
 * @param prefix - start of the directory's name, e.g. `sluice-redis-`.
 */
export function tempDirUntilExit(prefix: string): string {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  ownedDirs.add(dir);
  return dir;
}

/** Removes a directory from {@link tempDirUntilExit} now, and forgets it. */
export async function removeTempDir(dir: string): Promise<void> {
  ownedDirs.delete(dir);
  await rm(dir, { recursive: true, force: true });
}
