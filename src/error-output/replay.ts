import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { RedisClient } from '../redis/client.js';
import { decodeChunk, encodeChunkFromBuffers } from '../formats/chunk-frame.js';
import type { AppendResult, RecordBuffer } from '../buffer/record-buffer.js';
import { ObjectNotFoundError, type ObjectStore } from '../destinations/object-store.js';
import { RedisScript } from '../redis/redis-script.js';
import { batchKeys, streamKeys } from '../streams/keys.js';
import { readDeadMetas } from './dead-batches.js';
import { errorIndexMatchPattern, parseErrorIndexMember } from './error-index.js';
import { ErrorRecordFormatError, parseErrorRecords } from './error-records.js';
import { ReplayError } from './replay-errors.js';
import { chunkRuns } from './replay-chunks.js';
import {
  deadItemId,
  errorItemId,
  parseItemId,
  type ReplayItem,
  type ReplayItemType,
} from './replay-items.js';
import { FORGET_DEAD_SCRIPT } from './replay-scripts.js';

const forgetDeadScript = new RedisScript(FORGET_DEAD_SCRIPT, 5);
const gunzipAsync = promisify(gunzip);

/** Most items one selection returns by default. */
export const DEFAULT_SELECTION_LIMIT = 1000;
/** Index entries read per Redis call. */
const PAGE = 1000;
/**
 * Most error-index entries one selection reads. Filtering by type reads entries of other types
 * too; past this many the selection stops and says it is truncated.
 */
const MAX_INDEX_ENTRIES_READ = 100_000;
/** Dead batch chunks read per Redis call (a chunk is at most about 4 MiB). */
const CHUNKS_PER_READ = 4;

/** Which items to select. */
export interface ReplaySelectionQuery {
  /** The source stream. */
  stream: string;
  /** Only items of this type (`dead`: only dead batches); all when absent. */
  type?: ReplayItemType | undefined;
  /** Only items written (dead-lettered) at or after this, epoch ms. */
  sinceMs?: number | undefined;
  /** Only items written (dead-lettered) at or before this, epoch ms. */
  untilMs?: number | undefined;
  /** Most items to return (default {@link DEFAULT_SELECTION_LIMIT}). */
  limit?: number | undefined;
}

/** A selection: items oldest first. */
export interface ReplaySelection {
  items: ReplayItem[];
  /** More items match than were returned: narrow the time range and select again. */
  truncated: boolean;
}

/** One item to replay. */
export interface ReplayItemRequest {
  /** The source stream (whose error output or dead set holds the item). */
  stream: string;
  /** The stream to append the records to; the source stream when absent. */
  to?: string | undefined;
  id: string;
}

/** What {@link Replayer.replayItem} did. */
export interface ReplayItemResult {
  id: string;
  /** Records appended by this call (0 when skipped). */
  records: number;
  /** Why nothing was appended, e.g. `already replayed`. */
  skipped?: string;
}

/** What a {@link Replayer} uses. */
export interface ReplayerDeps {
  redis: RedisClient;
  /** The buffer replayed records are appended through (its seal hand-off enqueues). */
  buffer: RecordBuffer;
  /** Where error-output objects are read from. */
  store: ObjectStore;
  now?: () => number;
}

/**
 * Selects failed records (error-output objects and dead-lettered batches) and appends them
 * again, to their own stream or another one, as a producer's PutRecordBatch calls would.
 *
 * Replaying is at-least-once, and exactly-once in the usual cases: an item is appended in
 * chunks, each with a call id derived from (source stream, item id, chunk number); a repeat of
 * the same chunk within the buffer's receipt time (60 s) stores nothing. Once every chunk is in,
 * the item is recorded as replayed in the source stream's `replayed` set, and replaying it
 * again is skipped. Only a replay that stops part-way (backpressure, a crash) and is resumed
 * more than 60 s later can append its first chunks twice.
 */
export class Replayer {
  private readonly now: () => number;

