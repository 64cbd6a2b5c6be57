import { runParquetJob, type ParquetJobRecord } from '../../formats/parquet/parquet-job.js';
import type { EncodeContext, RecordStream } from '../destination-kind.js';
import type { S3DeliveryPlan } from './plan.js';

/**
 * The encode stage for an S3 destination that converts to Parquet: the batch's records, read
 * as the plan's deserializer says into rows of the plan's table, written as one Parquet file
 * (the object) on a Parquet worker thread. A record that does not convert is rejected — it goes
 * to the error output as `format-conversion-failed` — and the others are written.
 */
export async function* encodeParquet(
  conversion: NonNullable<S3DeliveryPlan['conversion']>,
  records: RecordStream,
  context: EncodeContext,
): AsyncIterable<Buffer> {
  // A Parquet file is written whole (its footer indexes every row group): the batch is
  // gathered first, as the worker needs it in one transfer.
  const batch: ParquetJobRecord[] = [];
  for await (const group of records) {
    for (let k = 0; k < group.length; k += 1) {
      batch.push({ position: group.positionAt(k), data: group.dataAt(k) });
    }
  }
  const encoder = context.services.parquet;
  const result =
    encoder === undefined
      ? await runParquetJob(conversion, batch)
      : await encoder.encode(conversion, batch);
  for (const rejected of result.rejected) {
    context.reject({
      position: rejected.position,
      code: rejected.code,
      reason: rejected.message,
      outputType: 'format-conversion-failed',
    });
  }
  yield result.parquet;
}
