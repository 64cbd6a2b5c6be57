import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';

import { SETTINGS } from '../src/config/env.js';
import { parseErrorRecords } from '../src/error-output/error-records.js';
import type { S3Server } from '../devtools/s3-server.js';
import { nowMs } from './clock.js';
import { phaseSignal, type BenchContext } from './context.js';
import { FirehoseHttp, type HttpReply, type SignedBody } from './firehose-http.js';
import {
  launchBenchReceiver,
  SeqBytes,
  seqOfRecord,
  seqPrefix,
  writeSeqBase64,
  type ReceiverCounters,
} from './http-receiver.js';
import { waitUntilActive } from './control-plane.js';
import type { Infrastructure } from './infrastructure.js';
import { runClosedLoop, type LoadProgress } from './load.js';
import { ProcessSampler } from './process-sampler.js';
import { say, startProgress } from './progress.js';
import { putOutcome, requestResponses } from './put-outcome.js';
import type { PreparedBody } from './records.js';
import { sha256Hex, type SigningIdentity } from './sigv4.js';
import { passedThroughSettings, startSluice, type SluiceProcess } from './sluice-process.js';
import { MIB, percentile } from './stats.js';
import { StreamStatsSampler, type StreamStatsSample } from './stream-stats.js';
import { throughputFigures, type ThroughputFigures } from './throughput.js';

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
/** Stream counters are read this often while waiting for delivery. */
const SAMPLE_PERIOD_MS = 200;
/** A drain window with fewer accepted requests than this gives no drain rate. */
const MIN_DRAIN_REQUESTS = 10;
/** How often the drain reports progress. */
const DRAIN_PROGRESS_MS = 5_000;
/** `User-Agent` Firehose sends. */
const FIREHOSE_USER_AGENT = 'Amazon Kinesis Data Firehose Agent/1.0';

/** A rate over a window. */
export interface RateFigures {
  durationS: number;
  requests: number;
  records: number;
  recordsPerS: number;
  /** Payload (base64-decoded record bytes) per second. */
  mibS: number;
}

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

/** Every acknowledged record accounted for, by sequence number. */
export interface HttpAccounting {
  /** Records PutRecordBatch acknowledged. */
  acknowledged: number;
  /** Acknowledged records the receiver accepted (at least once). */
  accepted: number;
  /** Acknowledged records found in the error output (at least once). */
  inErrorOutput: number;
  /** Acknowledged records neither accepted nor in the error output. */
  lost: number;
  /** Copies beyond the first, over accepted and error output together. */
  duplicated: number;
  /** Records sent but not acknowledged (no reply, or an error) that arrived anyway. */
  unacknowledgedArrived: number;
  /** Error-output records whose batch the receiver did not fail on purpose. */
  errorNotDeliberate: number;
  /** Records of deliberately failed batches missing from the error output. */
  deliberateNotInErrorOutput: number;
  /** Records the receiver or the error output had that were never sent. */
  neverSent: number;
}

/** What the http phase measured on Sluice. */
export interface HttpResult {
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
  errorOutput: { objects: number; records: number; codes: Record<string, number> };
  /** The error output holds exactly the records of the deliberately failed batches. */
  errorOutputMatches: boolean;
  accounting: HttpAccounting;
  /** From the end of the load until the stream's counters showed every record done. */
  settledAfterS: number | undefined;
  deadRecords: number;
  /** Requests the receiver refused as not Firehose requests. */
  rejectedRequests: number;
  rssMaxMib: Record<string, number | undefined>;
  /** Average CPU per process while Sluice delivered after the load, as a share of one core. */
  cpuShare: Record<string, number | undefined>;
  /** Average CPU per process during the load. */
  ingestCpuShare: Record<string, number | undefined>;
  problems: string[];
}

/** Sluice's delivery concurrency in this run: the passed-through setting or its default. */
export function deliveryConcurrency(): number {
  const text =
    passedThroughSettings().SLUICE_DELIVERY_CONCURRENCY ??
    SETTINGS.SLUICE_DELIVERY_CONCURRENCY.default;
  const value = Number(text);
  return Number.isInteger(value) && value > 0
    ? value
    : Number(SETTINGS.SLUICE_DELIVERY_CONCURRENCY.default);
}

/** A PutRecordBatch body whose records start with a sequence number to stamp on each send. */
export interface StampTemplate extends PreparedBody {
  /** Byte offset of each record's base64 `Data` in {@link PreparedBody.buffer}. */
  readonly dataOffsets: readonly number[];
  /** Each record's bytes, with sequence number 0. */
  readonly records: readonly Buffer[];
}

