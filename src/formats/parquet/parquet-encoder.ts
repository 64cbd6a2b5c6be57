import { Worker } from 'node:worker_threads';
import type {
  ParquetJob,
  ParquetJobRecord,
  ParquetJobResult,
  RejectedRecord,
} from './parquet-job.js';
import type { ParquetTask, ParquetTaskReply } from './parquet-worker.js';

/**
 * Parquet conversion off the event loop: a pool of worker threads, each converting one batch
 * into one Parquet file at a time (`parquet-worker.ts`), so that conversion — JSON parsing,
 * type checks, column encoding, page compression — uses the cores and never stalls the thread
 * that takes requests. Batches queue for a free worker. A worker that dies fails its batch (the
 * delivery attempt is retried) and is replaced.
 */

/** The compiled worker; under vitest too, since its source imports need tsc's `.js` mapping. */
const WORKER_ENTRY = import.meta.url.endsWith('.ts')
  ? new URL('../../../dist/src/formats/parquet/parquet-worker.js', import.meta.url)
  : new URL('./parquet-worker.js', import.meta.url);

interface Pending {
  task: ParquetTask;
  resolve(result: ParquetJobResult): void;
  reject(error: Error): void;
}

interface PoolWorker {
  thread: Worker;
  running: Pending | undefined;
}

/** Converts batches to Parquet on worker threads; one per process. */
export class ParquetEncoder {
  readonly #size: number;
  readonly #workers = new Set<PoolWorker>();
  readonly #queue: Pending[] = [];
  #nextId = 1;
  #closed = false;

  /** @param size - Most worker threads (the cores are a good choice); started when needed. */
  constructor(size: number) {
    if (!(size >= 1)) throw new Error(`a Parquet encoder needs at least 1 worker, got ${size}`);
    this.#size = size;
  }

  /**
   * Converts `records` with `job` into one Parquet file.
   *
   * @throws an Error when the worker fails or the encoder is closed (retry the attempt).
   */
  encode(job: ParquetJob, records: readonly ParquetJobRecord[]): Promise<ParquetJobResult> {
    if (this.#closed) return Promise.reject(new Error('the Parquet encoder is closed'));
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
    return new Promise((resolve, reject) => {
      this.#queue.push({
        task: { id: this.#nextId++, job, data, ends, positions },
        resolve,
        reject,
      });
      this.#pump();
    });
  }

  /** Ends the workers; queued and running conversions fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const closed = new Error('the Parquet encoder was closed');
    for (const pending of this.#queue.splice(0)) pending.reject(closed);
    const ending: Promise<number>[] = [];
    for (const worker of this.#workers) {
      worker.running?.reject(closed);
      ending.push(worker.thread.terminate());
    }
    this.#workers.clear();
    await Promise.allSettled(ending);
  }

  #pump(): void {
    while (this.#queue.length > 0 && !this.#closed) {
      let idle: PoolWorker | undefined;
      for (const worker of this.#workers) {
        if (worker.running === undefined) {
          idle = worker;
          break;
        }
      }
      if (idle === undefined && this.#workers.size < this.#size) idle = this.#spawn();
      if (idle === undefined) return;
      const pending = this.#queue.shift() as Pending;
      idle.running = pending;
      idle.thread.ref();
      idle.thread.postMessage(pending.task, [pending.task.data]);
    }
  }

  #spawn(): PoolWorker {
    const worker: PoolWorker = { thread: new Worker(WORKER_ENTRY), running: undefined };
    worker.thread.on('message', (reply: ParquetTaskReply) => {
      const pending = worker.running;
      if (pending === undefined || pending.task.id !== reply.id) return;
      worker.running = undefined;
      // An idle worker does not keep the process alive.
      worker.thread.unref();
      if (reply.ok) {
        pending.resolve({
          parquet: Buffer.from(reply.parquet),
          rows: reply.rows,
          rejected: reply.rejected as RejectedRecord[],
        });
      } else {
        pending.reject(new Error(`Parquet conversion failed: ${reply.error}`));
      }
      this.#pump();
    });
    const lost = (why: string): void => {
      if (!this.#workers.delete(worker)) return;
      worker.running?.reject(new Error(`the Parquet worker thread ended: ${why}`));
      worker.running = undefined;
      this.#pump();
    };
    worker.thread.on('error', (error: Error) => lost(error.message));
    worker.thread.on('exit', (code: number) => lost(`exit code ${code}`));
    this.#workers.add(worker);
    return worker;
  }
}
