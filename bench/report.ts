import type { CeilingResult } from './ceiling-phase.js';
import type { ClusterResult } from './cluster-phase.js';
import { clusterSection, clusterSummaryRow } from './cluster-report.js';
import {
  COMPRESSION_ROUND_S,
  COMPRESSION_ROUNDS,
  EVENT_LOOP_RESOLUTION_MS,
  type CompressionFormatResult,
  type CompressionResult,
  type CompressionSide,
  type LoopDelay,
} from './compression-phase.js';
import type { PostgresResult } from './postgres-phase.js';
import {
  HTTP_FAIL_EVERY,
  HTTP_INTERVAL_S,
  HTTP_RETRY_S,
  HTTP_SIZE_MB,
  type HttpReferenceResult,
  type HttpResult,
  type RateFigures,
} from './http-phase.js';
import {
  PARQUET_ROUND_S,
  PARQUET_ROUNDS,
  type ParquetResult,
  type ParquetSideExtras,
} from './parquet-phase.js';
import type { OpenSearchResult } from './opensearch-phase.js';
import { openSearchSection, openSearchSummaryRow } from './opensearch-report.js';
import { replicasSection, replicasSummaryRow } from './replicas-report.js';
import type { ReplicasResult } from './replicas-phase.js';
import { DELIVERED_TOLERANCE } from './paced-delivery.js';
import { deliveredMeets, pacedLines, seconds } from './paced-report.js';
import type { ProcessesResult } from './processes-phase.js';
import { processesSection, processesSummaryRows } from './processes-report.js';
import type { StreamsResult } from './streams-phase.js';
import { streamsSection, streamsSummaryRow } from './streams-report.js';
import { OTHER_PROCESSES } from './process-sampler.js';
import { cpuText, int, ms, num, rssText, table } from './report-format.js';
import type { IngestResult } from './ingest-phase.js';
import {
  PARTITION_ROUND_S,
  PARTITION_ROUNDS,
  PARTITION_SLICE_BYTES,
  type PartitionResult,
} from './partition-phase.js';
import type { SideRate } from './rounds.js';
import { MIB } from './stats.js';
import type { SustainedResult } from './sustained-phase.js';
import type { ThroughputFigures } from './throughput.js';
import type { E2eSide, TransformE2eResult } from './transform-e2e-phase.js';
import { TRANSFORM_ROUND_S, TRANSFORM_ROUNDS, type TransformResult } from './transform-phase.js';

/**
 * The printed report: one section per phase with every figure and how it was taken, then the
 * summary table against the targets.
 */

/** The targets the summary judges against. */
export const TARGETS = {
  /** PostgreSQL: records/s Sluice loads as a share of a bare COPY of the same rows. */
  postgresShareOfCopy: 0.7,
  /** Acknowledged ingest as a share of the same-run ceiling. */
  ingestShareOfCeiling: 0.4,
  /** Delivered payload rate under the sustained load, MiB/s. */
  sustainedMibS: 30,
  /** Resolution of the delivered-rate estimate (see {@link DELIVERED_TOLERANCE}). */
  deliveredTolerance: DELIVERED_TOLERANCE,
  /** Freshness p99 may exceed IntervalInSeconds by this much. */
  freshnessSlackS: 2,
  /** Highest RSS of a Sluice process in the `all` role, MiB. */
  rssMib: 300,
  /** Records/s the transform host loses against calling the record function directly. */
  transformOverhead: 0.2,
  /** End-to-end delivery rate with the transform as a share of the rate without. */
  transformE2eShare: 0.6,
  /**
   * Parquet conversion: Sluice's records/s per core of the machine as a share of parquetjs-lite
   * alone writing the same rows on one thread (within 25 %, using every core).
   */
  parquetPerCoreShare: 0.75,
} as const;

/** How a phase ended. */
export type PhaseOutcome<T> =
  | { status: 'ok'; value: T }
  | { status: 'failed'; error: string }
  | { status: 'interrupted' }
  | { status: 'skipped' };

/** The run's conditions, printed first so figures are never read without them. */
export interface SetupInfo {
  machine: string;
  node: string;
  redis: string;
  persistence: string;
  recordsPerRequest: number;
  recordMeanBytes: number;
  payloadPerRequestKiB: number;
  bodyPerRequestKiB: number;
  bodies: number;
  seed: number;
  concurrency: number;
  warmupS: number;
  durationS: number;
  rateMibS: number;
  sustainS: number;
  maxInFlight: number;
  sizeMb: number;
  intervalS: number;
  maxBacklogMb: number;
  /** `--streams-count`: the large side of the streams phase. */
  streamsCount: number;
  /** `SLUICE_*` settings passed through to the service. */
  passedThrough: Record<string, string>;
}

/** Everything one run produced; also what `--json` writes. */
export interface BenchResults {
  startedAt: string;
  setup: SetupInfo;
  ceiling: PhaseOutcome<CeilingResult>;
  ingest: PhaseOutcome<IngestResult>;
  sustained: PhaseOutcome<SustainedResult>;
  split: PhaseOutcome<IngestResult>;
  /** The bare POST reference of the http phase. */
  httpReference: PhaseOutcome<HttpReferenceResult>;
  http: PhaseOutcome<HttpResult>;
  opensearch: PhaseOutcome<OpenSearchResult>;
  transform: PhaseOutcome<TransformResult>;
  partition: PhaseOutcome<PartitionResult>;
  transformE2e: PhaseOutcome<TransformE2eResult>;
  compression: PhaseOutcome<CompressionResult>;
  parquet: PhaseOutcome<ParquetResult>;
  postgres: PhaseOutcome<PostgresResult>;
  replicas: PhaseOutcome<ReplicasResult>;
  processes: PhaseOutcome<ProcessesResult>;
  streams: PhaseOutcome<StreamsResult>;
  cluster: PhaseOutcome<ClusterResult>;
}

type Verdict = 'PASS' | 'MISS' | 'ERROR' | 'n/a' | '';

function verdict(ok: boolean): Verdict {
  return ok ? 'PASS' : 'MISS';
}

