import { Readable, pipeline } from 'node:stream';
import { constants, createGzip } from 'node:zlib';
import type { RedisClient } from '../redis/client.js';
import type { ObjectStore } from '../destinations/object-store.js';
import { streamKeys } from '../streams/keys.js';
import { errorIndexMember } from './error-index.js';
import { errorObjectKey, type ErrorObjectKeyInput } from './error-object-key.js';
import {
  formatErrorRecord,
  type ErrorOutputType,
  type FailedRecordInput,
} from './error-records.js';

/** Lines are handed to the store in pieces of about this size, not one per record. */
const PIECE_BYTES = 64 * 1024;

/**
 * One error-output write: some of a batch's records that failed, all of one type, and what
 * names the object ({@link ErrorObjectKeyInput}: the same batch, seq and type always write the
 * same key).
 */
export interface ErrorOutputWriteRequest extends ErrorObjectKeyInput {
  /** At least one record, in the order their lines are written. */
  records: readonly FailedRecordInput[];
  /** Now, epoch ms: the object's score in the error index. */
  nowMs: number;
}

/** Where an error-output write went. */
export interface ErrorOutputObject {
  bucket: string;
  key: string;
}

/**
 * Writes failed records to the error output in Firehose's layout and formats, and indexes the
 * object for replay. A write is idempotent: the same (batch id, seq, type) always writes the
 * same key and the same index member, so a retry after a crash replaces, never adds.
 */
export class ErrorOutputWriter {
  /** @param deflateLevel - zlib's level for gzip objects (`SLUICE_GZIP_LEVEL`); absent, zlib's default. */
  constructor(
    private readonly store: ObjectStore,
    private readonly redis: RedisClient,
    private readonly deflateLevel?: number,
  ) {}

  /**
   * Writes one object of NDJSON error records (gzip-compressed, `Content-Encoding: gzip`, when
   * the location's compression is GZIP), then adds it to the stream's error index
   * (`streamKeys(stream).errors`, see `error-index.ts`).
   *
   * @throws EvaluatedPrefixTooLongError when no key can be made (permanent); Error for no
   *   records or a seq that is not a non-negative integer (a caller bug).
   * @throws whatever the store throws (the driver keeps the batch and retries; ask
   *   `store.isPermanent`); then nothing is indexed.
   */
  async write(request: ErrorOutputWriteRequest): Promise<ErrorOutputObject> {
    if (request.records.length === 0) {
      throw new Error(`error output of batch ${request.batchId}: no records to write`);
    }
    if (!Number.isSafeInteger(request.seq) || request.seq < 0) {
      // The index entry names it; a reader would refuse the entry later.
      throw new Error(
        `error output of batch ${request.batchId}: seq ${request.seq} is not a count`,
      );
    }
    const { bucket } = request.location;
    const key = errorObjectKey(request);
    const gzip = request.location.compression === 'GZIP';
    const lines = Readable.from(errorLines(request.type, request.records));
    // The callback form returns the last stream, which fails with the pipeline's first error,
    // so a failure reaches the store's reader.
    const body = gzip
      ? pipeline(
          lines,
          createGzip({ level: this.deflateLevel ?? constants.Z_DEFAULT_COMPRESSION }),
          () => undefined,
        )
      : lines;
    try {
      await this.store.put({ bucket, key, body, contentEncoding: gzip ? 'gzip' : undefined });
    } finally {
      // A store that failed before reading leaves the streams open otherwise.
      body.destroy();
      lines.destroy();
    }
    await this.redis.zadd(
      streamKeys(request.stream).errors,
      request.nowMs,
      errorIndexMember({
        bucket,
        key,
        type: request.type,
        batchId: request.batchId,
        seq: request.seq,
        records: request.records.length,
      }),
    );
    return { bucket, key };
  }
}

/** The object's lines, in pieces of about {@link PIECE_BYTES}. */
function* errorLines(type: ErrorOutputType, records: readonly FailedRecordInput[]) {
  let piece = '';
  for (const record of records) {
    piece += formatErrorRecord(type, record);
    if (piece.length >= PIECE_BYTES) {
      yield Buffer.from(piece);
      piece = '';
    }
  }
  if (piece !== '') yield Buffer.from(piece);
}
