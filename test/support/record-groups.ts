import type { PipelineRecord, RecordStream } from '../../src/destinations/destination-kind.js';
import { RecordGroup } from '../../src/destinations/record-group.js';
import { encodeChunkFromBuffers } from '../../src/formats/chunk-frame.js';

/**
 * `records` as the batch store streams them: stored chunks of `groupSize` records each, read in
 * place. Records whose positions leave gaps (as after a partial retry) are a selection of a
 * chunk that also holds the missing positions, as the store's pending filter makes them. Every
 * record of one group must share its arrival time, as the records of one put request do.
 */
export function storedGroups(records: readonly PipelineRecord[], groupSize: number): RecordGroup[] {
  const groups: RecordGroup[] = [];
  for (let i = 0; i < records.length; i += groupSize) {
    const slice = records.slice(i, i + groupSize);
    const first = (slice[0] as PipelineRecord).position;
    const last = (slice[slice.length - 1] as PipelineRecord).position;
    const byPosition = new Map(slice.map((record) => [record.position, record]));
    const payloads: Buffer[] = [];
    const ids: string[] = [];
    for (let position = first; position <= last; position += 1) {
      const record = byPosition.get(position);
      payloads.push(record?.data ?? Buffer.from(`not pending ${position}`));
      ids.push(record?.id ?? `gap-${position}`);
    }
    const chunk = encodeChunkFromBuffers((slice[0] as PipelineRecord).arrivalMs, payloads);
    const wanted = slice.length === payloads.length ? undefined : new Set(byPosition.keys());
    groups.push(RecordGroup.fromChunk(chunk, first, () => ids, wanted));
  }
  return groups;
}

/** `groups` one at a time, each on a later turn of the event loop, as a read from Redis. */
export async function* streamOf(groups: readonly RecordGroup[]): RecordStream {
  for (const group of groups) {
    await new Promise((resolve) => setImmediate(resolve));
    yield group;
  }
}