/** PASS or MISS, `n/a` when there was nothing to judge. */
function verdictOf(ok: boolean | undefined): Verdict {
  return ok === undefined ? 'n/a' : verdict(ok);
}

function errorsText(errors: Record<string, number>): string {
  const entries = Object.entries(errors);
  if (entries.length === 0) return '';
  return ` (${entries.map(([reason, n]) => `${reason}: ${int.format(n)}`).join('; ')})`;
}

function throughputLines(t: ThroughputFigures): string[] {
  return [
    `  payload accepted   ${num(t.mibS)} MiB/s  (${num(t.requestsPerS, 0)} requests/s, ${int.format(t.recordsPerS)} records/s, over ${num(t.durationS)} s)`,
    `  latency            p50 ${ms(t.latencyP50Ms)}, p99 ${ms(t.latencyP99Ms)}  (${int.format(t.requests)} requests)`,
    `  failed records     ${int.format(t.failedRecords)}${errorsText(t.errors)}`,
  ];
}

function sluiceRssMax(result: IngestResult | SustainedResult): number | undefined {
  const values = Object.entries(result.rssMaxMib)
    .filter(([name]) => name.startsWith('sluice'))
    .map(([, mib]) => mib)
    .filter((mib): mib is number => mib !== undefined);
  return values.length === 0 ? undefined : Math.max(...values);
}

function notOkSection(title: string, outcome: PhaseOutcome<unknown>): string[] | undefined {
  if (outcome.status === 'skipped') return [title, '  not run'];
  if (outcome.status === 'interrupted') return [title, '  interrupted'];
  if (outcome.status === 'failed') {
    return [
      title,
      ...outcome.error
        .split('\n')
        .slice(0, 40)
        .map((l) => `  ! ${l}`),
    ];
  }
  return undefined;
}

function ceilingSection(title: string, outcome: PhaseOutcome<CeilingResult>): string[] {
  const early = notOkSection(title, outcome);
  if (early || outcome.status !== 'ok') return early ?? [];
  return [
    title,
    ...throughputLines(outcome.value.throughput),
    `  CPU (1 core = 100) ${cpuText(outcome.value.cpuShare)}`,
  ];
}

function ingestSection(
  title: string,
  outcome: PhaseOutcome<IngestResult>,
  ceiling: CeilingResult | undefined,
): string[] {
  const early = notOkSection(title, outcome);
  if (early || outcome.status !== 'ok') return early ?? [];
  const r = outcome.value;
  const share = ceiling ? r.throughput.mibS / ceiling.throughput.mibS : undefined;
  return [
    title,
    ...throughputLines(r.throughput),
    `  share of ceiling   ${share === undefined ? 'n/a (ceiling not measured)' : `${num(share * 100)} %`}`,
    `  delivered meanwhile ${num(r.deliveredMibS)} MiB/s; backlog at end ${num(r.backlogAtEndMib, 0)} MiB; dead-lettered records ${int.format(r.deadRecords)}`,
    `  RSS max            ${rssText(r.rssMaxMib)}`,
    `  CPU (1 core = 100) ${cpuText(r.cpuShare)}`,
  ];
}

function sustainedSection(title: string, outcome: PhaseOutcome<SustainedResult>): string[] {
  const early = notOkSection(title, outcome);
  if (early || outcome.status !== 'ok') return early ?? [];
  const r = outcome.value;
  const lines = [title, ...pacedLines(r)];
  if (r.s3) {
    const ratio = r.s3.bytes > 0 ? (r.deliveredMib * 1024 * 1024) / r.s3.bytes : undefined;
    lines.push(
      `  S3                 ${int.format(r.s3.objects)} objects, ${num(r.s3.bytes / 1024 / 1024)} MiB stored (gzip${ratio === undefined ? '' : `, about ${num(ratio)}:1`})`,
    );
  }
  lines.push(`  RSS max            ${rssText(r.rssMaxMib)}`);
  lines.push(`  CPU (1 core = 100) ${cpuText(r.cpuShare)}  (while sending)`);
  return lines;
}

function rateText(r: RateFigures): string {
  return `${int.format(r.recordsPerS)} records/s, ${num(r.mibS)} MiB/s`;
}

function httpReferenceLines(outcome: PhaseOutcome<HttpReferenceResult>): string[] {
  if (outcome.status !== 'ok') {
    return (notOkSection('  bare POST (reference)', outcome) ?? []).map((l, i) =>
      i === 0 ? l : `  ${l}`,
    );
  }
  const r = outcome.value;
  const other = Object.values(r.errors).reduce((sum, n) => sum + n, 0);
  return [
    `  bare POST          ${rateText(r.accepted)}  (${num(r.requestsPerS, 0)} requests/s of ${int.format(r.recordsPerRequest)} records, ${num(r.bodyKiB, 0)} KiB, ${r.concurrency} in flight over keep-alive, over ${num(r.accepted.durationS)} s)`,
    `                     p50 ${ms(r.latencyP50Ms)}, p99 ${ms(r.latencyP99Ms)}; ${int.format(r.failedRequests)} of ${int.format(r.requests)} answered 500 on purpose${other > 0 ? `; ${int.format(other)} failed otherwise${errorsText(r.errors)}` : ''}; CPU ${cpuText(r.cpuShare)}`,
  ];
}

