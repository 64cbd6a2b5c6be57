import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

import {
  TRANSFORM_TAG,
  type RecordContext,
  type TransformDefinition,
} from '../src/processors/transforms/transform-kit.js';
import type { TransformInput } from '../src/processors/transforms/transform-host.js';
import { nowMs } from './clock.js';
import type { Round } from './rounds.js';

/**
 * The reference of the transform phase: a record-form JSON transform's own `record` function
 * called directly in a loop — UTF-8 text of the record, `JSON.parse`, `record`, `JSON.stringify`
 * and the delimiter back to bytes, the least any host must do per record — on as many worker
 * threads at once as the host has, so both sides have every core.
 */

/** A record-form JSON transform's record function, as its module defines it. */
export interface JsonRecordForm {
  record: (input: unknown, context: RecordContext) => unknown;
  /** Written after each record: the transform's own, else the record form's default. */
  delimiter: string;
}

/**
 * Imports `file` and returns its default export's record function.
 *
 * @throws Error when the default export is not a `decode: 'json'` record form.
 */
export async function loadJsonRecordForm(file: string): Promise<JsonRecordForm> {
  const namespace = (await import(pathToFileURL(file).href)) as { default?: unknown };
  const exported = namespace.default as { [TRANSFORM_TAG]?: TransformDefinition } | undefined;
  const definition = exported?.[TRANSFORM_TAG];
  if (definition?.form !== 'record' || definition.decode !== 'json') {
    throw new Error(`${file} does not default-export a record-form transform with decode 'json'`);
  }
  return {
    record: definition.record as JsonRecordForm['record'],
    delimiter: definition.delimiter ?? '\n',
  };
}

/** One record through the record function directly: the reference's work per record. */
export function referenceRecord(
  form: JsonRecordForm,
  text: string,
  context: RecordContext,
): Buffer {
  return Buffer.from(
    `${JSON.stringify(form.record(JSON.parse(text), context))}${form.delimiter}`,
    'utf8',
  );
}

/** What a reference thread gets at start: the module and the records, packed. */
export interface ReferenceWorkerData {
  file: string;
  streamName: string;
  /** Every record's data, back to back. */
  bytes: Uint8Array;
  /** End offset of each record in {@link bytes}. */
  ends: Uint32Array;
  ids: string[];
  arrivals: Float64Array;
}

/** Main thread to a reference thread: run for this long. */
export interface ReferenceRun {
  durationMs: number;
}

/** A reference thread to the main thread. */
export type ReferenceMessage =
  { type: 'ready' } | { type: 'round'; records: number; bytes: number; ms: number };

const WORKER_ENTRY = new URL('./transform-reference-worker.js', import.meta.url);

/** Packs records for {@link ReferenceWorkerData}. */
function pack(
  file: string,
  streamName: string,
  records: readonly TransformInput[],
): ReferenceWorkerData {
  const total = records.reduce((sum, r) => sum + r.data.length, 0);
  const bytes = new Uint8Array(total);
  const ends = new Uint32Array(records.length);
  const arrivals = new Float64Array(records.length);
  let at = 0;
  records.forEach((record, i) => {
    bytes.set(record.data, at);
    at += record.data.length;
    ends[i] = at;
    arrivals[i] = record.arrivalMs;
  });
  return { file, streamName, bytes, ends, ids: records.map((r) => r.id), arrivals };
}

/** Reference threads, each with its own copy of the records, started once and run in rounds. */
export class ReferenceThreads {
  private constructor(private readonly threads: readonly Worker[]) {}

  /** Starts `count` threads that load `file`; resolves when every one is ready. */
  static async start(
    count: number,
    file: string,
    streamName: string,
    records: readonly TransformInput[],
  ): Promise<ReferenceThreads> {
    const workerData = pack(file, streamName, records);
    const threads = Array.from({ length: count }, () => new Worker(WORKER_ENTRY, { workerData }));
    const pool = new ReferenceThreads(threads);
    try {
      await Promise.all(threads.map((thread) => pool.next(thread, 'ready')));
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /**
   * Every thread runs the reference for `durationMs` at once.
   *
   * @returns the records and bytes of all threads, over the longest thread's time.
   */
  async run(durationMs: number): Promise<Round> {
    const startMs = nowMs();
    const replies = await Promise.all(
      this.threads.map((thread) => {
        const reply = this.next(thread, 'round');
        thread.postMessage({ durationMs } satisfies ReferenceRun);
        return reply;
      }),
    );
    let records = 0;
    let bytes = 0;
    let ms = 0;
    for (const reply of replies) {
      if (reply.type !== 'round') continue;
      records += reply.records;
      bytes += reply.bytes;
      ms = Math.max(ms, reply.ms);
    }
    return { records, bytes, startMs, endMs: startMs + ms };
  }

  /** Terminates the threads. */
  async close(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.terminate()));
  }

  /** The thread's next message, which must be of `type`; rejects if it errs or exits first. */
  private async next(thread: Worker, type: ReferenceMessage['type']): Promise<ReferenceMessage> {
    const reply = await new Promise<ReferenceMessage>((resolve, reject) => {
      const settle = (): void => {
        thread.off('message', onMessage);
        thread.off('error', onError);
        thread.off('exit', onExit);
      };
      const onMessage = (message: unknown): void => {
        settle();
        resolve(message as ReferenceMessage);
      };
      const onError = (error: unknown): void => {
        settle();
        reject(error instanceof Error ? error : new Error(String(error)));
      };
      const onExit = (code: number): void => {
        settle();
        reject(new Error(`a reference thread exited with code ${code}`));
      };
      thread.on('message', onMessage);
      thread.on('error', onError);
      thread.on('exit', onExit);
    });
    if (reply.type !== type) throw new Error(`a reference thread sent ${reply.type}, not ${type}`);
    return reply;
  }
}
