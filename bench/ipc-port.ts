import type { Child } from './children.js';

/**
 * The tiny protocol between the bench and the helper servers it forks (s3rver, the ceiling
 * server): the child listens on port 0 and reports the port over the IPC channel, so no other
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
  if (!send) throw new Error('this helper must be started by the bench, with an IPC channel');
  process.once('disconnect', () => process.exit(0));
  send({ port } satisfies PortMessage);
}

/**
 * Parent side: resolves with the port `child` reports; rejects when it exits first or stays
 * silent for `timeoutMs`.
 */
export async function waitForPort(child: Child, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
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
    const onExit = (): void =>
      settle(new Error(`${child.name} exited during start:\n${child.logTail()}`));
    function settle(outcome: number | Error): void {
      clearTimeout(timer);
      child.process.off('message', onMessage);
      child.process.off('exit', onExit);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    }
    child.process.on('message', onMessage);
    child.process.once('exit', onExit);
  });
}