function httpSection(
  title: string,
  reference: PhaseOutcome<HttpReferenceResult>,
  outcome: PhaseOutcome<HttpResult>,
): string[] {
  const lines = [
    title,
    `  endpoint           SizeInMBs ${HTTP_SIZE_MB}, IntervalInSeconds ${HTTP_INTERVAL_S}, RetryOptions ${HTTP_RETRY_S} s; every ${HTTP_FAIL_EVERY}th batch (the first included) answered 500 on every attempt`,
    ...httpReferenceLines(reference),
  ];
  const early = notOkSection('  Sluice', outcome);
  if (early || outcome.status !== 'ok') {
    return [...lines, ...(early ?? []).map((l, i) => (i === 0 ? l : `  ${l}`))];
  }
  const r = outcome.value;
  const a = r.accounting;
  const base = reference.status === 'ok' ? reference.value.accepted.recordsPerS : undefined;
  const share = (rate: RateFigures) =>
    base === undefined || base === 0
      ? ''
      : ` = ${num((rate.recordsPerS / base) * 100)} % of bare POST`;
  const codes = Object.entries(r.errorOutput.codes)
    .map(([code, n]) => `${code}: ${int.format(n)}`)
    .join('; ');
  const extras = [
    a.unacknowledgedArrived > 0
      ? `${int.format(a.unacknowledgedArrived)} unacknowledged arrived`
      : '',
    a.neverSent > 0 ? `${int.format(a.neverSent)} never sent` : '',
    r.rejectedRequests > 0 ? `${int.format(r.rejectedRequests)} requests refused` : '',
    r.deadRecords > 0 ? `${int.format(r.deadRecords)} dead-lettered` : '',
  ].filter((x) => x !== '');
  lines.push(
    `  ingest             ${num(r.ingest.mibS)} MiB/s acknowledged (${int.format(r.ingest.acceptedRecords)} records over ${num(r.ingest.durationS)} s, ${r.ingest.failedRecords > 0 ? `${int.format(r.ingest.failedRecords)} failed${errorsText(r.ingest.errors)}` : 'none failed'}); SLUICE_DELIVERY_CONCURRENCY ${r.deliveryConcurrency}`,
    `                     CPU ${cpuText(r.ingestCpuShare)}`,
    r.deliveredDrain
      ? `  delivered          ${rateText(r.deliveredDrain)}${share(r.deliveredDrain)}  (after the load: ${int.format(r.deliveredDrain.records)} records in ${num(r.deliveredDrain.durationS)} s)`
      : '  delivered          n/a after the load (too little left to deliver when it ended)',
    `                     ${rateText(r.deliveredOverall)}${share(r.deliveredOverall)}  (first request to last 200, ingest included, ${num(r.deliveredOverall.durationS)} s)`,
    `  batches            ${num(r.recordsPerBatch, 0)} records each on average; ${int.format(r.deliberate.requests)} answers of 500 to ${int.format(r.deliberate.batches)} batches (${int.format(r.deliberate.records)} records)`,
    `  error output       ${int.format(r.errorOutput.records)} records in ${int.format(r.errorOutput.objects)} objects${codes === '' ? '' : ` (${codes})`}: ${r.errorOutputMatches ? 'exactly the deliberately failed records' : `NOT the deliberately failed records (${int.format(a.errorNotDeliberate)} not failed on purpose, ${int.format(a.deliberateNotInErrorOutput)} failed on purpose missing)`}`,
    `  accounting         ${int.format(a.acknowledged)} acknowledged: ${int.format(a.accepted)} accepted + ${int.format(a.inErrorOutput)} in the error output; lost ${int.format(a.lost)}, duplicated ${int.format(a.duplicated)}${extras.length > 0 ? `; ${extras.join(', ')}` : ''}`,
    `  settled            ${r.settledAfterS === undefined ? 'NOT within --drain-timeout' : `${num(r.settledAfterS, 2)} s after the load`}`,
    `  RSS max            ${rssText(r.rssMaxMib)}`,
    `  CPU (1 core = 100) ${cpuText(r.cpuShare)}  (${r.deliveredDrain ? 'while delivering after the load' : 'whole phase'})`,
  );
  return lines;
}

function sideText(side: SideRate, threads: string): string {
  return `${int.format(side.recordsPerS)} records/s, ${num(side.mibS)} MiB/s of input${threads}  (rounds ${int.format(side.minRoundRecordsPerS)}–${int.format(side.maxRoundRecordsPerS)} records/s, ${num(side.durationS)} s in all); CPU ${cpuText(side.cpuShare)}`;
}

function transformSection(title: string, outcome: PhaseOutcome<TransformResult>): string[] {
  const early = notOkSection(title, outcome);
  if (early || outcome.status !== 'ok') return early ?? [];
  const r = outcome.value;
  return [
    title,
    `  load               ${r.threads} worker threads; ${r.inFlight} invocations of ${int.format(r.invocationRecords)} records (${num(r.invocationKiB, 0)} KiB) kept in flight; ${TRANSFORM_ROUNDS} rounds of ${TRANSFORM_ROUND_S} s per side, alternating`,
    `  Sluice             ${sideText(r.sluice, ' through the transform host')}`,
    `  direct (reference) ${sideText(r.reference, ` on ${r.threads} threads`)}`,
    `  overhead           ${num(r.overhead * 100)} %  (1 − Sluice / direct)`,
    `  output             ${r.sameOutput ? 'byte-identical to the direct call' : 'NOT the same as the direct call'}; mean record ${num(r.inputRecordBytes, 0)} B in, ${num(r.outputRecordBytes, 0)} B out; ${int.format(r.notOk)} records not Ok${r.firstNotOk === undefined ? '' : ` (first: ${r.firstNotOk})`}`,
  ];
}

function partitionSection(title: string, outcome: PhaseOutcome<PartitionResult>): string[] {
  const early = notOkSection(title, outcome);
  if (early || outcome.status !== 'ok') return early ?? [];
  const r = outcome.value;
  return [
    title,
    `  query              ${r.query}; slices of ${int.format(r.sliceRecords)} records (${num(PARTITION_SLICE_BYTES / MIB, 0)} MiB), ${num(r.partitionsPerSlice)} partitions each; ${PARTITION_ROUNDS} rounds of ${PARTITION_ROUND_S} s per side, alternating, one thread`,
    `  Sluice             ${sideText(r.sluice, '')}`,
    `  direct (reference) ${sideText(r.reference, '')}`,
    `  overhead           ${num(r.overhead * 100)} %  (1 − Sluice / direct)`,
  ];
}

