import type { FaultKind } from './fault-options.js';
import type { Topology } from './fault-topology.js';
import { Prng } from './prng.js';
import { say } from './progress.js';

/**
 * Injects faults at random moments: the gaps between faults are exponentially distributed
 * around the chosen mean, and each fault's kind, target and length come from a seeded
 * generator. The same seed gives the same schedule; what each fault hits still depends on
 * timing, which is the point.
 *
 * Process faults (kill, pause, restart) run one at a time; S3 faults switch the proxy and are
 * lifted by a timer, so the next fault can land while S3 is still unavailable or slow.
 */

/** One injected fault, for the log and the report. */
export interface FaultEvent {
  /** Seconds since the pushing started. */
  atS: number;
  kind: FaultKind;
  detail: string;
  /** Set when the fault could not be carried out as planned. */
  error?: string;
}

/** Range of the pause after a Sluice process is killed, before it is started again. */
const SLUICE_DOWN_MS = [0, 2_000] as const;
/** Range of how long Redis stays dead. */
const REDIS_DOWN_MS = [200, 3_000] as const;
const S3_UNAVAILABLE_MS = [2_000, 15_000] as const;
const S3_SLOW_MS = [5_000, 20_000] as const;
/** Range of the delay each S3 request gets while S3 is slow (below the S3 client's 60 s timeout). */
const S3_DELAY_MS = [1_000, 8_000] as const;
/** The gap between faults is clamped to this many times the mean, so a run cannot go quiet. */
const MAX_GAP_FACTOR = 5;

/** The fault loop of one run. */
export class FaultScheduler {
  /** Faults injected so far, in order. */
  readonly events: FaultEvent[] = [];
  /** Set when a fault left the system broken (Redis would not come back): the run must stop. */
  fatal: Error | undefined;
  private readonly prng: Prng;
  private readonly stopper = new AbortController();
  private loop: Promise<void> | undefined;
  private s3Timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly topology: Topology,
    private readonly kinds: readonly FaultKind[],
    private readonly meanGapS: number,
    seed: number,
    private readonly startMs: number,
  ) {
    this.prng = new Prng(seed ^ 0x5eed_fa17);
  }

  /** Starts injecting (does nothing without fault kinds). */
  start(): void {
    if (this.kinds.length === 0) return;
    this.loop = this.run();
  }

  /**
   * Stops injecting, waits for a fault in progress (its restart included) and puts S3 back to
   * passing requests through.
   */
  async stop(): Promise<void> {
    this.stopper.abort();
    await this.loop;
    clearTimeout(this.s3Timer);
    this.topology.proxy.setMode({ kind: 'pass' });
  }

  /** Faults injected so far, by kind. */
  countByKind(): Map<FaultKind, number> {
    const counts = new Map<FaultKind, number>(this.kinds.map((k) => [k, 0]));
    for (const event of this.events) counts.set(event.kind, (counts.get(event.kind) ?? 0) + 1);
    return counts;
  }

  private async run(): Promise<void> {
    const signal = this.stopper.signal;
    while (!signal.aborted) {
      const gapMs = Math.min(
        -Math.log(1 - this.prng.next()) * this.meanGapS * 1000,
        this.meanGapS * 1000 * MAX_GAP_FACTOR,
      );
      const woke = await pause(gapMs, signal);
      if (!woke) return;
      const kind = this.kinds[this.prng.int(this.kinds.length)];
      if (kind === undefined) return;
      const event: FaultEvent = { atS: (Date.now() - this.startMs) / 1000, kind, detail: '' };
      this.events.push(event);
      try {
        const act = this.prepare(event);
        say(`fault at ${event.atS.toFixed(1)} s: ${kind} ${event.detail}`);
        await act();
      } catch (error) {
        event.error = error instanceof Error ? error.message : String(error);
        say(`fault at ${event.atS.toFixed(1)} s: ${kind} ${event.detail} FAILED: ${event.error}`);
        if (kind === 'redis-kill') {
          this.fatal = new Error(`Redis did not come back after a kill: ${event.error}`);
          return;
        }
      }
    }
  }

  private between([low, high]: readonly [number, number]): number {
    return low + this.prng.int(high - low + 1);
  }

  /**
   * Decides the fault's target and length (filling in `event.detail`) and returns the action
   * that carries it out; S3 faults take effect at once, process faults when the action runs.
   */
  private prepare(event: FaultEvent): () => Promise<void> {
    const { topology } = this;
    switch (event.kind) {
      case 'api-kill':
      case 'worker-kill': {
        const role = event.kind === 'api-kill' ? 'api' : 'worker';
        const index = this.prng.int(topology.count(role));
        const downMs = this.between(SLUICE_DOWN_MS);
        event.detail = `${topology.labelOf(role, index)}, SIGKILL, restarted after ${ms(downMs)}`;
        return async () => {
          await topology.killSluice(role, index, downMs);
        };
      }
      case 'redis-kill': {
        const downMs = this.between(REDIS_DOWN_MS);
        event.detail = `SIGKILL, restarted after ${ms(downMs)}`;
        return () => topology.killRedis(downMs);
      }
      case 'redis-disconnect': {
        event.detail = 'CLIENT KILL TYPE normal (every client connection cut, Redis stays up)';
        return async () => {
          const cut = await topology.dropRedisConnections();
          event.detail = `CLIENT KILL TYPE normal: ${cut} connections cut, Redis stays up`;
        };
      }
      case 's3-unavailable': {
        const durationMs = this.between(S3_UNAVAILABLE_MS);
        const how = this.prng.next() < 0.5 ? '503' : 'reset';
        event.detail = `for ${ms(durationMs)} (${how === '503' ? '503 SlowDown' : 'connections reset'})`;
        this.s3Fault({ kind: 'unavailable', how }, durationMs);
        return () => Promise.resolve();
      }
      case 's3-slow': {
        const durationMs = this.between(S3_SLOW_MS);
        const delayMs = this.between(S3_DELAY_MS);
        event.detail = `for ${ms(durationMs)} (each request delayed ${ms(delayMs)})`;
        this.s3Fault({ kind: 'slow', delayMs }, durationMs);
        return () => Promise.resolve();
      }
    }
  }

  /** Switches the proxy now and back to pass-through after `durationMs` (replacing any earlier S3 fault). */
  private s3Fault(mode: Parameters<Topology['proxy']['setMode']>[0], durationMs: number): void {
    clearTimeout(this.s3Timer);
    this.topology.proxy.setMode(mode);
    this.s3Timer = setTimeout(() => this.topology.proxy.setMode({ kind: 'pass' }), durationMs);
  }
}

/** Waits `delayMs` unless `signal` fires first; resolves false when it did. */
async function pause(delayMs: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  return new Promise<boolean>((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, delayMs);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function ms(value: number): string {
  return `${(value / 1000).toFixed(1)} s`;
}
