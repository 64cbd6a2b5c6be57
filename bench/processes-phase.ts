import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import { nowMs } from './clock.js';
import { phaseSignal, warmedClosedLoad, type BenchContext } from './context.js';
import { createBenchStream } from './control-plane.js';
import { SAMPLE_PERIOD_MS } from './delivery-run.js';
import { FirehoseHttp } from './firehose-http.js';
import type { Infrastructure } from './infrastructure.js';
import { runClosedLoop, type LoadProgress } from './load.js';
import { runPacedDelivery, type PacedDeliveryFigures } from './paced-delivery.js';
import { ProcessSampler } from './process-sampler.js';
import { say, startProgress } from './progress.js';
import { startSluice, type SluiceProcess } from './sluice-process.js';
import { MIB } from './stats.js';
import { readStreamStats, StreamStatsSampler, type StreamStatsSample } from './stream-stats.js';
import { throughputFigures, type ThroughputFigures } from './throughput.js';

/** How often the drain is checked. */
const DRAIN_POLL_MS = 200;

/** A `SLUICE_PROCESSES` setting the phase runs. */
export type ProcessesSetting = '1' | 'auto';

/** One `SLUICE_PROCESSES` setting's figures. */
export interface ProcessesSide {
  /** `SLUICE_PROCESSES` as set. */
  setting: ProcessesSetting;
  /** The role of each process doing the work (the supervisor's children, or the one process). */
  roles: string[];
  /** The acknowledged closed-loop load: rate and latency of acknowledgements. */
  ingest: ThroughputFigures;
  /** Payload delivered to S3 while that load ran, per second: delivery beside full ingest. */
  deliveredDuringLoadMibS: number;
  /** How fast the backlog grew while that load ran, MiB/s: what ingest outpaced delivery by. */
  backlogGrowthMibS: number;
  /**
   * The longest stretch of the load in which no delivery completed, s (to within one 200 ms
   * reading of the counters): the whole load when delivery stalled.
   */
  longestDeliveryGapS: number;
  /**
   * Payload delivered per second from the start of the measured load until everything accepted
   * (warm-up included) was delivered: what the deployment takes in and delivers.
   */
  endToEndMibS: number | undefined;
  /** From the last acknowledgement until the backlog was empty; `undefined` past the timeout. */
  drainS: number | undefined;
  /** Average CPU per process during the load, as a share of one core. */
  cpuShare: Record<string, number | undefined>;
  /** Highest RSS per process, MiB. */
  rssMaxMib: Record<string, number | undefined>;
  /** Warning and error log lines of the service. */
  problems: string[];
}

/** A paced run of the `auto` deployment into a fresh stream, with delivery running. */
export interface PacedSide {
  roles: string[];
  figures: PacedDeliveryFigures;
  /** Average CPU per process while sending, as a share of one core. */
  cpuShare: Record<string, number | undefined>;
  rssMaxMib: Record<string, number | undefined>;
  problems: string[];
}

/** A paced run's figures, or why there are none. */
export type PacedOutcome = { status: 'ok'; value: PacedSide } | { status: 'failed'; error: string };

/**
 * What the processes phase measured: one process, then `auto`, the same closed-loop load; then
 * `auto` paced at half its acknowledged rate, and at `--processes-rate`.
 */
export interface ProcessesResult {
  cores: number;
  single: ProcessesSide;
  auto: ProcessesSide;
  /** Paced at half of `auto`'s acknowledged rate: the latency producers see below saturation. */
  halfLoad: PacedOutcome;
  /** Paced at `--processes-rate`: whether delivery keeps up with a sustained GZIP load. */
  sustained: PacedOutcome;
}

/**
 * The supervisor's children and their roles, from `/proc` (Linux): `<role> (pid)` → pid. Empty
 * where `/proc` cannot tell (then only the supervisor is sampled).
 */
function childProcesses(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((p) => p !== '')
      .map(Number);
    for (const child of children) {
      const environ = readFileSync(`/proc/${child}/environ`, 'utf8').split('\0');
      const role = environ.find((v) => v.startsWith('SLUICE_ROLE='))?.slice(12) ?? '?';
      out.set(`sluice ${role} (${child})`, child);
    }
  } catch {
    // Not Linux, or the process went away: the report shows the supervisor alone.
  }
  return out;
}

/**
 * The longest stretch of [fromMs, toMs] between readings that saw `deliveredBytes` rise (the
 * window's edges count as such), in seconds: how long delivery went without completing a batch.
 */