function e2eSideLines(name: string, side: E2eSide): string[] {
  const failed =
    side.failedRecords > 0
      ? `; ${int.format(side.failedRecords)} records failed${errorsText(side.errors)}`
      : '';
  const settled =
    side.settledAfterS === undefined
      ? `NOT all delivered within --drain-timeout: ${int.format(side.deliveredRecords)} of ${int.format(side.acceptedRecords)} after ${num(side.elapsedS)} s`
      : `all ${int.format(side.deliveredRecords)} delivered ${num(side.settledAfterS, 2)} s after the first request`;
  const drain =
    side.drainRecordsPerS === undefined
      ? ''
      : `; after the load ${int.format(side.drainRecordsPerS)} records/s`;
  const s3 = side.s3
    ? `; S3 ${int.format(side.s3.objects)} objects, ${num(side.s3.bytes / MIB)} MiB gzip`
    : '';
  return [
    `  ${name.padEnd(19)}${int.format(side.recordsPerS)} records/s, ${num(side.inputMibS)} MiB/s of input  (${settled})`,
    `                     ingest ${num(side.acceptedMib)} MiB in ${num(side.ingestS)} s (${num(side.ingestMibS)} MiB/s)${failed}${drain}; delivered ${num(side.deliveredMib)} MiB${s3}${side.deadRecords > 0 ? `; ${int.format(side.deadRecords)} dead-lettered` : ''}`,
    `                     RSS max ${rssText(side.rssMaxMib)}; CPU ${cpuText(side.cpuShare)}`,
    `                     Sluice CPU time ${side.sluiceCpuS === undefined ? 'n/a' : `${num(side.sluiceCpuS)} s = ${num((side.sluiceCpuS * 1e6) / Math.max(1, side.deliveredRecords))} µs per delivered record`} (threads included)`,
  ];
}

function transformE2eSection(title: string, outcome: PhaseOutcome<TransformE2eResult>): string[] {
  const early = notOkSection(title, outcome);
  if (early || outcome.status !== 'ok') return early ?? [];
  const r = outcome.value;
  return [
    title,
    `  load               ${r.volumeMib} MiB (${int.format(r.requests)} requests) to each stream, ${r.concurrency} in flight; SizeInMBs ${r.sizeMb}, IntervalInSeconds ${r.intervalS}; the transform stream: Lambda sluice:transform:enrich, default Lambda buffering`,
    ...e2eSideLines('without transform', r.plain),
    ...e2eSideLines('with transform', r.transformed),
    `  ratio              ${num(r.ratio * 100)} %  (with / without, records/s from the first request until all delivered)`,
    `  CPU per record     ${r.cpuRatio === undefined ? 'n/a' : `with the transform ${num(1 / r.cpuRatio, 2)}× without: a Sluice held back by CPU alone would deliver ${num(r.cpuRatio * 100)} % of without`}`,
  ];
}

function loopText(loop: LoopDelay): string {
  const delay =
    loop.samples === 0 ? 'n/a (no reading)' : `p99 ${ms(loop.p99Ms)}, max ${ms(loop.maxMs)}`;
  return `${delay}, busy ${num(loop.busyShare === undefined ? undefined : loop.busyShare * 100, 0)} %`;
}

function compressionSideText(side: CompressionSide): string {
  return `${num(side.mibS)} MiB/s  (rounds ${num(side.minRoundMibS)}–${num(side.maxRoundMibS)}, ${side.passes} passes in ${num(side.durationS)} s); ${num(side.ratio, 2)}:1; CPU ${num(side.cpuShare === undefined ? undefined : side.cpuShare * 100, 0)} %; event loop ${loopText(side.loop)}`;
}

function roundTripText(f: CompressionFormatResult): string {
  if (f.roundTrip === undefined) return 'not decompressed here (the tests check it)';
  return f.roundTrip ? 'decompresses to the input' : 'does NOT decompress to the input';
}

function compressionSection(title: string, outcome: PhaseOutcome<CompressionResult>): string[] {
  const early = notOkSection(title, outcome);
  if (early || outcome.status !== 'ok') return early ?? [];
  const r = outcome.value;
  const lines = [
    title,
    `  input              ${num(r.inputBytes / MIB)} MiB: ${int.format(r.records)} records (${int.format(r.distinctRecords)} distinct, repeated) in ${int.format(r.pieces)} pieces of ${num(r.inputBytes / r.pieces / 1024, 0)} KiB, as the S3 encode stage cuts them; the bare codec gets them as one buffer`,
    `  rounds             per format a warm-up pass per side, then ${COMPRESSION_ROUNDS} rounds of at least ${COMPRESSION_ROUND_S} s per side, alternating (whole passes over the input); thread pool ${r.threadPool}`,
    `  event loop         delay beyond the ${EVENT_LOOP_RESOLUTION_MS} ms monitor period (p99 of the worst round) and share of time busy; idle ${loopText(r.idleLoop)}`,
    '  UNCOMPRESSED       pass-through (the stage returns the pieces as they are): not measured',
  ];
  for (const f of r.formats) {
    lines.push(
      `  ${f.format.padEnd(19)}Sluice ${num(f.sluice.mibS)} MiB/s vs bare ${num(f.reference.mibS)} MiB/s (${f.bare}) = ${num(f.shareOfBare * 100)} % of bare; Sluice's output ${roundTripText(f)}`,
      `    Sluice           ${compressionSideText(f.sluice)}`,
      `    bare             ${compressionSideText(f.reference)}`,
    );
  }
  lines.push("  GZIP by SLUICE_GZIP_LEVEL (Sluice's stage, the same input and rounds)");
  for (const g of r.gzipLevels) {
    lines.push(
      `    level ${String(g.level).padEnd(11)}${compressionSideText(g.side)}${g.roundTrip ? '' : '; does NOT decompress to the input'}`,
    );
  }
  lines.push(`  CPU (1 core = 100) ${cpuText(r.cpuShare)}  (whole phase)`);
  return lines;
}

function parquetExtrasText(side: ParquetSideExtras): string {
  const cpu = side.processCpuShare === undefined ? undefined : side.processCpuShare * 100;
  return `process CPU ${num(cpu, 0)} % (process.cpuUsage, all threads); event loop ${loopText(side.loop)}`;
}

/** Whether Sluice's file read back as the rows it was given, and nothing was refused. */
function parquetOutputOk(r: ParquetResult): boolean {
  const c = r.check;
  return (
    c.readRows === c.expectedRows &&
    c.footerRows === c.expectedRows &&
    c.sameEventIds &&
    r.rejected === 0
  );
}