/**
 * The bench's prepared bodies with `{"seq":"000000000000000",` put in front of each event
 * (`{"seq":"…","event_id":…}` stays a JSON line), for {@link StampingFirehose} to number.
 */
export function stampTemplates(stream: string, bodies: readonly PreparedBody[]): StampTemplate[] {
  const zero = seqPrefix(0);
  return bodies.map((body) => {
    const parsed = JSON.parse(body.buffer.toString('utf8')) as { Records: { Data: string }[] };
    let text = `{"DeliveryStreamName":${JSON.stringify(stream)},"Records":[`;
    const dataOffsets: number[] = [];
    const records: Buffer[] = [];
    parsed.Records.forEach(({ Data }, i) => {
      const event = Buffer.from(Data, 'base64');
      // `{"event_id":…}` → `{"seq":"…","event_id":…}`.
      const record = Buffer.concat([zero, Buffer.from(','), event.subarray(1)]);
      records.push(record);
      text += `${i > 0 ? ',' : ''}{"Data":"`;
      dataOffsets.push(text.length);
      text += `${record.toString('base64')}"}`;
    });
    const buffer = Buffer.from(`${text}]}`, 'latin1');
    const recordBytes = records.map((r) => r.length);
    return {
      buffer,
      sha256: sha256Hex(buffer),
      recordBytes,
      payloadBytes: recordBytes.reduce((sum, n) => sum + n, 0),
      dataOffsets,
      records,
    };
  });
}

/**
 * Records per batch Sluice seals from these bodies at `sizeMb`: it appends a request's records
 * whole and seals once the buffer reaches the size, so a batch is that many requests' records.
 */
export function recordsPerBatch(templates: readonly PreparedBody[], sizeMb: number): number {
  let bytes = 0;
  let records = 0;
  for (let i = 0; bytes < sizeMb * MIB; i += 1) {
    const body = templates[i % templates.length];
    if (body === undefined || body.payloadBytes === 0) break;
    bytes += body.payloadBytes;
    records += body.recordBytes.length;
  }
  return records;
}

/** Per record: not sent (0), sent without acknowledgement (1), acknowledged (2). */
const SENT = 1;
const ACKNOWLEDGED = 2;

/**
 * The Firehose client of the load, numbering records as it sends them: each PutRecordBatch is a
 * copy of its template with the next sequence numbers written over the old ones (re-signed,
 * since the signature covers the body's hash), and each record's outcome is remembered.
 *
 * Copies are reused once their request is answered: every sequence number in a copy is
 * rewritten on each use, and allocating a fresh third of a MiB per request would cost the load
 * generator more than everything else it does for the request.
 */
export class StampingFirehose extends FirehoseHttp {
  /** Per sequence number: {@link SENT} or {@link ACKNOWLEDGED}. */
  readonly states = new SeqBytes();
  /** The next sequence number. */
  next = 0;
  private readonly templates: ReadonlyMap<SignedBody, StampTemplate>;
  /** Answered copies per template, ready for their next use. */
  private readonly spares = new Map<StampTemplate, Buffer[]>();

  constructor(
    url: string,
    identity: SigningIdentity,
    maxSockets: number,
    templates: readonly StampTemplate[],
  ) {
    super(url, identity, maxSockets);
    this.templates = new Map(templates.map((t) => [t, t]));
  }

