import { mkdtemp, readFile, rm } from 'node:fs/promises';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { listenOnLoopback } from '../support/free-port.js';
import { startOpenSearchServer, type OpenSearchServer } from '../support/opensearch-server.js';
import {
  pollUntil,
  readErrorObject,
  ROLE_ARN,
  uniqueBucket,
  type DeliveredWrite,
  type DeliveryAttempt,
  type DestinationHarness,
  type DestinationTarget,
  type ErrorOutputObject,
  type StreamOptions,
} from './destination-harness.js';
import { blockDirectory, listObjects, unblockDirectory } from './local-files.js';

/** The two CreateDeliveryStream members of an OpenSearch destination. */
export type OpenSearchMember =
  'AmazonopensearchserviceDestinationConfiguration' | 'ElasticsearchDestinationConfiguration';

/**
 * The environment variable naming a real OpenSearch cluster to run the suite against, e.g.
 * `https://admin:<password>@127.0.0.1:9200` (docker-compose's): credentials in the URL are sent
 * by the harness's proxy, and an https cluster's certificate is not verified (demo clusters
 * use self-signed ones). Unset: the OpenSearch-protocol test server.
 */
export const REAL_CLUSTER_VARIABLE = 'SLUICE_TEST_OPENSEARCH_URL';

/** `RetryOptions.DurationInSeconds` of a test that does not name one. */
const DEFAULT_RETRY_SECONDS = 60;

/**
 * An OpenSearch destination delivered to a cluster — the OpenSearch-protocol test server
 * (`test/support/opensearch-server.ts`), or the real cluster {@link REAL_CLUSTER_VARIABLE}
 * names — through a loopback proxy of the harness's own, one per target. The proxy records
 * every `_bulk` request and its answer (so the suite reads writes and attempts the same way
 * from either cluster) and injects the faults: retryable — the cluster answers 503 to the whole
 * request; permanent — 413 (larger than `http.max_content_length`); slow — the cluster indexes
 * the documents and the answer is held back. Each target writes to an index of its own; its
 * error bucket lives in Sluice's local-directory store, read back as files.
 *
 * A write's identity is the batch's document-id base (every `_id` of a batch is
 * `<base>-<position>`, FIREHOSE_DEFAULT): a repeated bulk request of the batch carries the same.
 */
export function openSearchHarness(member: OpenSearchMember): DestinationHarness {
  let dataDir: string | undefined;
  let server: OpenSearchServer | undefined;
  const realCluster = process.env[REAL_CLUSTER_VARIABLE] || undefined;
  const started = (): { dataDir: string; backend: string } => {
    const backend = realCluster ?? server?.url;
    if (dataDir === undefined || backend === undefined) {
      throw new Error('opensearch harness: not started');
    }
    return { dataDir, backend };
  };
  return {
    name: `OpenSearch (${member}${realCluster !== undefined ? ', real cluster' : ''})`,
    member,
    failureRouting: {
      kind: 'error-output',
      type: 'AmazonOpenSearchService-failed',
      permanentCode: 'OS.RequestEntityTooLarge',
      retryableCode: 'OS.ClusterError',
    },
    records: 'json-documents',
    partialRetry: {
      notApplicable:
        'a batch is one _bulk request; the documents the cluster fails are retried alone from its per-item answer, not by splitting the batch into requests',
    },
    inFlightWindow: 'slow-answer',
    async start() {
      dataDir = await mkdtemp(join(tmpdir(), 'sluice-conformance-opensearch-'));
      if (realCluster === undefined) server = await startOpenSearchServer();
    },
    async stop() {
      await server?.close();
      server = undefined;
      if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
      dataDir = undefined;
    },
    env: () => ({ SLUICE_S3_ENDPOINT: '', SLUICE_DATA_DIR: started().dataDir }),
    async target() {
      const { dataDir: dir, backend } = started();
      return openSearchTarget(member, await startBulkProxy(backend), join(dir, 's3'));
    },
  };
}

let indexCounter = 0;

