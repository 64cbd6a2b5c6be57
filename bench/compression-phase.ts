import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { deflateRaw, gunzipSync, gzip, zstdCompress, zstdDecompressSync } from 'node:zlib';

import { compress as snappyCompress } from 'snappy';

import { RecordGroup } from '../src/destinations/record-group.js';
import { encodeConcatenated } from '../src/destinations/s3/request.js';
import { encodeChunkFromBuffers } from '../src/formats/chunk-frame.js';
import {
  collect,
  compress,
  COMPRESSION_FORMATS,
  type CompressionFormat,
  type CompressOptions,
} from '../src/formats/compression.js';
import { nowMs } from './clock.js';
import type { BenchContext } from './context.js';
import { ProcessSampler } from './process-sampler.js';
import { say } from './progress.js';
import { payloadsOf, RECORDS_PER_REQUEST } from './records.js';
import { MIB } from './stats.js';

/**
 * The compression phase: an S3 body of the bench's clickstream records through Sluice's compress
 * stage (`compress` of `src/formats/compression.ts`, fed the pieces the S3 encode stage makes)
 * in each format, beside the bare codec compressing the same bytes as one buffer, in the same
 * run; and how late the event loop's timers fire while Sluice compresses — the stage is meant
 * to do its heavy work on libuv's thread pool, so that ingest in the same process is not starved.
 */

/** Input of one pass: about the body of a 32 MiB batch. */
export const COMPRESSION_INPUT_BYTES = 32 * MIB;
/** Measured rounds per side and format, and the least length of one. */
export const COMPRESSION_ROUNDS = 3;
export const COMPRESSION_ROUND_S = 1;
/** Period of the event-loop delay monitor: its timer is due every this many ms. */
export const EVENT_LOOP_RESOLUTION_MS = 10;
/** How long the event loop is watched with nothing running, before any format, for comparison. */
const IDLE_WATCH_MS = 1_000;
const STREAM = 'bench-compression';

/** A format with a codec (UNCOMPRESSED passes its pieces through: nothing to measure). */
export type CodecFormat = Exclude<CompressionFormat, 'UNCOMPRESSED'>;

/** The bare codec of each format: the library call itself, on the whole input at once. */
const BARE: Readonly<
  Record<CodecFormat, { name: string; run: (input: Buffer) => Promise<Buffer> }>
> = {
  GZIP: { name: 'zlib.gzip', run: promisify(gzip) },
  ZIP: { name: 'zlib.deflateRaw', run: promisify(deflateRaw) },
  Snappy: { name: 'snappy compress', run: (input) => snappyCompress(input) },
  HADOOP_SNAPPY: { name: 'snappy compress', run: (input) => snappyCompress(input) },
  ZSTD: { name: 'zlib.zstdCompress', run: promisify(zstdCompress) },
};

/** Where Node decompresses Sluice's output cheaply; the other formats' tests have decoders. */
const DECOMPRESS: Partial<Record<CodecFormat, (output: Buffer) => Buffer>> = {
  GZIP: gunzipSync,
  ZSTD: zstdDecompressSync,
};

/** Event-loop delay beyond the monitor's period, ms. */
export interface LoopDelay {
  /** The highest 99th percentile of a single round (rounds are watched one by one). */
  p99Ms: number | undefined;
  maxMs: number | undefined;
  /** Timer readings in all. */
  samples: number;
  /** Share of the time the event loop was running callbacks rather than waiting for events. */
  busyShare: number | undefined;
}

/** What one side did over its measured rounds. */
export interface CompressionSide {
  rounds: number;
  /** Passes over the whole input, all rounds together. */
  passes: number;
  /** Sum of the rounds' durations. */
  durationS: number;
  /** Input MiB compressed per second. */
  mibS: number;
  /** Lowest and highest rate of a single round, MiB/s of input. */
  minRoundMibS: number;
  maxRoundMibS: number;
  /** Input bytes over output bytes of one pass. */
  ratio: number;
  /** CPU of the bench process over the rounds (thread pool included), as a share of one core. */
  cpuShare: number | undefined;
  loop: LoopDelay;
}

