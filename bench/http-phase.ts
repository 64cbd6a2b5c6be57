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
import { launchBenchReceiver, type ReceiverCounters } from './http-receiver.js';
import type { Infrastructure } from './infrastructure.js';
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

// Shared with the opensearch phase in their own modules; still exported here for the report and
// the bench's unit tests, which import them from this module.
export type { RateFigures } from './rate-figures.js';
export { accountRecords } from './record-accounting.js';
export { recordsPerBatch } from './reference-shape.js';
export { StampingFirehose, stampTemplates, type StampTemplate } from './stamping-firehose.js';

/**
 * The http phase: Sluice delivering to a Firehose HTTP endpoint on loopback (the bench's own
 * receiver, `http-receiver.ts`), beside a bare POST of the same bodies to the same receiver in
 * the same run, with 1 % of batches failed on purpose until their retry window ends, so the
 * error output is exercised and every acknowledged record can be accounted for.
 *
 * Every record carries a unique sequence number at its start (`{"seq":"…",` then the
 * clickstream event of `records.ts`), stamped into the prepared bodies as they are sent, so the
 * receiver's and the error output's records can be matched to the acknowledged ones one by one.
 */

/** The receiver fails every this many-th batch (1 %), the first included, on every attempt. */
export const HTTP_FAIL_EVERY = 100;
/** `AccessKey` of the bench endpoint. */
const ACCESS_KEY = 'bench-key';
/** The bucket of the stream's `S3Configuration`, where failed records go. */
export const HTTP_ERROR_BUCKET = 'bench-errors';
/** `BufferingHints.SizeInMBs`: small, so a short load makes many batches (and a few failures). */
export const HTTP_SIZE_MB = 1;
/** `BufferingHints.IntervalInSeconds`. */
export const HTTP_INTERVAL_S = 1;
/** `RetryOptions.DurationInSeconds`: short, so failed batches reach the error output quickly. */
export const HTTP_RETRY_S = 2;
/** Seconds of the bare POST reference, after the `--warmup`. */
export const HTTP_REFERENCE_S = 5;
/** Seconds of full-speed ingest into the Sluice stream. */
export const HTTP_INGEST_S = 5;
/** Distinct reference bodies, reused round-robin with a new request id each time. */
const REFERENCE_BODIES = 4;
/** A drain window with fewer accepted requests than this gives no drain rate. */
const MIN_DRAIN_REQUESTS = 10;
/** `User-Agent` Firehose sends. */
const FIREHOSE_USER_AGENT = 'Amazon Kinesis Data Firehose Agent/1.0';

/** What the bare POST reference measured. */
export interface HttpReferenceResult {
  /** Requests in flight: Sluice's `SLUICE_DELIVERY_CONCURRENCY` for this run. */
  concurrency: number;
  recordsPerRequest: number;
  bodyKiB: number;
  /** Records accepted (200) over the measured window, from the first send to the last reply. */
  accepted: RateFigures;
  requests: number;
  requestsPerS: number;
  /** Requests answered 500 on purpose. */
  failedRequests: number;
  /** Requests that failed otherwise, by reason. */
  errors: Record<string, number>;
  latencyP50Ms: number | undefined;
  latencyP99Ms: number | undefined;
  /** The receiver's own totals, warm-up included, as a cross-check. */
  receiver: ReceiverCounters;
  cpuShare: Record<string, number | undefined>;
}

/** What the http phase measured on Sluice. */
export interface HttpResult extends DeliveryRunFigures, ErrorOutputFigures {
  stream: string;
  deliveryConcurrency: number;
  /** The acknowledged load, closed-loop at `--concurrency`. */
  ingest: ThroughputFigures;
  /** Receiver-side, from its first request to its last 200. */
  deliveredOverall: RateFigures;
  /**
   * Receiver-side, from the end of the load to the last 200: delivery alone, with Sluice no
   * longer taking records; undefined when too little was left to deliver after the load.
   */
  deliveredDrain: RateFigures | undefined;
  /** Mean records per batch the receiver got (each deliberately failed batch counted once). */
  recordsPerBatch: number;
  /** Requests answered 500 on purpose (retries included), distinct batches and their records. */
  deliberate: { requests: number; batches: number; records: number };
  accounting: RecordAccounting;
  /** Requests the receiver refused as not Firehose requests. */
  rejectedRequests: number;
}

