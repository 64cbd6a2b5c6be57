import { nowMs } from './clock.js';
import { readCpuSeconds, readMachineBusySeconds, readRssBytes } from './proc-stats.js';
import { MIB } from './stats.js';

/** One reading of one process. */
interface ProcessSample {
  atMs: number;
  rssBytes: number | undefined;
  cpuSeconds: number | undefined;
}

/** Name under which the bench's own process (the load generator) is sampled. */
export const BENCH_PROCESS = 'bench';
/**
 * Name of the machine's busy CPU not used by any sampled process: other work on the machine
 * competing with the bench (a test run, a build), which makes the figures unrepresentative.
 */
export const OTHER_PROCESSES = 'other processes';

/**
 * Samples the RSS and CPU time of named processes, and of the bench process itself, every
 * `periodMs`; also the whole machine's busy time, to tell how much CPU other work took.
 */
export class ProcessSampler {
  private readonly series = new Map<string, ProcessSample[]>();
  private readonly machine: { atMs: number; busySeconds: number | undefined }[] = [];
  private readonly processes: ReadonlyMap<string, number>;
  private timer: NodeJS.Timeout | undefined;

  /** @param processes - display name → pid of the servers to sample. */
  constructor(
    processes: ReadonlyMap<string, number>,
    private readonly periodMs = 1_000,
  ) {
    this.processes = new Map([...processes, [BENCH_PROCESS, process.pid]]);
    for (const name of this.processes.keys()) this.series.set(name, []);
  }

  /** Takes a first reading now, then one every period. */
  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.periodMs);
  }

  /** Stops sampling (after one last reading); safe to call twice. */
  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.tick();
  }

  /** The highest RSS per process name, in MiB; `undefined` when no reading succeeded. */
  maxRssMib(): Record<string, number | undefined> {
    const out: Record<string, number | undefined> = {};
    for (const [name, samples] of this.series) {
      const values = samples.flatMap((s) => (s.rssBytes === undefined ? [] : [s.rssBytes]));
      out[name] = values.length === 0 ? undefined : Math.max(...values) / MIB;
    }
    return out;
  }

  /**
   * Average CPU per process name between the readings nearest `fromMs` and `toMs` (all readings
   * by default), as a share of one core: 1 is one core busy all the time, above 1 means several
   * threads were busy.
   */
  cpuShares(fromMs = -Infinity, toMs = Infinity): Record<string, number | undefined> {
    const inWindow = (atMs: number) =>
      atMs >= fromMs - this.periodMs / 2 && atMs <= toMs + this.periodMs / 2;
    const rate = (points: { atMs: number; seconds: number | undefined }[]) => {
      const valid = points.filter((p) => p.seconds !== undefined && inWindow(p.atMs));
      const first = valid[0];
      const last = valid[valid.length - 1];
      return first && last && last.atMs > first.atMs
        ? ((last.seconds ?? 0) - (first.seconds ?? 0)) / ((last.atMs - first.atMs) / 1000)
        : undefined;
    };
    const out: Record<string, number | undefined> = {};
    let sampledTotal = 0;
    for (const [name, samples] of this.series) {
      const share = rate(samples.map((s) => ({ atMs: s.atMs, seconds: s.cpuSeconds })));
      out[name] = share;
      sampledTotal += share ?? 0;
    }
    const machine = rate(this.machine.map((m) => ({ atMs: m.atMs, seconds: m.busySeconds })));
    out[OTHER_PROCESSES] = machine === undefined ? undefined : Math.max(0, machine - sampledTotal);
    return out;
  }

  private tick(): void {
    const atMs = nowMs();
    this.machine.push({ atMs, busySeconds: readMachineBusySeconds() });
    for (const [name, pid] of this.processes) {
      this.series.get(name)?.push({
        atMs,
        rssBytes: readRssBytes(pid),
        cpuSeconds: readCpuSeconds(pid),
      });
    }
  }
}
