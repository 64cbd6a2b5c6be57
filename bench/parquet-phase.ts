import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

import parquetjs from 'parquetjs-lite';
import type { ParquetFieldDefinition, ParquetSchema } from 'parquetjs-lite';

import { parseGlueType } from '../src/formats/parquet/glue-type.js';
import { ParquetEncoder } from '../src/formats/parquet/parquet-encoder.js';
import type { ParquetJob, ParquetJobRecord } from '../src/formats/parquet/parquet-job.js';
import { DEFAULT_PAGE_SIZE_BYTES, PAGE_ROW_LIMIT } from '../src/formats/parquet/parquet-writer.js';
import { compileConverter } from '../src/formats/parquet/record-converter.js';
import type { ColumnType, Row, TableSchema } from '../src/formats/parquet/table-schema.js';
import { nowMs } from './clock.js';
import { EVENT_LOOP_RESOLUTION_MS, type LoopDelay } from './compression-phase.js';
import type { BenchContext } from './context.js';
import { ProcessSampler } from './process-sampler.js';
import { say } from './progress.js';
import { payloadsOf } from './records.js';
import { alternateRounds, type Round, type RoundRunner, type SideRate } from './rounds.js';
import { MIB } from './stats.js';

/**
 * The parquet phase: the JSON → Parquet conversion of an S3 destination (`runParquetJob` of
 * `src/formats/parquet/parquet-job.ts` on the worker threads of a `ParquetEncoder`, as the S3
 * encode stage hands it whole batches) over the bench's clickstream records, beside
 * parquetjs-lite alone writing the same rows on the main thread, in the same run. The reference
 * is given the rows already converted, so it is the least any writer built on parquetjs-lite
 * must do; Sluice's figure is per core of the machine, since its conversion is meant to use them
 * all.
 */

/** Payload of one batch: what the S3 encode stage hands the encoder at once (about 4 MiB). */
export const PARQUET_BATCH_BYTES = 4 * MIB;
/** Distinct batches, the bodies' records cycled through them: enough to keep every lane fed. */
export const PARQUET_BATCHES = 4;
/**
 * Batches kept in flight per worker thread: two, so a worker finishing one finds the next
 * already queued instead of waiting for the main thread to pack and send it.
 */
export const PARQUET_IN_FLIGHT_PER_WORKER = 2;
/** Measured rounds per side, and their least length. */
export const PARQUET_ROUNDS = 4;
export const PARQUET_ROUND_S = 4;
const STREAM = 'bench-parquet';

/**
 * The table of the clickstream event (`clickEvent` of `records.ts`), in Glue types. No field of
 * the event is a boolean, so no boolean column: a column no record has would only be nulls.
 */
export const PARQUET_COLUMNS: readonly { name: string; type: string }[] = [
  { name: 'event_id', type: 'string' },
  { name: 'event_type', type: 'string' },
  { name: 'event_time', type: 'timestamp' },
  { name: 'user_id', type: 'string' },
  { name: 'session_id', type: 'string' },
  { name: 'page', type: 'string' },
  { name: 'referrer', type: 'string' },
  { name: 'user_agent', type: 'string' },
  { name: 'ip', type: 'string' },
  { name: 'country', type: 'string' },
  { name: 'device', type: 'string' },
  { name: 'viewport', type: 'struct<w:int,h:int>' },
  { name: 'dwell_ms', type: 'int' },
  { name: 'cart_value', type: 'double' },
];

/** What Sluice runs: the table, the OpenX JSON SerDe's defaults, SNAPPY at ParquetSerDe's sizes. */
export const PARQUET_JOB: ParquetJob = {
  columns: PARQUET_COLUMNS,
  deserializer: {
    kind: 'openx',
    caseInsensitive: true,
    dotsToUnderscores: false,
    columnToJsonKey: {},
  },
  parquet: { compression: 'SNAPPY' },
};

/** A side's event loop, and its CPU, over its measured rounds. */
export interface ParquetSideExtras {
  /**
   * CPU of the bench process by `process.cpuUsage()` (every thread, the workers' too), as a
   * share of one core: exact over the rounds, where the sampler's `cpuShare` is to its readings.
   */
  processCpuShare: number | undefined;
  loop: LoopDelay;
}