/** A Firehose HTTP endpoint request body with fixed-width places for its id and timestamp. */
interface ReferenceBody {
  buffer: Buffer;
  records: number;
  payloadBytes: number;
}

const REQUEST_ID_AT = '{"requestId":"'.length;
const TIMESTAMP_AT = REQUEST_ID_AT + 36 + '","timestamp":'.length;

/**
 * `count` bodies as Sluice's HTTP destination writes them (`{"requestId","timestamp",
 * "records":[{"data"}…]}`, compact), of `perBody` records each, drawn in turn from the
 * templates' records and numbered from 0.
 */
function referenceBodies(
  templates: readonly StampTemplate[],
  perBody: number,
  count: number,
): ReferenceBody[] {
  const head = `{"requestId":"${'0'.repeat(36)}","timestamp":${'0'.repeat(13)},"records":[`;
  return numberedRecordGroups(templates, perBody, count).map((records) => {
    const data = records.map((record) => `{"data":"${record.toString('base64')}"}`);
    return {
      buffer: Buffer.from(`${head}${data.join(',')}]}`, 'latin1'),
      records: records.length,
      payloadBytes: records.reduce((sum, record) => sum + record.length, 0),
    };
  });
}

/** A request id of UUID shape, `n` in its last 12 hex digits: deterministic, so runs compare. */
function referenceRequestId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** The reference's counts over one window. */
interface HttpReferenceTotals extends ReferenceTotals {
  acceptedRequests: number;
  records: number;
  bytes: number;
  /** Requests answered 500 on purpose. */
  failed: number;
}

/**
 * The same-run reference: Firehose HTTP endpoint bodies of the size Sluice's batches will have,
 * POSTed by a plain `node:http` client over keep-alive connections with as many in flight as
 * Sluice delivers at once, to a fresh receiver (failing every 100th request, as for Sluice),
 * after the `--warmup`, for {@link HTTP_REFERENCE_S} seconds. Nothing is retried.
 */
