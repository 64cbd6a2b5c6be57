import { randomBytes } from 'node:crypto';

import type { BulkOperation } from './bulk.js';
import { OpenSearchFailure, indexNotFound } from './errors.js';
import { type RootMapping, isObject, parseDocument } from './mapping.js';
import type { OpenSearchError } from './types.js';

/**
 * The indices and documents of the OpenSearch test server, with OpenSearch's write semantics:
 * versions, sequence numbers, create conflicts, update merges, auto-creation of indices, and
 * near-real-time search (reads by id are real time; search and count see the last refresh,
 * which happens on `_refresh`, `?refresh`, or once a second as `refresh_interval: 1s` does).
 */

/** One stored document. */
export interface StoredDoc {
  source: unknown;
  version: number;
  seqNo: number;
}

/** One index. */
export interface Index {
  readonly name: string;
  readonly uuid: string;
  readonly createdAt: number;
  mapping: RootMapping;
  readonly docs: Map<string, StoredDoc>;
  nextSeqNo: number;
  /** What search and count see: the documents as of the last refresh. */
  searchable: Map<string, StoredDoc>;
  lastRefresh: number;
  dirty: boolean;
}

/** The answer to one bulk item, in OpenSearch's shape (without the action key). */
export interface ItemResult {
  _index: string;
  _id: string;
  _version?: number;
  result?: 'created' | 'updated' | 'deleted' | 'not_found' | 'noop';
  _shards?: { total: number; successful: number; failed: number };
  _seq_no?: number;
  _primary_term?: number;
  status: number;
  error?: OpenSearchError;
}

/** The primary term every write reports: the cluster never fails over. */
const PRIMARY_TERM = 1;
/** A single node with OpenSearch's default of one replica: the replica is never assigned. */
const SHARDS = { total: 2, successful: 1, failed: 0 };
const REFRESH_INTERVAL_MS = 1_000;
/** The `_source` of every document when sources are not kept: one shared, frozen object. */
const NO_SOURCE = Object.freeze({});

/** The characters OpenSearch forbids in index names (`MetadataCreateIndexService`). */
const INVALID_INDEX_CHARACTERS = ['\\', '/', '*', '?', '"', '<', '>', '|', ' ', ',', '#', ':'];

export class Store {
  readonly indices = new Map<string, Index>();
  autoCreateIndex: boolean;
  readonly #keepSources: boolean;
  #idSequence = 0;

  constructor(options: { autoCreateIndex: boolean; keepSources: boolean }) {
    this.autoCreateIndex = options.autoCreateIndex;
    this.#keepSources = options.keepSources;
  }

  /**
   * Creates an index.
   *
   * @throws OpenSearchFailure 400 for an invalid name or an existing index.
   */
  create(name: string, mapping: RootMapping): Index {
    const invalid = invalidIndexName(name);
    if (invalid !== undefined) throw new OpenSearchFailure(400, invalid);
    const existing = this.indices.get(name);
    if (existing !== undefined) {
      throw new OpenSearchFailure(400, {
        type: 'resource_already_exists_exception',
        reason: `index [${name}/${existing.uuid}] already exists`,
        index_uuid: existing.uuid,
        index: name,
      });
    }
    const index: Index = {
      name,
      uuid: randomBytes(16).toString('base64url').slice(0, 22),
      createdAt: Date.now(),
      mapping,
      docs: new Map(),
      nextSeqNo: 0,
      searchable: new Map(),
      lastRefresh: Date.now(),
      dirty: false,
    };
    this.indices.set(name, index);
    return index;
  }

  /** The index, or a 404 `index_not_found_exception` for reads. */
  require(name: string): Index {
    const index = this.indices.get(name);
    if (index === undefined)
      throw new OpenSearchFailure(404, indexNotFound(name, 'index_or_alias'));
    return index;
  }

  /** Makes every write so far visible to search and count. */
  refresh(index: Index): void {
    if (index.dirty) index.searchable = new Map(index.docs);
    index.dirty = false;
    index.lastRefresh = Date.now();
  }

  /** The documents search sees, refreshing first when a periodic refresh is due. */
  searchable(index: Index): Map<string, StoredDoc> {
    if (index.dirty && Date.now() - index.lastRefresh >= REFRESH_INTERVAL_MS) this.refresh(index);
    return index.searchable;
  }