function parquetSection(title: string, outcome: PhaseOutcome<ParquetResult>): string[] {
  const early = notOkSection(title, outcome);
  if (early || outcome.status !== 'ok') return early ?? [];
  const r = outcome.value;
  const c = r.check;
  const perCpu =
    r.perCpuShare === undefined ? 'n/a' : `${num(r.perCpuShare * 100)} % of parquetjs-lite's`;
  return [
    title,
    `  table              ${r.columns} columns of the clickstream event (string, timestamp, struct<w:int,h:int>, int, double); OpenX JSON SerDe, SNAPPY, ParquetSerDe's default page and block sizes`,
    `  batches            ${r.batches} distinct of ${int.format(r.batchRecords)} records (${num(r.batchMib, 2)} MiB) on average, the bodies' records cycled; files of ${num(r.sluiceFileKiB, 0)} KiB (Sluice), ${num(r.referenceFileKiB, 0)} KiB (parquetjs-lite)`,
    `  load               ${r.threads} worker threads, ${r.inFlight} batches kept in flight; ${PARQUET_ROUNDS} rounds of ${PARQUET_ROUND_S} s per side, alternating`,
    `  Sluice             ${sideText(r.sluice, ` converted and written on ${r.threads} worker threads`)}`,
    `                     ${parquetExtrasText(r.sluice)}`,
    `  parquetjs-lite     ${sideText(r.reference, ' written on the main thread')}`,
    `                     ${parquetExtrasText(r.reference)}`,
    `                     rows converted beforehand (not timed); one row group per batch, pages of ${int.format(r.referencePageRows)} rows, V1 pages, no page index`,
    `  per core           Sluice / ${r.threads} cores = ${num(r.perCoreShare * 100)} % of parquetjs-lite alone (= Sluice vs parquetjs-lite × ${r.threads}); records per CPU-second ${perCpu}`,
    `  output             one Sluice file read back with parquetjs-lite's reader: ${int.format(c.readRows)} rows of ${int.format(c.expectedRows)}, footer ${int.format(c.footerRows)}, event ids ${c.sameEventIds ? 'in order' : 'NOT those of the records'}; ${int.format(r.rejected)} records refused while measuring${r.firstRejected === undefined ? '' : ` (first: ${r.firstRejected})`}`,
  ];
}

