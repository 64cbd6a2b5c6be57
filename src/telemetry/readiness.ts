import { redactUrlCredentials } from './redact.js';

/**
 * What `GET /ready` reports: whether this process can do its work now. `GET /health` says only
 * that the process is up and answering; readiness adds the things it depends on — Redis, the
 * delivery workers where the role delivers — and turns false for good once shutdown begins, so
 * that a load balancer or orchestrator stops sending records before the API closes.
 */

/**
 * One named check: resolves with `undefined` when all is well, or with a short text saying
 * what is wrong (it is shown to whoever probes, so it must carry no secret). A probe that
 * throws or outlasts the report's time limit counts as failed.
 */
export type ReadinessProbe = () => Promise<string | undefined> | string | undefined;

/** A check's outcome in a report: `ok`, or the problem. */
export type CheckOutcome = string;

/** What {@link Readiness.report} found. */
export interface ReadinessReport {
  ready: boolean;
  /** Every check by name, `ok` or what is wrong, in the order they were added. */
  checks: Record<string, CheckOutcome>;
  /** The names of the checks that failed (empty when ready). */
  failed: string[];
}

/** The check a draining process fails; always part of a report. */
export const SHUTDOWN_CHECK = 'shutdown';

/** The checks of one process and its draining state. */
export class Readiness {
  readonly #probes = new Map<string, ReadinessProbe>();
  #draining: string | undefined;

  /** Adds (or replaces) the check `name`. */
  add(name: string, probe: ReadinessProbe): this {
    this.#probes.set(name, probe);
    return this;
  }

  /**
   * Marks the process as shutting down: from now on every report fails the
   * {@link SHUTDOWN_CHECK} with `reason`. There is no way back; the process is ending.
   */
  drain(reason = 'the process is shutting down'): void {
    this.#draining ??= reason;
  }

  /** Whether {@link drain} was called. */
  get draining(): boolean {
    return this.#draining !== undefined;
  }

  /**
   * Runs every check at once, each bounded by `timeoutMs`, plus `extra` checks for this report
   * only (the API's own, such as Redis, first).
   */
  async report(
    timeoutMs: number,
    extra: ReadonlyMap<string, ReadinessProbe> = new Map(),
  ): Promise<ReadinessReport> {
    const probes = new Map([...extra, ...this.#probes]);
    const names = [...probes.keys()];
    const outcomes = await Promise.all(
      [...probes.values()].map((probe) => runProbe(probe, timeoutMs)),
    );
    const checks: Record<string, CheckOutcome> = {};
    names.forEach((name, i) => {
      checks[name] = outcomes[i] ?? 'ok';
    });
    checks[SHUTDOWN_CHECK] = this.#draining ?? 'ok';
    const failed = Object.keys(checks).filter((name) => checks[name] !== 'ok');
    return { ready: failed.length === 0, checks, failed };
  }
}

async function runProbe(probe: ReadinessProbe, timeoutMs: number): Promise<CheckOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    const problem = await Promise.race([Promise.resolve().then(probe), timedOut]);
    return problem ?? 'ok';
  } catch (error) {
    // A library's message may echo a connection URL: never its credentials.
    return redactUrlCredentials(error instanceof Error ? error.message : String(error));
  } finally {
    clearTimeout(timer);
  }
}
