import { Readable } from 'node:stream';
import type { PipelineRecord, S3Location } from '../destinations/destination-kind.js';
import type { ObjectStore } from '../destinations/object-store.js';
import { buildObjectKey } from '../destinations/s3/object-key.js';
import { COMPRESSION, compress } from '../formats/compression.js';
import { deterministicRandomStrings, deterministicUuid } from './error-object-key.js';

/** One backup copy: a batch's records as they arrived, to the plan's backup location. */
export interface BackupWriteRequest {
  stream: string;
  /** The stream's `VersionId` in the batch's plan (part of the object name). */
  streamVersion: number;
  batchId: string;
  /** Arrival of the batch's oldest record, epoch ms (every timestamp in the key). */
  firstArrivalMs: number;
  location: S3Location;
  /** Every record of the batch, in order. */
  records: readonly PipelineRecord[];
}

/**
 * Writes backup copies (`S3BackupMode` AllData): the records concatenated byte for byte, as an
 * S3 destination writes them, compressed as the backup location says, under Firehose's
 * object layout with the location's `Prefix`. The key's uuid and random strings derive from
 * the batch id, so a retry rewrites the same object and never adds one.
 */
export class BackupWriter {
  /** @param deflateLevel - zlib's level for GZIP and ZIP copies (`SLUICE_GZIP_LEVEL`). */
  constructor(
    private readonly store: ObjectStore,
    private readonly deflateLevel?: number,
  ) {}

  /** @throws whatever the store throws (the driver keeps the batch and retries). */
  async write(request: BackupWriteRequest): Promise<{ bucket: string; key: string }> {
    const { location } = request;
    const seed = `${request.batchId}:backup`;
    const objectId = deterministicUuid(seed);
    const key = buildObjectKey(
      {
        streamName: request.stream,
        versionId: request.streamVersion,
        prefix: location.prefix,
        errorOutputPrefix: location.errorOutputPrefix,
        compression: location.compression,
        fileExtension: undefined,
        timeZone: location.timeZone,
      },
      { batchId: objectId, firstArrivalMs: request.firstArrivalMs },
      deterministicRandomStrings(seed),
    );
    const pieces = Readable.from(recordData(request.records), { objectMode: false });
    const body = Readable.from(
      compress(pieces, location.compression, {
        entryName: objectId,
        modifiedMs: request.firstArrivalMs,
        deflateLevel: this.deflateLevel,
      }),
      { objectMode: false },
    );
    try {
      await this.store.put({
        bucket: location.bucket,
        key,
        body,
        contentEncoding: COMPRESSION[location.compression].contentEncoding,
      });
    } finally {
      body.destroy();
    }
    return { bucket: location.bucket, key };
  }
}

/** The records' bytes, concatenated as an S3 destination writes them, in pieces. */
function* recordData(records: readonly PipelineRecord[]): Generator<Buffer> {
  for (let start = 0; start < records.length; start += 500) {
    yield Buffer.concat(records.slice(start, start + 500).map((r) => r.data));
  }
}
