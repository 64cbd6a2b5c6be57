import { timingSafeEqual } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';

import { listenOnLoopback } from '../free-port.js';
import { type BulkOperation, parseBulkBody } from './bulk.js';
import {
  OpenSearchFailure,
  defaultItemError,
  errorBody,
  illegalArgument,
  requestFailureBody,
} from './errors.js';
import { filterPath } from './filter-path.js';
import { isObject, parseMappings } from './mapping.js';
import { type Index, type ItemResult, Store } from './store.js';
import type {
  BulkItemLog,
  BulkRequestLog,
  ItemFailure,
  ItemMatch,
  OpenSearchError,
  OpenSearchFaults,
  OpenSearchServer,
  OpenSearchServerOptions,
  OpenSearchServerStats,
  RequestFailure,
  StoredDocument,
} from './types.js';

export type * from './types.js';

/**
 * A loopback server speaking the OpenSearch 2.x REST protocol — the one stand-in DESIGN.md
 * allows, since no OpenSearch can run on these machines. `_bulk` is implemented faithfully
 * (NDJSON actions, per-item statuses, `errors`, version conflicts, mapping errors from real
 * dynamic and explicit mappings), with the reads tests need (`_doc`, `_count`, `_search`,
 * `_mapping`, `_cat/indices`), optional basic auth and TLS, and faults a test can set: 429
 * storms, per-item 5xx, whole-request 429/502/503, a slow cluster, dropped connections.
 */

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

const MIB = 1024 * 1024;
const DEFAULT_MAX_BODY_BYTES = 100 * MIB;
const DEFAULT_BULK_LOG_LIMIT = 1_000;
const CLOSE_TIMEOUT_MS = 5_000;
const JSON_TYPE = 'application/json; charset=UTF-8';
/** OpenSearch counts hits exactly up to this many unless `track_total_hits: true`. */
const TRACK_TOTAL_HITS_DEFAULT = 10_000;
/** The version `GET /` reports: a recent OpenSearch 2.x. */
const VERSION = {
  distribution: 'opensearch',
  number: '2.19.1',
  build_type: 'tar',
  build_hash: '2e4741fb45d1b150aaeeadf66d41445b23ff5982',
  build_date: '2025-02-27T01:16:47.726162386Z',
  build_snapshot: false,
  lucene_version: '9.12.1',
  minimum_wire_compatibility_version: '7.10.0',
  minimum_index_compatibility_version: '7.0.0',
};

/** Query parameters `_bulk` accepts; any other is refused as OpenSearch refuses it. */
const BULK_PARAMETERS = new Set([
  'refresh',
  'routing',
  'timeout',
  'wait_for_active_shards',
  'pipeline',
  'require_alias',
  '_source',
  '_source_includes',
  '_source_excludes',
  'type',
]);
const COMMON_PARAMETERS = new Set(['pretty', 'human', 'error_trace', 'filter_path', 'source']);

/**
 * Starts the server on 127.0.0.1 at a free port. Close it with {@link OpenSearchServer.close}.
 */
export async function startOpenSearchServer(
  options: OpenSearchServerOptions = {},
): Promise<OpenSearchServer> {
  const server = new TestCluster(options);
  const port = await listenOnLoopback(server.server);
  server.url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return server;
}

/** An answer to send: JSON (a value) or raw bytes of a content type. */
interface Answer {
  status: number;
  json?: unknown;
  raw?: { body: string | Buffer; contentType: string };
  headers?: Record<string, string>;
}

/** A queued per-item outcome, for `failItems` (counted) and `scriptItems` (one each). */
interface ItemScript {
  remaining: number;
  outcome: 'ok' | ItemFailure;
}

interface ItemRule {
  predicate: (item: ItemMatch) => boolean;
  failure: ItemFailure;
  remaining: number;
}

interface RequestFault {
  remaining: number;
  failure: RequestFailure;
  allRequests: boolean;
}

interface SlowFault {
  delayMs: number;
  remaining: number;
  applyFirst: boolean;
}

interface DropFault {
  remaining: number;
  afterApply: boolean;
}

interface Waiter {
  check(): void;
  fail(why: string): void;
}

/** The request as routed: method, path segments, query. */
interface Route {
  method: string;
  path: string;
  segments: string[];
  query: URLSearchParams;
  headers: Record<string, string>;
  rawBody: Buffer;
  body: Buffer;
}

class TestCluster implements OpenSearchServer {
  url = '';
  readonly server: Server;
  readonly faults: OpenSearchFaults;

  readonly #options: OpenSearchServerOptions;
  readonly #store: Store;
  readonly #maxBodyBytes: number;
  readonly #bulkLogLimit: number;
  readonly #bulkLog: BulkRequestLog[] = [];
  #bulkSeq = 0;
  #stats: OpenSearchServerStats = emptyStats();
  #itemScripts: ItemScript[] = [];
  #itemRules: ItemRule[] = [];
  #requestFaults: RequestFault[] = [];
  #slow: SlowFault | undefined;
  #drops: DropFault[] = [];
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #waiters = new Set<Waiter>();
  #closing: Promise<void> | undefined;

