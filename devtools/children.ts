import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Child processes and temporary directories for the tests' and the bench's helper servers.
 *
 * Every child and directory made here is registered, so that whatever ends the process that
 * started them (a normal end, a failed `beforeAll`, an error, Ctrl-C) leaves no orphan holding
 * a port, a Redis client or disk space: one exit hook covers them all.
 */

/** Only the tail of a child's output matters for diagnosis; the rest is dropped to bound memory. */
const MAX_LOG_CHARS = 256 * 1024;
/** How long a child may take to exit after SIGTERM before it is killed. */
const DEFAULT_STOP_TIMEOUT_MS = 15_000;

/** Anything the exit hook must SIGKILL: a {@link Child}, or a bare process from {@link killOnExit}. */
interface Killable {
  killNow(): void;
}

const children = new Set<Child>();
const killables = new Set<Killable>();
const tempDirs = new Set<string>();
let exitHookInstalled = false;

/**
 * The last line of defence: `process.on('exit')` runs synchronously even after an uncaught
 * exception, so it SIGKILLs what is still running and deletes temporary directories ('exit'
 * allows only synchronous work, hence SIGKILL and rmSync).
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const killable of killables) killable.killNow();
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/**
 * Creates a fresh directory under the system's temporary directory that is removed when this
 * process exits (or by {@link cleanUpAll}), unless {@link removeTempDir} removed it before.
 *
 * @param prefix - start of the directory's name, e.g. `sluice-redis-`.
 */
export function tempDirUntilExit(prefix: string): string {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Removes a directory from {@link tempDirUntilExit} now, and forgets it. */
export async function removeTempDir(dir: string): Promise<void> {
  tempDirs.delete(dir);
  await rm(dir, { recursive: true, force: true });
}

/**
 * SIGKILLs `child` if this process exits while `child` still runs; it is forgotten as soon as it
 * exits by itself. For processes spawned without {@link Child}. (A child that could not be
 * spawned stays listed, harmlessly: killing it does nothing.)
 */
export function killOnExit(child: ChildProcess): void {
  installExitHook();
  const entry: Killable = { killNow: () => child.kill('SIGKILL') };
  killables.add(entry);
  child.once('exit', () => killables.delete(entry));
}

/** How a child ended. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A child process with its captured output (stdout and stderr, when piped) and a bounded stop.
 * It is SIGKILLed if this process exits while it still runs.
 */
export class Child {
  readonly process: ChildProcess;
  /** Resolves when the process has exited and its output is drained (or it could not start). */
  readonly exited: Promise<ChildExit>;
  /** Set once we asked it to stop (or killed it on purpose), so an exit is not taken for a crash. */
  stopping = false;
  /** Why the command could not be run at all (e.g. not on PATH); set before {@link exited}. */
  spawnError: Error | undefined;
  private output = '';
  private readonly lineListeners = new Set<(line: string) => void>();
  private partial = '';

  /**
   * Spawns `command` with `args`.
   *
   * @param name - how messages name the process, e.g. `redis-server`.
   */
  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    options: SpawnOptions,
  ) {
    installExitHook();
    this.process = spawn(command, args, options);
    children.add(this);
    killables.add(this);
    const onData = (chunk: Buffer): void => this.onOutput(chunk.toString('utf8'));
    this.process.stdout?.on('data', onData);
    this.process.stderr?.on('data', onData);
    this.exited = new Promise<ChildExit>((resolve) => {
      const forget = (): void => {
        children.delete(this);
        killables.delete(this);
      };
      // 'error' without 'close' happens when the command cannot be spawned at all.
      this.process.once('error', (error) => {
        this.spawnError = error;
        this.onOutput(`\n[${name}] could not run ${command}: ${error.message}\n`);
        forget();
        resolve({ code: null, signal: null });
      });
      // 'close', not 'exit': it comes after stdout and stderr are drained, so the logs are complete.
      this.process.once('close', (code, signal) => {
        forget();
        resolve({ code, signal });
      });
    });
  }

  /** The process id, or -1 when spawning failed. */
  get pid(): number {
    return this.process.pid ?? -1;
  }

  /** Whether the process is still running. */
  get running(): boolean {
    return (
      this.process.pid !== undefined &&
      this.process.exitCode === null &&
      this.process.signalCode === null
    );
  }

  /** Everything captured so far (at most the last 256 KiB). */
  logs(): string {
    return this.output;
  }

  /** The last `count` lines of output, for error messages. */
  logTail(count = 30): string {
    return this.output.split('\n').slice(-count).join('\n');
  }

  /** `<name> exited (code …, signal …)` with the output's tail: why a child went away. */
  describeExit(): string {
    const { exitCode, signalCode } = this.process;
    return `${this.name} exited (code ${exitCode}, signal ${signalCode}); its last output:\n${this.logTail()}`;
  }

  /** Calls `listener` with every complete output line from now on; returns an unsubscribe. */
  onLine(listener: (line: string) => void): () => void {
    this.lineListeners.add(listener);
    return () => this.lineListeners.delete(listener);
  }

  /**
   * Sends `signal` (SIGTERM by default), waits up to `timeoutMs`, then SIGKILLs. Resolves with how
   * the process ended; never waits without bound.
   */
  async stop(
    timeoutMs = DEFAULT_STOP_TIMEOUT_MS,
    signal: NodeJS.Signals = 'SIGTERM',
  ): Promise<ChildExit> {
    this.stopping = true;
    if (this.running) this.process.kill(signal);
    const ended = await raceTimeout(this.exited, timeoutMs);
    if (ended !== undefined) return ended;
    this.killNow();
    return (
      (await raceTimeout(this.exited, DEFAULT_STOP_TIMEOUT_MS)) ?? { code: null, signal: null }
    );
  }

  /** SIGKILL without waiting; for the synchronous exit hook. */
  killNow(): void {
    this.stopping = true;
    if (this.running) this.process.kill('SIGKILL');
  }

  private onOutput(text: string): void {
    this.output = (this.output + text).slice(-MAX_LOG_CHARS);
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) for (const listener of this.lineListeners) listener(line);
  }
}

/** Resolves with `promise`'s value, or `undefined` after `ms`; the timer never outlives the race. */
export async function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  const ac = new AbortController();
  try {
    return await Promise.race([
      promise,
      sleep(ms, undefined, { signal: ac.signal }).catch(() => undefined),
    ]);
  } finally {
    ac.abort();
  }
}

/**
 * Stops every running {@link Child} (in parallel, each bounded) and deletes every temporary
 * directory. Safe to call more than once.
 */
export async function cleanUpAll(): Promise<void> {
  await Promise.allSettled([...children].map((child) => child.stop()));
  const dirs = [...tempDirs];
  tempDirs.clear();
  await Promise.allSettled(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}