/** One format's figures. */
export interface CompressionFormatResult {
  format: CodecFormat;
  /** The bare codec's name. */
  bare: string;
  sluice: CompressionSide;
  reference: CompressionSide;
  /** `sluice / reference`, in MiB/s of input. */
  shareOfBare: number;
  /** Whether Sluice's output decompressed to the input; undefined where not checked. */
  roundTrip: boolean | undefined;
}

/** `SLUICE_GZIP_LEVEL` values the phase compares, zlib's default (6) among them. */
export const GZIP_LEVELS = [1, 3, 6, 9] as const;

/** Sluice's GZIP stage at one `SLUICE_GZIP_LEVEL`. */
export interface GzipLevelResult {
  level: number;
  side: CompressionSide;
  /** Whether its output decompressed to the input. */
  roundTrip: boolean;
}

/** What the compression phase measured. */
export interface CompressionResult {
  inputBytes: number;
  records: number;
  /** Distinct records among them (the bench's bodies', repeated to fill the input). */
  distinctRecords: number;
  pieces: number;
  /** The event loop with nothing running, watched as the rounds are. */
  idleLoop: LoopDelay;
  /** libuv's thread-pool size (`UV_THREADPOOL_SIZE`, 4 by default). */
  threadPool: number;
  formats: CompressionFormatResult[];
  /** Sluice's GZIP stage at each of {@link GZIP_LEVELS}, after the formats. */
  gzipLevels: GzipLevelResult[];
  /** Average CPU per process over the whole phase, as a share of one core. */
  cpuShare: Record<string, number | undefined>;
}

/** One round of one side. */
interface Round {
  passes: number;
  outputBytes: number;
  startMs: number;
  endMs: number;
  cpuS: number;
  /** Event-loop time running callbacks, and in all, ms. */
  loopActiveMs: number;
  loopTotalMs: number;
  loopP99Ms: number | undefined;
  loopMaxMs: number | undefined;
  loopSamples: number;
}

/** A monitor reading, in ms beyond the timer's period (a timer on time reads the period). */
function beyondPeriod(ns: number): number {
  return Math.max(0, ns / 1e6 - EVENT_LOOP_RESOLUTION_MS);
}

/**
 * Runs `pass` over and over until `minMs` have passed (at least once), with a fresh event-loop
 * monitor: a monitor disabled and enabled again would count the time in between as one delay.
 */
async function round(
  pass: () => Promise<number>,
  minMs: number,
  signal: AbortSignal,
): Promise<Round> {
  const loop = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  const cpu = process.cpuUsage();
  const utilization = performance.eventLoopUtilization();
  loop.enable();
  const startMs = nowMs();
  let endMs: number;
  let passes = 0;
  let outputBytes: number;
  try {
    do {
      outputBytes = await pass();
      passes += 1;
      endMs = nowMs();
    } while (endMs - startMs < minMs && !signal.aborted);
  } finally {
    loop.disable();
  }
  const used = process.cpuUsage(cpu);
  const busy = performance.eventLoopUtilization(utilization);
  const sampled = loop.count > 0;
  return {
    passes,
    outputBytes,
    startMs,
    endMs,
    cpuS: (used.user + used.system) / 1e6,
    loopActiveMs: busy.active,
    loopTotalMs: busy.active + busy.idle,
    loopP99Ms: sampled ? beyondPeriod(loop.percentile(99)) : undefined,
    loopMaxMs: sampled ? beyondPeriod(loop.max) : undefined,
    loopSamples: loop.count,
  };
}