/** The summary rows: figure, measured, target, verdict. */
function summaryRows(results: BenchResults): string[][] {
  const rows: string[][] = [['Figure', 'Measured', 'Target', 'Result']];
  const { ceiling, ingest, sustained, split } = results;
  const failed = (o: PhaseOutcome<unknown>) => (o.status === 'failed' ? 'ERROR' : 'n/a');
  const absent = (o: PhaseOutcome<unknown>) =>
    o.status === 'failed' ? 'phase failed' : o.status === 'interrupted' ? 'interrupted' : 'not run';

  rows.push(
    ceiling.status === 'ok'
      ? [
          'Ceiling (bare fastify, same load)',
          `${num(ceiling.value.throughput.mibS)} MiB/s, ${num(ceiling.value.throughput.requestsPerS, 0)} req/s`,
          'reference',
          '',
        ]
      : ['Ceiling (bare fastify, same load)', absent(ceiling), 'reference', failed(ceiling)],
  );

  const shareTarget = `≥ ${TARGETS.ingestShareOfCeiling * 100} % of ceiling`;
  if (ingest.status === 'ok' && ceiling.status === 'ok') {
    const share = ingest.value.throughput.mibS / ceiling.value.throughput.mibS;
    rows.push([
      'Acknowledged ingest (role all)',
      `${num(ingest.value.throughput.mibS)} MiB/s = ${num(share * 100)} % of ceiling`,
      shareTarget,
      verdict(share >= TARGETS.ingestShareOfCeiling),
    ]);
  } else {
    const measured =
      ingest.status === 'ok'
        ? `${num(ingest.value.throughput.mibS)} MiB/s, no ceiling`
        : absent(ingest);
    rows.push([
      'Acknowledged ingest (role all)',
      measured,
      shareTarget,
      failed(ingest.status === 'ok' ? ceiling : ingest),
    ]);
  }
  rows.push(
    ingest.status === 'ok'
      ? [
          'Ingest FailedPutCount total',
          int.format(ingest.value.throughput.failedRecords),
          '0',
          verdict(ingest.value.throughput.failedRecords === 0),
        ]
      : ['Ingest FailedPutCount total', absent(ingest), '0', failed(ingest)],
  );

  const e2eTarget = `≥ ${TARGETS.sustainedMibS} MiB/s (±${TARGETS.deliveredTolerance * 100} %), stable backlog`;
  if (sustained.status === 'ok') {
    const r = sustained.value;
    rows.push([
      'Sustained end-to-end delivered',
      r.deliveredMibS === undefined
        ? 'window too short'
        : `${num(r.deliveredMibS)} MiB/s (offered ${num(r.targetMibS)}, backlog ${r.backlog.growing ? 'growing' : 'stable'})`,
      e2eTarget,
      verdictOf(deliveredMeets(r, TARGETS.sustainedMibS)),
    ]);
    const limitS = results.setup.intervalS + TARGETS.freshnessSlackS;
    const p99 = r.freshness.p99Ms;
    rows.push([
      'Freshness p99 (send → delivered)',
      seconds(p99),
      `≤ ${limitS} s (interval + ${TARGETS.freshnessSlackS} s)`,
      p99 === undefined ? 'n/a' : verdict(p99 <= limitS * 1000),
    ]);
  } else {
    rows.push(['Sustained end-to-end delivered', absent(sustained), e2eTarget, failed(sustained)]);
    rows.push([
      'Freshness p99 (send → delivered)',
      absent(sustained),
      `≤ ${results.setup.intervalS + TARGETS.freshnessSlackS} s`,
      failed(sustained),
    ]);
  }

  const rssValues: { phase: string; mib: number }[] = [];
  for (const [phase, outcome] of [
    ['ingest', ingest],
    ['sustained', sustained],
  ] as const) {
    if (outcome.status !== 'ok') continue;
    const mib = sluiceRssMax(outcome.value);
    if (mib !== undefined) rssValues.push({ phase, mib });
  }
  const worst = rssValues.sort((a, b) => b.mib - a.mib)[0];
  rows.push(
    worst
      ? [
          'Sluice RSS max (role all)',
          `${num(worst.mib, 0)} MiB (in ${worst.phase})`,
          `≤ ${TARGETS.rssMib} MiB`,
          verdict(worst.mib <= TARGETS.rssMib),
        ]
      : ['Sluice RSS max (role all)', 'not measured', `≤ ${TARGETS.rssMib} MiB`, 'n/a'],
  );

  if (split.status === 'ok') {
    const share =
      ceiling.status === 'ok'
        ? split.value.throughput.mibS / ceiling.value.throughput.mibS
        : undefined;
    rows.push([
      'Ingest, api + worker processes',
      `${num(split.value.throughput.mibS)} MiB/s${share === undefined ? '' : ` = ${num(share * 100)} % of ceiling`}`,
      'informational',
      '',
    ]);
  } else if (split.status === 'failed') {
    rows.push(['Ingest, api + worker processes', 'phase failed', 'informational', 'ERROR']);
  }

  const { http, httpReference } = results;
  const httpTarget = '0 lost; error output = failed batches';
  if (http.status === 'ok') {
    const r = http.value;
    const delivered = r.deliveredDrain ?? r.deliveredOverall;
    const base = httpReference.status === 'ok' ? httpReference.value.accepted.recordsPerS : 0;
    rows.push([
      'HTTP endpoint delivered (role all)',
      `${int.format(delivered.recordsPerS)} records/s${base > 0 ? ` = ${num((delivered.recordsPerS / base) * 100)} % of bare POST` : ''}; ${int.format(r.accounting.lost)} lost, ${int.format(r.errorOutput.records)} to error output`,
      httpTarget,
      verdict(r.accounting.lost === 0 && r.errorOutputMatches),
    ]);
  } else if (http.status !== 'skipped' || httpReference.status !== 'skipped') {
    rows.push(['HTTP endpoint delivered (role all)', absent(http), httpTarget, failed(http)]);
  }

  const openSearchRow = openSearchSummaryRow(results.opensearch);
  if (openSearchRow !== undefined) rows.push(openSearchRow);
  const replicasRow = replicasSummaryRow(results.replicas);
  if (replicasRow !== undefined) rows.push(replicasRow);
  rows.push(
    ...processesSummaryRows(results.processes, ceiling.status === 'ok' ? ceiling.value : undefined),
  );
  const streamsRow = streamsSummaryRow(results.streams, results.setup.streamsCount);
  if (streamsRow !== undefined) rows.push(streamsRow);
  const clusterRow = clusterSummaryRow(results.cluster);
  if (clusterRow !== undefined) rows.push(clusterRow);

  const { transform, partition, transformE2e } = results;
  const overheadTarget = `≤ ${TARGETS.transformOverhead * 100} % overhead`;
  if (transform.status === 'ok') {
    const r = transform.value;
    rows.push([
      'Transform host (enrich JSON)',
      `${int.format(r.sluice.recordsPerS)} records/s vs ${int.format(r.reference.recordsPerS)} direct = ${num(r.overhead * 100)} % overhead`,
      overheadTarget,
      r.sameOutput ? verdict(r.overhead <= TARGETS.transformOverhead) : 'ERROR',
    ]);
  } else if (transform.status !== 'skipped') {
    rows.push([
      'Transform host (enrich JSON)',
      absent(transform),
      overheadTarget,
      failed(transform),
    ]);
  }
  if (partition.status === 'ok') {
    const r = partition.value;
    rows.push([
      'Partitioning stage (jq, 2 keys)',
      `${int.format(r.sluice.recordsPerS)} records/s vs ${int.format(r.reference.recordsPerS)} direct = ${num(r.overhead * 100)} % overhead`,
      'informational',
      '',
    ]);
  } else if (partition.status === 'failed') {
    rows.push(['Partitioning stage (jq, 2 keys)', 'phase failed', 'informational', 'ERROR']);
  }
  const transformE2eTarget = `≥ ${TARGETS.transformE2eShare * 100} % of without`;
  if (transformE2e.status === 'ok') {
    const r = transformE2e.value;
    const complete =
      r.plain.settledAfterS !== undefined && r.transformed.settledAfterS !== undefined;
    rows.push([
      'End-to-end with transform (S3)',
      `${int.format(r.transformed.recordsPerS)} vs ${int.format(r.plain.recordsPerS)} records/s = ${num(r.ratio * 100)} % of without${complete ? '' : ' (not all delivered)'}`,
      transformE2eTarget,
      verdict(r.ratio >= TARGETS.transformE2eShare),
    ]);
  } else if (transformE2e.status !== 'skipped') {
    rows.push([
      'End-to-end with transform (S3)',
      absent(transformE2e),
      transformE2eTarget,
      failed(transformE2e),
    ]);
  }
  const { compression } = results;
  if (compression.status === 'ok') {
    for (const f of compression.value.formats) {
      rows.push([
        `Compress stage, ${f.format}`,
        `${num(f.sluice.mibS)} vs ${num(f.reference.mibS)} MiB/s bare = ${num(f.shareOfBare * 100)} %; event loop p99 ${ms(f.sluice.loop.p99Ms)}, busy ${num(f.sluice.loop.busyShare === undefined ? undefined : f.sluice.loop.busyShare * 100, 0)} %`,
        'informational',
        f.roundTrip === false ? 'ERROR' : '',
      ]);
    }
    const levels = compression.value.gzipLevels;
    if (levels.length > 0) {
      rows.push([
        'GZIP by SLUICE_GZIP_LEVEL',
        levels
          .map((g) => `${g.level}: ${num(g.side.mibS)} MiB/s ${num(g.side.ratio, 2)}:1`)
          .join('; '),
        'informational',
        levels.some((g) => !g.roundTrip) ? 'ERROR' : '',
      ]);
    }
  } else if (compression.status === 'failed') {
    rows.push(['Compress stage', 'phase failed', 'informational', 'ERROR']);
  }
  const { parquet } = results;
  const parquetTarget = `≥ ${TARGETS.parquetPerCoreShare * 100} % of parquetjs-lite per core`;
  if (parquet.status === 'ok') {
    const r = parquet.value;
    rows.push([
      'JSON → Parquet (per core)',
      `${int.format(r.sluice.recordsPerS)} records/s on ${r.threads} cores vs ${int.format(r.reference.recordsPerS)} parquetjs-lite alone on 1 = ${num(r.perCoreShare * 100)} % per core`,
      parquetTarget,
      parquetOutputOk(r) ? verdict(r.perCoreShare >= TARGETS.parquetPerCoreShare) : 'ERROR',
    ]);
  } else if (parquet.status !== 'skipped') {
    rows.push(['JSON → Parquet (per core)', absent(parquet), parquetTarget, failed(parquet)]);
  }
  const { postgres } = results;
  const postgresTarget = `≥ ${TARGETS.postgresShareOfCopy * 100} % of bare COPY`;
  if (postgres.status === 'ok') {
    const r = postgres.value;
    rows.push([
      'PostgreSQL load (JSON auto)',
      `${int.format(r.sluice.recordsPerS)} vs ${int.format(r.bare.recordsPerS)} records/s bare COPY = ${num(r.share * 100)} %; 1 % rejected: ${int.format(r.withFailures.recordsPerS)} records/s`,
      postgresTarget,
      verdict(r.share >= TARGETS.postgresShareOfCopy),
    ]);
  } else if (postgres.status !== 'skipped') {
    rows.push(['PostgreSQL load (JSON auto)', absent(postgres), postgresTarget, failed(postgres)]);
  }
  return rows;
}