  constructor(options: OpenSearchServerOptions) {
    this.#options = options;
    this.#store = new Store({
      autoCreateIndex: options.autoCreateIndex ?? true,
      keepSources: options.keepSources ?? true,
    });
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#bulkLogLimit = options.bulkLogLimit ?? DEFAULT_BULK_LOG_LIMIT;
    const onRequest = (request: IncomingMessage, response: ServerResponse) => {
      void this.#handle(request, response);
    };
    this.server = options.tls
      ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, onRequest)
      : createHttpServer(onRequest);
    // Track TCP sockets (TLS ones included, by their underlying connection) to destroy on close.
    this.server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    this.faults = this.#makeFaults();
  }

  documents(index: string): Map<string, StoredDocument> {
    const found = this.#store.indices.get(index);
    const copy = new Map<string, StoredDocument>();
    if (found === undefined) return copy;
    for (const [id, doc] of found.docs) copy.set(id, { source: doc.source, version: doc.version });
    return copy;
  }

  indices(): string[] {
    return [...this.#store.indices.keys()].sort();
  }

  mapping(index: string): unknown {
    const found = this.#store.indices.get(index);
    return found === undefined ? undefined : structuredClone(found.mapping);
  }

  bulkRequests(): BulkRequestLog[] {
    return [...this.#bulkLog];
  }

  stats(): OpenSearchServerStats {
    return structuredClone(this.#stats);
  }

  setAutoCreateIndex(enabled: boolean): void {
    this.#store.autoCreateIndex = enabled;
  }

  waitForDocuments(index: string, count: number, timeoutMs: number): Promise<void> {
    const held = () => this.#store.indices.get(index)?.docs.size ?? 0;
    return new Promise<void>((resolve, reject) => {
      if (this.#closing) {
        reject(new Error(`opensearch server: closed; index ${index} holds ${held()} documents`));
        return;
      }
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      const waiter: Waiter = {
        check: () => {
          if (held() < count) return;
          finish();
          resolve();
        },
        fail: (why) => {
          finish();
          reject(
            new Error(
              `opensearch server: index ${index} holds ${held()} of ${count} documents ${why}`,
            ),
          );
        },
      };
      const timer = setTimeout(() => waiter.fail(`after ${timeoutMs} ms`), timeoutMs);
      this.#waiters.add(waiter);
      waiter.check();
    });
  }

  reset(): void {
    this.#store.indices.clear();
    this.#bulkLog.splice(0);
    this.#stats = emptyStats();
    this.faults.clear();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const waiter of [...this.#waiters]) waiter.fail('before the server closed');
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    const closed = new Promise<void>((resolve, reject) =>
      this.server.close((error) => (error ? reject(error) : resolve())),
    );
    for (const socket of this.#sockets) socket.destroy();
    let bound: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      bound = setTimeout(
        () => reject(new Error(`opensearch server: not closed within ${CLOSE_TIMEOUT_MS} ms`)),
        CLOSE_TIMEOUT_MS,
      );
      bound.unref();
    });
    try {
      await Promise.race([closed, timedOut]);
    } finally {
      clearTimeout(bound);
    }
  }

  #makeFaults(): OpenSearchFaults {
    return {
      failItems: (count, failure = 429) => {
        if (count > 0) this.#itemScripts.push({ remaining: count, outcome: failure });
      },
      scriptItems: (...outcomes) => {
        for (const outcome of outcomes) this.#itemScripts.push({ remaining: 1, outcome });
      },
      failItemsWhere: (predicate, failure = 429, times = Number.POSITIVE_INFINITY) => {
        const rule: ItemRule = { predicate, failure, remaining: times };
        this.#itemRules.push(rule);
        return () => {
          this.#itemRules = this.#itemRules.filter((other) => other !== rule);
        };
      },
      failRequests: (count, failure, options = {}) => {
        if (count <= 0) return;
        this.#requestFaults.push({
          remaining: count,
          failure: typeof failure === 'number' ? { status: failure } : failure,
          allRequests: options.allRequests ?? false,
        });
      },
      slow: (delayMs, options = {}) => {
        this.#slow = {
          delayMs,
          remaining: options.count ?? Number.POSITIVE_INFINITY,
          applyFirst: options.applyFirst ?? true,
        };
      },
      dropConnections: (count, options = {}) => {
        if (count > 0)
          this.#drops.push({ remaining: count, afterApply: options.afterApply ?? false });
      },
      clear: () => {
        this.#itemScripts = [];
        this.#itemRules = [];
        this.#requestFaults = [];
        this.#slow = undefined;
        this.#drops = [];
      },
    };
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let route: Route;
    let tooLarge: boolean;
    try {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const rawBody = await readBody(request, this.#maxBodyBytes);
      tooLarge = rawBody === undefined;
      route = {
        method: request.method ?? 'GET',
        path: url.pathname,
        segments: url.pathname
          .split('/')
          .filter((segment) => segment !== '')
          .map((segment) => decodeURIComponent(segment)),
        query: url.searchParams,
        headers: lowerCaseHeaders(request),
        rawBody: rawBody ?? Buffer.alloc(0),
        body: rawBody ?? Buffer.alloc(0),
      };
    } catch {
      // The client went away mid-body (or the server closed): nothing to answer.
      request.socket.destroy();
      return;
    }
    const isBulk = route.segments.at(-1) === '_bulk' && route.segments.length <= 2;
    /** Answers a request refused as a whole, logging it when it is a bulk request. */
    const refuse = (answer: Answer, fault?: BulkRequestLog['fault']): void => {
      if (isBulk)
        this.#logBulk(route, answer.status, [], false, problemError(answer), fault, false);
      this.#send(response, answer);
    };
    // http.max_content_length: OpenSearch's HTTP layer answers 413 with no body.
    const contentTooLong: Answer = { status: 413, raw: { body: '', contentType: 'text/plain' } };
    try {
      if (!this.#authorised(route.headers.authorization)) {
        refuse({
          status: 401,
          raw: { body: 'Unauthorized', contentType: 'text/plain; charset=UTF-8' },
          headers: { 'www-authenticate': 'Basic realm="OpenSearch Security"' },
        });
        return;
      }
      if (tooLarge) {
        refuse(contentTooLong);
        return;
      }
      const decoded = await decodeBody(
        route.headers['content-encoding'],
        route.rawBody,
        this.#maxBodyBytes,
      );
      if (decoded === 'too-large') {
        refuse(contentTooLong);
        return;
      }
      route.body = decoded;
      const requestFault = this.#takeRequestFault(isBulk);
      if (requestFault !== undefined) {
        const failure = requestFault.failure;
        const fallback = requestFailureBody(failure.status);
        const raw = {
          body: failure.body ?? fallback.body,
          contentType: failure.contentType ?? fallback.contentType,
        };
        refuse({ status: failure.status, raw }, 'status');
        return;
      }
      if (isBulk) {
        await this.#bulk(route, request, response);
        return;
      }
      const answer = this.#route(route);
      this.#send(response, withFilterPath(answer, route.query.get('filter_path')));
    } catch (error) {
      refuse(failureAnswer(error));
    }
  }

  #authorised(authorization: string | undefined): boolean {
    const auth = this.#options.auth;
    if (auth === undefined) return true;
    if (authorization === undefined || !authorization.startsWith('Basic ')) return false;
    const given = Buffer.from(authorization.slice(6).trim(), 'base64');
    const expected = Buffer.from(`${auth.username}:${auth.password}`);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  #takeRequestFault(isBulk: boolean): RequestFault | undefined {
    const fault = this.#requestFaults.find((candidate) => isBulk || candidate.allRequests);
    if (fault === undefined) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.#requestFaults = this.#requestFaults.filter((f) => f !== fault);
    return fault;
  }

  async #bulk(route: Route, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = Date.now();
    const allowed = ['POST', 'PUT'];
    if (!allowed.includes(route.method)) {
      this.#send(response, methodNotAllowed(route, allowed));
      return;
    }
    const problem =
      checkContentType(route.headers['content-type'], route.body) ?? checkParameters(route.query);
    if (problem !== undefined) {
      this.#logBulk(route, problem.status, [], false, problemError(problem), undefined, false);
      this.#send(response, problem);
      return;
    }
    const defaultIndex = route.segments.length === 2 ? route.segments[0] : undefined;
    let operations: BulkOperation[];
    try {
      operations = parseBulkBody(route.body.toString('utf8'), defaultIndex);
    } catch (error) {
      const answer = failureAnswer(error);
      this.#logBulk(route, answer.status, [], false, problemError(answer), undefined, false);
      this.#send(response, answer);
      return;
    }

    const drop = this.#takeCounted(this.#drops, (drops) => (this.#drops = drops));
    const slow = this.#takeSlow();
    if (drop !== undefined && !drop.afterApply) {
      this.#logBulk(route, 0, [], false, undefined, 'drop', true);
      request.socket.destroy();
      return;
    }
    if (slow !== undefined && !slow.applyFirst) await this.#delay(slow.delayMs);

    const { items, logged, errors } = this.#applyOperations(operations, route.query.get('refresh'));
    const body = { took: Date.now() - started, errors, items };

    if (drop !== undefined) {
      this.#logBulk(route, 0, logged, errors, undefined, 'drop', true);
      request.socket.destroy();
      return;
    }
    if (slow !== undefined && slow.applyFirst) await this.#delay(slow.delayMs);
    const clientGone = response.destroyed || request.socket.destroyed;
    this.#logBulk(route, 200, logged, errors, undefined, slow ? 'slow' : undefined, clientGone);
    this.#send(
      response,
      withFilterPath({ status: 200, json: body }, route.query.get('filter_path')),
    );
  }

  #applyOperations(
    operations: BulkOperation[],
    refresh: string | null,
  ): { items: unknown[]; logged: BulkItemLog[]; errors: boolean } {
    const items: unknown[] = [];
    const logged: BulkItemLog[] = [];
    const touched = new Set<Index>();
    let errors = false;
    const forcedRefresh = refresh === 'true' || refresh === '';
    for (const operation of operations) {
      const idGenerated = operation.id === undefined;
      const id = operation.id ?? this.#store.generateId();
      const failure = this.#itemFault(operation);
      let result: ItemResult;
      if (failure === undefined) {
        result = this.#store.apply(operation, id);
      } else {
        const status = typeof failure === 'number' ? failure : failure.status;
        const error = defaultItemError(status, operation.index, id);
        if (typeof failure !== 'number') {
          if (failure.type !== undefined) error.type = failure.type;
          if (failure.reason !== undefined) error.reason = failure.reason;
        }
        result = { _index: operation.index, _id: id, status, error };
      }
      const index = this.#store.indices.get(operation.index);
      if (index !== undefined) touched.add(index);
      if (result.error !== undefined) errors = true;
      const item = refreshedItem(result, forcedRefresh);
      items.push({ [operation.action]: item });
      this.#count(result);
      this.#options.onItem?.({
        action: operation.action,
        index: operation.index,
        id,
        document: operation.action === 'update' ? operation.update?.doc : operation.document,
        status: result.status,
        injected: failure !== undefined,
      });
      if (this.#bulkLogLimit > 0) {
        logged.push({
          action: operation.action,
          index: operation.index,
          id,
          idGenerated,
          status: result.status,
          ...(result.error === undefined ? {} : { error: result.error }),
          injected: failure !== undefined,
        });
      }
    }
    if (refresh !== null && refresh !== 'false') {
      for (const index of touched) this.#store.refresh(index);
    }
    this.#notify();
    return { items, logged, errors };
  }

  /** The injected failure for this item, if a script or rule decides it. */
  #itemFault(operation: BulkOperation): ItemFailure | undefined {
    const script = this.#itemScripts[0];
    if (script !== undefined) {
      script.remaining -= 1;
      if (script.remaining <= 0) this.#itemScripts.shift();
      if (script.outcome !== 'ok') return script.outcome;
    }
    if (this.#itemRules.length === 0) return undefined;
    const match: ItemMatch = {
      action: operation.action,
      index: operation.index,
      id: operation.id,
      document: operation.action === 'update' ? operation.update?.doc : operation.document,
    };
    for (const rule of this.#itemRules) {
      if (rule.remaining <= 0 || !rule.predicate(match)) continue;
      rule.remaining -= 1;
      return rule.failure;
    }
    return undefined;
  }

  #count(result: ItemResult): void {
    this.#stats.items += 1;
    if (result.error === undefined) {
      this.#stats.succeeded += 1;
    } else {
      const key = String(result.status);
      this.#stats.failedByStatus[key] = (this.#stats.failedByStatus[key] ?? 0) + 1;
    }
  }

  #takeCounted<T extends { remaining: number }>(
    queue: T[],
    replace: (queue: T[]) => void,
  ): T | undefined {
    const first = queue[0];
    if (first === undefined) return undefined;
    first.remaining -= 1;
    if (first.remaining <= 0) replace(queue.slice(1));
    return first;
  }

  #takeSlow(): SlowFault | undefined {
    const slow = this.#slow;
    if (slow === undefined) return undefined;
    slow.remaining -= 1;
    if (slow.remaining <= 0) this.#slow = undefined;
    return slow;
  }

  #delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      timer.unref();
      this.#timers.add(timer);
    });
  }

  #logBulk(
    route: Route,
    status: number,
    items: BulkItemLog[],
    errors: boolean,
    error: OpenSearchError | string | undefined,
    fault: BulkRequestLog['fault'],
    clientGone: boolean,
  ): void {
    this.#bulkSeq += 1;
    this.#stats.bulkRequests += 1;
    if (this.#bulkLogLimit <= 0) return;
    const headers = { ...route.headers };
    delete headers.authorization;
    this.#bulkLog.push({
      seq: this.#bulkSeq - 1,
      method: route.method,
      path: route.path + (route.query.size > 0 ? `?${route.query.toString()}` : ''),
      headers,
      rawBody: route.rawBody,
      status,
      ...(error === undefined ? {} : { error }),
      items,
      errors,
      clientGone,
      ...(fault === undefined ? {} : { fault }),
    });
    if (this.#bulkLog.length > this.#bulkLogLimit) this.#bulkLog.shift();
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter.check();
  }

  #send(response: ServerResponse, answer: Answer): void {
    if (response.destroyed || response.socket === null || response.socket.destroyed) return;
    const body =
      answer.raw !== undefined
        ? Buffer.from(answer.raw.body)
        : Buffer.from(answer.json === undefined ? '' : JSON.stringify(answer.json));
    const contentType = answer.raw?.contentType ?? JSON_TYPE;
    response.writeHead(answer.status, {
      'content-type': contentType,
      'content-length': String(body.length),
      ...answer.headers,
    });
    response.end(body);
  }

  /** Every route but `_bulk`. */
  #route(route: Route): Answer {
    const { method, segments } = route;
    const [first, second, third] = segments;
    if (segments.length === 0) {
      if (method === 'GET') return { status: 200, json: this.#info() };
      if (method === 'HEAD') return { status: 200 };
      return methodNotAllowed(route, ['GET', 'HEAD']);
    }
    if (first === '_cat' && second === 'indices' && segments.length <= 3) {
      return this.#catIndices(route, third);
    }
    if (first === '_cluster' && second === 'settings' && segments.length === 2) {
      return this.#clusterSettings(route);
    }
    if (first === '_cluster' && second === 'health' && segments.length <= 3) {
      return { status: 200, json: this.#health() };
    }
    if (first?.startsWith('_') === true && segments.length === 1) {
      return this.#indexEndpoint(route, '_all', first);
    }
    if (first === undefined || first.startsWith('_')) return noHandler(route);
    if (segments.length === 1) return this.#indexItself(route, first);
    if (second === '_doc' || second === '_create')
      return this.#document(route, first, second, third);
    if (segments.length === 2 && second !== undefined)
      return this.#indexEndpoint(route, first, second);
    return noHandler(route);
  }

  #info(): unknown {
    return {
      name: this.#options.nodeName ?? 'opensearch-node1',
      cluster_name: this.#options.clusterName ?? 'opensearch-cluster',
      cluster_uuid: 'sluice-test-cluster-uuid-0000',
      version: VERSION,
      tagline: 'The OpenSearch Project: https://opensearch.org/',
    };
  }

  #health(): unknown {
    const shards = this.#store.indices.size;
    return {
      cluster_name: this.#options.clusterName ?? 'opensearch-cluster',
      status: shards === 0 ? 'green' : 'yellow',
      timed_out: false,
      number_of_nodes: 1,
      number_of_data_nodes: 1,
      discovered_master: true,
      discovered_cluster_manager: true,
      active_primary_shards: shards,
      active_shards: shards,
      relocating_shards: 0,
      initializing_shards: 0,
      unassigned_shards: shards,
      delayed_unassigned_shards: 0,
      number_of_pending_tasks: 0,
      number_of_in_flight_fetch: 0,
      task_max_waiting_in_queue_millis: 0,
      active_shards_percent_as_number: shards === 0 ? 100 : 50,
    };
  }

  #clusterSettings(route: Route): Answer {
    const current = () => ({
      persistent: { action: { auto_create_index: String(this.#store.autoCreateIndex) } },
      transient: {},
    });
    if (route.method === 'GET') return { status: 200, json: current() };
    if (route.method !== 'PUT') return methodNotAllowed(route, ['GET', 'PUT']);
    const body = parseJsonBody(route);
    const settings = { ...flatten(body.persistent), ...flatten(body.transient) };
    for (const [key, value] of Object.entries(settings)) {
      if (key !== 'action.auto_create_index') {
        throw new OpenSearchFailure(
          400,
          illegalArgument(`transient setting [${key}], not recognized by the test server`),
        );
      }
      this.#store.autoCreateIndex = value === null || value === true || value === 'true';
    }
    return { status: 200, json: { acknowledged: true, ...current() } };
  }

  #catIndices(route: Route, pattern: string | undefined): Answer {
    if (route.method !== 'GET') return methodNotAllowed(route, ['GET']);
    const indices =
      pattern === undefined ? [...this.#store.indices.values()] : this.#resolve(pattern);
    const rows = indices
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((index) => {
        const size = `${Math.max(208, index.docs.size * 200)}b`;
        return {
          health: 'yellow',
          status: 'open',
          index: index.name,
          uuid: index.uuid,
          pri: '1',
          rep: '1',
          'docs.count': String(this.#store.searchable(index).size),
          'docs.deleted': '0',
          'store.size': size,
          'pri.store.size': size,
        };
      });
    if (route.query.get('format') === 'json') return { status: 200, json: rows };
    const text = rows.map((row) => `${Object.values(row).join(' ')}\n`).join('');
    return { status: 200, raw: { body: text, contentType: 'text/plain; charset=UTF-8' } };
  }

  /** `PUT`, `HEAD`, `GET` and `DELETE /<index>`. */
  #indexItself(route: Route, name: string): Answer {
    switch (route.method) {
      case 'PUT': {
        const body = route.body.length === 0 ? {} : parseJsonBody(route);
        const mapping = parseMappings(body.mappings);
        this.#store.create(name, mapping);
        return {
          status: 200,
          json: { acknowledged: true, shards_acknowledged: true, index: name },
        };
      }
      case 'HEAD':
        return { status: this.#store.indices.has(name) ? 200 : 404 };
      case 'GET': {
        const result: Record<string, unknown> = {};
        for (const index of this.#resolve(name)) {
          result[index.name] = {
            aliases: {},
            mappings: index.mapping,
            settings: {
              index: {
                number_of_shards: '1',
                number_of_replicas: '1',
                uuid: index.uuid,
                creation_date: String(index.createdAt),
                provided_name: index.name,
                version: { created: '136387927' },
              },
            },
          };
        }
        return { status: 200, json: result };
      }
      case 'DELETE': {
        const indices = this.#resolve(name);
        for (const index of indices) this.#store.indices.delete(index.name);
        return { status: 200, json: { acknowledged: true } };
      }
      default:
        return methodNotAllowed(route, ['PUT', 'HEAD', 'GET', 'DELETE']);
    }
  }

  /** `/<index>/_mapping|_count|_search|_refresh` (and `/_count` etc. over every index). */
  #indexEndpoint(route: Route, pattern: string, endpoint: string): Answer {
    const { method } = route;
    switch (endpoint) {
      case '_mapping': {
        if (method === 'PUT' || method === 'POST') return this.#putMapping(route, pattern);
        if (method !== 'GET') return methodNotAllowed(route, ['GET', 'PUT', 'POST']);
        const result: Record<string, unknown> = {};
        for (const index of this.#resolve(pattern))
          result[index.name] = { mappings: index.mapping };
        return { status: 200, json: result };
      }
      case '_refresh': {
        if (method !== 'GET' && method !== 'POST') return methodNotAllowed(route, ['GET', 'POST']);
        const indices = this.#resolve(pattern);
        for (const index of indices) this.#store.refresh(index);
        const total = indices.length;
        return {
          status: 200,
          json: { _shards: { total: total * 2, successful: total, failed: 0 } },
        };
      }
      case '_count': {
        if (method !== 'GET' && method !== 'POST') return methodNotAllowed(route, ['GET', 'POST']);
        const body = route.body.length === 0 ? {} : parseJsonBody(route);
        const indices = this.#resolve(pattern);
        const matches = this.#matching(indices, body.query);
        return {
          status: 200,
          json: { count: matches.length, _shards: shardsOf(indices.length) },
        };
      }
      case '_search':
        if (method !== 'GET' && method !== 'POST') return methodNotAllowed(route, ['GET', 'POST']);
        return this.#search(route, pattern);
      default:
        return noHandler(route);
    }
  }

  #putMapping(route: Route, pattern: string): Answer {
    const body = parseJsonBody(route);
    const update = parseMappings(body);
    for (const index of this.#resolve(pattern)) {
      const properties = { ...index.mapping.properties };
      for (const [name, field] of Object.entries(update.properties ?? {})) {
        const existing = properties[name];
        if (
          existing?.type !== undefined &&
          field.type !== undefined &&
          existing.type !== field.type
        ) {
          throw new OpenSearchFailure(
            400,
            illegalArgument(
              `mapper [${name}] cannot be changed from type [${existing.type}] to [${field.type}]`,
            ),
          );
        }
        properties[name] = field;
      }
      index.mapping = {
        ...index.mapping,
        ...(update.dynamic === undefined ? {} : { dynamic: update.dynamic }),
        properties,
      };
    }
    return { status: 200, json: { acknowledged: true } };
  }

  #search(route: Route, pattern: string): Answer {
    const body = route.body.length === 0 ? {} : parseJsonBody(route);
    const indices = this.#resolve(pattern);
    const matches = this.#matching(indices, body.query);
    const sortById = sortDirection(body.sort ?? route.query.get('sort') ?? undefined);
    if (sortById !== undefined) {
      matches.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) * sortById);
    }
    const from = Number(body.from ?? route.query.get('from') ?? 0);
    const size = Number(body.size ?? route.query.get('size') ?? 10);
    if (from + size > 10_000) {
      throw new OpenSearchFailure(
        400,
        illegalArgument(
          `Result window is too large, from + size must be less than or equal to: [10000] but was [${from + size}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.`,
        ),
      );
    }
    const hits = matches.slice(from, from + size).map(({ index, id, doc }) => ({
      _index: index,
      _id: id,
      _score: sortById === undefined ? 1.0 : null,
      _source: doc.source,
      ...(sortById === undefined ? {} : { sort: [id] }),
    }));
    const exact = body.track_total_hits === true || matches.length <= TRACK_TOTAL_HITS_DEFAULT;
    return {
      status: 200,
      json: {
        took: 1,
        timed_out: false,
        _shards: shardsOf(indices.length),
        hits: {
          total: exact
            ? { value: matches.length, relation: 'eq' }
            : { value: TRACK_TOTAL_HITS_DEFAULT, relation: 'gte' },
          max_score: matches.length === 0 || sortById !== undefined ? null : 1.0,
          hits,
        },
      },
    };
  }

  /** The searchable documents of `indices` that `query` matches (match_all, ids, term). */
  #matching(
    indices: Index[],
    query: unknown,
  ): Array<{ index: string; id: string; doc: { source: unknown; version: number } }> {
    const matches = compileQuery(query);
    const found: Array<{ index: string; id: string; doc: { source: unknown; version: number } }> =
      [];
    for (const index of indices) {
      for (const [id, doc] of this.#store.searchable(index)) {
        if (matches(id, doc.source)) found.push({ index: index.name, id, doc });
      }
    }
    return found;
  }

  /** `/<index>/_doc/<id>`, `/<index>/_doc` and `/<index>/_create/<id>`. */
  #document(route: Route, indexName: string, kind: string, id: string | undefined): Answer {
    const { method } = route;
    if (kind === '_doc' && id !== undefined && (method === 'GET' || method === 'HEAD')) {
      const index = this.#store.require(indexName);
      const doc = index.docs.get(id);
      if (doc === undefined) {
        return { status: 404, json: { _index: indexName, _id: id, found: false } };
      }
      return {
        status: 200,
        json: {
          _index: indexName,
          _id: id,
          _version: doc.version,
          _seq_no: doc.seqNo,
          _primary_term: 1,
          found: true,
          _source: doc.source,
        },
      };
    }
    const action =
      method === 'DELETE'
        ? 'delete'
        : kind === '_create' || route.query.get('op_type') === 'create'
          ? 'create'
          : 'index';
    if (method !== 'PUT' && method !== 'POST' && method !== 'DELETE') {
      return methodNotAllowed(route, ['GET', 'HEAD', 'PUT', 'POST', 'DELETE']);
    }
    if (action !== 'index' && id === undefined) return noHandler(route);
    let document: unknown;
    let documentError: string | undefined;
    if (action !== 'delete') {
      try {
        document = JSON.parse(route.body.toString('utf8')) as unknown;
      } catch (error) {
        documentError = (error as Error).message;
      }
    }
    const operation: BulkOperation = {
      action,
      index: indexName,
      id,
      document,
      documentError,
      documentEmpty: action !== 'delete' && route.body.length === 0,
      update: undefined,
      ifSeqNo: numberOrUndefined(route.query.get('if_seq_no')),
      ifPrimaryTerm: numberOrUndefined(route.query.get('if_primary_term')),
      externalVersion: route.query.has('version'),
    };
    const result = this.#store.apply(operation, id ?? this.#store.generateId());
    const refresh = route.query.get('refresh');
    const index = this.#store.indices.get(indexName);
    if (index !== undefined && refresh !== null && refresh !== 'false') this.#store.refresh(index);
    this.#notify();
    if (result.error !== undefined) {
      return { status: result.status, json: errorBody(result.status, result.error) };
    }
    return {
      status: result.status,
      json: refreshedItem(result, refresh === 'true' || refresh === ''),
    };
  }

  /**
   * The indices a path names: a comma list of names and `*` patterns, `_all`. A missing
   * concrete name is a 404, as OpenSearch answers.
   */
  #resolve(pattern: string): Index[] {
    const found = new Map<string, Index>();
    for (const part of pattern.split(',')) {
      if (part === '_all' || part === '*') {
        for (const index of this.#store.indices.values()) found.set(index.name, index);
      } else if (part.includes('*')) {
        const regex = new RegExp(
          `^${part
            .split('*')
            .map((piece) => piece.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
            .join('.*')}$`,
        );
        for (const index of this.#store.indices.values()) {
          if (regex.test(index.name)) found.set(index.name, index);
        }
      } else {
        const index = this.#store.require(part);
        found.set(index.name, index);
      }
    }
    return [...found.values()];
  }
}

