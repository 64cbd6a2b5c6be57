import { PoolClosedError, WorkerPool } from '../../lifecycle/worker-pool.js';
import type {
  ParquetJob,
  ParquetJobRecord,
  ParquetJobResult,
  RejectedRecord,
} from './parquet-job.js';
import type { ParquetTask, ParquetTaskReply } from './parquet-worker.js';

/**
 * Parquet conversion off the event loop: the shared worker pool (`lifecycle/worker-pool.ts`)
 * running `parquet-worker.ts`, each worker converting one batch into one Parquet file at a time,
 * so that conversion — JSON parsing, type checks, column encoding, page compression — uses the
 * cores and never stalls the thread that takes requests. Batches queue for a free worker. A
 * worker that dies or overruns fails its batch (the delivery attempt is retried) and is replaced.
 */

/** The compiled worker; under vitest too, since its source imports need tsc's `.js` mapping. */
const WORKER_ENTRY = import.meta.url.endsWith('.ts')
  ? new URL('../../../dist/src/formats/parquet/parquet-worker.js', import.meta.url)
  : new URL('./parquet-worker.js', import.meta.url);

/** Longest one batch may take: far beyond a 128 MiB batch's conversion, short of forever. */
const BATCH_TIMEOUT_MS = 10 * 60_000;
/** Every batch is the same kind of work: one key, so they share the workers evenly. */
const KEY = 'parquet';

/** Converts batches to Parquet on worker threads; one per process. */
export class ParquetEncoder {
  readonly #pool: WorkerPool<ParquetTask, ParquetTaskReply>;
  #closed = false;

  /** @param size - Most worker threads (the cores are a good choice); started when needed. */
  constructor(size: number) {
    this.#pool = new WorkerPool({
      size,
      entry: WORKER_ENTRY,
      timeoutMs: BATCH_TIMEOUT_MS,
      resourceLimits: {},
      // The worker runs only Sluice's code, which writes nothing.
      onOutput: () => undefined,
    });
  }

  /**
   * Converts `records` with `job` into one Parquet file.
   *
   * @throws an Error when the worker fails or the encoder is closed (retry the attempt).
   */
  async encode(job: ParquetJob, records: readonly ParquetJobRecord[]): Promise<ParquetJobResult> {
    if (this.#closed) throw new Error('the Parquet encoder is closed');
    let length = 0;
    for (const record of records) length += record.data.byteLength;
    const data = new ArrayBuffer(length);
    const bytes = new Uint8Array(data);
    const ends = new Uint32Array(records.length);
    const positions = new Uint32Array(records.length);
    let at = 0;
    records.forEach((record, i) => {
      bytes.set(record.data, at);
      at += record.data.byteLength;
      ends[i] = at;
      positions[i] = record.position;
    });
    let reply: ParquetTaskReply;
    try {
      reply = await this.#pool.run(KEY, { job, data, ends, positions }, [data]);
    } catch (error) {
      if (error instanceof PoolClosedError) {
        throw new Error('the Parquet encoder was closed', { cause: error });
      }
      throw new Error(`the Parquet worker thread failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (!reply.ok) throw new Error(`Parquet conversion failed: ${reply.error}`);
    return {
      parquet: Buffer.from(reply.parquet),
      rows: reply.rows,
      rejected: reply.rejected as RejectedRecord[],
    };
  }

  /** Ends the workers; queued and running conversions fail. */
  close(): Promise<void> {
    this.#closed = true;
    return this.#pool.close();
  }
}
