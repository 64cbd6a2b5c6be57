import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../redis/client.js';
import { RedisScript } from '../redis/redis-script.js';
import type { Settings } from '../config/env.js';
import {
  DESTINATION_ID,
  MAX_TAGS_PER_STREAM,
  StreamDefinitionSchema,
  acceptsOnlyGzip,
  bufferingOf,
  compareKeys,
  type DeliveryStreamType,
  type StoredTag,
  type StreamDefinition,
} from './stream-definition.js';
import type { StoredDestination } from '../destinations/destination-kind.js';
import { FirehoseError } from '../errors/catalogue.js';
import { DELETING_STREAMS_KEY, STREAM_INDEX_KEY, streamKeys } from './keys.js';
import { CREATE_SCRIPT, REMOVE_SCRIPT, REPLACE_SCRIPT } from './registry-scripts.js';
import { scheduleSealCheck } from './seal-check.js';
import { crossSlotPipeline } from '../redis/cross-slot-pipeline.js';

const createScript = new RedisScript(CREATE_SCRIPT, 1);
const replaceScript = new RedisScript(REPLACE_SCRIPT, 1);
const removeScript = new RedisScript(REMOVE_SCRIPT, 1);

/** Compare-and-set retries before a change is given up as too contended. */
const MAX_WRITE_ATTEMPTS = 20;
/** Stream names the quota error lists. */
const QUOTA_NAMES_SHOWN = 20;
/** Index entries read per round trip while listing. */
const INDEX_PAGE = 500;

/** Options of {@link StreamRegistry.list}. */
export interface ListStreamsOptions {
  /** Most names to return. */
  limit: number;
  /** Start after this name (exclusive). */
  exclusiveStartName?: string | undefined;
  /** Only streams of this type. */
  type?: DeliveryStreamType | undefined;
}

/** A page of stream names. */
export interface StreamNamesPage {
  /** Alphabetical (code-unit order). */
  names: string[];
  /** Whether more names follow the last one. */
  hasMore: boolean;
}

/** Options of {@link StreamRegistry.listTags}. */
export interface ListTagsOptions {
  /** Most tags to return; all when undefined. */
  limit?: number | undefined;
  /** Start after this key (exclusive). */
  exclusiveStartKey?: string | undefined;
}

/** A page of tags. */
export interface TagsPage {
  /** Sorted by key. */
  tags: StoredTag[];
  /** Whether more tags follow the last one. */
  hasMore: boolean;
}

/**
 * Computes a stream's new destination from its current definition. It may throw (a
 * FirehoseError for a rule the merged destination breaks); nothing is written then.
 */
export type DestinationChange = (current: StreamDefinition) => StoredDestination;

/**
 * The delivery stream registry: definitions in Redis, one hash per stream
 * (`streamKeys(name).stream`: `definition` JSON, `status`, `sizeBytes`, `intervalMs`,
 * `version`), plus the index sorted set `STREAM_INDEX_KEY` for alphabetical listing.
 *
 * Every change is a compare-and-set Lua script on the stream's hash, so concurrent API
 * processes never lose each other's changes and the buffering fields always match the
 * definition. The index lives in another hash slot, so it is maintained by separate commands
 * and may briefly hold a name whose hash is gone; every reader skips such names.
 */
export class StreamRegistry {
  constructor(
    private readonly redis: RedisClient,
    private readonly settings: Settings,
  ) {}

  /** The ResourceNotFoundException Firehose answers for an unknown stream. */
  notFound(name: string): FirehoseError {
    return new FirehoseError(
      'ResourceNotFoundException',
      `Firehose ${name} under account ${this.settings.SLUICE_ACCOUNT_ID} not found.`,
    );
  }

