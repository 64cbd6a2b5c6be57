import { spawn } from 'node:child_process';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  killOnExit,
  raceTimeout,
  removeTempDir,
  tempDirUntilExit,
} from '../../devtools/children.js';
import { freePort } from '../../devtools/free-port.js';

/** Root of the repository, where `dist/` is built. */
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The built service; `npm test` builds it first. */
export const SLUICE_MAIN = join(PROJECT_ROOT, 'dist', 'src', 'main.js');

/** How long the service may take to answer `GET /health` after it is spawned. */
const READY_TIMEOUT_MS = 20_000;
/** Default bound on a graceful stop; above the service's own in-flight delivery allowance in tests. */
const STOP_TIMEOUT_MS = 40_000;
/** Logs kept for assertions; the oldest are dropped beyond this so a chatty run cannot exhaust memory. */
const MAX_LOG_CHARS = 8 * 1024 * 1024;

/** Options for {@link startSluice}. */
export interface SluiceOptions {
  /**
   * Environment for the service, on top of the test process's environment with every `SLUICE_*`
   * variable removed. Values given here win over the helper's defaults: `SLUICE_HOST=127.0.0.1`,
   * `SLUICE_PORT=<free port>`, `SLUICE_REDIS_AUTOSTART=false` (a test names the Redis it means),
   * `SLUICE_PROCESSES=2` (the default's supervised API and delivery processes, the same on a
   * machine of any size), `SLUICE_DELIVERY_NICE=0` and `SLUICE_DATA_DIR=<fresh temporary
   * directory>`.
   */
  env: Record<string, string>;
  /** Working directory of the process; the repository root by default. */
  cwd?: string;
  /**
   * For a service that serves HTTPS (`SLUICE_TLS_CERT`/`SLUICE_TLS_KEY` in `env`): the PEM of
   * the CA that signed its certificate. The endpoint is then `https://…`, and `/health` is
   * checked over TLS trusting only this CA.
   */
  ca?: Buffer | string;
}

/** How a Sluice process ended. */
export interface SluiceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running Sluice service started by {@link startSluice}. */
export interface SluiceProcess {
  /** `http://<host>:<port>` (`https://` with {@link SluiceOptions.ca}), the Firehose API endpoint. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** `SLUICE_DATA_DIR` of the process (local S3 deliveries land under `<dataDir>/s3`). */
  readonly dataDir: string;
  /** Everything the process wrote to stdout and stderr so far (JSON log lines). */
  logs(): string;
  /** The log lines parsed as JSON; lines that are not JSON objects are skipped. */
  logRecords(): Record<string, unknown>[];
  /**
   * Sends `signal` (default SIGTERM) and resolves with how the process ended. If it is still running
   * after `timeoutMs` it is killed and the promise rejects, with the logs in the message.
   */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<SluiceExit>;
  /** SIGKILL, a crash with no chance to clean up; resolves once the process is gone. */
  kill(): Promise<void>;
  /**
   * Resolves with the first log line (past or future) matching `pattern`; rejects after
   * `timeoutMs`, or as soon as the process exits without writing one.
   */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with how the process ended, whenever that happens. */
  readonly exited: Promise<SluiceExit>;
}

/**
 * Spawns the built service (`node dist/src/main.js`) on a free 127.0.0.1 port and resolves once
 * `GET /health` answers 200.
 *
 * The service runs as a real process, the way users run it, so tests cover configuration from the
 * environment, signals and crash recovery. Output is captured for assertions and for failure
 * messages.
 *
 * @throws when `dist/src/main.js` is missing, the process exits during start, or `/health` does not
 *   answer 200 within 20 seconds; the message includes the process's output.
 */
