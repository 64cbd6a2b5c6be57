import type { PipelineRecord } from '../destinations/destination-kind.js';

/**
 * The pipeline stages between reading a batch and encoding it. Each stage takes records and
 * gives records on, so that the processing issue (transforms, processors) and dynamic
 * partitioning fill these in without changing the driver's shape.
 */

/** What the processing stage gives on: records to deliver and records that failed it. */
export interface ProcessedRecords {
  records: readonly PipelineRecord[];
  /** Records the processors failed, for the `processing-failed` error output. */
  failed: { record: PipelineRecord; code: string; message: string }[];
}

/** The processing stage. No processor is configurable yet: records pass unchanged. */
export function processRecords(records: readonly PipelineRecord[]): ProcessedRecords {
  return { records, failed: [] };
}

/** Records that go to one destination object or request, with their partition keys. */
export interface Partition {
  /** Partition key values (`!{partitionKeyFrom…:key}`); empty without dynamic partitioning. */
  keys: Record<string, string>;
  records: readonly PipelineRecord[];
}

/** The partitioning stage. Without dynamic partitioning a batch is one partition. */
export function partitionRecords(records: readonly PipelineRecord[]): Partition[] {
  return [{ keys: {}, records }];
}
