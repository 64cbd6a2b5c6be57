/**
 * The first records of a replay item (an error-output object or a dead batch), decoded the
 * way the live tail shows records: JSON or text as is, else base64, each cut to the tail's
 * preview size. What the console shows before a user replays an item.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { RedisClient } from '../redis/client.js';
import { ObjectNotFoundError, type ObjectStore } from '../destinations/object-store.js';
import { decodeChunk } from '../formats/chunk-frame.js';
import { readDeadMetas } from '../error-output/dead-batches.js';
import { errorIndexMatchPattern, parseErrorIndexMember } from '../error-output/error-index.js';
import { ErrorRecordFormatError, parseErrorRecords } from '../error-output/error-records.js';
import { parseItemId } from '../error-output/replay-items.js';
import { batchKeys, streamKeys } from '../streams/keys.js';
import { previewRecord, type PreviewEncoding } from '../tail/record-preview.js';

const gunzipAsync = promisify(gunzip);

/** Most records one preview shows; also its default. */
export const MAX_PREVIEW_RECORDS = 20;
/** Error-index entries read per ZSCAN call when looking an object up. */
const SCAN_COUNT = 1000;

/** One record of a preview. */
export interface PreviewedRecord {
  /** Its position in the item. */
  index: number;
  /** When it arrived, epoch ms. */
  arrivalMs: number;
  /** Size of its whole data. */
  bytes: number;
  encoding: PreviewEncoding;
  preview: string;
  truncated: boolean;
  /** Why this record failed (error output: its `errorCode: errorMessage`); absent for dead batches. */
  reason?: string;
}

/** What {@link previewItem} answers. */
export interface ItemPreview {
  id: string;
  source: 'error-output' | 'dead-batch';
  /** Error-output type, or `dead`. */
  type: string;
  /** Records in the whole item. */
  records: number;
  /** Why the item failed: the dead batch's reason, or the first record's error. */
  reason: string;
  /** The first records, at most the asked number. */
  shown: PreviewedRecord[];
}

/** Why a preview could not be made. */
export class PreviewError extends Error {
  override name = 'PreviewError';

  constructor(
    readonly reason: 'item-not-found' | 'item-unreadable',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Previews the item `id` of `stream`: its first `limit` records and its reason.
 *
 * @throws PreviewError `item-not-found` when the stream has no such item (or its object is
 *   gone from the store), `item-unreadable` when the object is not error records.
 */
export async function previewItem(
  redis: RedisClient,
  store: ObjectStore,
  stream: string,
  id: string,
  limit: number,
): Promise<ItemPreview> {
  const parsed = parseItemId(id);
  if (parsed === undefined) {
    throw new PreviewError(
      'item-not-found',
      `${JSON.stringify(id.slice(0, 200))} is not an item id (error:<bucket>/<key> or dead:<batchId>)`,
    );
  }
  if (parsed.source === 'dead-batch') {
    return previewDeadBatch(redis, stream, id, parsed.batchId, limit);
  }
  const entry = await findErrorEntry(redis, stream, parsed.bucket, parsed.key);
  if (entry === undefined) {
    throw new PreviewError('item-not-found', `stream ${stream} has no error output ${id}`);
  }
  let body: Buffer;
  try {
    body = await store.get(parsed.bucket, parsed.key);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) {
      throw new PreviewError(
        'item-not-found',
        `s3://${parsed.bucket}/${parsed.key} is gone from the store`,
      );
    }
    throw error;
  }
  let records;
  try {
    if (body[0] === 0x1f && body[1] === 0x8b) body = await gunzipAsync(body);
    records = parseErrorRecords(body);
  } catch (error) {
    if (
      error instanceof ErrorRecordFormatError ||
      (error as { code?: string }).code?.startsWith('Z_')
    ) {
      throw new PreviewError(
        'item-unreadable',
        `s3://${parsed.bucket}/${parsed.key} is not error records: ${(error as Error).message}`,
      );
    }
    throw error;
  }
  const shown = records.slice(0, limit).map((record, index): PreviewedRecord => {
    const reason = errorReason(record.code, record.message);
    return {
      index,
      arrivalMs: record.arrivalMs,
      bytes: record.rawData.length,
      ...previewRecord(record.rawData),
      ...(reason === '' ? {} : { reason }),
    };
  });
  const first = records[0];
  return {
    id,
    source: 'error-output',
    type: entry.type,
    records: records.length,
    reason: first === undefined ? '' : errorReason(first.code, first.message),
    shown,
  };
}

async function previewDeadBatch(
  redis: RedisClient,
  stream: string,
  id: string,
  batchId: string,
  limit: number,
): Promise<ItemPreview> {
  const meta = (await readDeadMetas(redis, stream, [batchId]))[0];
  if (meta?.deadAtMs === undefined) {
    throw new PreviewError('item-not-found', `stream ${stream} has no dead batch ${id}`);
  }
  const shown: PreviewedRecord[] = [];
  const chunksKey = batchKeys(stream, batchId).chunks;
  // A chunk is one put request's records: read one at a time until enough are shown.
  for (let chunkNo = 0; chunkNo < meta.chunks && shown.length < limit; chunkNo++) {
    const chunk = await redis.lindexBuffer(chunksKey, chunkNo);
    if (chunk === null) break;
    for (const record of decodeChunk(chunk)) {
      if (shown.length >= limit) break;
      shown.push({
        index: shown.length,
        arrivalMs: record.arrivalMs,
        bytes: record.data.length,
        ...previewRecord(record.data),
      });
    }
  }
  return {
    id,
    source: 'dead-batch',
    type: 'dead',
    records: meta.records,
    reason: meta.reason,
    shown,
  };
}

/**
 * The stream's error-index entry of the object, by a paged ZSCAN for the member that starts
 * with it (an item id names only the object); undefined when there is none.
 */
async function findErrorEntry(redis: RedisClient, stream: string, bucket: string, key: string) {
  const pattern = errorIndexMatchPattern(bucket, key);
  let cursor = '0';
  do {
    const [next, found] = await redis.zscan(
      streamKeys(stream).errors,
      cursor,
      'MATCH',
      pattern,
      'COUNT',
      SCAN_COUNT,
    );
    const member = found[0];
    if (member !== undefined) return parseErrorIndexMember(member);
    cursor = next;
  } while (cursor !== '0');
  return undefined;
}

function errorReason(code: string, message: string): string {
  if (code === '') return message;
  return message === '' ? code : `${code}: ${message}`;
}
