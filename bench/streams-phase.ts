import { setTimeout as sleep } from 'node:timers/promises';

import { nowMs } from './clock.js';
import { phaseSignal, type BenchContext } from './context.js';
import { BENCH_BUCKET, waitUntilActive } from './control-plane.js';
import { FirehoseHttp } from './firehose-http.js';
import type { Infrastructure } from './infrastructure.js';
import { runPaced } from './load.js';
import {
  countConnectionsTo,
  countOpenFds,
  descendantsOf,
  processAlive,
  sluiceRoleOf,
} from './proc-sockets.js';
import { OTHER_PROCESSES, ProcessSampler } from './process-sampler.js';
import { Prng } from './prng.js';
import { say } from './progress.js';
import type { PreparedBody } from './records.js';
import { sha256Hex } from './sigv4.js';
import { startSluice, type SluiceProcess } from './sluice-process.js';
import { percentile } from './stats.js';
import { throughputFigures, type ThroughputFigures } from './throughput.js';

/** The smaller side: the figures the large side is read against. */
export const FEW_STREAMS = 10;
/** CreateDeliveryStream calls (each followed by DescribeDeliveryStream until ACTIVE) at once. */
export const CREATE_CONCURRENCY = 16;
/** After the streams exist, before the idle window: start-up work of the new streams settles. */
export const SETTLE_S = 10;
/** The idle window: no request reaches Sluice. */
export const IDLE_S = 20;
/** The load: PutRecordBatch requests a second, paced. */
export const LOAD_REQUESTS_PER_S = 200;
/** Seconds of load. */
export const LOAD_S = 15;
/** Records in each PutRecordBatch of the load. */
export const LOAD_RECORDS_PER_REQUEST = 100;
/** Bytes of each load record (a JSON line). */
export const LOAD_RECORD_BYTES = 100;
/** Streams of the set the load spreads over (all of them when there are fewer). */
export const LOAD_STREAMS = 100;
/** Streams created for the seal-to-delivery measurement, beside the others. */
export const SEAL_STREAMS = 20;
/** Their IntervalInSeconds: the smallest above 0 (0 would deliver at once, with no deadline). */
export const SEAL_INTERVAL_S = 1;
/** Between the seal streams being ACTIVE and the puts, so their start-up is not measured. */
export const SEAL_SETTLE_S = 5;
/** How often the bucket is listed while waiting for the seal streams' objects. */
export const SEAL_POLL_MS = 100;
/** Longest wait for the seal streams' objects. */
const SEAL_TIMEOUT_MS = 60_000;
/** Bound on stopping the service and its children, then anything left is killed. */
const STOP_BOUND_MS = 30_000;

/** Per Sluice process (`supervisor`, `api (pid)`, `worker (pid)`) → a figure. */
export type PerProcess = Record<string, number | undefined>;

/** What one side (one stream count) measured. */
export interface StreamsSide {
  /** Streams that existed during the idle window and the load. */
  streams: number;
  /** Wall time to create them all and see them ACTIVE. */
  createS: number;
  /** The Sluice processes: supervisor and its children, by role. */
  processes: string[];
  idle: {
    /** Seconds the window lasted. */
    windowS: number;
    /** CPU per Sluice process as a share of one core. */
    cpu: PerProcess;
    /** Sum of {@link cpu}. */
    sluiceCpu: number | undefined;
    redisCpu: number | undefined;
    /** CPU of processes other than the bench's, Sluice's, Redis's and s3rver's. */
    otherCpu: number | undefined;
    /** Redis commands a second (INFO total_commands_processed over the window). */
    redisCommandsPerS: number | undefined;
    /** The three commands called most over the window, calls a second each. */
    redisTopCommands: Record<string, number>;
    /** INFO clients at the end of the window (the bench's own connection included). */
    redisClients: number | undefined;
    redisBlockedClients: number | undefined;
    /** Established connections to Redis's port per Sluice process, from /proc. */
    redisConnections: PerProcess;
    /** Highest RSS over the window per Sluice process, MiB. */
    rssMib: PerProcess;
    /** Open file descriptors per Sluice process at the end of the window. */
    fds: PerProcess;
  };
  load: {
    figures: ThroughputFigures;
    /** Requests that started over 100 ms behind the pacing schedule. */
    lateStarts: number;
    /** CPU per Sluice process during the load. */
    cpu: PerProcess;
    sluiceCpu: number | undefined;
    otherCpu: number | undefined;
    rssMib: PerProcess;
  };
  seal: {
    /** Streams that got a record. */
    streams: number;
    /** Their objects seen in the bucket before the timeout. */
    delivered: number;
    /** Object seen − (put sent + IntervalInSeconds), ms, per delivered stream. */
    lagP50Ms: number | undefined;
    lagMaxMs: number | undefined;
  };
  /** Seconds from SIGTERM until the supervisor and its children were gone. */
  stopS: number | undefined;
  /** Warning and error lines of the service (the first few). */
  problems: string[];
}