  /** Sends `body`'s template with fresh sequence numbers; resolves and rejects as the base. */
  override async putRecordBatch(body: SignedBody, timeoutMs: number): Promise<HttpReply> {
    const template = this.templates.get(body);
    if (template === undefined) throw new Error('StampingFirehose: body is not a stamp template');
    const first = this.next;
    this.next += template.dataOffsets.length;
    let spares = this.spares.get(template);
    if (spares === undefined) {
      spares = [];
      this.spares.set(template, spares);
    }
    const copy = spares.pop() ?? Buffer.from(template.buffer);
    template.dataOffsets.forEach((offset, i) => writeSeqBase64(copy, offset, first + i));
    const mark = (state: (i: number) => number): void => {
      for (let i = 0; i < template.dataOffsets.length; i += 1) this.states.set(first + i, state(i));
    };
    let reply: HttpReply;
    try {
      reply = await this.post('PutRecordBatch', copy, sha256Hex(copy), timeoutMs);
    } catch (error) {
      // Not reused: a request that failed may still be writing the copy.
      mark(() => SENT);
      throw error;
    }
    spares.push(copy);
    const outcome = putOutcome(reply, template);
    if (outcome.failedRecords === 0) {
      mark(() => ACKNOWLEDGED);
    } else if (reply.status !== 200) {
      mark(() => SENT);
    } else {
      const responses = requestResponses(reply, template.dataOffsets.length);
      mark((i) => {
        if (typeof responses === 'string') return SENT;
        const code = (responses[i] as { ErrorCode?: unknown } | null)?.ErrorCode;
        return typeof code === 'string' && code !== '' ? SENT : ACKNOWLEDGED;
      });
    }
    return reply;
  }
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
  const all = templates.flatMap((t) => t.records);
  const bodies: ReferenceBody[] = [];
  let seq = 0;
  for (let b = 0; b < count; b += 1) {
    const parts: string[] = [];
    let payloadBytes = 0;
    for (let r = 0; r < perBody; r += 1) {
      const record = Buffer.from(all[seq % all.length] ?? Buffer.alloc(0));
      seqPrefix(seq).copy(record, 0);
      seq += 1;
      payloadBytes += record.length;
      parts.push(`{"data":"${record.toString('base64')}"}`);
    }
    const head = `{"requestId":"${'0'.repeat(36)}","timestamp":${'0'.repeat(13)},"records":[`;
    bodies.push({
      buffer: Buffer.from(`${head}${parts.join(',')}]}`, 'latin1'),
      records: perBody,
      payloadBytes,
    });
  }
  return bodies;
}

/** A request id of UUID shape, `n` in its last 12 hex digits: deterministic, so runs compare. */
function referenceRequestId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** One POST's result. */
type PostResult = { status: number; latencyMs: number } | { error: string };