function emptyStats(): OpenSearchServerStats {
  return { bulkRequests: 0, items: 0, succeeded: 0, failedByStatus: {} };
}

/** The item as the bulk answer shows it, with `forced_refresh` under `?refresh=true`. */
function refreshedItem(result: ItemResult, forcedRefresh: boolean): unknown {
  if (!forcedRefresh || result.error !== undefined) return result;
  return { ...result, forced_refresh: true };
}

function shardsOf(indices: number): unknown {
  return { total: indices, successful: indices, skipped: 0, failed: 0 };
}

/** Compiles the query subset the tests need; anything else is refused, as an unknown query is. */
function compileQuery(query: unknown): (id: string, source: unknown) => boolean {
  if (query === undefined || query === null) return () => true;
  if (!isObject(query)) {
    throw new OpenSearchFailure(400, {
      type: 'parsing_exception',
      reason: '[_na] query malformed, must start with start_object',
    });
  }
  const [type, value] = Object.entries(query)[0] ?? [];
  switch (type) {
    case 'match_all':
      return () => true;
    case 'ids': {
      const values: unknown[] = isObject(value) && Array.isArray(value.values) ? value.values : [];
      const wanted = new Set(
        values.map((id) => (typeof id === 'string' ? id : JSON.stringify(id))),
      );
      return (id) => wanted.has(id);
    }
    case 'term': {
      const [field, condition] = isObject(value) ? (Object.entries(value)[0] ?? []) : [];
      if (field === undefined) break;
      const expected = isObject(condition) ? condition.value : condition;
      const path = field.endsWith('.keyword') ? field.slice(0, -'.keyword'.length) : field;
      return (id, source) =>
        path === '_id' ? id === String(expected) : valueAt(source, path) === expected;
    }
    default:
      break;
  }
  throw new OpenSearchFailure(400, {
    type: 'parsing_exception',
    reason: `unknown query [${String(type)}] (the test server knows match_all, ids and term)`,
    line: 1,
    col: 1,
  });
}