/** One side's outcome: a failing service at 5,000 streams still leaves the 10-stream figures. */
export type SideOutcome =
  { status: 'ok'; value: StreamsSide } | { status: 'failed'; error: string };

/** What the streams phase measured. */
export interface StreamsResult {
  few: SideOutcome;
  many: SideOutcome;
}

/** A number field of Redis's INFO text (`name:value` lines); `undefined` when absent. */
export function infoNumber(info: string, name: string): number | undefined {
  const match = new RegExp(`^${name}:(\\d+(?:\\.\\d+)?)\\r?$`, 'm').exec(info);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** Calls per command from Redis's `INFO commandstats` (`cmdstat_<name>:calls=<n>,…` lines). */
export function commandCalls(info: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== undefined && match[2] !== undefined) calls.set(match[1], Number(match[2]));
  }
  return calls;
}

/**
 * The `top` commands called most between two `INFO commandstats` readings, as `name` → calls a
 * second over `seconds`, most first.
 */
export function topCommands(
  before: string,
  after: string,
  seconds: number,
  top = 3,
): Record<string, number> {
  const was = commandCalls(before);
  return Object.fromEntries(
    [...commandCalls(after)]
      .map(([name, n]) => [name, (n - (was.get(name) ?? 0)) / seconds] as const)
      .filter(([, rate]) => rate > 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, top),
  );
}

/** Sum of the defined values; `undefined` when none is. */
export function sumDefined(values: PerProcess): number | undefined {
  const defined = Object.values(values).filter((v): v is number => v !== undefined);
  return defined.length === 0 ? undefined : defined.reduce((a, b) => a + b, 0);
}

/** The entries of `all` whose name is one of `names`. */
function only(all: PerProcess, names: readonly string[]): PerProcess {
  return Object.fromEntries(names.map((name) => [name, all[name]]));
}

/** Stream names of a side, zero-padded so they sort in creation order. */
function streamName(prefix: string, i: number): string {
  return `${prefix}-${String(i).padStart(5, '0')}`;
}

/** A bounded pool: runs `task(i)` for i in [0, count), `concurrency` at a time. */
async function eachBounded(
  count: number,
  concurrency: number,
  signal: AbortSignal,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const runner = async (): Promise<void> => {
    while (next < count) {
      signal.throwIfAborted();
      const i = next;
      next += 1;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, runner));
}

/** Creates an uncompressed S3 stream and waits until it is ACTIVE. */
async function createStream(
  client: FirehoseHttp,
  name: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await client.call('CreateDeliveryStream', {
    DeliveryStreamName: name,
    DeliveryStreamType: 'DirectPut',
    ExtendedS3DestinationConfiguration: {
      RoleARN: 'arn:aws:iam::000000000000:role/bench',
      BucketARN: `arn:aws:s3:::${BENCH_BUCKET}`,
      CompressionFormat: 'UNCOMPRESSED',
      ...extra,
    },
  });
  await waitUntilActive(client, name);
}

/**
 * PutRecordBatch bodies of {@link LOAD_RECORDS_PER_REQUEST} records of exactly
 * {@link LOAD_RECORD_BYTES} bytes, one body per stream of `streams`, so a paced load at
 * `n × bodyPayload` bytes/s sends exactly n requests a second.
 */