/** Service log lines at warn or above, de-duplicated by message, at most `limit`. */
function problemLines(results: BenchResults, limit = 12): string[] {
  const all: string[] = [];
  for (const outcome of [results.ingest, results.sustained, results.split, results.http]) {
    if (outcome.status === 'ok') all.push(...outcome.value.problems);
  }
  if (results.opensearch.status === 'ok') all.push(...results.opensearch.value.problems);
  if (results.processes.status === 'ok') {
    const r = results.processes.value;
    all.push(...r.single.problems, ...r.auto.problems);
    for (const paced of [r.halfLoad, r.sustained]) {
      if (paced.status === 'ok') all.push(...paced.value.problems);
    }
  }
  if (results.transformE2e.status === 'ok') {
    const r = results.transformE2e.value;
    all.push(...r.plain.problems, ...r.transformed.problems);
  }
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of all) {
    // Node's hint after a process warning repeats for every warning and says nothing new.
    if (line.includes('--trace-warnings')) continue;
    const key = /"msg":"([^"]*)"/.exec(line)?.[1] ?? line;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(`  ${line.length > 400 ? `${line.slice(0, 400)}…` : line}`);
  }
  return out.slice(0, limit);
}

/** Above this share of a core taken by other processes, the run is flagged as disturbed. */
const CONTENTION_LIMIT = 0.25;

/**
 * A warning when other work on the machine took noticeable CPU during a phase: the bench then
 * measured a machine shared with something else, and its figures say little about Sluice.
 */
function contentionWarning(results: BenchResults): string[] {
  const phases: [string, PhaseOutcome<{ cpuShare: Record<string, number | undefined> }>][] = [
    ['ceiling', results.ceiling],
    ['ingest', results.ingest],
    ['sustained', results.sustained],
    ['split', results.split],
    ['http reference', results.httpReference],
    ['http', results.http],
    ['opensearch', results.opensearch],
  ];
  const { transform, partition, transformE2e } = results;
  if (transform.status === 'ok') {
    phases.push(
      ['transform (direct)', { status: 'ok', value: transform.value.reference }],
      ['transform (Sluice)', { status: 'ok', value: transform.value.sluice }],
    );
  }
  if (partition.status === 'ok') {
    phases.push(
      ['partition (direct)', { status: 'ok', value: partition.value.reference }],
      ['partition (Sluice)', { status: 'ok', value: partition.value.sluice }],
    );
  }
  if (transformE2e.status === 'ok') {
    phases.push(
      ['transform-e2e (without)', { status: 'ok', value: transformE2e.value.plain }],
      ['transform-e2e (with)', { status: 'ok', value: transformE2e.value.transformed }],
    );
  }
  const { processes } = results;
  if (processes.status === 'ok') {
    const r = processes.value;
    phases.push(
      ['processes (1)', { status: 'ok', value: r.single }],
      ['processes (auto)', { status: 'ok', value: r.auto }],
    );
    for (const [name, paced] of [
      ['processes (half load)', r.halfLoad],
      ['processes (sustained)', r.sustained],
    ] as const) {
      if (paced.status === 'ok') phases.push([name, { status: 'ok', value: paced.value }]);
    }
  }
  phases.push(['compression', results.compression]);
  const { parquet } = results;
  if (parquet.status === 'ok') {
    phases.push(
      ['parquet (parquetjs-lite)', { status: 'ok', value: parquet.value.reference }],
      ['parquet (Sluice)', { status: 'ok', value: parquet.value.sluice }],
    );
  }
  const disturbed = phases.flatMap(([name, outcome]) => {
    const other = outcome.status === 'ok' ? outcome.value.cpuShare[OTHER_PROCESSES] : undefined;
    return other !== undefined && other > CONTENTION_LIMIT
      ? [`${name} ${num(other * 100, 0)} %`]
      : [];
  });
  if (disturbed.length === 0) return [];
  return [
    '',
    `WARNING: other processes on this machine used CPU during the run (${disturbed.join(', ')} of one core);`,
    'the figures are not representative. Re-run on an otherwise idle machine.',
  ];
}

/** CPU seconds per run, as `0.41, 0.38, 0.40` (`?` where a reading failed). */
function cpuSecondsText(seconds: readonly (number | undefined)[]): string {
  return seconds.map((s) => (s === undefined ? '?' : num(s, 2))).join(', ');
}

