import type { Child } from '../devtools/children.js';
import type { FirehoseHttp } from './firehose-http.js';
import { runClosedLoop, type LoadOptions } from './load.js';
import type { BenchOptions } from './options.js';
import { say } from './progress.js';
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

/** A closed-loop load without its duration, so one setting serves warm-up and measurement. */
export type ClosedLoad = Omit<LoadOptions, 'durationMs'> & { concurrency: number };

/**
 * The closed-loop load the ceiling and ingest phases both run (same bodies, concurrency and
 * timeout, so their rates compare), after its warm-up when `--warmup` is above zero; `label`
 * names the phase in the progress line.
 */
export async function warmedClosedLoad(
  ctx: BenchContext,
  label: string,
  client: FirehoseHttp,
  stream: string,
  signal: AbortSignal,
): Promise<ClosedLoad> {
  const { options } = ctx;
  const load: ClosedLoad = {
    client,
    bodies: ctx.bodiesFor(stream),
    concurrency: options.concurrency,
    timeoutMs: options.requestTimeoutS * 1000,
    signal,
  };
  if (options.warmupS > 0) {
    say(`${label}: warming up for ${options.warmupS} s`);
    await runClosedLoop({ ...load, durationMs: options.warmupS * 1000 });
  }
  return load;
}
