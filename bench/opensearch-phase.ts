import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';

import { parseErrorRecords } from '../src/error-output/error-records.js';
import type { S3Server } from '../devtools/s3-server.js';
import { nowMs } from './clock.js';
import { phaseSignal, type BenchContext } from './context.js';
import { waitUntilActive } from './control-plane.js';
import type { FirehoseHttp } from './firehose-http.js';
import {
  accountRecords,
  deliveryConcurrency,
  recordsPerBatch,
  StampingFirehose,
  stampTemplates,
  type HttpAccounting,
  type RateFigures,
  type StampTemplate,
} from './http-phase.js';
import { SeqBytes, seqOfRecord, seqPrefix } from './http-receiver.js';
import type { Infrastructure } from './infrastructure.js';
import { runClosedLoop, type LoadProgress } from './load.js';
import {
  launchBenchCluster,
  type BenchClusterProcess,
  type IndexCounters,
} from './opensearch-server-process.js';
import { ProcessSampler } from './process-sampler.js';
import { say, startProgress } from './progress.js';
import { startSluice, type SluiceProcess } from './sluice-process.js';
import { MIB, percentile } from './stats.js';
import { StreamStatsSampler, type StreamStatsSample } from './stream-stats.js';
import { throughputFigures, type ThroughputFigures } from './throughput.js';

/**
 * The opensearch phase: Sluice delivering to the OpenSearch test server (in its own process,
 * `opensearch-server-process.ts`) through its OpenSearch destination
 * (`AmazonopensearchserviceDestinationConfiguration`), beside a bare `_bulk` of the same
 * documents to the same server in the same run. The server answers one document in
 * {@link OPENSEARCH_FAIL_EVERY} with a 400 `mapper_parsing_exception`, on every attempt, so
 * Sluice's error-output path runs at a 1 % failure rate; every acknowledged record is then
 * found either in the index or in the error output, by its sequence number.
 */

/** One document in this many (by sequence number) is refused with a 400: 1 %. */
export const OPENSEARCH_FAIL_EVERY = 100;
/** The index Sluice writes (`IndexRotationPeriod` NoRotation, so exactly this name). */
export const OPENSEARCH_INDEX = 'bench-opensearch';
/** The index the bare `_bulk` reference writes. */
const REFERENCE_INDEX = 'bench-opensearch-reference';
/** The bucket of the stream's `S3Configuration`, where failed documents go. */
export const OPENSEARCH_ERROR_BUCKET = 'bench-opensearch-errors';
/** Where Firehose (and Sluice) put failed OpenSearch documents, under the bucket. */
const ERROR_PREFIX = 'AmazonOpenSearchService-failed/';
/** `BufferingHints.SizeInMBs`: Firehose's default for OpenSearch. */
export const OPENSEARCH_SIZE_MB = 5;
/** `BufferingHints.IntervalInSeconds`. */
export const OPENSEARCH_INTERVAL_S = 1;
/** `RetryOptions.DurationInSeconds`. */
export const OPENSEARCH_RETRY_S = 10;
/** Seconds of the bare `_bulk` reference, after the `--warmup`. */
export const OPENSEARCH_REFERENCE_S = 5;
/** Seconds of full-speed ingest into the Sluice stream. */
export const OPENSEARCH_INGEST_S = 5;
/** Distinct reference bodies, reused round-robin (their documents overwrite themselves). */
const REFERENCE_BODIES = 4;
/** Stream counters are read this often while waiting for delivery. */
const SAMPLE_PERIOD_MS = 200;
/** A drain window with fewer indexed documents than this gives no drain rate. */
const MIN_DRAIN_DOCUMENTS = 10_000;
/** How often the drain reports progress. */
const DRAIN_PROGRESS_MS = 5_000;

/** What the bare `_bulk` reference measured. */
export interface OpenSearchReferenceResult {
  /** Requests in flight: Sluice's `SLUICE_DELIVERY_CONCURRENCY` for this run. */
  concurrency: number;
  /** Documents per `_bulk`: as many as Sluice puts in a batch at {@link OPENSEARCH_SIZE_MB}. */
  documentsPerRequest: number;
  bodyKiB: number;
  /** Documents indexed (201/200 items) over the window, from the first send to the last reply. */
  indexed: RateFigures;
  requests: number;
  /** Items answered 400 on purpose. */
  failedOnPurpose: number;
  /** Requests or items that failed otherwise, by reason. */
  errors: Record<string, number>;
  latencyP50Ms: number | undefined;
  latencyP99Ms: number | undefined;
  cpuShare: Record<string, number | undefined>;
}