/** What the parquet phase measured. */
export interface ParquetResult {
  /** Sluice's worker threads: `os.availableParallelism()`. */
  threads: number;
  inFlight: number;
  columns: number;
  batches: number;
  /** Records and payload of a batch, on average. */
  batchRecords: number;
  batchMib: number;
  /** Rows per page of the reference (what Sluice's page-size estimate comes to), and per group. */
  referencePageRows: number;
  /** Mean size of a batch's file: Sluice's and the reference's. */
  sluiceFileKiB: number;
  referenceFileKiB: number;
  sluice: SideRate & ParquetSideExtras;
  reference: SideRate & ParquetSideExtras;
  /** Sluice's records/s over `threads` cores, as a share of the reference's on one thread. */
  perCoreShare: number;
  /**
   * Sluice's records per CPU-second of the bench process (all threads), as a share of the
   * reference's: how much more work a record takes, whether or not the cores were kept busy.
   */
  perCpuShare: number | undefined;
  /** Records Sluice refused while measuring (none expected), with the first reason. */
  rejected: number;
  firstRejected: string | undefined;
  /** The check of one Sluice file, read back with parquetjs-lite's reader. */
  check: { expectedRows: number; footerRows: number; readRows: number; sameEventIds: boolean };
}

/** A batch: its records as the encoder takes them, and the same records converted. */
interface Batch {
  records: ParquetJobRecord[];
  bytes: number;
  rows: Row[];
}

/** One round's event loop and CPU. */
interface Watch {
  cpuS: number;
  durationMs: number;
  loopActiveMs: number;
  loopTotalMs: number;
  loopP99Ms: number | undefined;
  loopMaxMs: number | undefined;
  loopSamples: number;
}

/** The parts of parquetjs-lite's reader the check uses (its type declarations leave it out). */
interface ParquetReaderLike {
  getRowCount(): unknown;
  getCursor(columns: string[][]): { next(): Promise<Record<string, unknown> | null> };
  close(): Promise<void>;
}
const { ParquetReader } = parquetjs as unknown as {
  ParquetReader: {
    openBuffer(buffer: Buffer, options: { rawStatistics: boolean }): Promise<ParquetReaderLike>;
  };
};

/** The bench's records in batches of about {@link PARQUET_BATCH_BYTES}, converted once. */
function batchesOf(ctx: BenchContext, table: TableSchema): Batch[] {
  const payloads = payloadsOf(ctx.bodiesFor(STREAM));
  if (payloads.length === 0) throw new Error('the bench has no records to convert');
  const convert = compileConverter(table, PARQUET_JOB.deserializer);
  const batches: Batch[] = [];
  let next = 0;
  for (let b = 0; b < PARQUET_BATCHES; b += 1) {
    const batch: Batch = { records: [], bytes: 0, rows: [] };
    while (batch.bytes < PARQUET_BATCH_BYTES) {
      const data = payloads[next % payloads.length] as Buffer;
      next += 1;
      const converted = convert(data.toString('utf8'));
      if (!('rows' in converted)) {
        throw new Error(`a bench record does not convert: ${converted.code}: ${converted.message}`);
      }
      batch.records.push({ position: batch.records.length, data });
      batch.bytes += data.length;
      batch.rows.push(...converted.rows);
    }
    batches.push(batch);
  }
  return batches;
}

/** parquetjs-lite's own type for a column, SNAPPY, PLAIN, every column optional. */
function referenceField(type: ColumnType): ParquetFieldDefinition {
  const leaf = (name: string): ParquetFieldDefinition => ({
    type: name,
    optional: true,
    compression: 'SNAPPY',
  });
  switch (type.kind) {
    case 'string':
      return leaf('UTF8');
    case 'int':
      return leaf('INT32');
    case 'bigint':
      return leaf('INT64');
    case 'double':
      return leaf('DOUBLE');
    case 'boolean':
      return leaf('BOOLEAN');
    case 'timestamp':
      return leaf('TIMESTAMP_MILLIS');
    case 'struct':
      return {
        optional: true,
        fields: Object.fromEntries(type.fields.map((f) => [f.name, referenceField(f.type)])),
      };
    default:
      throw new Error(`the parquet phase's reference has no column of type ${type.kind}`);
  }
}

/**
 * The rows per page Sluice's writer comes to: a page ends when some column's PLAIN values reach
 * {@link DEFAULT_PAGE_SIZE_BYTES} (by the mean of the widest column here), or at
 * {@link PAGE_ROW_LIMIT} rows. parquetjs-lite cuts pages by rows only.
 */
function pageRowsOf(table: TableSchema, rows: readonly Row[]): number {
  let widest = 0;
  for (const column of table.columns) {
    let bytes = 0;
    for (const row of rows) {
      const value = row[column.name];
      if (typeof value === 'string') bytes += 4 + Buffer.byteLength(value, 'utf8');
    }
    widest = Math.max(widest, bytes / Math.max(1, rows.length));
  }
  return widest === 0
    ? PAGE_ROW_LIMIT
    : Math.min(PAGE_ROW_LIMIT, Math.ceil(DEFAULT_PAGE_SIZE_BYTES / widest));
}

/**
 * `rows` written by parquetjs-lite's own writer into memory: one row group, pages of
 * `pageRows` rows, V1 data pages and no page index (as Sluice's writer writes them).
 */