function postgresSection(title: string, outcome: PhaseOutcome<PostgresResult>): string[] {
  if (outcome.status === 'failed') return [title, `  failed: ${outcome.error}`];
  if (outcome.status !== 'ok') return [title, `  ${outcome.status}`];
  const r = outcome.value;
  return [
    title,
    `  records            ${int.format(r.records)} JSON records, ${num(r.recordBytes / r.records, 0)} B mean; delivery timed from the release of a table lock`,
    `  bare COPY          ${int.format(r.bare.recordsPerS)} records/s (${num(r.bare.seconds, 2)} s, best of runs of ${r.bare.runSeconds.map((s) => num(s, 2)).join(', ')} s, one before each timed load of Sluice's; one connection, rows already in COPY text)`,
    `  Sluice             ${int.format(r.sluice.recordsPerS)} records/s (${num(r.sluice.seconds, 2)} s, best of loads of ${r.sluice.loadSeconds.map((s) => num(s, 2)).join(', ')} s after a first of ${num(r.sluice.firstSeconds, 2)} s) = ${num(r.share * 100)} % of bare`,
    `  CPU per load       Sluice ${cpuSecondsText(r.sluice.loadCpu.map((c) => c.sluice))} core-s, PostgreSQL ${cpuSecondsText(r.sluice.loadCpu.map((c) => c.postgres))} (timed loads, from the release); PostgreSQL in the bare COPYs ${cpuSecondsText(r.bare.runCpu.map((c) => c.postgres))}`,
    `  1 % rejected       ${int.format(r.withFailures.recordsPerS)} records/s (${num(r.withFailures.seconds, 2)} s, one load on a new service); ${int.format(r.withFailures.rejected)} records to the error output, ${int.format(r.withFailures.loaded)} loaded`,
  ];
}

/** The whole report as text. */
export function renderReport(results: BenchResults): string {
  const s = results.setup;
  const ceiling = results.ceiling.status === 'ok' ? results.ceiling.value : undefined;
  const passed = Object.entries(s.passedThrough)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const lines = [
    '',
    `Sluice benchmark, ${results.startedAt}`,
    `  machine            ${s.machine}; node ${s.node}`,
    `  redis              ${s.redis}, ${s.persistence}`,
    `  requests           PutRecordBatch of ${s.recordsPerRequest} records, mean record ${num(s.recordMeanBytes, 0)} B, ${num(s.payloadPerRequestKiB, 0)} KiB payload / ${num(s.bodyPerRequestKiB, 0)} KiB body; ${s.bodies} bodies round-robin, seed ${s.seed}`,
    `  closed loop        ${s.concurrency} in flight over keep-alive connections, ${s.warmupS} s warm-up + ${s.durationS} s measured`,
    `  sustained          ${s.rateMibS} MiB/s paced for ${s.sustainS} s, at most ${s.maxInFlight} in flight`,
    `  streams            GZIP to S3 (s3rver), SizeInMBs ${s.sizeMb}, IntervalInSeconds ${s.intervalS}; SLUICE_MAX_BACKLOG_MB ${s.maxBacklogMb}${passed ? `; ${passed}` : ''}`,
    '',
    ...ceilingSection('1. Ceiling: bare fastify, JSON.parse only', results.ceiling),
    '',
    ...ingestSection('2. Acknowledged ingest: Sluice, role all', results.ingest, ceiling),
    '',
    ...sustainedSection('3. Sustained end-to-end: Sluice, role all, paced load', results.sustained),
    '',
    ...ingestSection('4. Ingest with separate api and worker processes', results.split, ceiling),
    '',
    ...httpSection(
      '5. HTTP endpoint: Sluice (role all) to a loopback receiver, beside a bare POST of the same bodies',
      results.httpReference,
      results.http,
    ),
    '',
    ...openSearchSection(
      '5b. OpenSearch: Sluice (role all) to the OpenSearch test server, beside a bare _bulk of the same documents',
      results.opensearch,
    ),
    '',
    ...transformSection(
      '6. Transform host: the enrich transform through Sluice, beside its record function called directly',
      results.transform,
    ),
    '',
    ...partitionSection(
      '7. Partitioning stage: metadata extraction, grouping and framing, beside the bare jq query',
      results.partition,
    ),
    '',
    ...transformE2eSection(
      '8. End-to-end with a transform: Sluice (role all) to S3, the same records with and without',
      results.transformE2e,
    ),
    '',
    ...compressionSection(
      "9. Compression: each format through Sluice's compress stage, beside its bare codec",
      results.compression,
    ),
    '',
    ...parquetSection(
      '10. Parquet: JSON → Parquet through Sluice on worker threads, beside parquetjs-lite alone writing the same rows',
      results.parquet,
    ),
    '',
    ...postgresSection(
      '11. PostgreSQL: Sluice loading JSON records (Redshift destination, direct path), beside a bare COPY of the same rows',
      results.postgres,
    ),
    '',
    ...replicasSection(
      '12. Redis replica: acknowledged ingest (role all) with SLUICE_REDIS_MIN_REPLICAS=0 and =1, the same load',
      results.replicas,
    ),
    '',
    ...processesSection(
      '13. Every core: ingest with S3 delivery running, then the drain, with SLUICE_PROCESSES=1 and auto; auto paced at half load and sustained',
      results.processes,
    ),
    '',
    ...streamsSection(
      `14. Scale: Sluice (default processes) with 10 streams and with ${int.format(s.streamsCount)}, idle, under a paced load, and seal to delivery`,
      results.streams,
      s.streamsCount,
    ),
    '',
    ...clusterSection(
      '15. Redis Cluster: one Redis, a primary + replica, and a 3-master cluster (with and without SLUICE_REDIS_MIN_REPLICAS=1), the same load',
      results.cluster,
    ),
    '',
  ];
  const problems = problemLines(results);
  if (problems.length > 0) {
    lines.push('Service warnings and errors (first of each kind):', ...problems, '');
  }
  lines.push('Summary', ...table(summaryRows(results)), ...contentionWarning(results), '');
  return lines.join('\n');
}
