import type { Agent } from 'node:http';

import type { BenchContext } from './context.js';
import { waitUntilActive } from './control-plane.js';
import { deliveryRunFigures, type DeliveryRunFigures } from './delivery-figures.js';
import { runMeasuredLoad } from './delivery-load.js';
import { startDeliveryRunWith, type DeliveryRun } from './delivery-run.js';
import { waitForDelivery } from './delivery-wait.js';
import {
  ensureBucket,
  errorOutputFigures,
  readErrorOutput,
  type ErrorOutputFigures,
} from './error-output.js';
import type { FirehoseHttp } from './firehose-http.js';
import type { Infrastructure } from './infrastructure.js';
import {
  launchBenchCluster,
  type BenchClusterProcess,
  type IndexCounters,
} from './opensearch-server-process.js';
import { rateFigures, type RateFigures } from './rate-figures.js';
import { postOnce } from './reference-post.js';
import { accountRecords, type RecordAccounting } from './record-accounting.js';
import { countError, runReferenceLoad, type ReferenceTotals } from './reference-load.js';
import { deliveryConcurrency, recordsPerBatch } from './reference-shape.js';
import {
  numberedRecordGroups,
  StampingFirehose,
  stampTemplates,
  type StampTemplate,
} from './stamping-firehose.js';
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
/** A drain window with fewer indexed documents than this gives no drain rate. */
const MIN_DRAIN_DOCUMENTS = 10_000;

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
export interface OpenSearchResult extends DeliveryRunFigures, ErrorOutputFigures {
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
  /** Documents in Sluice's index at the end. */
  documentsInIndex: number;
  /** Items that overwrote a document already there (a resend with the same `_id`). */
  overwrites: number;
  accounting: RecordAccounting;
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
  return numberedRecordGroups(templates, perBody, count).map((records, b) => {
    const parts: Buffer[] = [];
    let payloadBytes = 0;
    records.forEach((record, r) => {
      let end = record.length;
      while (end > 0 && (record[end - 1] === 0x0a || record[end - 1] === 0x0d)) end -= 1;
      const id = `reference${String(b).padStart(4, '0')}${'0'.repeat(19)}-${r}`;
      parts.push(
        Buffer.from(`{"index":{"_index":"${REFERENCE_INDEX}","_id":"${id}"}}\n`),
        record.subarray(0, end),
        Buffer.from('\n'),
      );
      payloadBytes += end;
    });
    return { buffer: Buffer.concat(parts), documents: records.length, payloadBytes };
  });
}

/** One `_bulk`'s result: statuses counted, or why it failed as a whole. */
type BulkResult =
  | { status: number; latencyMs: number; indexed: number; failedOnPurpose: number; other: number }
  | { error: string };

interface BulkAnswer {
  items?: Array<Record<string, { status?: number }>>;
}

