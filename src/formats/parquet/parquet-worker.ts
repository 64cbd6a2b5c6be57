import { parentPort } from 'node:worker_threads';
import type { TaskMessage, TaskReply } from '../../lifecycle/worker-pool.js';
import { runParquetJob, type ParquetJob, type ParquetJobRecord } from './parquet-job.js';

/**
 * A Parquet worker thread (started by `ParquetEncoder`'s worker pool): runs one job at a time —
 * a batch's records, packed into one transferred buffer, converted and written as one Parquet
 * file — and answers the file (transferred) and the records it left out.
 */

/** A job as the encoder sends it. */
export interface ParquetTask {
  job: ParquetJob;
  /** Every record's data, back to back. */
  data: ArrayBuffer;
  /** End offset of each record's data in `data`, and each record's position in its batch. */
  ends: Uint32Array;
  positions: Uint32Array;
}

/** What the worker answers. */
export type ParquetTaskReply =
  | {
      ok: true;
      parquet: ArrayBuffer;
      rows: number;
      rejected: { position: number; code: string; message: string }[];
    }
  | { ok: false; error: string };

function* recordsOf(task: ParquetTask): Generator<ParquetJobRecord> {
  const bytes = new Uint8Array(task.data);
  let start = 0;
  for (let i = 0; i < task.ends.length; i += 1) {
    const end = task.ends[i] as number;
    yield { position: task.positions[i] as number, data: bytes.subarray(start, end) };
    start = end;
  }
}

const port = parentPort;
if (port === null)
  throw new Error('parquet-worker.ts runs in a worker thread, started by ParquetEncoder');

/** Jobs run one after the other: the pool may queue one behind the running one. */
let previous: Promise<void> = Promise.resolve();

async function answer(message: TaskMessage<ParquetTask>): Promise<void> {
  let reply: ParquetTaskReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const result = await runParquetJob(message.request.job, recordsOf(message.request));
    const { buffer, byteOffset, byteLength } = result.parquet;
    // A small Buffer may sit in Node's shared pool: transferring that would detach the pool.
    const own =
      byteOffset === 0 && byteLength === buffer.byteLength
        ? (buffer as ArrayBuffer)
        : (buffer.slice(byteOffset, byteOffset + byteLength) as ArrayBuffer);
    transfer.push(own);
    reply = { ok: true, parquet: own, rows: result.rows, rejected: result.rejected };
  } catch (error) {
    reply = { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  const envelope: TaskReply<ParquetTaskReply> = { taskId: message.taskId, reply };
  (port as NonNullable<typeof port>).postMessage(envelope, transfer);
}

port.on('message', (message: TaskMessage<ParquetTask>) => {
  previous = previous.then(() => answer(message));
});