  /**
   * Stores a new stream, ACTIVE at once (Sluice has nothing to provision).
   *
   * The name enters the index before the hash is written and again after it: a crash in
   * between leaves at most an index entry without a hash (skipped by readers), never a stream
   * missing from the index, and a concurrent {@link remove} of an older stream of the same
   * name cannot drop the new stream's entry.
   *
   * @throws FirehoseError `ResourceInUseException` when a stream of that name exists in any
   *   status; `LimitExceededException` when `SLUICE_MAX_STREAMS` streams exist.
   */
  async create(def: StreamDefinition): Promise<void> {
    const key = streamKeys(def.name).stream;
    if ((await this.redis.exists(key)) === 1) throw this.alreadyExists(def.name);
    const count = await this.count();
    if (count >= this.settings.SLUICE_MAX_STREAMS) {
      // Firehose's own message, naming (some of) the streams that use the quota up.
      const names = await this.redis.zrange(STREAM_INDEX_KEY, '0', String(QUOTA_NAMES_SHOWN - 1));
      const more = count > names.length ? ', …' : '';
      throw new FirehoseError(
        'LimitExceededException',
        `You have already consumed your firehose quota of ${this.settings.SLUICE_MAX_STREAMS} hoses. Firehose names: [${names.join(', ')}${more}] (the quota is SLUICE_MAX_STREAMS).`,
      );
    }
    await this.redis.zadd(STREAM_INDEX_KEY, 0, def.name);
    const created = await createScript.run(this.redis, [key], [...fieldsOf(def), randomUUID()]);
    await this.redis.zadd(STREAM_INDEX_KEY, 0, def.name);
    if (created !== 1) throw this.alreadyExists(def.name);
  }

  /** The stream's definition, or undefined when there is no such stream. */
  async get(name: string): Promise<StreamDefinition | undefined> {
    return (await this.read(name))?.def;
  }

  /**
   * The stream's definition.
   *
   * @throws FirehoseError `ResourceNotFoundException` when there is no such stream.
   */
  async getExisting(name: string): Promise<StreamDefinition> {
    const def = await this.get(name);
    if (def === undefined) throw this.notFound(name);
    return def;
  }

  /** One page of stream names in alphabetical order, as ListDeliveryStreams pages them. */
  async list(options: ListStreamsOptions): Promise<StreamNamesPage> {
    const wanted = options.limit + 1;
    const found: string[] = [];
    let from = options.exclusiveStartName === undefined ? '-' : `(${options.exclusiveStartName}`;
    while (found.length < wanted) {
      // Stale index entries are rare: read about as many as are still wanted, plus a little.
      const page = Math.min(INDEX_PAGE, wanted - found.length + 8);
      const candidates = await this.redis.zrangebylex(
        STREAM_INDEX_KEY,
        from,
        '+',
        'LIMIT',
        0,
        page,
      );
      const kept = await this.existing(candidates, options.type);
      found.push(...kept.slice(0, wanted - found.length));
      const last = candidates[candidates.length - 1];
      if (candidates.length < page || last === undefined) break;
      from = `(${last}`;
    }
    return { names: found.slice(0, options.limit), hasMore: found.length > options.limit };
  }

  /**
   * How many streams count against `SLUICE_MAX_STREAMS`: the index size, which may include a
   * few names whose hash is already gone.
   */
  async count(): Promise<number> {
    return this.redis.zcard(STREAM_INDEX_KEY);
  }

  /** Every stream's name (any status), alphabetical; for the delivery side's periodic work. */
  async listAllNames(): Promise<string[]> {
    const names: string[] = [];
    let from = '-';
    for (;;) {
      const candidates = await this.redis.zrangebylex(
        STREAM_INDEX_KEY,
        from,
        '+',
        'LIMIT',
        0,
        INDEX_PAGE,
      );
      names.push(...(await this.existing(candidates, undefined)));
      const last = candidates[candidates.length - 1];
      if (candidates.length < INDEX_PAGE || last === undefined) return names;
      from = `(${last}`;
    }
  }

  /**
   * Marks the stream DELETING: puts are refused from then on, and the delivery side drains
   * its buffer and then calls {@link remove}. Marking a DELETING stream again is a no-op.
   *
   * @throws FirehoseError `ResourceNotFoundException` when there is no such stream.
   */
  async markDeleting(name: string): Promise<StreamDefinition> {
    const def = await this.change(name, (current) =>
      current.status === 'DELETING' ? undefined : { ...current, status: 'DELETING' },
    );
    // Listed for the delivery side to drain and remove; its open buffer is sealed at once.
    await this.redis.sadd(DELETING_STREAMS_KEY, name);
    await scheduleSealCheck(this.redis, name, Date.now());
    return def;
  }