function openSearchTarget(
  member: OpenSearchMember,
  proxy: BulkProxy,
  root: string,
): DestinationTarget {
  indexCounter += 1;
  const index = `conformance-${process.pid}-${indexCounter}-${Math.random().toString(36).slice(2, 8)}`;
  const errorBucket = uniqueBucket('conf-os-errors');
  const errorDir = join(root, errorBucket);
  return {
    members: (options: StreamOptions) => ({
      [member]: {
        RoleARN: ROLE_ARN,
        ClusterEndpoint: proxy.url,
        IndexName: index,
        IndexRotationPeriod: 'NoRotation',
        BufferingHints: { SizeInMBs: options.sizeMBs, IntervalInSeconds: options.intervalSeconds },
        RetryOptions: { DurationInSeconds: options.retrySeconds ?? DEFAULT_RETRY_SECONDS },
        S3Configuration: {
          RoleARN: ROLE_ARN,
          BucketARN: `arn:aws:s3:::${errorBucket}`,
          CompressionFormat: 'UNCOMPRESSED',
        },
      },
    }),
    delivered(): Promise<DeliveredWrite[]> {
      return Promise.resolve(
        proxy.exchanges
          .filter((exchange) => exchange.clusterStatus === 200)
          .map((exchange) => {
            // What the cluster took: the documents of the items it answered with a 2xx.
            const records = exchange.items
              .filter((item) => item.status >= 200 && item.status < 300)
              .map((item) => Buffer.concat([item.document, Buffer.from('\n')]));
            return { identity: exchange.identity, records, bytes: Buffer.concat(records) };
          })
          .filter((write) => write.records.length > 0),
      );
    },
    attempts: (): DeliveryAttempt[] =>
      proxy.exchanges.map((exchange) => ({
        identity: exchange.identity,
        records: exchange.items.length,
        accepted: exchange.status === 200 && exchange.items.every((i) => i.status < 300),
      })),
    async errorOutput(): Promise<ErrorOutputObject[]> {
      const keys = await listObjects(errorDir);
      return Promise.all(
        keys.map(async (key) => readErrorObject(key, await readFile(join(errorDir, key)))),
      );
    },
    failRetryable() {
      proxy.fault = { status: 503 };
      return Promise.resolve();
    },
    failPermanent() {
      proxy.fault = { status: 413 };
      return Promise.resolve();
    },
    recover() {
      proxy.fault = undefined;
      proxy.answerDelayMs = 0;
      return Promise.resolve();
    },
    slowDeliveries(delayMs) {
      proxy.answerDelayMs = delayMs;
    },
    deliveryInFlight: (timeoutMs) =>
      pollUntil(
        `a bulk request at ${proxy.url} applied and not yet answered`,
        () => proxy.exchanges.some((exchange) => exchange.status === undefined && exchange.applied),
        timeoutMs,
      ),
    errorOutputFaults: {
      break: () => blockDirectory(errorDir),
      repair: () => unblockDirectory(errorDir),
    },
    scriptRequests: undefined,
    close: () => proxy.close(),
  };
}

/** One item of a bulk request as the proxy saw it. */
interface ExchangeItem {
  /** The `_id` sent ('' when none). */
  id: string;
  /** The document line as sent. */
  document: Buffer;
  /** The status the cluster (or a fault) answered for it; 0 until answered. */
  status: number;
}

/** One `_bulk` request through the proxy. */
interface Exchange {
  /** The batch's document-id base, from the first item's `_id`. */
  identity: string;
  items: ExchangeItem[];
  /** Whether the cluster has answered (the documents are indexed). */
  applied: boolean;
  /** The status the cluster answered; undefined when a fault answered instead. */
  clusterStatus: number | undefined;
  /** The status the client got; undefined while it waits. */
  status: number | undefined;
}

/** The harness's loopback proxy in front of a cluster. */
interface BulkProxy {
  readonly url: string;
  readonly exchanges: Exchange[];
  /** Every `_bulk` request answered so, without reaching the cluster. */
  fault: { status: number } | undefined;
  /** The cluster's answer is held back this long. */
  answerDelayMs: number;
  close(): Promise<void>;
}

/**
 * Starts the proxy in front of `backend` (its user-info, if any, becomes the requests'
 * `Authorization`). Requests other than `_bulk` pass through unrecorded.
 */
