import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

import { killOnExit, removeTempDir, tempDirUntilExit } from '../../devtools/children.js';
import { tail } from './e2e.js';
import { freePort } from './free-port.js';
import { environmentWithout, SLUICE_MAIN } from './sluice-process.js';

/** How a Sluice process that was expected to end by itself ended, with all it wrote. */
export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built service with `env` (on top of this process's environment without any
 * `SLUICE_*` variable; a free `SLUICE_PORT`, autostart off, `SLUICE_PROCESSES=2` as startSluice
 * has, and a fresh `SLUICE_DATA_DIR`, removed once the process has ended, unless `env` says
 * otherwise) until it exits by itself: for runs that must fail to start.
 *
 * Not startSluice, which waits for a healthy service and cannot pass an unparsable
 * `SLUICE_PORT`.
 *
 * @throws when it is still running after `timeoutMs` (it is killed first).
 */
export async function runUntilExit(
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<Ended> {
  // A directory made here is this run's alone, so nothing it writes lands in the working tree.
  const ownDataDir = env.SLUICE_DATA_DIR === undefined;
  const dataDir = env.SLUICE_DATA_DIR ?? tempDirUntilExit('sluice-data-');
  const child = spawn(process.execPath, [SLUICE_MAIN], {
    env: {
      ...environmentWithout('SLUICE_'),
      SLUICE_HOST: '127.0.0.1',
      SLUICE_PORT: String(await freePort()),
      SLUICE_REDIS_AUTOSTART: 'false',
      SLUICE_PROCESSES: '2',
      SLUICE_DATA_DIR: dataDir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const closed = new Promise<Ended>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  ).then(async (ended) => {
    if (ownDataDir) await removeTempDir(dataDir);
    return ended;
  });
  const outcome = await Promise.race([closed, sleep(timeoutMs, 'timeout' as const)]);
  if (outcome === 'timeout') {
    child.kill('SIGKILL');
    await closed;
    throw new Error(
      `sluice was still running ${timeoutMs} ms after start; expected it to exit\n--- stdout ---\n${tail(stdout)}\n--- stderr ---\n${tail(stderr)}`,
    );
  }
  return outcome;
}