export async function runHttpReference(
  ctx: BenchContext,
  stream: string,
): Promise<HttpReferenceResult> {
  const { options } = ctx;
  const templates = stampTemplates(stream, ctx.bodiesFor(stream));
  const perBody = recordsPerBatch(templates, HTTP_SIZE_MB);
  const bodies = referenceBodies(templates, perBody, REFERENCE_BODIES);
  const concurrency = deliveryConcurrency();
  const receiver = await launchBenchReceiver({
    accessKey: ACCESS_KEY,
    failEvery: HTTP_FAIL_EVERY,
  });
  const url = new URL(receiver.url);
  const timeoutMs = options.requestTimeoutS * 1000;
  const baseHeaders = {
    'content-type': 'application/json',
    'user-agent': FIREHOSE_USER_AGENT,
    'x-amz-firehose-protocol-version': '1.0',
    'x-amz-firehose-source-arn': `arn:aws:firehose:us-east-1:000000000000:deliverystream/${stream}`,
    'x-amz-firehose-access-key': ACCESS_KEY,
    'x-amz-firehose-common-attributes': '{"commonAttributes":{}}',
  };

  const send = async (n: number, agent: Agent, totals: HttpReferenceTotals): Promise<void> => {
    const template = bodies[n % bodies.length];
    if (template === undefined) throw new Error('no reference bodies');
    const requestId = referenceRequestId(n);
    const body = Buffer.from(template.buffer);
    body.write(requestId, REQUEST_ID_AT, 'latin1');
    body.write(String(Math.trunc(Date.now())).padStart(13, '0'), TIMESTAMP_AT, 'latin1');
    const result = await postOnce(
      agent,
      url,
      body,
      { ...baseHeaders, 'x-amz-firehose-request-id': requestId },
      timeoutMs,
    );
    if ('error' in result) {
      countError(totals.errors, result.error);
      return;
    }
    totals.latencies.push(result.latencyMs);
    if (result.status === 200) {
      totals.acceptedRequests += 1;
      totals.records += template.records;
      totals.bytes += template.payloadBytes;
    } else if (result.status === 500) {
      totals.failed += 1;
    } else {
      countError(totals.errors, `HTTP ${result.status}`);
    }
  };

  try {
    const { totals, latencyP50Ms, latencyP99Ms, cpuShare } = await runReferenceLoad(ctx, {
      label: 'http reference',
      sending: `bare POST of ${perBody}-record bodies`,
      target: { name: 'http receiver', child: receiver.child },
      concurrency,
      seconds: HTTP_REFERENCE_S,
      totals: (common) => ({ ...common, acceptedRequests: 0, records: 0, bytes: 0, failed: 0 }),
      send,
    });
    const accepted = rateFigures(
      totals.acceptedRequests,
      totals.records,
      totals.bytes,
      totals.endMs - totals.startMs,
    );
    const first = bodies[0];
    return {
      concurrency,
      recordsPerRequest: perBody,
      bodyKiB: first === undefined ? 0 : first.buffer.length / 1024,
      accepted,
      requests: totals.requests,
      requestsPerS: totals.requests / accepted.durationS,
      failedRequests: totals.failed,
      errors: Object.fromEntries(totals.errors),
      latencyP50Ms,
      latencyP99Ms,
      receiver: await receiver.counters(),
      cpuShare,
    };
  } finally {
    await receiver.stop();
  }
}

/**
 * Creates the HTTP endpoint stream through the Firehose API and waits until it is ACTIVE.
 *
 * @throws when creation fails (a Sluice without the HTTP destination refuses the member) or
 *   the stream is not ACTIVE within 15 seconds.
 */
async function createHttpStream(client: FirehoseHttp, name: string, url: string): Promise<void> {
  await client.call('CreateDeliveryStream', {
    DeliveryStreamName: name,
    HttpEndpointDestinationConfiguration: {
      EndpointConfiguration: { Url: url, Name: 'bench', AccessKey: ACCESS_KEY },
      BufferingHints: { SizeInMBs: HTTP_SIZE_MB, IntervalInSeconds: HTTP_INTERVAL_S },
      RetryOptions: { DurationInSeconds: HTTP_RETRY_S },
      S3BackupMode: 'FailedDataOnly',
      S3Configuration: {
        RoleARN: 'arn:aws:iam::000000000000:role/bench',
        BucketARN: `arn:aws:s3:::${HTTP_ERROR_BUCKET}`,
      },
    },
  });
  await waitUntilActive(client, name);
}

/** The accounting in a few lines, for a failed phase's message. */
function accountingText(a: RecordAccounting): string {
  return [
    `acknowledged ${a.acknowledged}: accepted by the receiver ${a.accepted}, in the error output ${a.inErrorOutput}, lost ${a.lost}, duplicated ${a.duplicated}`,
    `unacknowledged but arrived ${a.unacknowledgedArrived}; error output not failed on purpose ${a.errorNotDeliberate}; deliberately failed but not in the error output ${a.deliberateNotInErrorOutput}; never sent ${a.neverSent}`,
  ].join('\n');
}

/**
 * Phase `http` on Sluice (role `all`): a stream with an HTTP endpoint destination pointing at a
 * fresh receiver, {@link HTTP_INGEST_S} seconds of closed-loop ingest at `--concurrency`, then a
 * bounded wait (`--drain-timeout`) until the stream's counters show every record delivered or
 * written to the error output. Delivered rates are the receiver's; every acknowledged record is
 * then looked up in the receiver's tallies and the error output.
 *
 * @throws when an acknowledged record is neither at the receiver nor in the error output.
 */