export async function startSluice(options: SluiceOptions): Promise<SluiceProcess> {
  const port = options.env.SLUICE_PORT ? Number(options.env.SLUICE_PORT) : await freePort();
  if (!Number.isInteger(port) || port <= 0) {
    throw new Error(
      `startSluice cannot reach a service on SLUICE_PORT=${options.env.SLUICE_PORT}; leave it unset to get a free port`,
    );
  }
  // A directory made here is this process's alone: it goes when the process has exited (vitest
  // workers end without running exit hooks). A test that restarts on the same data passes its
  // own SLUICE_DATA_DIR.
  const ownDataDir = options.env.SLUICE_DATA_DIR === undefined;
  const dataDir = options.env.SLUICE_DATA_DIR ?? tempDirUntilExit('sluice-data-');

  const env: NodeJS.ProcessEnv = {
    ...environmentWithout('SLUICE_'),
    SLUICE_HOST: '127.0.0.1',
    SLUICE_REDIS_AUTOSTART: 'false',
    SLUICE_PROCESSES: '2',
    // The suite runs many services at once on shared cores: a delivery process at a lower
    // priority than every other test's processes would time tests by the suite's load. The
    // priority itself is tested where it is set (test/e2e/supervisor.test.ts).
    SLUICE_DELIVERY_NICE: '0',
    ...options.env,
    SLUICE_PORT: String(port),
    SLUICE_DATA_DIR: dataDir,
  };
  const host = env.SLUICE_HOST === '0.0.0.0' ? '127.0.0.1' : (env.SLUICE_HOST ?? '127.0.0.1');
  const scheme = options.ca === undefined ? 'http' : 'https';
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const child = spawn(process.execPath, ['--enable-source-maps', SLUICE_MAIN], {
    cwd: options.cwd ?? PROJECT_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A test that fails before its stop() leaves no process holding ports or Redis clients.
  killOnExit(child);

  let output = '';
  const lineListeners = new Set<(line: string) => void>();
  // One line buffer per stream, so a half-written stdout line never merges with stderr output.
  const partials = { stdout: '', stderr: '' };
  const collect =
    (stream: keyof typeof partials) =>
    (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      output = (output + text).slice(-MAX_LOG_CHARS);
      const lines = (partials[stream] + text).split('\n');
      partials[stream] = lines.pop() ?? '';
      for (const line of lines) for (const listener of lineListeners) listener(line);
    };
  child.stdout?.on('data', collect('stdout'));
  child.stderr?.on('data', collect('stderr'));

  const exited = new Promise<SluiceExit>((resolve) => {
    // 'close', not 'exit': it comes after stdout and stderr are drained, so logs() is complete.
    child.once('close', (code, signal) => {
      for (const rest of [partials.stdout, partials.stderr]) {
        if (rest) for (const listener of lineListeners) listener(rest);
      }
      resolve({ code, signal });
    });
  });
  if (ownDataDir) void exited.then(() => removeTempDir(dataDir));
  const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));

  const hasExited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const describe = (): string => `sluice (pid ${child.pid ?? '?'}, ${url})`;

  const kill = async (): Promise<void> => {
    // No pid: the process never started, so there is nothing to wait for.
    if (hasExited() || child.pid === undefined) return;
    child.kill('SIGKILL');
    await exited;
  };

  const ready = async (): Promise<void> => {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const outcome = await Promise.race([
        spawnFailed,
        exited.then((e) => new Error(`exited during start (code ${e.code}, signal ${e.signal})`)),
        sleep(100, undefined),
      ]);
      if (outcome) throw outcome;
      if (await healthy(url, options.ca)) return;
    }
    throw new Error(`/health did not answer 200 within ${READY_TIMEOUT_MS} ms`);
  };

  try {
    await ready();
  } catch (err) {
    await kill();
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`${describe()} did not start: ${reason}\n--- output ---\n${output}`, {
      cause: err,
    });
  }

  return {
    url,
    port,
    pid: child.pid ?? -1,
    dataDir,
    exited,
    logs: () => output,
    logRecords: () => parseLogLines(output),
    async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = STOP_TIMEOUT_MS) {
      if (!hasExited()) child.kill(signal);
      const outcome = await raceTimeout(exited, timeoutMs);
      if (outcome) return outcome;
      await kill();
      throw new Error(
        `${describe()} still ran ${timeoutMs} ms after ${signal}; killed it\n--- output ---\n${output}`,
      );
    },
    kill,
    waitForLog(pattern: RegExp, timeoutMs = 10_000) {
      return new Promise<string>((resolve, reject) => {
        const test = (line: string): boolean => {
          pattern.lastIndex = 0;
          return pattern.test(line);
        };
        const past = output.split('\n').find(test);
        if (past !== undefined) {
          resolve(past);
          return;
        }
        const finish = (outcome: string | Error): void => {
          clearTimeout(timer);
          lineListeners.delete(onLine);
          if (typeof outcome === 'string') resolve(outcome);
          else reject(outcome);
        };
        const onLine = (line: string): void => {
          if (test(line)) finish(line);
        };
        const timer = setTimeout(
          () =>
            finish(
              new Error(
                `${describe()}: no log line matched ${String(pattern)} within ${timeoutMs} ms\n--- output ---\n${output}`,
              ),
            ),
          timeoutMs,
        );
        lineListeners.add(onLine);
        void exited.then(() =>
          finish(
            new Error(
              `${describe()} exited before a log line matched ${String(pattern)}\n--- output ---\n${output}`,
            ),
          ),
        );
      });
    },
  };
}

/**
 * This process's environment without the variables whose names start with `prefix`, for a child
 * whose settings must come from the test alone, not from the developer's shell.
 */
export function environmentWithout(prefix: string): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith(prefix)),
  );
}

/**
 * One GET /health with a short timeout; any failure counts as "not yet". Over HTTPS trusting
 * `ca` only, when given (fetch takes no CA of its own).
 */
async function healthy(url: string, ca?: Buffer | string): Promise<boolean> {
  if (ca !== undefined) {
    return new Promise((resolve) => {
      const request = httpsGet(`${url}/health`, { ca, timeout: 1_000 }, (response) => {
        response.resume();
        response.once('end', () => resolve(response.statusCode === 200));
        response.once('error', () => resolve(false));
      });
      request.once('timeout', () => request.destroy(new Error('timed out')));
      request.once('error', () => resolve(false));
    });
  }
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

function parseLogLines(output: string): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        records.push(parsed as Record<string, unknown>);
      }
    } catch {
      continue;
    }
  }
  return records;
}