/** What the phase measured. */
export interface OpenSearchResult {
  stream: string;
  deliveryConcurrency: number;
  reference: OpenSearchReferenceResult;
  /** The acknowledged load, closed-loop at `--concurrency`. */
  ingest: ThroughputFigures;
  /** Server-side, from the first item to the last document indexed. */
  deliveredOverall: RateFigures;
  /** Server-side, from the end of the load to the last document indexed; undefined when little was left. */
  deliveredDrain: RateFigures | undefined;
  /** Sluice's `_bulk` requests and their mean size in documents. */
  bulkRequests: number;
  documentsPerRequest: number;
  /** Items answered 400 on purpose (retries included), and the distinct records. */
  failedOnPurpose: { items: number; records: number };
  /** Items that failed otherwise, by status (429/5xx would be retried). */
  failedOther: Record<string, number>;
  errorOutput: { objects: number; records: number; codes: Record<string, number> };
  /** The error output holds exactly the documents failed on purpose. */
  errorOutputMatches: boolean;
  /** Documents in Sluice's index at the end. */
  documentsInIndex: number;
  /** Items that overwrote a document already there (a resend with the same `_id`). */
  overwrites: number;
  accounting: HttpAccounting;
  settledAfterS: number | undefined;
  deadRecords: number;
  rssMaxMib: Record<string, number | undefined>;
  cpuShare: Record<string, number | undefined>;
  ingestCpuShare: Record<string, number | undefined>;
  problems: string[];
}

/** One `_bulk` body of the reference. */
interface ReferenceBody {
  buffer: Buffer;
  documents: number;
  payloadBytes: number;
}

/**
 * `count` NDJSON `_bulk` bodies as Sluice's OpenSearch destination writes them — an `index`
 * action with `_index` and `_id`, then the record without its final newline — of `perBody`
 * documents each, drawn in turn from the templates' records and numbered from 0.
 */
function referenceBodies(
  templates: readonly StampTemplate[],
  perBody: number,
  count: number,
): ReferenceBody[] {
  const all = templates.flatMap((t) => t.records);
  const bodies: ReferenceBody[] = [];
  let seq = 0;
  for (let b = 0; b < count; b += 1) {
    const parts: Buffer[] = [];
    let payloadBytes = 0;
    for (let r = 0; r < perBody; r += 1) {
      const record = Buffer.from(all[seq % all.length] ?? Buffer.alloc(0));
      seqPrefix(seq).copy(record, 0);
      seq += 1;
      let end = record.length;
      while (end > 0 && (record[end - 1] === 0x0a || record[end - 1] === 0x0d)) end -= 1;
      const id = `reference${String(b).padStart(4, '0')}${'0'.repeat(19)}-${r}`;
      parts.push(
        Buffer.from(`{"index":{"_index":"${REFERENCE_INDEX}","_id":"${id}"}}\n`),
        record.subarray(0, end),
        Buffer.from('\n'),
      );
      payloadBytes += end;
    }
    bodies.push({ buffer: Buffer.concat(parts), documents: perBody, payloadBytes });
  }
  return bodies;
}

/** One `_bulk`'s result: statuses counted, or why it failed as a whole. */
type BulkResult =
  | { status: number; latencyMs: number; indexed: number; failedOnPurpose: number; other: number }
  | { error: string };

interface BulkAnswer {
  items?: Array<Record<string, { status?: number }>>;
}