function highest(values: readonly (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === 0 ? undefined : Math.max(...known);
}

/** The event loop's busy share over `rounds`. */
function shareOf(rounds: readonly Round[]): number | undefined {
  const total = rounds.reduce((sum, r) => sum + r.loopTotalMs, 0);
  return total === 0 ? undefined : rounds.reduce((sum, r) => sum + r.loopActiveMs, 0) / total;
}

function sideOf(rounds: readonly Round[], inputBytes: number): CompressionSide {
  const seconds = (r: Round) => Math.max(1e-3, (r.endMs - r.startMs) / 1000);
  const perRound = rounds.map((r) => (r.passes * inputBytes) / MIB / seconds(r));
  const passes = rounds.reduce((sum, r) => sum + r.passes, 0);
  const durationS = rounds.reduce((sum, r) => sum + seconds(r), 0);
  const last = rounds[rounds.length - 1];
  return {
    rounds: rounds.length,
    passes,
    durationS,
    mibS: (passes * inputBytes) / MIB / durationS,
    minRoundMibS: Math.min(...perRound),
    maxRoundMibS: Math.max(...perRound),
    ratio:
      last === undefined || last.outputBytes === 0 ? Number.NaN : inputBytes / last.outputBytes,
    cpuShare: rounds.reduce((sum, r) => sum + r.cpuS, 0) / durationS,
    loop: {
      p99Ms: highest(rounds.map((r) => r.loopP99Ms)),
      maxMs: highest(rounds.map((r) => r.loopMaxMs)),
      samples: rounds.reduce((sum, r) => sum + r.loopSamples, 0),
      busyShare: shareOf(rounds),
    },
  };
}

/** The event loop watched for `ms` with nothing else running. */
async function idleLoop(ms: number, signal: AbortSignal): Promise<LoopDelay> {
  const idle = await round(
    () => new Promise((resolve) => setTimeout(() => resolve(0), ms)),
    0,
    signal,
  );
  return {
    p99Ms: idle.loopP99Ms,
    maxMs: idle.loopMaxMs,
    samples: idle.loopSamples,
    busyShare: shareOf([idle]),
  };
}

/**
 * The bench's records as an S3 body of about {@link COMPRESSION_INPUT_BYTES}, in the pieces the
 * S3 encode stage makes of it: one per stored chunk, which holds one PutRecordBatch's records.
 * The bodies' records repeat until the input is full, each repeat further back than any of the
 * codecs looks for matches (at most zstd's 2 MiB window at its default level), so the repeats
 * do not compress better than fresh records would.
 */
async function bodyPieces(
  ctx: BenchContext,
): Promise<{ pieces: Buffer[]; records: number; distinct: number }> {
  const payloads = payloadsOf(ctx.bodiesFor(STREAM));
  if (payloads.length === 0) throw new Error('the bench has no records to compress');
  const arrivalMs = Date.now();
  const chunks: RecordGroup[] = [];
  let records = 0;
  let bytes = 0;
  for (let first = 0; bytes < COMPRESSION_INPUT_BYTES; first += RECORDS_PER_REQUEST) {
    const start = first % payloads.length;
    const request = payloads.slice(start, start + RECORDS_PER_REQUEST);
    const position = records;
    const chunk = RecordGroup.fromChunk(encodeChunkFromBuffers(arrivalMs, request), position, () =>
      request.map((_, k) => String(position + k)),
    );
    records += chunk.length;
    bytes += chunk.dataBytes();
    chunks.push(chunk);
  }
  const pieces: Buffer[] = [];
  for await (const piece of encodeConcatenated(streamed(chunks))) pieces.push(piece);
  return { pieces, records, distinct: payloads.length };
}

/** `items` one at a time, as a pipeline stage hands them on. */
function streamed<T>(items: readonly T[]): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      let next = 0;
      return {
        next: () =>
          Promise.resolve(
            next < items.length
              ? { value: items[next++] as T, done: false }
              : { value: undefined, done: true },
          ),
      };
    },
  };
}