export function longestDeliveryGapS(
  samples: readonly StreamStatsSample[],
  fromMs: number,
  toMs: number,
): number {
  let sinceMs = fromMs;
  let longestMs = 0;
  let previous: number | undefined;
  for (const s of samples) {
    if (
      previous !== undefined &&
      s.deliveredBytes > previous &&
      s.atMs >= fromMs &&
      s.atMs <= toMs
    ) {
      longestMs = Math.max(longestMs, s.atMs - sinceMs);
      sinceMs = s.atMs;
    }
    previous = s.deliveredBytes;
  }
  return Math.max(longestMs, toMs - sinceMs) / 1000;
}

/** A started Sluice deployment, its client and its process sampler. */
interface Service {
  sluice: SluiceProcess;
  phase: ReturnType<typeof phaseSignal>;
  client: FirehoseHttp;
  procs: ProcessSampler;
  /** The counters of the stream the run loads, read every {@link SAMPLE_PERIOD_MS}. */
  sampler: StreamStatsSampler;
  roles: string[];
  /** @throws when a process of the run crashed or the bench was interrupted. */
  assertRunning(what: string): void;
  /** Stops the samplers, the client and the service. */
  close(): Promise<void>;
}

/**
 * Empties Redis and starts Sluice with `SLUICE_PROCESSES=setting`, a client of `sockets`
 * connections, a sampler of the supervisor, each child and the servers, and one of `stream`'s
 * counters.
 */
async function startService(
  ctx: BenchContext,
  infra: Infrastructure,
  setting: ProcessesSetting,
  sockets: number,
  stream: string,
): Promise<Service> {
  await infra.reset();
  const sluice = await startSluice({
    role: 'all',
    redisUrl: infra.redis.server.url,
    s3Env: infra.s3.sluiceEnv,
    maxBacklogMb: ctx.options.maxBacklogMb,
    env: { SLUICE_PROCESSES: setting },
  });
  if (sluice.url === undefined) {
    await sluice.stop();
    throw new Error(`${sluice.child.name} does not serve the API`);
  }
  const phase = phaseSignal(ctx.signal, [sluice.child, infra.redis.server.child]);
  const client = new FirehoseHttp(sluice.url, ctx.identity, sockets);
  // Closing the pool fails requests in flight at once, so an interrupt does not wait them out.
  phase.signal.addEventListener('abort', () => client.close(), { once: true });
  const children = childProcesses(sluice.child.pid);
  const procs = new ProcessSampler(
    new Map([
      [setting === '1' ? 'sluice (all)' : 'supervisor', sluice.child.pid] as const,
      ...children,
      ...infra.processes(),
    ]),
  );
  const sampler = new StreamStatsSampler(infra.client, stream, SAMPLE_PERIOD_MS);
  return {
    sluice,
    phase,
    client,
    procs,
    sampler,
    roles:
      children.size === 0 ? ['all'] : [...children.keys()].map((name) => name.split(' ')[1] ?? '?'),
    assertRunning: (what) => {
      const crashed = phase.crashed();
      if (crashed) throw new Error(`${what}: ${crashed.describeExit()}`);
      ctx.signal.throwIfAborted();
    },
    close: async () => {
      sampler.cancel();
      procs.stop();
      phase.dispose();
      client.close();
      await sluice.stop();
    },
  };
}

/** The service's warning and error lines, named by its process. */
function problemsOf(sluice: SluiceProcess): string[] {
  return sluice.problems.map((line) => `${sluice.child.name}: ${line}`);
}