export async function runHttpPhase(
  ctx: BenchContext,
  infra: Infrastructure,
  stream: string,
): Promise<HttpResult> {
  const { options } = ctx;
  const templates = stampTemplates(stream, ctx.bodiesFor(stream));
  await ensureBucket(infra.s3, HTTP_ERROR_BUCKET);
  const receiver = await launchBenchReceiver({
    accessKey: ACCESS_KEY,
    failEvery: HTTP_FAIL_EVERY,
  });
  let run: DeliveryRun<StampingFirehose> | undefined;
  try {
    run = await startDeliveryRunWith(ctx, infra, stream, {
      client: (url) => new StampingFirehose(url, ctx.identity, options.concurrency, templates),
      target: { name: 'http receiver', child: receiver.child },
    });
    await createHttpStream(run.client, stream, receiver.url);
    const measured = await runMeasuredLoad(ctx, run, 'http', templates, HTTP_INGEST_S);
    const { load, loadEndMs } = measured;
    const atLoadEnd = await receiver.counters();
    const wait = await waitForDelivery(ctx, run, measured, {
      label: 'http',
      doneAs: 'delivered',
      progress: async () => {
        const c = await receiver.counters();
        return `receiver accepted ${c.acceptedRecords} records, failed ${c.failedRequests} requests on purpose`;
      },
    });
    const { settledAt, last } = wait;

    const tallies = await receiver.tallies();
    const c = tallies.counters;
    const errors = await readErrorOutput(infra.s3, HTTP_ERROR_BUCKET);
    const accounting = accountRecords(run.client, tallies.accepted, tallies.failed, errors.tally);
    const drainRequests = c.acceptedRequests - atLoadEnd.acceptedRequests;
    const lastAcceptedMs = c.lastAcceptedMs ?? loadEndMs;
    const deliveredDrain =
      drainRequests >= MIN_DRAIN_REQUESTS && lastAcceptedMs > loadEndMs
        ? rateFigures(
            drainRequests,
            c.acceptedRecords - atLoadEnd.acceptedRecords,
            c.acceptedBytes - atLoadEnd.acceptedBytes,
            lastAcceptedMs - loadEndMs,
          )
        : undefined;
    const batches = c.acceptedRequests + c.failedBatches;

    if (accounting.lost > 0) {
      throw new Error(
        [
          `${accounting.lost} of ${accounting.acknowledged} acknowledged records were neither accepted by the receiver nor written to the error output${settledAt ? '' : ` (the stream had not settled after ${options.drainTimeoutS} s)`}`,
          accountingText(accounting),
          `receiver: ${c.acceptedRequests} requests accepted, ${c.failedRequests} failed on purpose (${c.failedBatches} batches, ${c.failedBatchRecords} records), ${c.rejectedRequests} refused; error output: ${errors.records} records in ${errors.objects} objects; dead-lettered: ${last?.deadRecords ?? 0}`,
        ].join('\n'),
      );
    }
    return {
      stream,
      deliveryConcurrency: deliveryConcurrency(),
      ingest: throughputFigures(load),
      deliveredOverall: rateFigures(
        c.acceptedRequests,
        c.acceptedRecords,
        c.acceptedBytes,
        lastAcceptedMs - (c.firstRequestMs ?? lastAcceptedMs),
      ),
      deliveredDrain,
      recordsPerBatch: batches === 0 ? 0 : (c.acceptedRecords + c.failedBatchRecords) / batches,
      deliberate: {
        requests: c.failedRequests,
        batches: c.failedBatches,
        records: c.failedBatchRecords,
      },
      ...errorOutputFigures(errors, accounting, c.failedBatchRecords),
      accounting,
      rejectedRequests: c.rejectedRequests,
      ...deliveryRunFigures(run, measured, wait, deliveredDrain ? lastAcceptedMs : undefined),
    };
  } finally {
    await run?.close();
    await receiver.stop();
  }
}
