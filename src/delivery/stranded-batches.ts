import type { BatchStore } from './batch-store.js';
import type { DeliveryQueues } from './delivery-queues.js';

/**
 * Enqueues the stream's batches sealed before `sealedBeforeMs` but never confirmed enqueued
 * (a process died between the two steps, or the enqueue failed). Safe to repeat and to run in
 * many processes: the job id is the batch id. The seal ticker runs it on each visit.
 *
 * @returns how many batches were (re-)enqueued.
 */
export async function enqueueStranded(
  batches: BatchStore,
  queues: DeliveryQueues,
  stream: string,
  sealedBeforeMs: number,
): Promise<number> {
  let count = 0;
  for (const batchId of await batches.sealedBefore(stream, sealedBeforeMs)) {
    if (await batches.exists(stream, batchId)) {
      await queues.enqueue(stream, batchId);
      count += 1;
    } else {
      await batches.markEnqueued(stream, batchId);
    }
  }
  return count;
}
