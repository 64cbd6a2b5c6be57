import type { Child } from './children.js';
import type { BenchOptions } from './options.js';
import type { PreparedBody } from './records.js';
import type { SigningIdentity } from './sigv4.js';

/** What every phase gets from the entry point. */
export interface BenchContext {
  readonly options: BenchOptions;
  /** Credentials the producers sign with. */
  readonly identity: SigningIdentity;
  /** Aborted on Ctrl-C / SIGTERM. */
  readonly signal: AbortSignal;
  /** Prepared PutRecordBatch bodies for a stream (built once per stream name). */
  bodiesFor(stream: string): readonly PreparedBody[];
}

/**
 * An abort signal for one phase: it fires when the run is aborted or when one of `children`
 * exits without being asked to, so a crashed service ends the load at once instead of turning
 * it into a loop of refused connections. `dispose` detaches it afterwards.
 */
export function phaseSignal(
  parent: AbortSignal,
  children: readonly Child[],
): { signal: AbortSignal; crashed: () => Child | undefined; dispose: () => void } {
  const controller = new AbortController();
  let crashed: Child | undefined;
  let disposed = false;
  const onParentAbort = (): void => controller.abort(parent.reason);
  if (parent.aborted) onParentAbort();
  else parent.addEventListener('abort', onParentAbort, { once: true });
  for (const child of children) {
    void child.exited.then(() => {
      if (disposed || child.stopping) return;
      crashed ??= child;
      controller.abort(new Error(`${child.name} exited unexpectedly`));
    });
  }
  return {
    signal: controller.signal,
    crashed: () => crashed,
    dispose: () => {
      disposed = true;
      parent.removeEventListener('abort', onParentAbort);
    },
  };
}