function valueAt(source: unknown, path: string): unknown {
  let value: unknown = source;
  for (const part of path.split('.')) {
    if (!isObject(value)) return undefined;
    value = value[part];
  }
  return value;
}

/** 1 for ascending by `_id`, -1 descending, undefined when not sorted by `_id`. */
function sortDirection(sort: unknown): 1 | -1 | undefined {
  const first: unknown = Array.isArray(sort) ? sort[0] : sort;
  if (typeof first === 'string') {
    const [field, order] = first.split(':');
    if (field !== '_id') return undefined;
    return order === 'desc' ? -1 : 1;
  }
  if (!isObject(first) || !('_id' in first)) return undefined;
  const spec = first._id;
  const order = isObject(spec) ? spec.order : spec;
  return order === 'desc' ? -1 : 1;
}

function flatten(value: unknown, prefix = ''): Record<string, unknown> {
  if (!isObject(value)) return {};
  const flat: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    const name = prefix === '' ? key : `${prefix}.${key}`;
    if (isObject(member)) Object.assign(flat, flatten(member, name));
    else flat[name] = member;
  }
  return flat;
}

function parseJsonBody(route: Route): Record<string, unknown> {
  const problem = checkContentType(route.headers['content-type'], route.body);
  if (problem !== undefined) throw new AnswerError(problem);
  let parsed: unknown;
  try {
    parsed = JSON.parse(route.body.toString('utf8'));
  } catch (error) {
    throw new OpenSearchFailure(400, {
      type: 'json_parse_exception',
      reason: (error as Error).message,
    });
  }
  if (!isObject(parsed)) {
    throw new OpenSearchFailure(400, {
      type: 'parse_exception',
      reason: 'request body or source parameter is required',
    });
  }
  return parsed;
}