/**
 * Phase 9: per format, one unmeasured pass of each side (Sluice's also checked against the input
 * where Node can decompress it), then {@link COMPRESSION_ROUNDS} rounds of each, alternating,
 * the bare codec first.
 */
export async function runCompressionPhase(ctx: BenchContext): Promise<CompressionResult> {
  const { signal } = ctx;
  const { pieces, records, distinct } = await bodyPieces(ctx);
  const input = Buffer.concat(pieces);
  const options: CompressOptions = { entryName: randomUUID(), modifiedMs: Date.now() };
  const sampler = new ProcessSampler(new Map(), 500);
  sampler.start();
  try {
    say(`compression: watching the idle event loop for ${IDLE_WATCH_MS / 1000} s`);
    const idle = await idleLoop(IDLE_WATCH_MS, signal);
    const formats: CompressionFormatResult[] = [];
    for (const format of COMPRESSION_FORMATS) {
      if (format === 'UNCOMPRESSED') continue;
      signal.throwIfAborted();
      const bare = BARE[format];
      const sluicePass = async (): Promise<number> => {
        let bytes = 0;
        for await (const out of compress(streamed(pieces), format, options)) bytes += out.length;
        return bytes;
      };
      const barePass = async (): Promise<number> => (await bare.run(input)).length;

      say(
        `compression: ${format}: a warm-up pass per side, then ${COMPRESSION_ROUNDS} rounds of at least ${COMPRESSION_ROUND_S} s per side, alternating`,
      );
      await barePass();
      const decompress = DECOMPRESS[format];
      const sample = await collect(compress(streamed(pieces), format, options));
      const roundTrip = decompress === undefined ? undefined : decompress(sample).equals(input);
      const reference: Round[] = [];
      const sluice: Round[] = [];
      for (let i = 0; i < COMPRESSION_ROUNDS; i += 1) {
        signal.throwIfAborted();
        reference.push(await round(barePass, COMPRESSION_ROUND_S * 1000, signal));
        signal.throwIfAborted();
        sluice.push(await round(sluicePass, COMPRESSION_ROUND_S * 1000, signal));
      }
      signal.throwIfAborted();
      const sides = {
        sluice: sideOf(sluice, input.length),
        reference: sideOf(reference, input.length),
      };
      formats.push({
        format,
        bare: bare.name,
        ...sides,
        shareOfBare:
          sides.reference.mibS === 0 ? Number.NaN : sides.sluice.mibS / sides.reference.mibS,
        roundTrip,
      });
    }
    const gzipLevels: GzipLevelResult[] = [];
    for (const level of GZIP_LEVELS) {
      signal.throwIfAborted();
      const levelOptions: CompressOptions = { ...options, deflateLevel: level };
      const pass = async (): Promise<number> => {
        let bytes = 0;
        for await (const out of compress(streamed(pieces), 'GZIP', levelOptions)) {
          bytes += out.length;
        }
        return bytes;
      };
      say(
        `compression: GZIP at SLUICE_GZIP_LEVEL=${level}: a warm-up pass, then ${COMPRESSION_ROUNDS} rounds of at least ${COMPRESSION_ROUND_S} s`,
      );
      const sample = await collect(compress(streamed(pieces), 'GZIP', levelOptions));
      const rounds: Round[] = [];
      for (let i = 0; i < COMPRESSION_ROUNDS; i += 1) {
        signal.throwIfAborted();
        rounds.push(await round(pass, COMPRESSION_ROUND_S * 1000, signal));
      }
      gzipLevels.push({
        level,
        side: sideOf(rounds, input.length),
        roundTrip: gunzipSync(sample).equals(input),
      });
    }
    sampler.stop();
    return {
      inputBytes: input.length,
      records,
      distinctRecords: distinct,
      pieces: pieces.length,
      idleLoop: idle,
      threadPool: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
      formats,
      gzipLevels,
      cpuShare: sampler.cpuShares(),
    };
  } finally {
    sampler.stop();
  }
}