  /** Applies one bulk operation and returns its item result (success or item failure). */
  apply(operation: BulkOperation, id: string): ItemResult {
    try {
      return this.#apply(operation, id);
    } catch (error) {
      if (!(error instanceof OpenSearchFailure)) throw error;
      return { _index: operation.index, _id: id, status: error.status, error: error.error };
    }
  }

  /** A new id as OpenSearch generates them: 15 time-ordered bytes, 20 base64url characters. */
  generateId(): string {
    const bytes = Buffer.alloc(15);
    bytes.writeUIntBE(Date.now(), 0, 6);
    bytes.writeUIntBE(this.#idSequence++ & 0xffffff, 6, 3);
    randomBytes(6).copy(bytes, 9);
    return bytes.toString('base64url');
  }

  #apply(operation: BulkOperation, id: string): ItemResult {
    const index = this.#indexForWrite(operation);
    if (operation.externalVersion) {
      throw new OpenSearchFailure(400, {
        type: 'illegal_argument_exception',
        reason: 'external versioning is not emulated by the OpenSearch test server',
      });
    }
    const current = index.docs.get(id);
    this.#checkSeqNo(operation, index, id, current);
    switch (operation.action) {
      case 'index':
      case 'create': {
        if (operation.action === 'create' && current !== undefined) {
          throw versionConflict(
            index,
            `[${id}]: version conflict, document already exists (current version [${current.version}])`,
          );
        }
        const source = this.#checkDocument(operation, index, id);
        return this.#write(index, id, source, current);
      }
      case 'update':
        return this.#update(operation, index, id, current);
      case 'delete': {
        const seqNo = index.nextSeqNo++;
        if (current === undefined) {
          return result(index, id, 1, 'not_found', seqNo, 404);
        }
        index.docs.delete(id);
        index.dirty = true;
        return result(index, id, current.version + 1, 'deleted', seqNo, 200);
      }
    }
  }