  constructor(private readonly deps: ReplayerDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * The items of `query.stream` in the time range, error-output objects (from the error
   * index, by write time) and dead batches (by dead-letter time) merged, oldest first, each
   * flagged when already replayed. Redis work is bounded: pages of {@link PAGE} entries and at
   * most {@link MAX_INDEX_ENTRIES_READ} index entries.
   */
  async select(query: ReplaySelectionQuery): Promise<ReplaySelection> {
    const limit = query.limit ?? DEFAULT_SELECTION_LIMIT;
    if (limit <= 0) return { items: [], truncated: false };
    const min = query.sinceMs ?? '-inf';
    const max = query.untilMs ?? '+inf';
    const errors =
      query.type === 'dead'
        ? { items: [], truncated: false }
        : await this.selectErrorOutput(query, min, max, limit);
    const dead =
      query.type === undefined || query.type === 'dead'
        ? await this.selectDead(query.stream, min, max, limit)
        : { items: [], truncated: false };
    const merged = [...errors.items, ...dead.items].sort((a, b) => a.atMs - b.atMs);
    const items = merged.slice(0, limit);
    await this.flagReplayed(query.stream, items);
    return {
      items,
      truncated: errors.truncated || dead.truncated || merged.length > limit,
    };
  }

  /**
   * Appends the item's records to `to` (default: the source stream), then records the item as
   * replayed; a dead batch is then removed from the dead set with its data (FORGET_DEAD).
   * An item replayed already is skipped.
   *
   * @throws ReplayError `item-not-found` (no such item, or its object is gone),
   *   `item-unreadable` (not error records), `target-not-found`, `target-not-active` (before
   *   anything is appended), `backpressure` (the message says how many records went in; the
   *   same call again resumes without duplicates within 60 s).
   */
  async replayItem(request: ReplayItemRequest): Promise<ReplayItemResult> {
    const { stream, id } = request;
    const to = request.to ?? stream;
    const parsed = parseItemId(id);
    if (parsed === undefined) {
      throw new ReplayError(
        'item-not-found',
        `${JSON.stringify(id)} is not an item id (error:<bucket>/<key> or dead:<batchId>)`,
      );
    }
    const { redis } = this.deps;
    const keys = streamKeys(stream);
    if ((await redis.sismember(keys.replayed, id)) === 1) {
      return { id, records: 0, skipped: 'already replayed' };
    }
    if (parsed.source === 'error-output') {
      if (!(await this.inErrorIndex(stream, parsed.bucket, parsed.key))) {
        throw new ReplayError('item-not-found', `stream ${stream} has no error output ${id}`);
      }
      await this.checkTarget(to);
      const records = await this.readErrorObject(parsed.bucket, parsed.key);
      const appender = new ItemAppender(this.deps.buffer, stream, id, to, this.now);
      for (const run of chunkRuns(records)) await appender.append(run);
      await redis.sadd(keys.replayed, id);
      return { id, records: appender.records };
    }
    const meta = (await readDeadMetas(redis, stream, [parsed.batchId]))[0];
    if (meta?.deadAtMs === undefined) {
      throw new ReplayError('item-not-found', `stream ${stream} has no dead batch ${id}`);
    }
    await this.checkTarget(to);
    const appender = new ItemAppender(this.deps.buffer, stream, id, to, this.now);
    const chunksKey = batchKeys(stream, parsed.batchId).chunks;
    for (let start = 0; start < meta.chunks; start += CHUNKS_PER_READ) {
      const chunks = await redis.lrangeBuffer(chunksKey, start, start + CHUNKS_PER_READ - 1);
      if (chunks.length === 0) {
        throw new Error(`dead batch ${parsed.batchId}: chunks missing from ${start}`);
      }
      for (const chunk of chunks) {
        for (const run of chunkRuns(decodeChunk(chunk).map((r) => r.data))) {
          await appender.append(run);
        }
      }
    }
    const dead = batchKeys(stream, parsed.batchId);
    await forgetDeadScript.run(
      redis,
      [keys.stats, keys.dead, dead.meta, keys.replayed, dead.chunks],
      [parsed.batchId, id],
    );
    return { id, records: appender.records };
  }

  private async selectErrorOutput(
    query: ReplaySelectionQuery,
    min: number | string,
    max: number | string,
    limit: number,
  ): Promise<{ items: ReplayItem[]; truncated: boolean }> {
    const key = streamKeys(query.stream).errors;
    const items: ReplayItem[] = [];
    for (let offset = 0; offset < MAX_INDEX_ENTRIES_READ; offset += PAGE) {
      const page = await this.deps.redis.zrangebyscore(
        key,
        min,
        max,
        'WITHSCORES',
        'LIMIT',
        offset,
        PAGE,
      );
      for (let i = 0; i + 1 < page.length; i += 2) {
        const entry = parseErrorIndexMember(page[i] as string);
        if (query.type !== undefined && entry.type !== query.type) continue;
        items.push({
          id: errorItemId(entry.bucket, entry.key),
          source: 'error-output',
          stream: query.stream,
          type: entry.type,
          batchId: entry.batchId,
          records: entry.records,
          atMs: Number(page[i + 1]),
          replayed: false,
        });
        // One more than asked for tells the caller there is more.
        if (items.length > limit) return { items, truncated: true };
      }
      if (page.length < PAGE * 2) return { items, truncated: false };
    }
    return { items, truncated: true };
  }

  private async selectDead(
    stream: string,
    min: number | string,
    max: number | string,
    limit: number,
  ): Promise<{ items: ReplayItem[]; truncated: boolean }> {
    const page = await this.deps.redis.zrangebyscore(
      streamKeys(stream).dead,
      min,
      max,
      'WITHSCORES',
      'LIMIT',
      0,
      limit + 1,
    );
    const ids: string[] = [];
    const scores: number[] = [];
    for (let i = 0; i + 1 < page.length; i += 2) {
      ids.push(page[i] as string);
      scores.push(Number(page[i + 1]));
    }
    const metas = await readDeadMetas(this.deps.redis, stream, ids);
    const items: ReplayItem[] = [];
    for (let i = 0; i < ids.length; i++) {
      const meta = metas[i];
      if (meta === undefined) continue;
      items.push({
        id: deadItemId(ids[i] as string),
        source: 'dead-batch',
        stream,
        type: 'dead',
        batchId: ids[i] as string,
        records: meta.records,
        atMs: scores[i] as number,
        replayed: false,
      });
    }
    return { items, truncated: ids.length > limit };
  }

  /** SISMEMBER per item, pipelined: SMISMEMBER needs Redis 6.2, and Sluice runs on 5. */
  private async flagReplayed(stream: string, items: ReplayItem[]): Promise<void> {
    if (items.length === 0) return;
    const key = streamKeys(stream).replayed;
    const pipeline = this.deps.redis.pipeline();
    for (const item of items) pipeline.sismember(key, item.id);
    const replies = (await pipeline.exec()) ?? [];
    replies.forEach(([error, member], i) => {
      if (error) throw error;
      (items[i] as ReplayItem).replayed = member === 1;
    });
  }

  /**
   * Whether the stream's error index lists the object. An item id names only the object, so
   * the index is scanned for a member that starts with it; the scan is paged, and stops at
   * the first match.
   */
  private async inErrorIndex(stream: string, bucket: string, key: string): Promise<boolean> {
    const pattern = errorIndexMatchPattern(bucket, key);
    let cursor = '0';
    do {
      const [next, found] = await this.deps.redis.zscan(
        streamKeys(stream).errors,
        cursor,
        'MATCH',
        pattern,
        'COUNT',
        PAGE,
      );
      if (found.length > 0) return true;
      cursor = next;
    } while (cursor !== '0');
    return false;
  }

  /** @throws ReplayError when `to` does not exist or is not ACTIVE. */
  private async checkTarget(to: string): Promise<void> {
    const status = await this.deps.redis.hget(streamKeys(to).stream, 'status');
    if (status === null) throw new ReplayError('target-not-found', `stream ${to} does not exist`);
    if (status !== 'ACTIVE') {
      throw new ReplayError(
        'target-not-active',
        `stream ${to} is ${status}; records can be replayed into ACTIVE streams only`,
      );
    }
  }

  /** The payloads of an error-output object, gunzipped when it is gzip. */
  private async readErrorObject(bucket: string, key: string): Promise<Buffer[]> {
    let body: Buffer;
    try {
      body = await this.deps.store.get(bucket, key);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) {
        throw new ReplayError('item-not-found', `s3://${bucket}/${key} is gone from the store`, {
          cause: error,
        });
      }
      throw error;
    }
    try {
      // The local store keeps no Content-Encoding: the gzip magic bytes tell. An NDJSON
      // object starts with `{`, never with them.
      if (body[0] === 0x1f && body[1] === 0x8b) body = await gunzipAsync(body);
      return parseErrorRecords(body).map((record) => record.rawData);
    } catch (error) {
      if (
        error instanceof ErrorRecordFormatError ||
        (error as { code?: string }).code?.startsWith('Z_')
      ) {
        throw new ReplayError(
          'item-unreadable',
          `s3://${bucket}/${key} is not error records: ${(error as Error).message}`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}

/**
 * Appends one item's runs of records to the target stream as chunks, each under a call id
 * derived from (source stream, item id, chunk number), and counts what went in.
 */
class ItemAppender {
  /** Records appended so far. */
  records = 0;
  private chunkNo = 0;
  /** Every record of the item arrives (again) at the same time: when its replay started. */
  private readonly arrivalMs: number;

  constructor(
    private readonly buffer: RecordBuffer,
    private readonly stream: string,
    private readonly id: string,
    private readonly to: string,
    private readonly now: () => number,
  ) {
    this.arrivalMs = now();
  }

  /** @throws ReplayError when the target did not store the chunk. */
  async append(run: Buffer[]): Promise<void> {
    const payload = run.reduce((n, record) => n + record.length, 0);
    const result = await this.buffer.append(
      this.to,
      encodeChunkFromBuffers(this.arrivalMs, run),
      payload,
      run.length,
      this.now(),
      replayCallId(this.stream, this.id, this.chunkNo),
    );
    checkAppended(result, this.to, this.id, this.records);
    this.chunkNo += 1;
    this.records += run.length;
  }
}

/**
 * The receipt name of one replayed chunk: the same for the same (source stream, item, chunk),
 * hashed so that any item id fits in a key.
 */
function replayCallId(stream: string, id: string, chunkNo: number): string {
  const digest = createHash('sha256').update(`${stream}\n${id}\n${chunkNo}`).digest('hex');
  return `replay:${digest}`;
}

/** @throws ReplayError for any outcome but stored. */
function checkAppended(result: AppendResult, to: string, id: string, appended: number): void {
  const sofar = `${appended} records of ${id} were appended before this`;
  switch (result.kind) {
    case 'stored':
      return;
    case 'not-found':
      throw new ReplayError('target-not-found', `stream ${to} does not exist (${sofar})`);
    case 'not-active':
      throw new ReplayError(
        'target-not-active',
        `stream ${to} is ${result.status}; records can be replayed into ACTIVE streams only (${sofar})`,
      );
    case 'not-gzip':
      throw new ReplayError(
        'target-refuses-records',
        `stream ${to} decompresses CloudWatch Logs data and takes only gzip records; record ${result.record} of the chunk is not (${sofar})`,
      );
    case 'backpressure':
      throw new ReplayError(
        'backpressure',
        `stream ${to} has too much undelivered data; ${sofar}: replay the item again (within 60 s nothing is appended twice)`,
      );
    case 'not-replicated':
      throw new ReplayError(
        'not-replicated',
        `a chunk of ${id} was stored in ${to} but only ${result.replicas} of the ${result.wanted} Redis replicas SLUICE_REDIS_MIN_REPLICAS asks for confirmed it within ${result.timeoutMs} ms; ${sofar}: replay the item again (within 60 s nothing is appended twice)`,
      );
  }
}