/** POSTs one `_bulk` and reads its answer as a client must (every item's status); never rejects. */
async function bulkOnce(
  agent: Agent,
  url: URL,
  body: Buffer,
  timeoutMs: number,
): Promise<BulkResult> {
  const result = await postOnce(
    agent,
    url,
    body,
    { 'content-type': 'application/x-ndjson' },
    timeoutMs,
  );
  if ('error' in result) return result;
  const { status, latencyMs } = result;
  if (status !== 200) return { error: `HTTP ${status}` };
  let answer: BulkAnswer;
  try {
    answer = JSON.parse(result.answer.toString('utf8')) as BulkAnswer;
  } catch {
    return { error: 'answer is not JSON' };
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
  return { status, latencyMs, indexed, failedOnPurpose, other };
}

/** The reference's counts over one window. */
interface OpenSearchReferenceTotals extends ReferenceTotals {
  indexed: number;
  bytes: number;
  failedOnPurpose: number;
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
  const perBody = recordsPerBatch(templates, OPENSEARCH_SIZE_MB);
  const bodies = referenceBodies(templates, perBody, REFERENCE_BODIES);
  const concurrency = deliveryConcurrency();
  const url = new URL('/_bulk', cluster.url);
  const timeoutMs = ctx.options.requestTimeoutS * 1000;

  const send = async (n: number, agent: Agent, totals: OpenSearchReferenceTotals) => {
    const body = bodies[n % bodies.length];
    if (body === undefined) throw new Error('no reference bodies');
    const result = await bulkOnce(agent, url, body.buffer, timeoutMs);
    if ('error' in result) {
      countError(totals.errors, result.error);
      return;
    }
    totals.latencies.push(result.latencyMs);
    totals.indexed += result.indexed;
    totals.bytes += (body.payloadBytes * result.indexed) / body.documents;
    totals.failedOnPurpose += result.failedOnPurpose;
    if (result.other > 0) countError(totals.errors, 'item failed', result.other);
  };

  const { totals, latencyP50Ms, latencyP99Ms, cpuShare } = await runReferenceLoad(ctx, {
    label: 'opensearch reference',
    sending: `bare _bulk of ${perBody}-document bodies`,
    target: { name: 'opensearch server', child: cluster.child },
    concurrency,
    seconds: OPENSEARCH_REFERENCE_S,
    totals: (common) => ({ ...common, indexed: 0, bytes: 0, failedOnPurpose: 0 }),
    send,
  });
  const first = bodies[0];
  return {
    concurrency,
    documentsPerRequest: perBody,
    bodyKiB: first === undefined ? 0 : first.buffer.length / 1024,
    indexed: rateFigures(
      totals.requests,
      totals.indexed,
      totals.bytes,
      totals.endMs - totals.startMs,
    ),
    requests: totals.requests,
    failedOnPurpose: totals.failedOnPurpose,
    errors: Object.fromEntries(totals.errors),
    latencyP50Ms,
    latencyP99Ms,
    cpuShare,
  };
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
  await ensureBucket(infra.s3, OPENSEARCH_ERROR_BUCKET);
  const cluster = await launchBenchCluster({
    failEvery: OPENSEARCH_FAIL_EVERY,
    tallyIndex: OPENSEARCH_INDEX,
  });
  let run: DeliveryRun<StampingFirehose> | undefined;
  let reference: OpenSearchReferenceResult | undefined;
  try {
    reference = await runReference(ctx, cluster, templates);
    await cluster.reset();

    run = await startDeliveryRunWith(ctx, infra, stream, {
      client: (url) => new StampingFirehose(url, ctx.identity, options.concurrency, templates),
      target: { name: 'opensearch server', child: cluster.child },
    });
    await createOpenSearchStream(run.client, stream, cluster.url);
    const measured = await runMeasuredLoad(ctx, run, 'opensearch', templates, OPENSEARCH_INGEST_S);
    const { load, loadEndMs } = measured;
    const atLoadEnd = (await cluster.counters()).indices[OPENSEARCH_INDEX];
    const wait = await waitForDelivery(ctx, run, measured, {
      label: 'opensearch',
      doneAs: 'indexed',
      progress: async () => {
        const c = (await cluster.counters()).indices[OPENSEARCH_INDEX];
        return `${indexed(c)} documents indexed, ${c?.failedOnPurpose ?? 0} failed on purpose`;
      },
    });
    const { settledAt, last } = wait;

    const tallies = await cluster.tallies();
    const counters = await cluster.counters();
    const c = tallies.counters;
    const errors = await readErrorOutput(infra.s3, OPENSEARCH_ERROR_BUCKET, ERROR_PREFIX);
    const accounting = accountRecords(run.client, tallies.indexed, tallies.failed, errors.tally);
    const failedRecords = tallies.failed.reduce((sum, flag) => sum + flag, 0);
    const drainDocuments = indexed(c) - indexed(atLoadEnd);
    const lastIndexedMs = c.lastIndexedMs ?? loadEndMs;
    const drainBytes = c.indexedBytes - (atLoadEnd?.indexedBytes ?? 0);
    const deliveredDrain =
      drainDocuments >= MIN_DRAIN_DOCUMENTS && lastIndexedMs > loadEndMs
        ? rateFigures(0, drainDocuments, drainBytes, lastIndexedMs - loadEndMs)
        : undefined;

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
      deliveredOverall: rateFigures(
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
      ...errorOutputFigures(errors, accounting, failedRecords),
      documentsInIndex: c.created,
      overwrites: c.updated,
      accounting,
      ...deliveryRunFigures(run, measured, wait, deliveredDrain ? lastIndexedMs : undefined),
    };
  } catch (error) {
    if (reference === undefined) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      `${message}\n(the bare _bulk reference had indexed ${Math.round(reference.indexed.recordsPerS)} documents/s)`,
      { cause: error },
    );
  } finally {
    await run?.close();
    await cluster.stop();
  }
}
