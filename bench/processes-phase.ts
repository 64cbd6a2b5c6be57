import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import { nowMs } from './clock.js';
import { phaseSignal, warmedClosedLoad, type BenchContext } from './context.js';
import { createBenchStream } from './control-plane.js';
import { FirehoseHttp } from './firehose-http.js';
import type { Infrastructure } from './infrastructure.js';
import { runClosedLoop, type LoadProgress } from './load.js';
import { ProcessSampler } from './process-sampler.js';
import { say, startProgress } from './progress.js';
import { cpuText, ms, num, rssText } from './report-format.js';
import type { PhaseOutcome } from './report.js';
import { startSluice } from './sluice-process.js';
import { MIB } from './stats.js';
import { readStreamStats, StreamStatsSampler } from './stream-stats.js';
import { throughputFigures, type ThroughputFigures } from './throughput.js';

/** How often the drain is checked. */
const DRAIN_POLL_MS = 200;

/** One `SLUICE_PROCESSES` setting's figures. */
export interface ProcessesSide {
  /** `SLUICE_PROCESSES` as set. */
  setting: '1' | 'auto';
  /** The role of each process doing the work (the supervisor's children, or the one process). */
  roles: string[];
  /** The acknowledged closed-loop load: rate and latency of acknowledgements. */
  ingest: ThroughputFigures;
  /** Payload delivered to S3 while that load ran, per second: delivery beside full ingest. */
  deliveredDuringLoadMibS: number;
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

/** What the processes phase measured: one process, then `auto`, the same load. */
export interface ProcessesResult {
  cores: number;
  single: ProcessesSide;
  auto: ProcessesSide;
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

/** One side: Sluice with `SLUICE_PROCESSES=setting`, the closed-loop load, then the drain. */
async function runSide(
  ctx: BenchContext,
  infra: Infrastructure,
  setting: '1' | 'auto',
  stream: string,
): Promise<ProcessesSide> {
  const { options } = ctx;
  await infra.reset();
  const sluice = await startSluice({
    role: 'all',
    redisUrl: infra.redis.server.url,
    s3Env: infra.s3.sluiceEnv,
    maxBacklogMb: options.maxBacklogMb,
    env: { SLUICE_PROCESSES: setting },
  });
  const label = `processes (${setting})`;
  const phase = phaseSignal(ctx.signal, [sluice.child, infra.redis.server.child]);
  const client = new FirehoseHttp(sluice.url as string, ctx.identity, options.concurrency);
  phase.signal.addEventListener('abort', () => client.close(), { once: true });
  const children = childProcesses(sluice.child.pid);
  const roles =
    children.size === 0 ? ['all'] : [...children.keys()].map((name) => name.split(' ')[1] ?? '?');
  const procs = new ProcessSampler(
    new Map([
      [setting === '1' ? 'sluice (all)' : 'supervisor', sluice.child.pid] as const,
      ...children,
      ...infra.processes(),
    ]),
  );
  const sampler = new StreamStatsSampler(infra.client, stream, 1_000);
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

    say(`${label}: waiting up to ${options.drainTimeoutS} s for the backlog to drain`);
    const drainDeadline = nowMs() + options.drainTimeoutS * 1000;
    let drained = await readStreamStats(infra.client, stream);
    while (drained.backlogBytes > 0 && nowMs() < drainDeadline) {
      phase.signal.throwIfAborted();
      await sleep(DRAIN_POLL_MS);
      drained = await readStreamStats(infra.client, stream);
    }
    const crashed = phase.crashed();
    if (crashed) throw new Error(`during the load: ${crashed.describeExit()}`);
    ctx.signal.throwIfAborted();
    procs.stop();
    const empty = drained.backlogBytes === 0;
    return {
      setting,
      roles,
      ingest: throughput,
      deliveredDuringLoadMibS:
        (after.deliveredBytes - before.deliveredBytes) / MIB / throughput.durationS,
      endToEndMibS: empty
        ? (drained.deliveredBytes - before.deliveredBytes) /
          MIB /
          ((drained.atMs - result.startMs) / 1000)
        : undefined,
      drainS: empty ? (drained.atMs - result.endMs) / 1000 : undefined,
      cpuShare,
      rssMaxMib: procs.maxRssMib(),
      problems: sluice.problems.map((line) => `${sluice.child.name}: ${line}`),
    };
  } finally {
    sampler.cancel();
    procs.stop();
    phase.dispose();
    client.close();
    await sluice.stop();
  }
}

/**
 * Phase 13: the same closed-loop ingest with S3 delivery running, then the drain, once with
 * `SLUICE_PROCESSES=1` (everything in one process) and once with `auto` (the default: one
 * process per core, split into API and delivery processes), in the same run, so that the
 * ratios say what using every core buys on this machine.
 */
export async function runProcessesPhase(
  ctx: BenchContext,
  infra: Infrastructure,
  stream: string,
): Promise<ProcessesResult> {
  const single = await runSide(ctx, infra, '1', `${stream}-1`);
  const auto = await runSide(ctx, infra, 'auto', `${stream}-auto`);
  return { cores: availableParallelism(), single, auto };
}

/** `auto` over `1`, as `×n.nn`. */
function ratio(auto: number | undefined, single: number | undefined): string {
  return auto === undefined || single === undefined || single === 0
    ? '–'
    : `×${(auto / single).toFixed(2)}`;
}

function sideLines(side: ProcessesSide): string[] {
  const t = side.ingest;
  return [
    `  SLUICE_PROCESSES=${side.setting} (${side.roles.join(' + ')})`,
    `    ingest      ${num(t.mibS)} MiB/s acknowledged, ${num(t.requestsPerS)} requests/s, latency p50 ${ms(t.latencyP50Ms)} p99 ${ms(t.latencyP99Ms)}${t.failedRecords > 0 ? `, ${t.failedRecords} records failed` : ''}`,
    `    delivered   ${num(side.deliveredDuringLoadMibS)} MiB/s during the load`,
    `    end to end  ${side.endToEndMibS === undefined ? 'backlog not drained within the timeout' : `${num(side.endToEndMibS)} MiB/s (drained ${num(side.drainS)} s after the load)`}`,
    `    CPU         ${cpuText(side.cpuShare)}`,
    `    RSS max     ${rssText(side.rssMaxMib)}`,
  ];
}

/** The phase's report section. */
export function processesSection(title: string, outcome: PhaseOutcome<ProcessesResult>): string[] {
  if (outcome.status === 'skipped') return [title, '  skipped'];
  if (outcome.status === 'interrupted') return [title, '  interrupted'];
  if (outcome.status === 'failed') return [title, `  failed: ${outcome.error}`];
  const { single, auto, cores } = outcome.value;
  return [
    title,
    `  ${cores} cores`,
    ...sideLines(single),
    ...sideLines(auto),
    `  scaling (auto ÷ 1): ingest ${ratio(auto.ingest.mibS, single.ingest.mibS)}, delivered during the load ${ratio(auto.deliveredDuringLoadMibS, single.deliveredDuringLoadMibS)}, end to end ${ratio(auto.endToEndMibS, single.endToEndMibS)}; ingest p99 latency ${ratio(auto.ingest.latencyP99Ms, single.ingest.latencyP99Ms)}`,
  ];
}