/** A non-OpenSearchFailure answer thrown from deep in a route. */
class AnswerError extends Error {
  constructor(readonly answer: Answer) {
    super(`answer ${answer.status}`);
  }
}

function failureAnswer(error: unknown): Answer {
  if (error instanceof AnswerError) return error.answer;
  if (error instanceof OpenSearchFailure) {
    return { status: error.status, json: errorBody(error.status, error.error) };
  }
  return {
    status: 500,
    json: errorBody(500, { type: 'exception', reason: `test server: ${(error as Error).message}` }),
  };
}

/** The error an answer carries, for the bulk log. */
function problemError(answer: Answer): OpenSearchError | string | undefined {
  const json = answer.json;
  if (isObject(json)) {
    const error = json.error;
    if (typeof error === 'string') return error;
    if (isObject(error)) return error as OpenSearchError;
  }
  return answer.raw === undefined ? undefined : String(answer.raw.body);
}

/** 406 for a body without a Content-Type, or of one OpenSearch does not take. */
function checkContentType(contentType: string | undefined, body: Buffer): Answer | undefined {
  if (body.length === 0) return undefined;
  if (contentType === undefined) {
    return { status: 406, json: { error: 'Content-Type header is missing', status: 406 } };
  }
  const media = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const accepted = [
    'application/json',
    'application/x-ndjson',
    'application/vnd.opensearch+json',
    'application/vnd.opensearch+x-ndjson',
  ];
  if (!accepted.includes(media)) {
    return {
      status: 406,
      json: { error: `Content-Type header [${contentType}] is not supported`, status: 406 },
    };
  }
  return undefined;
}

