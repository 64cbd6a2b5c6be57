import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../telemetry/logger.js';
import type { ProcessRole } from './process-plan.js';
import { isChildMessage, type FailedMessage } from './supervision-messages.js';
import { remaining, TIMED_OUT, withinTime } from './time-limit.js';

/** First delay before a crashed child is started again; it doubles with each recent crash. */
const RESTART_BASE_MS = 500;
/** Longest delay before a crashed child is started again. */
const RESTART_MAX_MS = 30_000;
/** Crashes of one child further apart than this do not add up to a crash loop. */
const CRASH_WINDOW_MS = 120_000;
/** This many crashes of one child within {@link CRASH_WINDOW_MS} is a crash loop: give up. */
const CRASH_LOOP_LIMIT = 5;
/** How long a child SIGKILLed at the deadline may take to be gone. */
const KILL_WAIT_MS = 2_000;

/** Why the supervisor could not start: a child failed to, and this is what it said. */
export class ChildStartError extends Error {
  /**
   * @param code - the exit code the supervisor should end with: the child's (2 for settings
   *   it found invalid), else 1.
   */
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
    this.name = 'ChildStartError';
  }
}

/** How a child process ended. */
interface ChildExit {
  code: number | null;
  signal: string | null;
}

/** One place in the plan: a role, and the child process currently filling it. */
interface Slot {
  readonly role: ProcessRole;
  worker: Worker | undefined;
  exited: Promise<ChildExit> | undefined;
  /** When the slot's recent crashes happened (`Date.now()`), oldest first. */
  crashes: number[];
  restartTimer: NodeJS.Timeout | undefined;
}

/** Options for {@link Supervisor}. */
export interface SupervisorOptions {
  /** The script every child runs (the process's own entry point). */
  exec: string;
  /** One child per entry, with that `SLUICE_ROLE`. */
  roles: readonly ProcessRole[];
  /** `SLUICE_SHUTDOWN_TIMEOUT_MS`: the whole shutdown's budget, children's included. */
  shutdownTimeoutMs: number;
  log: Logger;
  /**
   * Called once the supervisor has given up on a child that keeps crashing and has stopped the
   * others: `message` says which and why, for a person. The caller exits non-zero.
   */
  onGiveUp: (message: string) => void;
}

/**
 * Runs Sluice as several processes on one machine: forks one child per role with node's
 * cluster module (API children share the API port through it), restarts a child that exits
 * unasked — after a backoff, giving up when one crashes in a loop — and on `stop` has every
 * child drain in order, killing what is left at the deadline.
 *
 * It implements the `Service` shape (`url`, `stop(deadline)`), so the process lifecycle stops
 * it as it stops a service. Children that lose it (a supervisor killed outright) drain and
 * exit on their own (see supervisor-link.ts), so none is left orphaned.
 */