async function writeReference(
  schema: ParquetSchema,
  rows: readonly Row[],
  pageRows: number,
): Promise<Buffer> {
  const pieces: Buffer[] = [];
  const envelope = new parquetjs.ParquetEnvelopeWriter(
    schema,
    (buf) => pieces.push(buf),
    () => undefined,
    0,
    { pageSize: pageRows, useDataPageV2: false, pageIndex: false },
  );
  const writer = new parquetjs.ParquetWriter(schema, envelope, { rowGroupSize: rows.length });
  for (const row of rows) await writer.appendRow(row);
  await writer.close();
  return Buffer.concat(pieces);
}

/**
 * Reads `file` back: its footer's row count, the rows read, and whether their ids are `rows`'.
 * Only `event_id` is read, and statistics are left raw: parquetjs-lite's reader turns INT64
 * values into BigInts that its own TIMESTAMP_MILLIS decoding cannot take, so it fails on any
 * timestamp column, its own writer's too.
 */
async function checkFile(file: Buffer, rows: readonly Row[]): Promise<ParquetResult['check']> {
  const reader = await ParquetReader.openBuffer(file, { rawStatistics: true });
  try {
    const footerRows = Number(reader.getRowCount());
    const cursor = reader.getCursor([['event_id']]);
    let readRows = 0;
    let sameEventIds = true;
    for (let row = await cursor.next(); row !== null; row = await cursor.next()) {
      const id = row.event_id;
      const text = Buffer.isBuffer(id) ? id.toString('utf8') : String(id);
      if (text !== rows[readRows]?.event_id) sameEventIds = false;
      readRows += 1;
    }
    return { expectedRows: rows.length, footerRows, readRows, sameEventIds };
  } finally {
    await reader.close();
  }
}

/** A monitor reading, in ms beyond the timer's period (a timer on time reads the period). */
function beyondPeriod(ns: number): number {
  return Math.max(0, ns / 1e6 - EVENT_LOOP_RESOLUTION_MS);
}

/**
 * `runner`, with the event loop and the process's CPU watched over each round, the readings
 * added to `into`: a fresh monitor per round, since one disabled and enabled again would count
 * the time in between as one delay.
 */
function watched(runner: RoundRunner, into: Watch[]): RoundRunner {
  return async (durationMs) => {
    const loop = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
    const cpu = process.cpuUsage();
    const utilization = performance.eventLoopUtilization();
    const startMs = nowMs();
    loop.enable();
    let round: Round;
    try {
      round = await runner(durationMs);
    } finally {
      loop.disable();
    }
    const used = process.cpuUsage(cpu);
    const busy = performance.eventLoopUtilization(utilization);
    const sampled = loop.count > 0;
    into.push({
      cpuS: (used.user + used.system) / 1e6,
      durationMs: nowMs() - startMs,
      loopActiveMs: busy.active,
      loopTotalMs: busy.active + busy.idle,
      loopP99Ms: sampled ? beyondPeriod(loop.percentile(99)) : undefined,
      loopMaxMs: sampled ? beyondPeriod(loop.max) : undefined,
      loopSamples: loop.count,
    });
    return round;
  };
}

