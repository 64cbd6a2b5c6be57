import { appendFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { Child, raceTimeout, tempDirUntilExit } from '../devtools/children.js';
import { freePort } from '../devtools/free-port.js';
import { CliFailure } from './cli.js';

/** The built service: `npm run build` compiles `src/` next to `bench/` in `dist/`. */
export const SLUICE_MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

/**
 * Checks that the service has been built before anything is started.
 *
 * @throws CliFailure when {@link SLUICE_MAIN} is missing, saying to run `npm run build`.
 */
export function assertSluiceBuilt(): void {
  if (!existsSync(SLUICE_MAIN)) {
    throw new CliFailure(`${SLUICE_MAIN} does not exist; run \`npm run build\` first`);
  }
}

const READY_TIMEOUT_MS = 30_000;
/** Above Sluice's own shutdown allowance (set below), so a clean stop is not cut short. */
const STOP_TIMEOUT_MS = 20_000;
/** How long in-flight deliveries may run on SIGTERM; short, because the bench discards them. */
const SHUTDOWN_TIMEOUT_MS = 5_000;

/**
 * Settings the bench decides for every Sluice process; a `SLUICE_*` variable in the bench's own
 * environment that is not one of these is passed through, so `SLUICE_DELIVERY_CONCURRENCY=4 npm
 * run bench` tunes the service under test.
 */
const OWNED_SETTINGS = new Set([
  'SLUICE_HOST',
  'SLUICE_PORT',
  'SLUICE_ROLE',
  'SLUICE_PROCESSES',
  'SLUICE_REDIS_URL',
  'SLUICE_REDIS_AUTOSTART',
  'SLUICE_DATA_DIR',
  'SLUICE_S3_ENDPOINT',
  'SLUICE_S3_FORCE_PATH_STYLE',
  'SLUICE_S3_REGION',
  'SLUICE_MAX_BACKLOG_MB',
  'SLUICE_SHUTDOWN_TIMEOUT_MS',
  'SLUICE_LOG_LEVEL',
  'SLUICE_CONFIG',
  'SLUICE_TRANSFORMS_DIR',
]);

/** `SLUICE_*` settings from the bench's environment that reach the service unchanged. */
export function passedThroughSettings(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (
      name.startsWith('SLUICE_') &&
      !name.startsWith('SLUICE_BENCH_') &&
      !OWNED_SETTINGS.has(name) &&
      value !== undefined
    ) {
      out[name] = value;
    }
  }
  return out;
}

/** How to start one Sluice process. */
export interface SluiceOptions {
  role: 'all' | 'api' | 'worker';
  redisUrl: string;
  /** `SLUICE_S3_*` and credentials for the S3 store. */
  s3Env: Readonly<Record<string, string>>;
  maxBacklogMb: number;
  /** `SLUICE_TRANSFORMS_DIR`: where the service finds `sluice:transform:<name>` modules. */
  transformsDir?: string;
  /** Settings a phase sets for this process (they win over passed-through ones). */
  env?: Readonly<Record<string, string>>;
}

/** A running Sluice process. */
export interface SluiceProcess {
  readonly role: SluiceOptions['role'];
  /** The API URL; `undefined` for the worker role, which does not listen. */
  readonly url: string | undefined;
  readonly child: Child;
  /** Log lines at warn (40) or above seen so far, for the report. */
  readonly problems: string[];
  /** SIGTERM, bounded; resolves when the process is gone. */
  stop(): Promise<void>;
}

/** Most warning and error lines kept per process; the first ones explain the rest. */
const MAX_PROBLEMS = 20;

/**
 * Starts `node dist/src/main.js` with the role given, a free port, a temporary data directory and
 * info logging (the worker role is ready when it logs "sluice started"; the others when
 * `GET /health` answers 200).
 *
 * @throws when the process exits during start or is not ready within 30 seconds; the message
 *   includes its output.
 */
export async function startSluice(options: SluiceOptions): Promise<SluiceProcess> {
  const port = await freePort();
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('SLUICE_') && !name.startsWith('AWS_'),
    ),
  );
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    ...passedThroughSettings(),
    ...options.s3Env,
    SLUICE_HOST: '127.0.0.1',
    SLUICE_PORT: String(port),
    SLUICE_ROLE: options.role,
    // One process, as each phase's section describes; the processes phase sets `auto` itself.
    SLUICE_PROCESSES: '1',
    SLUICE_REDIS_URL: options.redisUrl,
    SLUICE_REDIS_AUTOSTART: 'false',
    SLUICE_DATA_DIR: tempDirUntilExit(`sluice-bench-sluice-${options.role}-`),
    SLUICE_MAX_BACKLOG_MB: String(options.maxBacklogMb),
    SLUICE_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    SLUICE_LOG_LEVEL: 'info',
    ...(options.transformsDir === undefined
      ? {}
      : { SLUICE_TRANSFORMS_DIR: options.transformsDir }),
    ...options.env,
  };
  // For profiling: node options the service runs with (`--cpu-prof`, `--trace-gc`: not
  // allowed in NODE_OPTIONS), and a file that keeps its output.
  const nodeArgs = (process.env.BENCH_SLUICE_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const outputFile = process.env.BENCH_SLUICE_OUTPUT;
  const child = new Child(
    `sluice (${options.role})`,
    process.execPath,
    [...nodeArgs, SLUICE_MAIN],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const problems: string[] = [];
  let started = false;
  child.onLine((line) => {
    if (outputFile !== undefined) appendFileSync(outputFile, `${line}\n`);
    if (line.includes('"msg":"sluice started"')) started = true;
    const level = /"level":(\d+)/.exec(line)?.[1];
    const serious = level === undefined ? !line.startsWith('{') : Number(level) >= 40;
    if (serious && line.trim() !== '' && problems.length < MAX_PROBLEMS) problems.push(line);
  });
  const url = options.role === 'worker' ? undefined : `http://127.0.0.1:${port}`;

  const deadline = Date.now() + READY_TIMEOUT_MS;
  let ready = false;
  while (!ready && Date.now() < deadline) {
    if (!child.running) {
      const exit = await child.exited;
      throw new Error(
        `${child.name} exited during start (code ${exit.code}, signal ${exit.signal}):\n${child.logTail()}`,
      );
    }
    ready = url === undefined ? started : await healthy(url);
    if (!ready) await sleep(100);
  }
  if (!ready) {
    await child.stop();
    throw new Error(
      `${child.name} was not ready within ${READY_TIMEOUT_MS} ms:\n${child.logTail()}`,
    );
  }
  return {
    role: options.role,
    url,
    child,
    problems,
    async stop() {
      await child.stop(STOP_TIMEOUT_MS);
    },
  };
}

/** One `GET /health` with a short timeout; any failure counts as "not yet". */
async function healthy(url: string): Promise<boolean> {
  const attempt = async (): Promise<boolean> => {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.status === 200;
  };
  return (
    (await raceTimeout(
      attempt().catch(() => false),
      2_000,
    )) ?? false
  );
}
