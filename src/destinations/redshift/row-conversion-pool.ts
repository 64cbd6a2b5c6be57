import { availableParallelism } from 'node:os';
import { PoolClosedError, WorkerPool } from '../../lifecycle/worker-pool.js';
import type { ConvertedRows } from './row-conversion.js';
import type { RowTask, RowTaskReply } from './row-worker.js';

/**
 * Row conversion off the event loop: the project's worker pool (`lifecycle/worker-pool.ts`)
 * running `row-worker.ts`, so that turning a batch's records into COPY rows — the direct
 * path's CPU work — runs beside the event loop that streams the previous run to PostgreSQL and
 * serves requests. One pool per process, started at the first load and idle (its threads
 * unreferenced) between loads.
 */

/** The compiled worker; under vitest too, since its source imports need tsc's `.js` mapping. */
const WORKER_ENTRY = import.meta.url.endsWith('.ts')
  ? new URL('../../../dist/src/destinations/redshift/row-worker.js', import.meta.url)
  : new URL('./row-worker.js', import.meta.url);

/** Longest one run may take: a run is about a mebibyte, converted in milliseconds. */
const RUN_TIMEOUT_MS = 60_000;
/** Every run is the same kind of work: one key, so they share the workers evenly. */
const KEY = 'redshift-rows';

let pool: WorkerPool<RowTask, RowTaskReply> | undefined;

/**
 * Converts a run of records on a worker thread.
 *
 * @throws an Error when the worker fails (the attempt fails and is retried).
 */
export async function convertOnWorker(task: RowTask): Promise<ConvertedRows> {
  pool ??= new WorkerPool<RowTask, RowTaskReply>({
    size: availableParallelism(),
    entry: WORKER_ENTRY,
    timeoutMs: RUN_TIMEOUT_MS,
    resourceLimits: {},
    // The worker runs only Sluice's code, which writes nothing.
    onOutput: () => undefined,
  });
  let reply: RowTaskReply;
  try {
    reply = await pool.run(KEY, task, [task.run]);
  } catch (error) {
    if (error instanceof PoolClosedError) {
      throw new Error('the row conversion workers were closed', { cause: error });
    }
    throw new Error(`the row conversion worker failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!reply.ok) throw new Error(`row conversion failed: ${reply.error}`);
  return reply.converted;
}

/** Ends the workers (tests; a process's workers end with it). */
export async function closeRowConversionPool(): Promise<void> {
  const closing = pool;
  pool = undefined;
  await closing?.close();
}