async function startBulkProxy(backend: string): Promise<BulkProxy> {
  const upstream = new URL(backend);
  const authorization =
    upstream.username !== ''
      ? `Basic ${Buffer.from(`${decodeURIComponent(upstream.username)}:${decodeURIComponent(upstream.password)}`).toString('base64')}`
      : undefined;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const proxy: BulkProxy & { url: string } = {
    url: '',
    exchanges: [],
    fault: undefined,
    answerDelayMs: 0,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const handle = async (incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const isBulk = (incoming.url ?? '').split('?')[0]?.endsWith('/_bulk') ?? false;
    const exchange = isBulk ? exchangeOf(body) : undefined;
    if (exchange !== undefined) proxy.exchanges.push(exchange);
    const fault = isBulk ? proxy.fault : undefined;
    if (fault !== undefined && exchange !== undefined) {
      const answer = JSON.stringify({
        error: { type: 'conformance_fault', reason: `conformance: answered ${fault.status}` },
        status: fault.status,
      });
      exchange.status = fault.status;
      outgoing.writeHead(fault.status, { 'content-type': 'application/json; charset=UTF-8' });
      outgoing.end(answer);
      return;
    }
    const answer = await send(upstream, authorization, incoming, body);
    if (exchange !== undefined) {
      exchange.applied = true;
      exchange.clusterStatus = answer.status;
      readItems(exchange, answer);
    }
    const reply = (): void => {
      if (exchange !== undefined) exchange.status = outgoing.destroyed ? 0 : answer.status;
      if (outgoing.destroyed) return;
      outgoing.writeHead(answer.status, answer.headers);
      outgoing.end(answer.body);
    };
    const delay = isBulk ? proxy.answerDelayMs : 0;
    if (delay <= 0) {
      reply();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      reply();
    }, delay);
    timers.add(timer);
  };

  const server = createServer((incoming, outgoing) => {
    handle(incoming, outgoing).catch(() => outgoing.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  proxy.url = `http://127.0.0.1:${await listenOnLoopback(server)}`;
  return proxy;
}

/** The items of a bulk body: each action line's `_id` and the document line after it. */
function exchangeOf(body: Buffer): Exchange {
  const items: ExchangeItem[] = [];
  let at = 0;
  while (at < body.length) {
    const actionEnd = body.indexOf(0x0a, at);
    if (actionEnd === -1) break;
    const action = JSON.parse(body.subarray(at, actionEnd).toString('utf8')) as Record<
      string,
      { _id?: string }
    >;
    const documentEnd = body.indexOf(0x0a, actionEnd + 1);
    const end = documentEnd === -1 ? body.length : documentEnd;
    items.push({
      id: Object.values(action)[0]?._id ?? '',
      document: body.subarray(actionEnd + 1, end),
      status: 0,
    });
    at = end + 1;
  }
  return {
    identity: items[0]?.id.replace(/-\d+$/u, '') ?? '',
    items,
    applied: false,
    clusterStatus: undefined,
    status: undefined,
  };
}

/** Files each item's status from the cluster's answer. */
function readItems(exchange: Exchange, answer: UpstreamAnswer): void {
  let parsed: { items?: Record<string, { status?: number }>[] } | undefined;
  try {
    parsed = JSON.parse(answer.body.toString('utf8')) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  exchange.items.forEach((item, i) => {
    const result = parsed?.items?.[i];
    item.status =
      answer.status === 200 && result !== undefined
        ? (Object.values(result)[0]?.status ?? 0)
        : answer.status;
  });
}

interface UpstreamAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Passes one request on to the cluster and reads its whole answer. */
function send(
  upstream: URL,
  authorization: string | undefined,
  incoming: IncomingMessage,
  body: Buffer,
): Promise<UpstreamAnswer> {
  const headers = withoutHeaders(incoming.headers, ['host', 'authorization', 'connection']);
  const request = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const forwarded = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: `${upstream.pathname.replace(/\/$/u, '')}${incoming.url ?? '/'}`,
        headers: {
          ...headers,
          ...(authorization !== undefined ? { authorization } : {}),
          'content-length': String(body.length),
        },
        // Demo clusters (docker-compose's included) serve a self-signed certificate.
        rejectUnauthorized: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const kept = withoutHeaders(response.headers, ['transfer-encoding', 'connection']);
          resolve({
            status: response.statusCode ?? 502,
            headers: { ...kept, 'content-length': String(Buffer.concat(chunks).length) },
            body: Buffer.concat(chunks),
          });
        });
        response.on('error', reject);
      },
    );
    forwarded.on('error', reject);
    forwarded.end(body);
  });
}

/** `headers` without the named ones (hop-by-hop headers, and those the proxy sets itself). */
function withoutHeaders<H extends Record<string, string | string[] | undefined>>(
  headers: H,
  names: readonly string[],
): Record<string, string | string[] | undefined> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !names.includes(name)));
}
