import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Every child process and temporary directory the bench creates is registered here, so that a
 * normal end, an error, Ctrl-C or an unexpected exit all leave nothing behind.
 */

/** Only the tail of a child's output matters for diagnosis; the rest is dropped to bound memory. */
const MAX_LOG_CHARS = 256 * 1024;
/** How long a child may take to exit after SIGTERM before it is killed. */
const DEFAULT_STOP_TIMEOUT_MS = 15_000;

const children = new Set<Child>();
const tempDirs = new Set<string>();
let exitHookInstalled = false;

/**
 * The last line of defence: `process.on('exit')` runs synchronously even after an uncaught
 * exception, so it SIGKILLs what is still running and deletes temporary directories.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of children) child.killNow();
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** Creates a fresh directory under the system temp directory, deleted by {@link cleanUpAll}. */
export function makeTempDir(prefix: string): string {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), `sluice-bench-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

/** How a child ended. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process with its captured output and a bounded stop. */
export class Child {
  readonly process: ChildProcess;
  /** Resolves when the process has exited and its output is drained. */
  readonly exited: Promise<ChildExit>;
  /** Set once we asked it to stop, so an exit is not reported as a crash. */
  stopping = false;
  private output = '';
  private readonly lineListeners = new Set<(line: string) => void>();
  private partial = '';

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    options: SpawnOptions,
  ) {
    installExitHook();
    this.process = spawn(command, args, options);
    children.add(this);
    const onData = (chunk: Buffer): void => this.onOutput(chunk.toString('utf8'));
    this.process.stdout?.on('data', onData);
    this.process.stderr?.on('data', onData);
    this.exited = new Promise<ChildExit>((resolve) => {
      // 'error' without 'close' happens when the command cannot be spawned at all.
      this.process.once('error', (error) => {
        this.onOutput(`\n[bench] could not run ${command}: ${error.message}\n`);
        children.delete(this);
        resolve({ code: null, signal: null });
      });
      this.process.once('close', (code, signal) => {
        children.delete(this);
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
 * Stops every registered child (in parallel, each bounded) and deletes every temporary directory.
 * Safe to call more than once.
 */
export async function cleanUpAll(): Promise<void> {
  await Promise.allSettled([...children].map((child) => child.stop()));
  const dirs = [...tempDirs];
  tempDirs.clear();
  await Promise.allSettled(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}