export function loadBodies(streams: readonly string[]): PreparedBody[] {
  return streams.map((stream, s) => {
    const members: string[] = [];
    for (let r = 0; r < LOAD_RECORDS_PER_REQUEST; r += 1) {
      const head = `{"stream":${s},"seq":${r},"pad":"`;
      const tail = '"}\n';
      const pad = 'x'.repeat(Math.max(0, LOAD_RECORD_BYTES - head.length - tail.length));
      members.push(`{"Data":"${Buffer.from(head + pad + tail).toString('base64')}"}`);
    }
    const buffer = Buffer.from(
      `{"DeliveryStreamName":${JSON.stringify(stream)},"Records":[${members.join(',')}]}`,
    );
    const recordBytes = Array.from({ length: LOAD_RECORDS_PER_REQUEST }, () => LOAD_RECORD_BYTES);
    return {
      buffer,
      sha256: sha256Hex(buffer),
      recordBytes,
      payloadBytes: LOAD_RECORDS_PER_REQUEST * LOAD_RECORD_BYTES,
    };
  });
}

/** `count` distinct indices of [0, total) in random order (a partial Fisher–Yates shuffle). */
export function pickDistinct(total: number, count: number, rng: Prng): number[] {
  const indices = Array.from({ length: total }, (_, i) => i);
  const n = Math.min(count, total);
  for (let i = 0; i < n; i += 1) {
    const j = i + rng.int(total - i);
    [indices[i], indices[j]] = [indices[j] ?? 0, indices[i] ?? 0];
  }
  return indices.slice(0, n);
}