  /**
   * Streams being deleted, for the delivery side to drain and remove: those {@link markDeleting}
   * listed, and, with `scan`, every DELETING stream found by reading each definition (streams
   * marked by a version that did not list them), which are listed from then on.
   */
  async listDeleting(scan = false): Promise<string[]> {
    if (scan) {
      const names = await this.listAllNames();
      for (let start = 0; start < names.length; start += INDEX_PAGE) {
        const page = names.slice(start, start + INDEX_PAGE);
        const read = crossSlotPipeline(this.redis);
        for (const name of page) read.hget(streamKeys(name).stream, 'status');
        const statuses = (await read.exec()) ?? [];
        const deleting = page.filter((_, i) => statuses[i]?.[1] === 'DELETING');
        if (deleting.length > 0) await this.redis.sadd(DELETING_STREAMS_KEY, ...deleting);
      }
    }
    return this.redis.smembers(DELETING_STREAMS_KEY);
  }

  /**
   * Removes a DELETING stream for good: its hash, then its index entry. Called by the
   * delivery side once the stream's buffer is delivered.
   *
   * @returns true when the stream was removed now; false when it is absent or not DELETING.
   */
  async remove(name: string): Promise<boolean> {
    const key = streamKeys(name).stream;
    const removed = (await removeScript.run(this.redis, [key], [])) === 1;
    await this.redis.zrem(STREAM_INDEX_KEY, name);
    if (removed || (await this.redis.hget(key, 'status')) !== 'DELETING') {
      await this.redis.srem(DELETING_STREAMS_KEY, name);
    }
    // A stream created again under this name since the DEL keeps its index entry.
    if ((await this.redis.exists(key)) === 1) await this.redis.zadd(STREAM_INDEX_KEY, 0, name);
    return removed;
  }

  /**
   * Replaces the stream's destination if `currentVersionId` is the stream's version, adding 1
   * to the version and setting the last update time. `change` runs before anything is
   * written; when it throws, nothing changes.
   *
   * @param currentVersionId - the client's `CurrentDeliveryStreamVersionId` (decimal digits).
   * @param destinationId - the client's `DestinationId`.
   * @returns the new definition.
   * @throws FirehoseError `ResourceNotFoundException` (no such stream),
   *   `ResourceInUseException` (stream not ACTIVE), `ConcurrentModificationException` (other
   *   version), `InvalidArgumentException` (unknown destination id), or what `change` throws.
   */
  async update(
    name: string,
    currentVersionId: string,
    destinationId: string,
    change: DestinationChange,
  ): Promise<StreamDefinition> {
    const updated = await this.change(name, (def) => {
      this.requireActive(def);
      if (currentVersionId.replace(/^0+(?=\d)/, '') !== String(def.versionId)) {
        throw new FirehoseError(
          'ConcurrentModificationException',
          `Cannot update firehose: ${name} since the current version id: ${def.versionId} and specified version id: ${currentVersionId} do not match`,
        );
      }
      if (destinationId !== DESTINATION_ID) {
        throw new FirehoseError(
          'InvalidArgumentException',
          `Destination Id ${destinationId} not found`,
        );
      }
      return {
        ...def,
        destination: change(def),
        versionId: def.versionId + 1,
        lastUpdateTimestamp: Date.now(),
      };
    });
    // New buffering hints move the open buffer's deadline: the ticker reads it again.
    await scheduleSealCheck(this.redis, name, Date.now());
    return updated;
  }

  /**
   * Adds tags, replacing the value of keys the stream already has.
   *
   * @throws FirehoseError `ResourceNotFoundException`, `ResourceInUseException` (not ACTIVE),
   *   `LimitExceededException` when the stream would carry more than 50 tags.
   */
  async tag(name: string, tags: readonly StoredTag[]): Promise<void> {
    await this.change(name, (def) => {
      this.requireActive(def);
      const byKey = new Map(def.tags.map((t) => [t.Key, t]));
      for (const t of tags) byKey.set(t.Key, t);
      if (byKey.size > MAX_TAGS_PER_STREAM) {
        throw new FirehoseError(
          'LimitExceededException',
          `A delivery stream can have at most ${MAX_TAGS_PER_STREAM} tags; ${name} has ${def.tags.length} and this request would make it ${byKey.size}.`,
        );
      }
      return { ...def, tags: [...byKey.values()].sort((a, b) => compareKeys(a.Key, b.Key)) };
    });
  }