function highest(values: readonly (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === 0 ? undefined : Math.max(...known);
}

function extrasOf(watches: readonly Watch[]): ParquetSideExtras {
  const durationS = watches.reduce((sum, w) => sum + w.durationMs, 0) / 1000;
  const loopTotal = watches.reduce((sum, w) => sum + w.loopTotalMs, 0);
  return {
    processCpuShare:
      durationS === 0 ? undefined : watches.reduce((sum, w) => sum + w.cpuS, 0) / durationS,
    loop: {
      p99Ms: highest(watches.map((w) => w.loopP99Ms)),
      maxMs: highest(watches.map((w) => w.loopMaxMs)),
      samples: watches.reduce((sum, w) => sum + w.loopSamples, 0),
      busyShare:
        loopTotal === 0
          ? undefined
          : watches.reduce((sum, w) => sum + w.loopActiveMs, 0) / loopTotal,
    },
  };
}

/**
 * Phase 10: Sluice's encoder at full load — every worker thread with batches queued — against
 * parquetjs-lite alone on the main thread, in alternating rounds after a warm-up of each; one
 * Sluice file read back first.
 */
export async function runParquetPhase(ctx: BenchContext): Promise<ParquetResult> {
  const { signal } = ctx;
  const threads = availableParallelism();
  const inFlight = threads * PARQUET_IN_FLIGHT_PER_WORKER;
  const table: TableSchema = {
    columns: PARQUET_COLUMNS.map((c) => ({ name: c.name, type: parseGlueType(c.type) })),
  };
  say(
    `parquet: converting ${PARQUET_BATCHES} batches of the bench's records once for the reference`,
  );
  const batches = batchesOf(ctx, table);
  const first = batches[0] as Batch;
  const schema = new parquetjs.ParquetSchema(
    Object.fromEntries(table.columns.map((c) => [c.name, referenceField(c.type)])),
  );
  const pageRows = pageRowsOf(table, first.rows);
  const encoder = new ParquetEncoder(threads);
  const sampler = new ProcessSampler(new Map(), 500);
  try {
    const sample = await encoder.encode(PARQUET_JOB, first.records);
    const check = await checkFile(sample.parquet, first.rows);
    const referenceSample = await writeReference(schema, first.rows, pageRows);

    let rejected = 0;
    let firstRejected: string | undefined;
    let sluiceFileBytes = 0;
    let sluiceFiles = 0;
    let next = 0;
    const sluice = async (durationMs: number): Promise<Round> => {
      const startMs = nowMs();
      const endAt = startMs + durationMs;
      let records = 0;
      let bytes = 0;
      let endMs = startMs;
      const lane = async (): Promise<void> => {
        while (nowMs() < endAt && !signal.aborted) {
          const batch = batches[next % batches.length] as Batch;
          next += 1;
          const result = await encoder.encode(PARQUET_JOB, batch.records);
          endMs = Math.max(endMs, nowMs());
          const written = batch.records.length - result.rejected.length;
          records += written;
          bytes += batch.bytes * (written / batch.records.length);
          sluiceFileBytes += result.parquet.length;
          sluiceFiles += 1;
          if (result.rejected.length > 0) {
            rejected += result.rejected.length;
            const r = result.rejected[0];
            if (r !== undefined) firstRejected ??= `${r.code}: ${r.message}`;
          }
        }
      };
      await Promise.all(Array.from({ length: inFlight }, lane));
      return { records, bytes, startMs, endMs };
    };
    let nextReference = 0;
    const reference = async (durationMs: number): Promise<Round> => {
      const startMs = nowMs();
      let records = 0;
      let bytes = 0;
      let endMs: number;
      do {
        const batch = batches[nextReference % batches.length] as Batch;
        nextReference += 1;
        await writeReference(schema, batch.rows, pageRows);
        records += batch.records.length;
        bytes += batch.bytes;
        endMs = nowMs();
      } while (endMs - startMs < durationMs && !signal.aborted);
      return { records, bytes, startMs, endMs };
    };

    const watches = { sluice: [] as Watch[], reference: [] as Watch[] };
    const warmupMs = ctx.options.warmupS * 1000;
    say(
      `parquet: ${threads} worker threads, ${inFlight} batches of ${first.records.length} records in flight; the reference on the main thread`,
    );
    if (warmupMs > 0) {
      say(`parquet: warming up both sides for ${warmupMs / 1000} s each`);
      await reference(warmupMs);
      signal.throwIfAborted();
      await sluice(warmupMs);
    }
    sampler.start();
    const sides = await alternateRounds({
      label: 'parquet',
      reference: watched(reference, watches.reference),
      sluice: watched(sluice, watches.sluice),
      warmupMs: 0,
      rounds: PARQUET_ROUNDS,
      roundMs: PARQUET_ROUND_S * 1000,
      sampler,
      signal,
    });
    sampler.stop();
    if (sides.sluice.records === 0) {
      throw new Error(
        `the Parquet encoder wrote no record${firstRejected ? `: ${firstRejected}` : ''}`,
      );
    }
    const sluiceSide = { ...sides.sluice, ...extrasOf(watches.sluice) };
    const referenceSide = { ...sides.reference, ...extrasOf(watches.reference) };
    const referenceRate = sides.reference.recordsPerS;
    const sluiceCpu = sluiceSide.processCpuShare;
    const referenceCpu = referenceSide.processCpuShare;
    return {
      threads,
      inFlight,
      columns: PARQUET_COLUMNS.length,
      batches: batches.length,
      batchRecords: batches.reduce((sum, b) => sum + b.records.length, 0) / batches.length,
      batchMib: batches.reduce((sum, b) => sum + b.bytes, 0) / batches.length / MIB,
      referencePageRows: pageRows,
      sluiceFileKiB:
        (sluiceFiles === 0 ? sample.parquet.length : sluiceFileBytes / sluiceFiles) / 1024,
      referenceFileKiB: referenceSample.length / 1024,
      sluice: sluiceSide,
      reference: referenceSide,
      perCoreShare:
        referenceRate === 0 ? Number.NaN : sides.sluice.recordsPerS / threads / referenceRate,
      perCpuShare:
        !sluiceCpu || !referenceCpu || referenceRate === 0
          ? undefined
          : sides.sluice.recordsPerS / sluiceCpu / (referenceRate / referenceCpu),
      rejected,
      firstRejected,
      check,
    };
  } finally {
    sampler.stop();
    await encoder.close();
  }
}
