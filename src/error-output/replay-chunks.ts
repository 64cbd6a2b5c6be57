/**
 * Replayed records go back into a stream the way a producer's would: in chunks no larger than
 * one PutRecordBatch (500 records, 4 MiB of payload), so the target's batches look as they
 * would had the records been put again.
 */

/** Most records in one replayed chunk (PutRecordBatch's limit). */
export const MAX_CHUNK_RECORDS = 500;
/** Most payload bytes in one replayed chunk (PutRecordBatch's limit). */
export const MAX_CHUNK_PAYLOAD_BYTES = 4 * 1024 * 1024;

/**
 * Groups records, in order, into runs of at most {@link MAX_CHUNK_RECORDS} records and
 * {@link MAX_CHUNK_PAYLOAD_BYTES} payload bytes. A single record larger than that (possible
 * only for records a transform made) gets a run of its own. The same input always gives the
 * same runs, so a replay resumed after a crash numbers its chunks as the first run did.
 */
export function* chunkRuns(records: Iterable<Buffer>): Generator<Buffer[]> {
  let run: Buffer[] = [];
  let bytes = 0;
  for (const record of records) {
    if (
      run.length > 0 &&
      (run.length === MAX_CHUNK_RECORDS || bytes + record.length > MAX_CHUNK_PAYLOAD_BYTES)
    ) {
      yield run;
      run = [];
      bytes = 0;
    }
    run.push(record);
    bytes += record.length;
  }
  if (run.length > 0) yield run;
}