/** One side: Sluice with `SLUICE_PROCESSES=setting`, the closed-loop load, then the drain. */
async function runSide(
  ctx: BenchContext,
  infra: Infrastructure,
  setting: ProcessesSetting,
  stream: string,
): Promise<ProcessesSide> {
  const { options } = ctx;
  const service = await startService(ctx, infra, setting, options.concurrency, stream);
  const { phase, client, procs, sampler, roles } = service;
  const label = `processes (${setting})`;
  try {
    await createBenchStream(client, stream, {
      sizeMb: options.sizeMb,
      intervalSeconds: options.intervalS,
    });
    procs.start();
    sampler.start();
    const load = await warmedClosedLoad(ctx, label, client, stream, phase.signal);
    say(
      `${label}: ${roles.join(' + ')}, ${options.concurrency} in flight for ${options.durationS} s`,
    );
    const before = await readStreamStats(infra.client, stream);
    const progress: LoadProgress = { requests: 0, acceptedBytes: 0, failedRecords: 0 };
    const stopProgress = startProgress(label, progress, sampler);
    const result = await runClosedLoop({ ...load, durationMs: options.durationS * 1000, progress });
    stopProgress();
    const after = await readStreamStats(infra.client, stream);
    const throughput = throughputFigures(result);
    const cpuShare = procs.cpuShares(result.startMs, result.endMs);
    const gapS = longestDeliveryGapS(sampler.samples, result.startMs, result.endMs);

    say(`${label}: waiting up to ${options.drainTimeoutS} s for the backlog to drain`);
    const drainDeadline = nowMs() + options.drainTimeoutS * 1000;
    let drained = await readStreamStats(infra.client, stream);
    while (drained.backlogBytes > 0 && nowMs() < drainDeadline) {
      phase.signal.throwIfAborted();
      await sleep(DRAIN_POLL_MS);
      drained = await readStreamStats(infra.client, stream);
    }
    service.assertRunning('during the load');
    procs.stop();
    const empty = drained.backlogBytes === 0;
    const loadS = (after.atMs - before.atMs) / 1000;
    return {
      setting,
      roles,
      ingest: throughput,
      deliveredDuringLoadMibS:
        (after.deliveredBytes - before.deliveredBytes) / MIB / throughput.durationS,
      backlogGrowthMibS: (after.backlogBytes - before.backlogBytes) / MIB / loadS,
      longestDeliveryGapS: gapS,
      endToEndMibS: empty
        ? (drained.deliveredBytes - before.deliveredBytes) /
          MIB /
          ((drained.atMs - result.startMs) / 1000)
        : undefined,
      drainS: empty ? (drained.atMs - result.endMs) / 1000 : undefined,
      cpuShare,
      rssMaxMib: procs.maxRssMib(),
      problems: problemsOf(service.sluice),
    };
  } finally {
    await service.close();
  }
}

/**
 * A fresh `auto` deployment and stream under the paced load at `rateMibS` for `--sustain`
 * seconds, then the drain: the sustained phase's measurement, on every core.
 */
async function runPacedSide(
  ctx: BenchContext,
  infra: Infrastructure,
  label: string,
  stream: string,
  rateMibS: number,
): Promise<PacedSide> {
  const { options } = ctx;
  const service = await startService(ctx, infra, 'auto', options.maxInFlight, stream);
  const { phase, client, procs, sampler } = service;
  try {
    const { figures, cpuShare } = await runPacedDelivery(ctx, {
      label,
      client,
      stream,
      sampler,
      procs,
      signal: phase.signal,
      rateMibS,
      durationS: options.sustainS,
    });
    service.assertRunning('during the load');
    return {
      roles: service.roles,
      figures,
      cpuShare,
      rssMaxMib: procs.maxRssMib(),
      problems: problemsOf(service.sluice),
    };
  } finally {
    await service.close();
  }
}

/**
 * A paced run as an outcome: its failure (a crash, a stream that would not start) is reported
 * beside the other figures instead of discarding them; an interrupt still ends the phase.
 */
async function pacedOutcome(
  ctx: BenchContext,
  run: () => Promise<PacedSide>,
): Promise<PacedOutcome> {
  try {
    return { status: 'ok', value: await run() };
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    const message = error instanceof Error ? error.message : String(error);
    say(`processes: ${message.split('\n')[0] ?? ''}`);
    return { status: 'failed', error: message };
  }
}

/**
 * Phase 13: the same closed-loop ingest with S3 delivery running, then the drain, once with
 * `SLUICE_PROCESSES=1` (everything in one process) and once with `auto` (the default: one
 * process per core, split into API and delivery processes), in the same run, so that the
 * ratios say what using every core buys on this machine. Then `auto` twice more, each on a
 * fresh Redis and stream, under a paced load: at half of the rate it acknowledged (the
 * latency producers see below saturation) and at `--processes-rate` (whether delivery keeps up
 * with a sustained GZIP load).
 */
export async function runProcessesPhase(
  ctx: BenchContext,
  infra: Infrastructure,
  stream: string,
): Promise<ProcessesResult> {
  const single = await runSide(ctx, infra, '1', `${stream}-1`);
  const auto = await runSide(ctx, infra, 'auto', `${stream}-auto`);
  const halfRate = auto.ingest.mibS / 2;
  const halfLoad =
    halfRate > 0
      ? await pacedOutcome(ctx, () =>
          runPacedSide(ctx, infra, 'processes (auto, half load)', `${stream}-half`, halfRate),
        )
      : ({ status: 'failed', error: 'auto acknowledged nothing to halve' } as const);
  const sustained = await pacedOutcome(ctx, () =>
    runPacedSide(
      ctx,
      infra,
      'processes (auto, sustained)',
      `${stream}-sustained`,
      ctx.options.processesRateMibS,
    ),
  );
  return { cores: availableParallelism(), single, auto, halfLoad, sustained };
}