export class Supervisor {
  /** The API's URL, as the first API child reported it. */
  url: string | undefined;
  private readonly slots: Slot[];
  private phase: 'new' | 'starting' | 'running' | 'stopping' = 'new';
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: SupervisorOptions) {
    this.slots = options.roles.map((role) => ({
      role,
      worker: undefined,
      exited: undefined,
      crashes: [],
      restartTimer: undefined,
    }));
  }

  /**
   * Starts the children: delivery children first, then those that serve the API, so that
   * once the API answers, delivery runs too. Resolves when every child has said it serves.
   *
   * @throws ChildStartError when a child exits before it serves, with its message; the
   *   children already started are stopped first.
   */
  async start(): Promise<void> {
    this.phase = 'starting';
    cluster.setupPrimary({ exec: this.options.exec });
    const servesApi = (slot: Slot) => slot.role !== 'worker';
    try {
      for (const group of [
        this.slots.filter((slot) => !servesApi(slot)),
        this.slots.filter(servesApi),
      ]) {
        await Promise.all(group.map((slot) => this.fork(slot)));
        if (this.phase !== 'starting') return;
      }
    } catch (error) {
      if (this.phase === 'starting') {
        this.phase = 'stopping';
        await this.stopChildren(Date.now() + this.options.shutdownTimeoutMs);
      }
      throw error;
    }
    this.phase = 'running';
    this.options.log.info(
      {
        event: 'supervisor.started',
        processes: this.slots.length,
        roles: this.slots.map((slot) => slot.role),
        pids: this.slots.map((slot) => slot.worker?.process.pid),
        url: this.url,
      },
      'sluice started its processes',
    );
  }

  /**
   * Has every child shut down in order (each as a SIGTERM would), waiting until shortly before
   * `deadline`, then SIGKILLs the children still running. Pending restarts are cancelled.
   *
   * @throws Error when a child had to be killed or did not exit cleanly (the exit code is
   *   then 1; nothing acknowledged is lost either way).
   */
  stop(deadline = Date.now() + this.options.shutdownTimeoutMs): Promise<void> {
    return (this.stopping ??= this.stopAll(deadline));
  }

  private async stopAll(deadline: number): Promise<void> {
    this.phase = 'stopping';
    const unclean = await this.stopChildren(deadline);
    this.options.log.info({ event: 'supervisor.stopped', unclean }, 'sluice processes stopped');
    if (unclean.length > 0) {
      throw new Error(`child processes did not stop cleanly: ${unclean.join('; ')}`);
    }
  }

  /**
   * Starts the child of `slot`. Resolves once it says it serves; rejects when it exits first
   * while the supervisor is starting (later, an early exit is a crash like any other).
   */
  private fork(slot: Slot): Promise<void> {
    const worker = cluster.fork({
      SLUICE_ROLE: slot.role,
      SLUICE_SHUTDOWN_TIMEOUT_MS: String(childShutdownTimeoutMs(this.options.shutdownTimeoutMs)),
    });
    slot.worker = worker;
    slot.exited = new Promise((resolve) =>
      worker.once('exit', (code, signal) => resolve({ code, signal })),
    );
    // A worker whose process cannot be spawned emits 'error' and then 'exit'.
    worker.on('error', () => undefined);
    let failure: FailedMessage | undefined;
    let served = false;
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (message: unknown) => {
        if (!isChildMessage(message)) return;
        if (message.sluice === 'failed') {
          failure = message;
          return;
        }
        served = true;
        if (message.url !== undefined) this.url ??= message.url;
        resolve();
      });
      worker.once('exit', (code: number | null, signal: string | null) => {
        const pid = worker.process.pid;
        if (slot.worker === worker) slot.worker = undefined;
        if (this.phase === 'stopping') return;
        const reason =
          failure?.message ??
          `the ${slot.role} process (pid ${pid}) exited${served ? '' : ' while starting'} (${describeExit({ code, signal })})`;
        if (this.phase === 'starting') {
          reject(new ChildStartError(reason, failure?.code ?? 1));
          return;
        }
        this.onCrash(slot, { code, signal }, pid, reason);
      });
    });
  }

  /** A child exited unasked while running: restart it after a backoff, or give up. */
  private onCrash(slot: Slot, exit: ChildExit, pid: number | undefined, reason: string): void {
    const now = Date.now();
    slot.crashes = [...slot.crashes.filter((at) => now - at < CRASH_WINDOW_MS), now];
    const crashes = slot.crashes.length;
    if (crashes >= CRASH_LOOP_LIMIT) {
      const message = `the ${slot.role} process crashed ${crashes} times within ${CRASH_WINDOW_MS / 1000} s (last: ${reason}); giving up and stopping the other processes. Its log lines above say why it crashed.`;
      this.options.log.fatal(
        { event: 'supervisor.gave-up', role: slot.role, pid, ...exit, crashes, reason },
        message,
      );
      this.phase = 'stopping';
      void this.stopChildren(Date.now() + this.options.shutdownTimeoutMs).then(() =>
        this.options.onGiveUp(message),
      );
      return;
    }
    const delayMs = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (crashes - 1));
    this.options.log.warn(
      {
        event: 'child.exited',
        role: slot.role,
        pid,
        ...exit,
        crashes,
        restartInMs: delayMs,
        reason,
      },
      'a sluice process exited unasked: starting it again',
    );
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (this.phase !== 'running') return;
      this.fork(slot).then(
        () =>
          this.options.log.info(
            { event: 'child.restarted', role: slot.role, pid: slot.worker?.process.pid },
            'a sluice process was started again',
          ),
        () => undefined,
      );
    }, delayMs);
  }

  /**
   * Asks every child to shut down in order and waits for them until shortly before
   * `deadline`; SIGKILLs those still running then.
   *
   * @returns how each child that did not exit with code 0 ended, for a person.
   */
  private async stopChildren(deadline: number): Promise<string[]> {
    for (const slot of this.slots) {
      clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
    }
    const running = this.slots.filter((slot) => slot.worker !== undefined);
    for (const slot of running) requestStop(slot.worker as Worker);
    // The children's own budget ends earlier (childShutdownTimeoutMs); this leaves a margin
    // for killing those that overran it.
    const killAt = deadline - Math.min(KILL_WAIT_MS, Math.floor(remaining(deadline) / 4));
    const unclean: string[] = [];
    await Promise.all(
      running.map(async (slot) => {
        const worker = slot.worker as Worker;
        const pid = worker.process.pid;
        const exited = slot.exited as Promise<ChildExit>;
        const exit = await withinTime(exited, remaining(killAt));
        if (exit === TIMED_OUT) {
          worker.process.kill('SIGKILL');
          await withinTime(exited, KILL_WAIT_MS);
          unclean.push(`the ${slot.role} process (pid ${pid}) was killed at the deadline`);
        } else if (exit.code !== 0) {
          unclean.push(`the ${slot.role} process (pid ${pid}) ${describeExit(exit)}`);
        }
      }),
    );
    return unclean;
  }
}

/**
 * A child's own shutdown budget: the supervisor's, less a reserve (at most 1 s, a quarter of
 * it) in which the supervisor kills a child that overran and stops the Redis it started.
 */
export function childShutdownTimeoutMs(shutdownTimeoutMs: number): number {
  return shutdownTimeoutMs - Math.min(1_000, Math.floor(shutdownTimeoutMs / 4));
}

/** Asks a child to shut down in order: by message, else (channel gone) by SIGTERM. */
function requestStop(worker: Worker): void {
  try {
    if (worker.isConnected()) {
      worker.send({ sluice: 'stop' }, undefined, () => undefined);
      return;
    }
  } catch {
    // The channel closed meanwhile: fall through to the signal.
  }
  worker.process.kill('SIGTERM');
}

function describeExit(exit: ChildExit): string {
  return exit.signal === null ? `exit code ${exit.code}` : `killed by ${exit.signal}`;
}
