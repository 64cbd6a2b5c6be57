/**
 * The public shape of the OpenSearch-protocol test server (`server.ts`): what tests
 * and the benchmark code against. Kept in its own file so the types can be read (and imported)
 * without the implementation.
 */

/** A `_bulk` action, as named in the action/metadata line. */
export type BulkAction = 'index' | 'create' | 'update' | 'delete';

/** Options of `startOpenSearchServer`. */
export interface OpenSearchServerOptions {
  /**
   * Require HTTP basic auth with these credentials on every request, as the security plugin
   * does: a missing or wrong `Authorization` gets 401 with `WWW-Authenticate`.
   */
  auth?: { username: string; password: string };
  /** Serve HTTPS with this PEM key and certificate instead of plain HTTP. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /**
   * `action.auto_create_index`: whether a write to a missing index creates it. Default `true`.
   * Also settable at run time with {@link OpenSearchServer.setAutoCreateIndex} or
   * `PUT /_cluster/settings`.
   */
  autoCreateIndex?: boolean;
  /**
   * `http.max_content_length`: larger request bodies (as received, or after gunzip) get 413.
   * Default 100 MiB, OpenSearch's default.
   */
  maxBodyBytes?: number;
  /**
   * How many bulk requests {@link OpenSearchServer.bulkRequests} keeps (the oldest are dropped
   * first). Default 1,000; 0 keeps none (the benchmark's setting).
   */
  bulkLogLimit?: number;
  /**
   * Keep each document's `_source` (default `true`). With `false` only ids, versions and the
   * mapping are kept, so a benchmark can index millions of documents in bounded memory;
   * `_source` then reads as `{}`.
   */
  keepSources?: boolean;
  /**
   * Called with every bulk item once its outcome is decided, in order: lets a benchmark
   * account for each document without the server keeping sources or a log.
   */
  onItem?: (item: ItemOutcome) => void;
  /** The node and cluster names `GET /` reports. Defaults `opensearch-node1`, `opensearch-cluster`. */
  nodeName?: string;
  clusterName?: string;
}

/**
 * The error OpenSearch reports for a failed item or request: `type` and `reason`, plus the
 * extra members some types carry (`index`, `shard`, `index_uuid`, `caused_by`, ...).
 */
export interface OpenSearchError {
  type: string;
  reason: string;
  caused_by?: OpenSearchError;
  [member: string]: unknown;
}

/** One item of a bulk request as the server saw and answered it. */
export interface BulkItemLog {
  /** The action (an `index` with `op_type: create` is logged as `create`). */
  action: BulkAction;
  /** The target index (from the action line, else the path). */
  index: string;
  /** The `_id`: the one sent, or the one the server generated (`idGenerated`). */
  id: string;
  /** The server generated the id (an `index`/`create` without `_id`). */
  idGenerated: boolean;
  /** The item's status in the answer (201, 200, 404, 409, 400, 429, ...). */
  status: number;
  /** The item's `error`, when it failed. */
  error?: OpenSearchError;
  /** A fault the test set decided this item's outcome (it was then not applied). */
  injected: boolean;
}

/**
 * One `_bulk` request, recorded once it was answered (or its connection dropped) — refused
 * ones too (401, 413, 400, 406, injected 429/5xx), with no items.
 */
export interface BulkRequestLog {
  /** Position among all bulk requests since start (not reset by the log's bound). */
  seq: number;
  method: string;
  /** Path and query as sent, e.g. `/_bulk?refresh=true`. */
  path: string;
  /** Request headers with lower-case names, `authorization` left out. */
  headers: Readonly<Record<string, string>>;
  /** The body as received (gzip-compressed when `Content-Encoding: gzip`). */
  rawBody: Buffer;
  /** The HTTP status answered; 0 when the connection was dropped instead. */
  status: number;
  /** The whole-request error, when the request was refused as a whole (400, 429, 503, ...). */
  error?: OpenSearchError | string;
  /** Every item, in request order; empty when the request was refused as a whole. */
  items: BulkItemLog[];
  /** The `errors` flag of the answer. */
  errors: boolean;
  /** The answer was due after the client had closed the connection (it gave up waiting). */
  clientGone: boolean;
  /** Which whole-request fault, if any, shaped the answer (`'status'`, `'drop'`, `'slow'`). */
  fault?: 'status' | 'drop' | 'slow';
}

/** What an item-fault predicate sees of an item. */
export interface ItemMatch {
  action: BulkAction;
  index: string;
  /** The `_id` sent; undefined when the server will generate one. */
  id: string | undefined;
  /** The parsed document line (`undefined` for `delete`, or when it is not JSON). */
  document: unknown;
}

/** What {@link OpenSearchServerOptions.onItem} is told of a bulk item. */
export interface ItemOutcome extends ItemMatch {
  /** The `_id` answered (the generated one when none was sent). */
  id: string;
  /** The item's status: 201 created, 200 updated or deleted, 4xx/5xx failed. */
  status: number;
  /** A fault the test set decided the outcome. */
  injected: boolean;
}