/** Stops the service within a bound, then SIGKILLs any of its processes still there. */
async function stopAll(sluice: SluiceProcess, tree: readonly number[]): Promise<number> {
  const startMs = nowMs();
  await sluice.stop();
  const deadline = startMs + STOP_BOUND_MS;
  while (tree.some(processAlive) && nowMs() < deadline) await sleep(100);
  for (const pid of tree.filter(processAlive)) {
    say(`streams: Sluice process ${pid} outlived its supervisor; killing it`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
  return (nowMs() - startMs) / 1000;
}

/** One side: Sluice (default process layout) with `count` streams, idle, load, seal, stop. */
async function runSide(
  ctx: BenchContext,
  infra: Infrastructure,
  count: number,
): Promise<StreamsSide> {
  const { options } = ctx;
  const label = `streams (${count})`;
  await infra.reset();
  const redisPort = infra.redis.server.port;
  // SLUICE_PROCESSES as when unset (auto): the supervisor forks its API and delivery processes.
  const sluice = await startSluice({
    role: 'all',
    redisUrl: infra.redis.server.url,
    s3Env: infra.s3.sluiceEnv,
    maxBacklogMb: options.maxBacklogMb,
    env: { SLUICE_PROCESSES: 'auto', SLUICE_MAX_STREAMS: String(count + SEAL_STREAMS) },
  });
  const phase = phaseSignal(ctx.signal, [sluice.child, infra.redis.server.child]);
  const client = new FirehoseHttp(
    sluice.url as string,
    ctx.identity,
    Math.max(CREATE_CONCURRENCY, options.maxInFlight),
  );
  phase.signal.addEventListener('abort', () => client.close(), { once: true });
  let tree: number[] = descendantsOf(sluice.child.pid);
  const crashCheck = (): void => {
    const crashed = phase.crashed();
    if (crashed) throw new Error(crashed.describeExit());
    phase.signal.throwIfAborted();
  };
  let stopS: number | undefined;
  try {
    const prefix = `bench-streams-${count}`;
    say(`${label}: creating ${count} streams, ${CREATE_CONCURRENCY} at once`);
    const createStart = nowMs();
    let created = 0;
    let nextNote = createStart + 10_000;
    await eachBounded(count, CREATE_CONCURRENCY, phase.signal, async (i) => {
      await createStream(client, streamName(prefix, i));
      created += 1;
      if (nowMs() >= nextNote) {
        nextNote += 10_000;
        say(
          `${label}: ${created} streams ACTIVE after ${((nowMs() - createStart) / 1000).toFixed(0)} s`,
        );
      }
    });
    const createS = (nowMs() - createStart) / 1000;
    say(`${label}: ${count} streams ACTIVE in ${createS.toFixed(1)} s; settling for ${SETTLE_S} s`);
    await sleep(SETTLE_S * 1000, undefined, { signal: phase.signal });
    crashCheck();

    // The tree after the streams exist: a child restarted meanwhile is the one that now works.
    tree = descendantsOf(sluice.child.pid);
    const named = new Map<string, number>([['supervisor', sluice.child.pid]]);
    for (const pid of tree) named.set(`${sluiceRoleOf(pid) ?? 'child'} (${pid})`, pid);
    const sluiceNames = [...named.keys()];
    const procs = (): ProcessSampler =>
      new ProcessSampler(new Map([...named, ...infra.processes()]));

    say(`${label}: idle for ${IDLE_S} s (${sluiceNames.join(', ')})`);
    const idleProcs = procs();
    const [statsBefore, commandsBeforeInfo] = await Promise.all([
      infra.client.info('stats'),
      infra.client.info('commandstats'),
    ]);
    const idleStart = nowMs();
    idleProcs.start();
    await sleep(IDLE_S * 1000, undefined, { signal: phase.signal });
    idleProcs.stop();
    const idleEnd = nowMs();
    const [statsAfter, commandsAfterInfo, clients] = await Promise.all([
      infra.client.info('stats'),
      infra.client.info('commandstats'),
      infra.client.info('clients'),
    ]);
    crashCheck();
    const windowS = (idleEnd - idleStart) / 1000;
    const commandsBefore = infoNumber(statsBefore, 'total_commands_processed');
    const commandsAfter = infoNumber(statsAfter, 'total_commands_processed');
    const idleCpu = idleProcs.cpuShares();
    const cpu = only(idleCpu, sluiceNames);
    const idle: StreamsSide['idle'] = {
      windowS,
      cpu,
      sluiceCpu: sumDefined(cpu),
      redisCpu: idleCpu['redis-server'],
      otherCpu: idleCpu[OTHER_PROCESSES],
      redisCommandsPerS:
        commandsBefore === undefined || commandsAfter === undefined
          ? undefined
          : (commandsAfter - commandsBefore) / windowS,
      redisTopCommands: topCommands(commandsBeforeInfo, commandsAfterInfo, windowS),
      redisClients: infoNumber(clients, 'connected_clients'),
      redisBlockedClients: infoNumber(clients, 'blocked_clients'),
      redisConnections: Object.fromEntries(
        [...named].map(([name, pid]) => [name, countConnectionsTo(pid, redisPort)]),
      ),
      rssMib: only(idleProcs.maxRssMib(), sluiceNames),
      fds: Object.fromEntries([...named].map(([name, pid]) => [name, countOpenFds(pid)])),
    };

    const loadCount = Math.min(LOAD_STREAMS, count);
    const picked = pickDistinct(count, loadCount, new Prng(options.seed));
    const bodies = loadBodies(picked.map((i) => streamName(prefix, i)));
    say(
      `${label}: ${LOAD_REQUESTS_PER_S} PutRecordBatch/s of ${LOAD_RECORDS_PER_REQUEST} records over ${loadCount} streams for ${LOAD_S} s`,
    );
    const loadProcs = procs();
    loadProcs.start();
    const loaded = await runPaced({
      client,
      bodies,
      durationMs: LOAD_S * 1000,
      timeoutMs: options.requestTimeoutS * 1000,
      signal: phase.signal,
      bytesPerSecond: LOAD_REQUESTS_PER_S * LOAD_RECORDS_PER_REQUEST * LOAD_RECORD_BYTES,
      maxInFlight: options.maxInFlight,
    });
    loadProcs.stop();
    crashCheck();
    const loadCpuAll = loadProcs.cpuShares(loaded.startMs, loaded.endMs);
    const loadCpu = only(loadCpuAll, sluiceNames);
    const load: StreamsSide['load'] = {
      figures: throughputFigures(loaded),
      lateStarts: loaded.lateStarts,
      cpu: loadCpu,
      sluiceCpu: sumDefined(loadCpu),
      otherCpu: loadCpuAll[OTHER_PROCESSES],
      rssMib: only(loadProcs.maxRssMib(), sluiceNames),
    };

    const seal = await measureSeal(client, infra, label, `bench-seal-${count}`, phase.signal);
    crashCheck();
    const problems = sluice.problems.slice(0, 5);
    const processes = sluiceNames;
    say(`${label}: stopping Sluice`);
    const children = descendantsOf(sluice.child.pid);
    stopS = await stopAll(sluice, [...new Set([...tree, ...children])]);
    return { streams: count, createS, processes, idle, load, seal, stopS, problems };
  } finally {
    phase.dispose();
    client.close();
    if (stopS === undefined) {
      await stopAll(sluice, [...new Set([...tree, ...descendantsOf(sluice.child.pid)])]);
    }
  }
}

/**
 * Seal to delivery: {@link SEAL_STREAMS} new streams with IntervalInSeconds
 * {@link SEAL_INTERVAL_S}, one record each (spread evenly over one interval), then the bucket listed every {@link SEAL_POLL_MS} ms
 * until each stream's object is there. The lag counts from the put's send time + the interval, an
 * upper bound of the buffer's deadline (the record arrives after it is sent), so the lag is
 * never flattered; the listing adds up to one poll period.
 */
async function measureSeal(
  client: FirehoseHttp,
  infra: Infrastructure,
  label: string,
  prefix: string,
  signal: AbortSignal,
): Promise<StreamsSide['seal']> {
  const names = Array.from({ length: SEAL_STREAMS }, (_, i) => streamName(prefix, i));
  say(
    `${label}: ${SEAL_STREAMS} streams with IntervalInSeconds ${SEAL_INTERVAL_S}, one record each`,
  );
  await eachBounded(names.length, CREATE_CONCURRENCY, signal, (i) =>
    createStream(client, names[i] ?? '', {
      Prefix: `${names[i] ?? ''}/`,
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: SEAL_INTERVAL_S },
    }),
  );
  await sleep(SEAL_SETTLE_S * 1000, undefined, { signal });
  const deadlines = new Map<string, number>();
  // Spread over one interval, so the puts fall at every phase of whatever clock seals buffers and
  // the p50 and max say more than one tick; all are sent before the first deadline.
  const spreadMs = (SEAL_INTERVAL_S * 1000) / names.length;
  const firstMs = nowMs();
  await Promise.all(
    names.map(async (name, i) => {
      await sleep(Math.max(0, firstMs + i * spreadMs - nowMs()), undefined, { signal });
      const sentMs = nowMs();
      await client.call('PutRecord', {
        DeliveryStreamName: name,
        Record: { Data: Buffer.from(`{"seal":"${name}"}\n`).toString('base64') },
      });
      deadlines.set(name, sentMs + SEAL_INTERVAL_S * 1000);
    }),
  );
  const lags = new Map<string, number>();
  const giveUp = nowMs() + SEAL_TIMEOUT_MS;
  while (lags.size < names.length && nowMs() < giveUp) {
    signal.throwIfAborted();
    const keys = await infra.s3.listKeys(BENCH_BUCKET);
    const seenMs = nowMs();
    for (const name of names) {
      if (lags.has(name)) continue;
      if (keys.some((key) => key.startsWith(`${name}/`))) {
        lags.set(name, seenMs - (deadlines.get(name) ?? seenMs));
      }
    }
    await sleep(SEAL_POLL_MS);
  }
  const values = [...lags.values()];
  return {
    streams: names.length,
    delivered: values.length,
    lagP50Ms: percentile(values, 50),
    lagMaxMs: values.length === 0 ? undefined : Math.max(...values),
  };
}

/**
 * Phase 14: Sluice in its default process layout with {@link FEW_STREAMS} streams, then with
 * `--streams-count` (5,000: Firehose's default quota), the same steps on each: create the
 * streams, settle, an idle window (CPU, Redis commands and connections, memory, descriptors), a
 * paced PutRecordBatch load over up to {@link LOAD_STREAMS} of them (latency), and seal to
 * delivery on {@link SEAL_STREAMS} one-second streams.
 */
export async function runStreamsPhase(
  ctx: BenchContext,
  infra: Infrastructure,
): Promise<StreamsResult> {
  const side = async (count: number): Promise<SideOutcome> => {
    try {
      return { status: 'ok', value: await runSide(ctx, infra, count) };
    } catch (error) {
      ctx.signal.throwIfAborted();
      const message = error instanceof Error ? error.message : String(error);
      say(`streams (${count}) failed: ${message.split('\n')[0] ?? ''}`);
      return { status: 'failed', error: message };
    }
  };
  const few = await side(FEW_STREAMS);
  const many = await side(ctx.options.streamsCount);
  return { few, many };
}