  /**
   * Removes tags by key; keys the stream does not have are ignored.
   *
   * @throws FirehoseError `ResourceNotFoundException`, `ResourceInUseException` (not ACTIVE).
   */
  async untag(name: string, keys: readonly string[]): Promise<void> {
    const drop = new Set(keys);
    await this.change(name, (def) => {
      this.requireActive(def);
      const kept = def.tags.filter((t) => !drop.has(t.Key));
      return kept.length === def.tags.length ? undefined : { ...def, tags: kept };
    });
  }

  /**
   * One page of the stream's tags, sorted by key.
   *
   * @throws FirehoseError `ResourceNotFoundException` when there is no such stream.
   */
  async listTags(name: string, options: ListTagsOptions = {}): Promise<TagsPage> {
    const def = await this.getExisting(name);
    const start = options.exclusiveStartKey;
    const after =
      start === undefined ? def.tags : def.tags.filter((t) => compareKeys(t.Key, start) > 0);
    const limit = options.limit ?? after.length;
    return { tags: after.slice(0, limit), hasMore: after.length > limit };
  }

  private alreadyExists(name: string): FirehoseError {
    return new FirehoseError(
      'ResourceInUseException',
      `Firehose ${name} under accountId ${this.settings.SLUICE_ACCOUNT_ID} already exists`,
    );
  }

  private requireActive(def: StreamDefinition): void {
    if (def.status !== 'ACTIVE') {
      throw new FirehoseError(
        'ResourceInUseException',
        `Firehose ${def.name} under account ${this.settings.SLUICE_ACCOUNT_ID} is in ${def.status} state and cannot be changed.`,
      );
    }
  }

  private async read(name: string): Promise<{ json: string; def: StreamDefinition } | undefined> {
    const json = await this.redis.hget(streamKeys(name).stream, 'definition');
    if (json === null) return undefined;
    return { json, def: StreamDefinitionSchema.parse(JSON.parse(json)) };
  }

  /**
   * Read, compute, compare-and-set, retried while another writer got in between. `next`
   * returns undefined when nothing needs to change.
   */
  private async change(
    name: string,
    next: (def: StreamDefinition) => StreamDefinition | undefined,
  ): Promise<StreamDefinition> {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt += 1) {
      const current = await this.read(name);
      if (current === undefined) throw this.notFound(name);
      const updated = next(current.def);
      if (updated === undefined) return current.def;
      const [definition, ...rest] = fieldsOf(updated);
      const result = await replaceScript.run(
        this.redis,
        [streamKeys(name).stream],
        [current.json, definition, ...rest, randomUUID()],
      );
      if (result === 1) return updated;
      if (result === -1) throw this.notFound(name);
    }
    throw new FirehoseError(
      'ServiceUnavailableException',
      `Firehose ${name} is being changed by too many requests at once; retry.`,
    );
  }

  /** Names whose hash still exists (index entries can outlive it), optionally of one type. */
  private async existing(
    names: readonly string[],
    type: DeliveryStreamType | undefined,
  ): Promise<string[]> {
    if (names.length === 0) return [];
    const pipeline = crossSlotPipeline(this.redis);
    for (const name of names) {
      // Without a type filter, existence is enough; definitions are only read to filter.
      if (type === undefined) pipeline.exists(streamKeys(name).stream);
      else pipeline.hget(streamKeys(name).stream, 'definition');
    }
    const replies = (await pipeline.exec()) ?? [];
    return names.filter((_name, i) => {
      const [error, reply] = replies[i] ?? [null, null];
      if (error) throw error;
      if (type === undefined) return reply === 1;
      return typeof reply === 'string' && (JSON.parse(reply) as { type?: unknown }).type === type;
    });
  }
}

/** The hash fields of a definition, in the order the scripts take them (after the JSON). */
function fieldsOf(def: StreamDefinition): [string, string, number, number, number, string] {
  const { sizeBytes, intervalMs } = bufferingOf(def);
  return [
    JSON.stringify(def),
    def.status,
    sizeBytes,
    intervalMs,
    def.versionId,
    acceptsOnlyGzip(def) ? '1' : '0',
  ];
}
