import { MAX_BATCH_BYTES, MAX_BATCH_RECORDS } from '../api/firehose/record-decoding.js';

/**
 * Records cut into PutRecordBatch requests within Firehose's limits: at most 500 records and
 * 4 MiB of record data (before base64) a request, in input order.
 */
export function cutBatches<T extends { readonly data: Buffer }>(records: readonly T[]): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [];
  let bytes = 0;
  for (const record of records) {
    if (
      batch.length > 0 &&
      (batch.length === MAX_BATCH_RECORDS || bytes + record.data.length > MAX_BATCH_BYTES)
    ) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(record);
    bytes += record.data.length;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
