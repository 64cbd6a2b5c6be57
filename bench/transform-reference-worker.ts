import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';

import {
  loadJsonRecordForm,
  referenceRecord,
  type ReferenceMessage,
  type ReferenceRun,
  type ReferenceWorkerData,
} from './transform-reference.js';

/**
 * A reference thread of the transform phase (see `transform-reference.ts`): loads the
 * transform's module, says it is ready, then for each round runs the record function over the
 * records, round-robin, for the time asked, and answers how many it did.
 */

/** Records between two looks at the clock: the clock must not cost more than the records. */
const CLOCK_EVERY = 64;

const data = workerData as ReferenceWorkerData;
const port = parentPort;
if (port === null) throw new Error('transform-reference-worker.ts runs as a worker thread only');

const form = await loadJsonRecordForm(data.file);
const bytes = Buffer.from(data.bytes.buffer, data.bytes.byteOffset, data.bytes.byteLength);
const count = data.ends.length;
/** The next record, carried over from round to round so every record takes its turn. */
let next = 0;

function round(durationMs: number): ReferenceMessage {
  const startMs = performance.now();
  const endMs = startMs + durationMs;
  let records = 0;
  let inputBytes = 0;
  let now = startMs;
  while (now < endMs) {
    for (let k = 0; k < CLOCK_EVERY; k += 1) {
      const i = next;
      next = next + 1 === count ? 0 : next + 1;
      const start = i === 0 ? 0 : (data.ends[i - 1] as number);
      const end = data.ends[i] as number;
      referenceRecord(form, bytes.toString('utf8', start, end), {
        recordId: data.ids[i] as string,
        approximateArrivalTimestamp: data.arrivals[i] as number,
        deliveryStreamName: data.streamName,
      });
      inputBytes += end - start;
    }
    records += CLOCK_EVERY;
    now = performance.now();
  }
  return { type: 'round', records, bytes: inputBytes, ms: now - startMs };
}

port.on('message', (message: ReferenceRun) => {
  port.postMessage(round(message.durationMs));
});
port.postMessage({ type: 'ready' } satisfies ReferenceMessage);
