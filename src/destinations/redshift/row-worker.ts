import { isUtf8 } from 'node:buffer';
import { parentPort } from 'node:worker_threads';
import type { TaskMessage, TaskReply } from '../../lifecycle/worker-pool.js';
import type { LoadFormat } from './copy-options.js';
import { runEnds, runLayout } from './record-runs.js';
import { RowConverterCore, type ConvertedRows } from './row-conversion.js';

/**
 * A row conversion worker thread (started by row-conversion-pool.ts's worker pool): converts
 * one run of an attempt's records — a record run (record-runs.ts) in one transferred buffer —
 * into COPY rows with the same code the event loop uses, and answers the rows (transferred)
 * with per record its index, end and lines, and the records that cannot become rows.
 */

/** A run of records as the pool sends it. */
export interface RowTask {
  format: LoadFormat;
  columns: readonly string[];
  /** The records: one record run (record-runs.ts). */
  run: ArrayBuffer;
  /** The attempt's index of the run's first record; the others follow it. */
  firstIndex: number;
}

/** What the worker answers. */
export type RowTaskReply = { ok: true; converted: ConvertedRows } | { ok: false; error: string };

/**
 * Converts a run (also what the event loop runs when no worker is at hand).
 *
 * @throws Error when the run is corrupt.
 */
export function convertRun(task: RowTask): ConvertedRows {
  const run = new Uint8Array(task.run);
  const layout = runLayout(run);
  const ends = runEnds(run, layout);
  const data = run.subarray(layout.dataAt);
  const core = new RowConverterCore(task.format, task.columns, data.length + (data.length >> 2));
  // Records of valid UTF-8 that start on no continuation byte are each valid: one check for all.
  let allUtf8 = isUtf8(data);
  let start = 0;
  if (allUtf8) {
    for (const end of ends) {
      const first = data[start];
      if (end > start && first !== undefined && first >= 0x80 && first < 0xc0) {
        allUtf8 = false;
        break;
      }
      start = end;
    }
  }
  start = 0;
  for (let k = 0; k < ends.length; k += 1) {
    const end = ends[k] as number;
    core.add(data, start, end, task.firstIndex + k, allUtf8);
    start = end;
  }
  return core.take();
}

const port = parentPort;

if (port !== null) {
  port.on('message', (message: TaskMessage<RowTask>) => {
    let reply: RowTaskReply;
    const transfer: ArrayBuffer[] = [];
    try {
      const converted = convertRun(message.request);
      transfer.push(converted.rows.buffer as ArrayBuffer);
      reply = { ok: true, converted };
    } catch (error) {
      reply = { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
    const envelope: TaskReply<RowTaskReply> = { taskId: message.taskId, reply };
    port.postMessage(envelope, transfer);
  });
}
