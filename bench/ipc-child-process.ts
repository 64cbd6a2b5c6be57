import { pathToFileURL } from 'node:url';

import { Child } from '../devtools/children.js';
import { reportPort, waitForPort } from '../devtools/ipc-port.js';

/**
 * The plumbing of a bench server launched in its own child process (the http receiver, the
 * OpenSearch test server), so that it has its own event loop and its CPU is not counted as
 * Sluice's or a reference's: the parent starts the module as a script with its settings as JSON,
 * waits for its port, then asks it questions over the IPC channel (structured clone, so answers
 * such as per-record tallies travel as bytes, not JSON); the child answers each with the id it
 * was asked with.
 */

/** How long the parent waits for an answer over IPC. */
const IPC_TIMEOUT_MS = 15_000;
/** How long the process may take to start. */
const READY_TIMEOUT_MS = 15_000;
/** How long the process may take to stop before it is killed. */
const STOP_TIMEOUT_MS = 5_000;

/** A question from the parent, with an id its answer repeats. */
export interface IpcQuestion<Ask extends string> {
  id: number;
  ask: Ask;
}

/** The parent's side of a server child, from {@link launchIpcChild}. */
export interface IpcChild<Ask extends string, Reply extends { id: number }> {
  readonly child: Child;
  /** The loopback port the child listens on. */
  readonly port: number;
  /**
   * Asks `what` and resolves with `pick` of the answer.
   *
   * @throws when the child does not answer within 15 seconds, exits first, or answers with
   *   something `pick` does not take.
   */
  ask<T>(what: Ask, pick: (reply: Reply) => T | undefined): Promise<T>;
  /** Stops the process (bounded). */
  stop(): Promise<void>;
}

/**
 * Starts `script` (a module that calls {@link serveParent}) as a child process named `name`, with
 * `settings` as its argument (JSON), and waits for it to report its port.
 *
 * @throws when the child does not report its port within 15 seconds.
 */
export async function launchIpcChild<Ask extends string, Reply extends { id: number }>(
  name: string,
  script: string,
  settings: unknown,
): Promise<IpcChild<Ask, Reply>> {
  const child = new Child(name, process.execPath, [script, JSON.stringify(settings)], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'advanced',
  });
  const port = await waitForPort(child, READY_TIMEOUT_MS);
  let nextId = 0;
  const ask = <T>(what: Ask, pick: (reply: Reply) => T | undefined): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = (nextId += 1);
      const timer = setTimeout(
        () => done(new Error(`${name} did not answer within ${IPC_TIMEOUT_MS} ms`)),
        IPC_TIMEOUT_MS,
      );
      const onMessage = (message: unknown): void => {
        const reply = message as Reply | null;
        if (reply?.id !== id) return;
        const value = pick(reply);
        done(value === undefined ? new Error(`${name} answered ${what} wrongly`) : value);
      };
      const onExit = (): void => done(new Error(child.describeExit()));
      function done(outcome: T | Error): void {
        clearTimeout(timer);
        child.process.off('message', onMessage);
        child.process.off('exit', onExit);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      }
      child.process.on('message', onMessage);
      child.process.once('exit', onExit);
      child.process.send({ id, ask: what } satisfies IpcQuestion<Ask>, (error) => {
        if (error) done(error);
      });
    });
  return {
    child,
    port,
    ask,
    async stop() {
      await child.stop(STOP_TIMEOUT_MS);
    },
  };
}

/**
 * The child's side, once it serves on `port`: answers every question of the parent with
 * `answer`'s reply (which repeats the question's id), closes with `close` and exits on SIGTERM,
 * and reports the port.
 */
export function serveParent<Ask extends string, Reply extends { id: number }>(
  port: number,
  answer: (question: IpcQuestion<Ask>) => Reply,
  close: () => Promise<void>,
): void {
  process.on('message', (message: unknown) => {
    const question = message as IpcQuestion<Ask> | null;
    if (question === null || typeof question.id !== 'number') return;
    process.send?.(answer(question));
  });
  process.once('SIGTERM', () => {
    void close().then(() => process.exit(0));
  });
  reportPort(port);
}

/**
 * Runs `main` with the process's first argument when the module at `moduleUrl` (its
 * `import.meta.url`) is the script node was started with; prints the error and exits 1 when it
 * fails.
 */
export function runWhenScript(
  moduleUrl: string,
  main: (argument: string | undefined) => Promise<void>,
): void {
  if (process.argv[1] === undefined || pathToFileURL(process.argv[1]).href !== moduleUrl) return;
  main(process.argv[2]).catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  });
}