/**
 * A per-item failure to inject. A bare number is a status with its usual OpenSearch error:
 * 429 `rejected_execution_exception` (write thread pool full), 500 `exception`,
 * 503 `unavailable_shards_exception`, 400 `mapper_parsing_exception`, 409
 * `version_conflict_engine_exception`, 404 `index_not_found_exception`. `type`/`reason`
 * override the defaults (e.g. `es_rejected_execution_exception`, what Elasticsearch 7 and
 * OpenSearch 1.x name the 429).
 */
export type ItemFailure = number | { status: number; type?: string; reason?: string };

/** How a whole request is answered by {@link OpenSearchFaults.failRequests}. */
export interface RequestFailure {
  /** 429 (OpenSearch's JSON `rejected_execution_exception`), 500, 502/504 (a proxy's HTML), 503. */
  status: number;
  /** Replace the default body; sent as `contentType` (default `application/json; charset=UTF-8`). */
  body?: string;
  contentType?: string;
}

/** Faults a test can set; each lasts until used up or {@link clear}ed. */
export interface OpenSearchFaults {
  /**
   * The next `count` items (over however many requests) fail with `failure` (default 429),
   * unapplied — a 429 storm. Queued after any earlier item scripts.
   */
  failItems(count: number, failure?: ItemFailure): void;
  /**
   * Per-item outcomes for the next items, in order: `'ok'` processes the item normally, a
   * failure answers it so. For mixed outcomes within one response.
   */
  scriptItems(...outcomes: Array<'ok' | ItemFailure>): void;
  /**
   * Every item `predicate` matches fails with `failure` (default 429), at most `times` times
   * (default unlimited). Returns a function that removes the rule.
   */
  failItemsWhere(
    predicate: (item: ItemMatch) => boolean,
    failure?: ItemFailure,
    times?: number,
  ): () => void;
  /**
   * The next `count` bulk requests (every request with `allRequests`) are answered as a whole
   * with `failure` (a status number, or the full shape), without applying anything.
   */
  failRequests(
    count: number,
    failure: number | RequestFailure,
    options?: { allRequests?: boolean },
  ): void;
  /**
   * The next `count` bulk requests (default: all until cleared) are answered `delayMs` late.
   * `applyFirst` (default `true`) applies the writes at once and holds the answer, so a client
   * that gives up has still written; `false` waits first, then applies and answers (a real
   * cluster still applies a bulk whose client went away).
   */
  slow(delayMs: number, options?: { count?: number; applyFirst?: boolean }): void;
  /**
   * The next `count` bulk requests get their connection destroyed instead of an answer, once
   * the body is read. `afterApply` (default `false`) applies the writes first.
   */
  dropConnections(count: number, options?: { afterApply?: boolean }): void;
  /** Removes every fault (the documents, indices and log stay). */
  clear(): void;
}

/** A stored document, as the in-process accessors return it. */
export interface StoredDocument {
  /** The `_source` (`{}` with `keepSources: false`). */
  source: unknown;
  /** `_version`, 1 on creation, +1 on every write. */
  version: number;
}

/** Item counts since start (or {@link OpenSearchServer.reset}), for benchmarks. */
export interface OpenSearchServerStats {
  bulkRequests: number;
  items: number;
  /** Items answered with a 2xx status, or `delete`'s 404 `not_found`. */
  succeeded: number;
  /** Items by failure status, e.g. `{ "400": 12, "429": 3 }`. */
  failedByStatus: Record<string, number>;
}

/** A running server, from `startOpenSearchServer`. */
export interface OpenSearchServer {
  /** The base URL, e.g. `http://127.0.0.1:PORT` (`https://` with TLS), no trailing slash. */
  readonly url: string;
  /** The faults a test can set. */
  readonly faults: OpenSearchFaults;
  /** A copy of an index's documents, id → source and version; empty for a missing index. */
  documents(index: string): Map<string, StoredDocument>;
  /** The names of the existing indices, sorted. */
  indices(): string[];
  /** The index's mapping as `GET /<index>/_mapping` reports it; undefined for a missing index. */
  mapping(index: string): unknown;
  /** The recorded bulk requests, oldest first (bounded by `bulkLogLimit`). */
  bulkRequests(): BulkRequestLog[];
  /** Item counts since start or {@link reset}. */
  stats(): OpenSearchServerStats;
  /** Turns `action.auto_create_index` on or off. */
  setAutoCreateIndex(enabled: boolean): void;
  /**
   * Resolves once `index` holds at least `count` documents; rejects, saying how many it holds,
   * after `timeoutMs` or when the server closes.
   */
  waitForDocuments(index: string, count: number, timeoutMs: number): Promise<void>;
  /** Deletes every index, the bulk log, the counts and every fault. */
  reset(): void;
  /** Stops listening and destroys open connections; resolves when closed. Idempotent. */
  close(): Promise<void>;
}