/** POSTs `body` with Firehose's headers over `agent`; never rejects. */
function postOnce(
  agent: Agent,
  url: URL,
  body: Buffer,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<PostResult> {
  const sentMs = nowMs();
  return new Promise<PostResult>((resolve) => {
    const req = request(
      {
        host: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        method: 'POST',
        agent,
        headers: { ...headers, 'content-length': String(body.length) },
      },
      (res) => {
        res.resume();
        res.once('error', (error) => resolve({ error: error.message }));
        res.once('end', () =>
          resolve({ status: res.statusCode ?? 0, latencyMs: nowMs() - sentMs }),
        );
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no reply within ${timeoutMs} ms`)));
    req.once('error', (error) => resolve({ error: error.message }));
    req.end(body);
  });
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
  const phase = phaseSignal(ctx.signal, [receiver.child]);
  const agent = new Agent({
    keepAlive: true,
    maxSockets: concurrency,
    maxFreeSockets: concurrency,
  });
  phase.signal.addEventListener('abort', () => agent.destroy(), { once: true });
  const procs = new ProcessSampler(new Map([['http receiver', receiver.child.pid]]));
  const url = new URL(receiver.url);
  const timeoutMs = options.requestTimeoutS * 1000;
  let sent = 0;
  const baseHeaders = {
    'content-type': 'application/json',
    'user-agent': FIREHOSE_USER_AGENT,
    'x-amz-firehose-protocol-version': '1.0',
    'x-amz-firehose-source-arn': `arn:aws:firehose:us-east-1:000000000000:deliverystream/${stream}`,
    'x-amz-firehose-access-key': ACCESS_KEY,
    'x-amz-firehose-common-attributes': '{"commonAttributes":{}}',
  };

  const run = async (durationMs: number) => {
    const totals = {
      startMs: nowMs(),
      endMs: nowMs(),
      requests: 0,
      acceptedRequests: 0,
      records: 0,
      bytes: 0,
      failed: 0,
      errors: new Map<string, number>(),
      latencies: [] as number[],
    };
    const endAt = totals.startMs + durationMs;
    const sender = async (): Promise<void> => {
      while (nowMs() < endAt && !phase.signal.aborted) {
        const n = sent;
        sent += 1;
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
        totals.requests += 1;
        totals.endMs = Math.max(totals.endMs, nowMs());
        if ('error' in result) {
          totals.errors.set(result.error, (totals.errors.get(result.error) ?? 0) + 1);
          continue;
        }
        totals.latencies.push(result.latencyMs);
        if (result.status === 200) {
          totals.acceptedRequests += 1;
          totals.records += template.records;
          totals.bytes += template.payloadBytes;
        } else if (result.status === 500) {
          totals.failed += 1;
        } else {
          const reason = `HTTP ${result.status}`;
          totals.errors.set(reason, (totals.errors.get(reason) ?? 0) + 1);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, sender));
    return totals;
  };

  try {
    if (options.warmupS > 0) {
      say(`http reference: warming up for ${options.warmupS} s`);
      await run(options.warmupS * 1000);
    }
    say(
      `http reference: bare POST of ${perBody}-record bodies, ${concurrency} in flight, for ${HTTP_REFERENCE_S} s`,
    );
    procs.start();
    const totals = await run(HTTP_REFERENCE_S * 1000);
    procs.stop();
    const crashed = phase.crashed();
    if (crashed) throw new Error(`during the load: ${crashed.describeExit()}`);
    ctx.signal.throwIfAborted();
    const durationS = Math.max(1e-3, (totals.endMs - totals.startMs) / 1000);
    const first = bodies[0];
    return {
      concurrency,
      recordsPerRequest: perBody,
      bodyKiB: first === undefined ? 0 : first.buffer.length / 1024,
      accepted: {
        durationS,
        requests: totals.acceptedRequests,
        records: totals.records,
        recordsPerS: totals.records / durationS,
        mibS: totals.bytes / MIB / durationS,
      },
      requests: totals.requests,
      requestsPerS: totals.requests / durationS,
      failedRequests: totals.failed,
      errors: Object.fromEntries(totals.errors),
      latencyP50Ms: percentile(totals.latencies, 50),
      latencyP99Ms: percentile(totals.latencies, 99),
      receiver: await receiver.counters(),
      cpuShare: procs.cpuShares(totals.startMs, totals.endMs),
    };
  } finally {
    procs.stop();
    phase.dispose();
    agent.destroy();
    await receiver.stop();
  }
}

/** Creates the bucket unless it is there already (a bench run creates it once). */
async function ensureBucket(s3: S3Server, bucket: string): Promise<void> {
  try {
    await s3.createBucket(bucket);
  } catch (error) {
    const name = (error as { name?: unknown }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
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

/** The error output: every record's sequence number, and the error codes. */
interface ErrorOutputRead {
  objects: number;
  records: number;
  codes: Record<string, number>;
  /** Copies per sequence number. */
  tally: SeqBytes;
  /** Records without a bench sequence number. */
  untallied: number;
}

/** Reads every error-output object of the bucket (NDJSON, gzip-compressed or not). */
async function readErrorOutput(s3: S3Server, bucket: string): Promise<ErrorOutputRead> {
  const read: ErrorOutputRead = {
    objects: 0,
    records: 0,
    codes: {},
    tally: new SeqBytes(),
    untallied: 0,
  };
  for (const key of await s3.listKeys(bucket)) {
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

/**
 * Matches every record sent with what the receiver accepted and what the error output holds,
 * by sequence number.
 */
export function accountRecords(
  sent: { states: SeqBytes; next: number },
  accepted: Uint8Array,
  failed: Uint8Array,
  errors: SeqBytes,
): HttpAccounting {
  const a: HttpAccounting = {
    acknowledged: 0,
    accepted: 0,
    inErrorOutput: 0,
    lost: 0,
    duplicated: 0,
    unacknowledgedArrived: 0,
    errorNotDeliberate: 0,
    deliberateNotInErrorOutput: 0,
    neverSent: 0,
  };
  const end = Math.max(sent.next, accepted.length, failed.length);
  for (let seq = 0; seq < end; seq += 1) {
    const state = sent.states.at(seq);
    const got = accepted[seq] ?? 0;
    const errored = errors.at(seq);
    const copies = got + errored;
    const deliberate = (failed[seq] ?? 0) !== 0;
    if (errored > 0 && !deliberate) a.errorNotDeliberate += errored;
    if (deliberate && errored === 0) a.deliberateNotInErrorOutput += 1;
    if (state === ACKNOWLEDGED) {
      a.acknowledged += 1;
      if (got > 0) a.accepted += 1;
      if (errored > 0) a.inErrorOutput += 1;
      if (copies === 0) a.lost += 1;
      else a.duplicated += copies - 1;
    } else if (state === SENT) {
      if (copies > 0) a.unacknowledgedArrived += 1;
    } else if (copies > 0) {
      a.neverSent += 1;
    }
  }
  // The error output may name sequence numbers past everything else (it should not).
  for (let seq = end; seq < errors.bytes.length; seq += 1) {
    const errored = errors.at(seq);
    if (errored > 0) {
      a.neverSent += 1;
      a.errorNotDeliberate += errored;
    }
  }
  return a;
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

/** The accounting in a few lines, for a failed phase's message. */
function accountingText(a: HttpAccounting): string {
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
  await infra.reset();
  await ensureBucket(infra.s3, HTTP_ERROR_BUCKET);
  const receiver = await launchBenchReceiver({
    accessKey: ACCESS_KEY,
    failEvery: HTTP_FAIL_EVERY,
  });
  let service: SluiceProcess | undefined;
  let sampler: StreamStatsSampler | undefined;
  let procs: ProcessSampler | undefined;
  let phase: ReturnType<typeof phaseSignal> | undefined;
  let client: StampingFirehose | undefined;
  try {
    service = await startSluice({
      role: 'all',
      redisUrl: infra.redis.server.url,
      s3Env: infra.s3.sluiceEnv,
      maxBacklogMb: options.maxBacklogMb,
    });
    if (service.url === undefined) throw new Error(`${service.child.name} does not serve the API`);
    phase = phaseSignal(ctx.signal, [service.child, infra.redis.server.child, receiver.child]);
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
        ['http receiver', receiver.child.pid],
        ...infra.processes(),
      ]),
    );

    await createHttpStream(stamping, stream, receiver.url);
    sampler.start();
    procs.start();
    say(`http: ${options.concurrency} in flight into Sluice for ${HTTP_INGEST_S} s`);
    const progress: LoadProgress = { requests: 0, acceptedBytes: 0, failedRecords: 0 };
    const stopProgress = startProgress('http', progress, sampler);
    const load = await runClosedLoop({
      client: stamping,
      bodies: templates,
      concurrency: options.concurrency,
      durationMs: HTTP_INGEST_S * 1000,
      timeoutMs: options.requestTimeoutS * 1000,
      signal: phase.signal,
      progress,
    });
    stopProgress();
    const loadEndMs = nowMs();
    const atLoadEnd = await receiver.counters();

    say(
      `http: waiting up to ${options.drainTimeoutS} s for ${load.acceptedRecords} records to be delivered or written to the error output`,
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
        const c = await receiver.counters();
        const s = sampler.latest();
        say(
          `http drain ${((nowMs() - loadEndMs) / 1000).toFixed(0)} s: receiver accepted ${c.acceptedRecords} records, failed ${c.failedRequests} requests on purpose; backlog ${((s?.backlogBytes ?? 0) / MIB).toFixed(0)} MiB`,
        );
      }
    }
    const samples = await sampler.stop();
    const settledAt = samples.find((s) => settled(s));
    procs.stop();
    const crashed = phase.crashed();
    if (crashed) throw new Error(`during the phase: ${crashed.describeExit()}`);
    ctx.signal.throwIfAborted();

    const tallies = await receiver.tallies();
    const c = tallies.counters;
    const errors = await readErrorOutput(infra.s3, HTTP_ERROR_BUCKET);
    const accounting = accountRecords(stamping, tallies.accepted, tallies.failed, errors.tally);
    const last = samples[samples.length - 1];
    const drainRequests = c.acceptedRequests - atLoadEnd.acceptedRequests;
    const lastAcceptedMs = c.lastAcceptedMs ?? loadEndMs;
    const deliveredDrain =
      drainRequests >= MIN_DRAIN_REQUESTS && lastAcceptedMs > loadEndMs
        ? rate(
            drainRequests,
            c.acceptedRecords - atLoadEnd.acceptedRecords,
            c.acceptedBytes - atLoadEnd.acceptedBytes,
            lastAcceptedMs - loadEndMs,
          )
        : undefined;
    const cpuFrom = deliveredDrain ? loadEndMs : load.startMs;
    const cpuTo = deliveredDrain ? lastAcceptedMs : (settledAt?.atMs ?? nowMs());
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
      deliveredOverall: rate(
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
      errorOutput: { objects: errors.objects, records: errors.records, codes: errors.codes },
      errorOutputMatches:
        errors.records === c.failedBatchRecords &&
        errors.untallied === 0 &&
        accounting.errorNotDeliberate === 0 &&
        accounting.deliberateNotInErrorOutput === 0,
      accounting,
      settledAfterS: settledAt ? Math.max(0, settledAt.atMs - loadEndMs) / 1000 : undefined,
      deadRecords: last?.deadRecords ?? 0,
      rejectedRequests: c.rejectedRequests,
      rssMaxMib: procs.maxRssMib(),
      cpuShare: procs.cpuShares(cpuFrom, cpuTo),
      ingestCpuShare: procs.cpuShares(load.startMs, load.endMs),
      problems: service.problems.map((line) => `${service?.child.name ?? 'sluice'}: ${line}`),
    };
  } finally {
    sampler?.cancel();
    procs?.stop();
    phase?.dispose();
    client?.close();
    await service?.stop();
    await receiver.stop();
  }
}
