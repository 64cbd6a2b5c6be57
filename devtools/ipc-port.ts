import type { Child } from './children.js';

/**
 * The tiny protocol between a parent (a test or the bench) and the helper servers it forks
 * (s3rver, the bench's ceiling server): the child listens on port 0 and reports the port over the IPC channel, so no other
 * process can take the port between choosing and binding it.
 */

/** Message a helper child sends once it listens. */
export interface PortMessage {
  port: number;
}

/**
 * Child side: sends the port to the parent and arranges to exit when the parent goes away (the
 * IPC channel closes even when the parent is SIGKILLed, so the child can never be orphaned).
 *
 * @throws when the process was not started with an IPC channel.
 */
export function reportPort(port: number): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('this helper must be started with an IPC channel');
  process.once('disconnect', () => process.exit(0));
  send({ port } satisfies PortMessage);
}

/**
 * Parent side: resolves with the port `child` reports; rejects when it exits first or stays
 * silent for `timeoutMs`.
 */
export async function waitForPort(child: Child, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(
      () =>
        settle(
          new Error(
            `${child.name} did not report its port within ${timeoutMs} ms:\n${child.logTail()}`,
          ),
        ),
      timeoutMs,
    );
    const onMessage = (message: unknown): void => {
      const port = (message as Partial<PortMessage> | null)?.port;
      if (typeof port === 'number') settle(port);
    };
    function settle(outcome: number | Error): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.process.off('message', onMessage);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    }
    child.process.on('message', onMessage);
    // `exited`, not the 'exit' event: it also settles when the child could not be spawned at all.
    void child.exited.then(({ code, signal }) =>
      settle(
        new Error(
          `${child.name} exited during start (code ${code}, signal ${signal}):\n${child.logTail()}`,
        ),
      ),
    );
  });
}