  #indexForWrite(operation: BulkOperation): Index {
    const existing = this.indices.get(operation.index);
    if (existing !== undefined) return existing;
    // A delete never creates its index (TransportBulkAction skips deletes when auto-creating).
    if (operation.action === 'delete') {
      throw new OpenSearchFailure(404, indexNotFound(operation.index, 'index_expression'));
    }
    const invalid = invalidIndexName(operation.index);
    if (invalid !== undefined) throw new OpenSearchFailure(400, invalid);
    if (!this.autoCreateIndex) {
      throw new OpenSearchFailure(
        404,
        indexNotFound(
          operation.index,
          'index_expression',
          ' and [action.auto_create_index] is [false]',
        ),
      );
    }
    return this.create(operation.index, {});
  }

  #checkSeqNo(operation: BulkOperation, index: Index, id: string, current: StoredDoc | undefined) {
    if (operation.ifSeqNo === undefined && operation.ifPrimaryTerm === undefined) return;
    if (current === undefined) {
      throw versionConflict(
        index,
        `[${id}]: version conflict, required seqNo [${operation.ifSeqNo}], primary term [${operation.ifPrimaryTerm}] but no document was found`,
      );
    }
    if (current.seqNo !== operation.ifSeqNo || operation.ifPrimaryTerm !== PRIMARY_TERM) {
      throw versionConflict(
        index,
        `[${id}]: version conflict, required seqNo [${operation.ifSeqNo}], primary term [${operation.ifPrimaryTerm}]. current document has seqNo [${current.seqNo}] and primary term [${PRIMARY_TERM}]`,
      );
    }
  }

  /** The document of an index/create, checked against (and dynamically extending) the mapping. */
  #checkDocument(operation: BulkOperation, index: Index, id: string): unknown {
    if (operation.documentEmpty) {
      throw new OpenSearchFailure(400, {
        type: 'mapper_parsing_exception',
        reason: 'failed to parse, document is empty',
      });
    }
    if (operation.documentError !== undefined) {
      throw new OpenSearchFailure(400, {
        type: 'mapper_parsing_exception',
        reason: 'failed to parse',
        caused_by: { type: 'json_parse_exception', reason: operation.documentError },
      });
    }
    index.mapping = parseDocument(index.mapping, operation.document, id);
    return operation.document;
  }

  #update(
    operation: BulkOperation,
    index: Index,
    id: string,
    current: StoredDoc | undefined,
  ): ItemResult {
    const update = operation.update;
    if (update === undefined) throw new Error('update operation without a body');
    if (update.script) {
      throw new OpenSearchFailure(400, {
        type: 'illegal_argument_exception',
        reason: 'scripted updates are not emulated by the OpenSearch test server',
      });
    }
    if (current === undefined) {
      const upsert = update.docAsUpsert ? update.doc : update.upsert;
      if (upsert === undefined) {
        throw new OpenSearchFailure(404, {
          type: 'document_missing_exception',
          reason: `[${id}]: document missing`,
          index_uuid: index.uuid,
          shard: '0',
          index: index.name,
        });
      }
      index.mapping = parseDocument(index.mapping, upsert, id);
      return this.#write(index, id, upsert, undefined);
    }
    if (update.doc === undefined) {
      throw new OpenSearchFailure(400, {
        type: 'action_request_validation_exception',
        reason: 'Validation Failed: 1: script or doc is missing;',
      });
    }
    const merged = mergeDocuments(current.source, update.doc);
    if (update.detectNoop && JSON.stringify(merged) === JSON.stringify(current.source)) {
      return {
        _index: index.name,
        _id: id,
        _version: current.version,
        result: 'noop',
        _shards: { total: 0, successful: 0, failed: 0 },
        _seq_no: current.seqNo,
        _primary_term: PRIMARY_TERM,
        status: 200,
      };
    }
    index.mapping = parseDocument(index.mapping, merged, id);
    return this.#write(index, id, merged, current);
  }

  #write(index: Index, id: string, source: unknown, current: StoredDoc | undefined): ItemResult {
    const version = (current?.version ?? 0) + 1;
    const seqNo = index.nextSeqNo++;
    index.docs.set(id, { source: this.#keepSources ? source : NO_SOURCE, version, seqNo });
    index.dirty = true;
    return current === undefined
      ? result(index, id, version, 'created', seqNo, 201)
      : result(index, id, version, 'updated', seqNo, 200);
  }
}

function result(
  index: Index,
  id: string,
  version: number,
  outcome: NonNullable<ItemResult['result']>,
  seqNo: number,
  status: number,
): ItemResult {
  return {
    _index: index.name,
    _id: id,
    _version: version,
    result: outcome,
    _shards: { ...SHARDS },
    _seq_no: seqNo,
    _primary_term: PRIMARY_TERM,
    status,
  };
}

function versionConflict(index: Index, reason: string): OpenSearchFailure {
  return new OpenSearchFailure(409, {
    type: 'version_conflict_engine_exception',
    reason,
    index: index.name,
    shard: '0',
    index_uuid: index.uuid,
  });
}

/** A partial update's merge: objects merge member by member, everything else is replaced. */
function mergeDocuments(current: unknown, doc: Record<string, unknown>): unknown {
  if (!isObject(current)) return doc;
  const merged: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(doc)) {
    merged[key] =
      isObject(value) && isObject(merged[key]) ? mergeDocuments(merged[key], value) : value;
  }
  return merged;
}

/** Why OpenSearch refuses `name` as an index name; undefined when it is valid. */
export function invalidIndexName(name: string): OpenSearchError | undefined {
  const invalid = (reason: string): OpenSearchError => ({
    type: 'invalid_index_name_exception',
    reason: `Invalid index name [${name}], ${reason}`,
    index_uuid: '_na_',
    index: name,
  });
  if (name !== name.toLowerCase()) return invalid('must be lowercase');
  const character = INVALID_INDEX_CHARACTERS.find((forbidden) => name.includes(forbidden));
  if (character !== undefined) {
    return invalid(
      `must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?, :, #]`,
    );
  }
  if (/^[-_+]/.test(name)) return invalid("must not start with '_', '-', or '+'");
  if (name === '.' || name === '..') return invalid("must not be '.' or '..'");
  if (Buffer.byteLength(name) > 255) return invalid('index name is too long, (256 > 255)');
  return undefined;
}