function checkParameters(query: URLSearchParams): Answer | undefined {
  const unknown = [...query.keys()].filter(
    (key) => !BULK_PARAMETERS.has(key) && !COMMON_PARAMETERS.has(key),
  );
  if (unknown.length === 0) return undefined;
  const reason =
    unknown.length === 1
      ? `request [/_bulk] contains unrecognized parameter: [${unknown[0]}]`
      : `request [/_bulk] contains unrecognized parameters: ${unknown.map((key) => `[${key}]`).join(', ')}`;
  return { status: 400, json: errorBody(400, illegalArgument(reason)) };
}

function methodNotAllowed(route: Route, allowed: string[]): Answer {
  return {
    status: 405,
    json: {
      error: `Incorrect HTTP method for uri [${route.path}] and method [${route.method}], allowed: [${allowed.join(', ')}]`,
      status: 405,
    },
    headers: { allow: allowed.join(',') },
  };
}

function noHandler(route: Route): Answer {
  return {
    status: 400,
    json: { error: `no handler found for uri [${route.path}] and method [${route.method}]` },
  };
}

function withFilterPath(answer: Answer, filter: string | null): Answer {
  if (filter === null || answer.json === undefined) return answer;
  return { ...answer, json: filterPath(answer.json, filter) };
}

function numberOrUndefined(value: string | null): number | undefined {
  return value === null ? undefined : Number(value);
}

/** Reads the whole body; undefined when it grew past `limit` (read on, so 413 can be sent). */
async function readBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length <= limit) chunks.push(chunk);
  }
  return length > limit ? undefined : Buffer.concat(chunks, length);
}

/**
 * Undoes `Content-Encoding` gzip or deflate, as OpenSearch's HTTP layer does; `'too-large'`
 * when the decoded body would pass `limit`.
 */
async function decodeBody(
  encoding: string | undefined,
  raw: Buffer,
  limit: number,
): Promise<Buffer | 'too-large'> {
  const name = encoding?.trim().toLowerCase();
  try {
    if (name === 'gzip' || name === 'x-gzip') {
      return await gunzipAsync(raw, { maxOutputLength: limit });
    }
    if (name === 'deflate' || name === 'x-deflate') {
      return await inflateAsync(raw, { maxOutputLength: limit });
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return 'too-large';
    throw new OpenSearchFailure(
      400,
      illegalArgument(`request body does not decode as ${name}: ${(error as Error).message}`),
    );
  }
  return raw;
}

function lowerCaseHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}