/** POSTs one `_bulk` and reads its answer as a client must (every item's status); never rejects. */
function bulkOnce(agent: Agent, url: URL, body: Buffer, timeoutMs: number): Promise<BulkResult> {
  const sentMs = nowMs();
  return new Promise<BulkResult>((resolve) => {
    const req = request(
      {
        host: url.hostname,
        port: Number(url.port),
        path: '/_bulk',
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-ndjson',
          'content-length': String(body.length),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('error', (error) => resolve({ error: error.message }));
        res.once('end', () => {
          const status = res.statusCode ?? 0;
          const latencyMs = nowMs() - sentMs;
          if (status !== 200) {
            resolve({ error: `HTTP ${status}` });
            return;
          }
          let answer: BulkAnswer;
          try {
            answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as BulkAnswer;
          } catch {
            resolve({ error: 'answer is not JSON' });
            return;
          }
          let indexed = 0;
          let failedOnPurpose = 0;
          let other = 0;
          for (const item of answer.items ?? []) {
            const itemStatus = item.index?.status ?? 0;
            if (itemStatus === 200 || itemStatus === 201) indexed += 1;
            else if (itemStatus === 400) failedOnPurpose += 1;
            else other += 1;
          }
          resolve({ status, latencyMs, indexed, failedOnPurpose, other });
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no reply within ${timeoutMs} ms`)));
    req.once('error', (error) => resolve({ error: error.message }));
    req.end(body);
  });
}

/**
 * The same-run reference: `_bulk` bodies of the documents Sluice's batches will hold, as many
 * per request, POSTed by a plain `node:http` client over keep-alive connections with as many in
 * flight as Sluice delivers at once, each answer parsed for its items' statuses, after the
 * `--warmup`, for {@link OPENSEARCH_REFERENCE_S} seconds. Nothing is retried.
 */
async function runReference(
  ctx: BenchContext,
  cluster: BenchClusterProcess,
  templates: readonly StampTemplate[],
): Promise<OpenSearchReferenceResult> {
  const { options } = ctx;
  const perBody = recordsPerBatch(templates, OPENSEARCH_SIZE_MB);
  const bodies = referenceBodies(templates, perBody, REFERENCE_BODIES);
  const concurrency = deliveryConcurrency();
  const phase = phaseSignal(ctx.signal, [cluster.child]);
  const agent = new Agent({
    keepAlive: true,
    maxSockets: concurrency,
    maxFreeSockets: concurrency,
  });
  phase.signal.addEventListener('abort', () => agent.destroy(), { once: true });
  const procs = new ProcessSampler(new Map([['opensearch server', cluster.child.pid]]));
  const url = new URL(cluster.url);
  const timeoutMs = options.requestTimeoutS * 1000;
  let sent = 0;

  const run = async (durationMs: number) => {
    const totals = {
      startMs: nowMs(),
      endMs: nowMs(),
      requests: 0,
      indexed: 0,
      bytes: 0,
      failedOnPurpose: 0,
      errors: new Map<string, number>(),
      latencies: [] as number[],
    };
    const endAt = totals.startMs + durationMs;
    const sender = async (): Promise<void> => {
      while (nowMs() < endAt && !phase.signal.aborted) {
        const body = bodies[sent % bodies.length];
        sent += 1;
        if (body === undefined) throw new Error('no reference bodies');
        const result = await bulkOnce(agent, url, body.buffer, timeoutMs);
        totals.requests += 1;
        totals.endMs = Math.max(totals.endMs, nowMs());
        if ('error' in result) {
          totals.errors.set(result.error, (totals.errors.get(result.error) ?? 0) + 1);
          continue;
        }
        totals.latencies.push(result.latencyMs);
        totals.indexed += result.indexed;
        totals.bytes += (body.payloadBytes * result.indexed) / body.documents;
        totals.failedOnPurpose += result.failedOnPurpose;
        if (result.other > 0) {
          totals.errors.set('item failed', (totals.errors.get('item failed') ?? 0) + result.other);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, sender));
    return totals;
  };

  try {
    if (options.warmupS > 0) {
      say(`opensearch reference: warming up for ${options.warmupS} s`);
      await run(options.warmupS * 1000);
    }
    say(
      `opensearch reference: bare _bulk of ${perBody}-document bodies, ${concurrency} in flight, for ${OPENSEARCH_REFERENCE_S} s`,
    );
    procs.start();
    const totals = await run(OPENSEARCH_REFERENCE_S * 1000);
    procs.stop();
    const crashed = phase.crashed();
    if (crashed) throw new Error(`during the reference: ${crashed.describeExit()}`);
    ctx.signal.throwIfAborted();
    const first = bodies[0];
    return {
      concurrency,
      documentsPerRequest: perBody,
      bodyKiB: first === undefined ? 0 : first.buffer.length / 1024,
      indexed: rate(totals.requests, totals.indexed, totals.bytes, totals.endMs - totals.startMs),
      requests: totals.requests,
      failedOnPurpose: totals.failedOnPurpose,
      errors: Object.fromEntries(totals.errors),
      latencyP50Ms: percentile(totals.latencies, 50),
      latencyP99Ms: percentile(totals.latencies, 99),
      cpuShare: procs.cpuShares(totals.startMs, totals.endMs),
    };
  } finally {
    procs.stop();
    phase.dispose();
    agent.destroy();
  }
}

/** Creates the bucket unless it is there already. */
async function ensureBucket(s3: S3Server, bucket: string): Promise<void> {
  try {
    await s3.createBucket(bucket);
  } catch (error) {
    const name = (error as { name?: unknown }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  }
}

/**
 * Creates the OpenSearch stream through the Firehose API and waits until it is ACTIVE.
 *
 * @throws when creation fails (a Sluice without the OpenSearch destination refuses the
 *   member) or the stream is not ACTIVE within 15 seconds.
 */
async function createOpenSearchStream(
  client: FirehoseHttp,
  name: string,
  clusterUrl: string,
): Promise<void> {
  await client.call('CreateDeliveryStream', {
    DeliveryStreamName: name,
    AmazonopensearchserviceDestinationConfiguration: {
      RoleARN: 'arn:aws:iam::000000000000:role/bench',
      ClusterEndpoint: clusterUrl,
      IndexName: OPENSEARCH_INDEX,
      IndexRotationPeriod: 'NoRotation',
      BufferingHints: { SizeInMBs: OPENSEARCH_SIZE_MB, IntervalInSeconds: OPENSEARCH_INTERVAL_S },
      RetryOptions: { DurationInSeconds: OPENSEARCH_RETRY_S },
      S3BackupMode: 'FailedDocumentsOnly',
      S3Configuration: {
        RoleARN: 'arn:aws:iam::000000000000:role/bench',
        BucketARN: `arn:aws:s3:::${OPENSEARCH_ERROR_BUCKET}`,
      },
      DocumentIdOptions: { DefaultDocumentIdFormat: 'FIREHOSE_DEFAULT' },
    },
  });
  await waitUntilActive(client, name);
}

/** The error output: every record's sequence number, and the error codes. */
interface ErrorOutputRead {
  objects: number;
  records: number;
  codes: Record<string, number>;
  tally: SeqBytes;
  untallied: number;
}

/** Reads every `AmazonOpenSearchService-failed/` object of the bucket (gzip or not). */
async function readErrorOutput(s3: S3Server, bucket: string): Promise<ErrorOutputRead> {
  const read: ErrorOutputRead = {
    objects: 0,
    records: 0,
    codes: {},
    tally: new SeqBytes(),
    untallied: 0,
  };
  for (const key of await s3.listKeys(bucket)) {
    if (!key.startsWith(ERROR_PREFIX)) continue;
    const object = await s3.getObject(bucket, key);
    const gzipped =
      object.contentEncoding === 'gzip' || (object.body[0] === 0x1f && object.body[1] === 0x8b);
    read.objects += 1;
    for (const record of parseErrorRecords(gzipped ? gunzipSync(object.body) : object.body)) {
      read.records += 1;
      read.codes[record.code] = (read.codes[record.code] ?? 0) + 1;
      const seq = seqOfRecord(record.rawData);
      if (seq === undefined) read.untallied += 1;
      else read.tally.set(seq, Math.min(255, read.tally.at(seq) + 1));
    }
  }
  return read;
}

function rate(requests: number, records: number, bytes: number, ms: number): RateFigures {
  const durationS = Math.max(1e-3, ms / 1000);
  return {
    durationS,
    requests,
    records,
    recordsPerS: records / durationS,
    mibS: bytes / MIB / durationS,
  };
}

function indexed(counters: IndexCounters | undefined): number {
  return (counters?.created ?? 0) + (counters?.updated ?? 0);
}

/**
 * Phase `opensearch`: first the bare `_bulk` reference, then (the cluster emptied) Sluice, role
 * `all`, with an OpenSearch stream pointing at the same cluster process:
 * {@link OPENSEARCH_INGEST_S} seconds of closed-loop ingest at `--concurrency`, then a bounded
 * wait (`--drain-timeout`) until the stream's counters show every record done. Delivered rates
 * are the cluster's; every acknowledged record is then looked up in its tallies and the error
 * output.
 *
 * @throws when Sluice cannot run the phase (the message keeps the reference's figure), or an
 *   acknowledged record is neither indexed nor in the error output.
 */
export async function runOpenSearchPhase(
  ctx: BenchContext,
  infra: Infrastructure,
  stream: string,
): Promise<OpenSearchResult> {
  const { options } = ctx;
  const templates = stampTemplates(stream, ctx.bodiesFor(stream));
  await infra.reset();
  await ensureBucket(infra.s3, OPENSEARCH_ERROR_BUCKET);
  const cluster = await launchBenchCluster({
    failEvery: OPENSEARCH_FAIL_EVERY,
    tallyIndex: OPENSEARCH_INDEX,
  });
  let service: SluiceProcess | undefined;
  let sampler: StreamStatsSampler | undefined;
  let procs: ProcessSampler | undefined;
  let phase: ReturnType<typeof phaseSignal> | undefined;
  let client: StampingFirehose | undefined;
  let reference: OpenSearchReferenceResult | undefined;
  try {
    reference = await runReference(ctx, cluster, templates);
    await cluster.reset();

    service = await startSluice({
      role: 'all',
      redisUrl: infra.redis.server.url,
      s3Env: infra.s3.sluiceEnv,
      maxBacklogMb: options.maxBacklogMb,
    });
    if (service.url === undefined) throw new Error(`${service.child.name} does not serve the API`);
    phase = phaseSignal(ctx.signal, [service.child, infra.redis.server.child, cluster.child]);
    const stamping = new StampingFirehose(
      service.url,
      ctx.identity,
      options.concurrency,
      templates,
    );
    client = stamping;
    phase.signal.addEventListener('abort', () => stamping.close(), { once: true });
    sampler = new StreamStatsSampler(infra.client, stream, SAMPLE_PERIOD_MS);
    procs = new ProcessSampler(
      new Map([
        [service.child.name, service.child.pid],
        ['opensearch server', cluster.child.pid],
        ...infra.processes(),
      ]),
    );

    await createOpenSearchStream(stamping, stream, cluster.url);
    sampler.start();
    procs.start();
    say(`opensearch: ${options.concurrency} in flight into Sluice for ${OPENSEARCH_INGEST_S} s`);
    const progress: LoadProgress = { requests: 0, acceptedBytes: 0, failedRecords: 0 };
    const stopProgress = startProgress('opensearch', progress, sampler);
    const load = await runClosedLoop({
      client: stamping,
      bodies: templates,
      concurrency: options.concurrency,
      durationMs: OPENSEARCH_INGEST_S * 1000,
      timeoutMs: options.requestTimeoutS * 1000,
      signal: phase.signal,
      progress,
    });
    stopProgress();
    const loadEndMs = nowMs();
    const atLoadEnd = (await cluster.counters()).indices[OPENSEARCH_INDEX];

    say(
      `opensearch: waiting up to ${options.drainTimeoutS} s for ${load.acceptedRecords} records to be indexed or written to the error output`,
    );
    const deadline = loadEndMs + options.drainTimeoutS * 1000;
    const settled = (s: StreamStatsSample | undefined): boolean =>
      s !== undefined &&
      s.atMs > loadEndMs &&
      s.backlogRecords === 0 &&
      s.deliveredRecords + s.deadRecords >= load.acceptedRecords;
    let nextProgressMs = loadEndMs + DRAIN_PROGRESS_MS;
    while (!settled(sampler.latest()) && nowMs() < deadline && !phase.signal.aborted) {
      await sleep(SAMPLE_PERIOD_MS);
      if (nowMs() >= nextProgressMs) {
        nextProgressMs += DRAIN_PROGRESS_MS;
        const c = (await cluster.counters()).indices[OPENSEARCH_INDEX];
        const s = sampler.latest();
        say(
          `opensearch drain ${((nowMs() - loadEndMs) / 1000).toFixed(0)} s: ${indexed(c)} documents indexed, ${c?.failedOnPurpose ?? 0} failed on purpose; backlog ${((s?.backlogBytes ?? 0) / MIB).toFixed(0)} MiB`,
        );
      }
    }
    const samples = await sampler.stop();
    const settledAt = samples.find((s) => settled(s));
    procs.stop();
    const crashed = phase.crashed();
    if (crashed) throw new Error(`during the phase: ${crashed.describeExit()}`);
    ctx.signal.throwIfAborted();

    const tallies = await cluster.tallies();
    const counters = await cluster.counters();
    const c = tallies.counters;
    const errors = await readErrorOutput(infra.s3, OPENSEARCH_ERROR_BUCKET);
    const accounting = accountRecords(stamping, tallies.indexed, tallies.failed, errors.tally);
    const failedRecords = tallies.failed.reduce((sum, flag) => sum + flag, 0);
    const last = samples[samples.length - 1];
    const drainDocuments = indexed(c) - indexed(atLoadEnd);
    const lastIndexedMs = c.lastIndexedMs ?? loadEndMs;
    const drainBytes = c.indexedBytes - (atLoadEnd?.indexedBytes ?? 0);
    const deliveredDrain =
      drainDocuments >= MIN_DRAIN_DOCUMENTS && lastIndexedMs > loadEndMs
        ? rate(0, drainDocuments, drainBytes, lastIndexedMs - loadEndMs)
        : undefined;
    const cpuFrom = deliveredDrain ? loadEndMs : load.startMs;
    const cpuTo = deliveredDrain ? lastIndexedMs : (settledAt?.atMs ?? nowMs());

    if (accounting.lost > 0) {
      throw new Error(
        [
          `${accounting.lost} of ${accounting.acknowledged} acknowledged records were neither indexed nor written to the error output${settledAt ? '' : ` (the stream had not settled after ${options.drainTimeoutS} s)`}`,
          `indexed ${accounting.accepted}, in the error output ${accounting.inErrorOutput} (${errors.records} records in ${errors.objects} objects), failed on purpose ${failedRecords}; dead-lettered ${last?.deadRecords ?? 0}`,
        ].join('\n'),
      );
    }
    return {
      stream,
      deliveryConcurrency: deliveryConcurrency(),
      reference,
      ingest: throughputFigures(load),
      deliveredOverall: rate(
        counters.bulkRequests,
        indexed(c),
        c.indexedBytes,
        lastIndexedMs - (c.firstItemMs ?? lastIndexedMs),
      ),
      deliveredDrain,
      bulkRequests: counters.bulkRequests,
      documentsPerRequest: counters.bulkRequests === 0 ? 0 : c.items / counters.bulkRequests,
      failedOnPurpose: { items: c.failedOnPurpose, records: failedRecords },
      failedOther: c.failedOther,
      errorOutput: { objects: errors.objects, records: errors.records, codes: errors.codes },
      errorOutputMatches:
        errors.records === failedRecords &&
        errors.untallied === 0 &&
        accounting.errorNotDeliberate === 0 &&
        accounting.deliberateNotInErrorOutput === 0,
      documentsInIndex: c.created,
      overwrites: c.updated,
      accounting,
      settledAfterS: settledAt ? Math.max(0, settledAt.atMs - loadEndMs) / 1000 : undefined,
      deadRecords: last?.deadRecords ?? 0,
      rssMaxMib: procs.maxRssMib(),
      cpuShare: procs.cpuShares(cpuFrom, cpuTo),
      ingestCpuShare: procs.cpuShares(load.startMs, load.endMs),
      problems: service.problems.map((line) => `${service?.child.name ?? 'sluice'}: ${line}`),
    };
  } catch (error) {
    if (reference === undefined) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      `${message}\n(the bare _bulk reference had indexed ${Math.round(reference.indexed.recordsPerS)} documents/s)`,
      { cause: error },
    );
  } finally {
    sampler?.cancel();
    procs?.stop();
    phase?.dispose();
    client?.close();
    await service?.stop();
    await cluster.stop();
  }
}
