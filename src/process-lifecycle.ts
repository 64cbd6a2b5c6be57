import { constants } from 'node:os';
import type { EmbeddedRedis } from './redis/embedded-redis.js';
import type { Service } from './service.js';
import type { Logger } from './telemetry/logger.js';
import { remaining } from './lifecycle/time-limit.js';
import type { SupervisorLink } from './lifecycle/supervisor-link.js';

/** The signals that stop Sluice. */
const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
type StopSignal = (typeof STOP_SIGNALS)[number];

/** How long a start-up failure or a crash waits for the embedded Redis to be gone. */
const FAILURE_REDIS_STOP_MS = 10_000;

/**
 * Every way a Sluice process ends, in one place, so that each one stops what the process
 * started:
 *
 * - first SIGTERM, SIGINT or SIGHUP: ordered shutdown of the service, bounded as a whole by
 *   `SLUICE_SHUTDOWN_TIMEOUT_MS` (past it: exit code 1), then the embedded Redis; exit code 0;
 * - second signal: exit at once with 128 + the signal's number (143 for SIGTERM, 130 for
 *   SIGINT, 129 for SIGHUP), the embedded Redis told to shut down on its own;
 * - start-up failure: a plain message on stderr, the embedded Redis stopped, exit code 1 (2
 *   for invalid settings);
 * - uncaught error: logged, the embedded Redis stopped, exit code 1.
 *
 * A child of a supervisor (`link` given) also shuts down in order when the supervisor asks
 * (which does not count as a signal, so a Ctrl-C that reaches both is one request, not two) or
 * is gone; gone while already shutting down, it exits at once, as on a second signal. It tells
 * the supervisor when it serves, and why it could not start instead of saying so itself, so
 * that the supervisor says it once for all its children.
 *
 * Exiting early never loses an acknowledged record: acknowledged means stored in Redis, and
 * Redis, when it is Sluice's own, is stopped with SHUTDOWN, which flushes its append-only file.
 */
export class ProcessLifecycle {
  private service: Service | undefined;
  private redis: EmbeddedRedis | undefined;
  private shuttingDown = false;
  private signalled = false;
  private exiting = false;

  /**
   * @param say - writes a message for a person to stderr (credentials already removed).
   * @param link - the channel to the supervisor, when this process is one's child.
   */
  constructor(
    private readonly log: Logger,
    private readonly shutdownTimeoutMs: number,
    private readonly say: (message: string) => void,
    private readonly link?: SupervisorLink,
  ) {}

  /**
   * Takes over SIGTERM, SIGINT, SIGHUP (a closed terminal) and uncaught errors; call before
   * starting anything.
   */
  install(): void {
    for (const signal of STOP_SIGNALS) process.on(signal, () => this.onSignal(signal));
    process.on('uncaughtException', (error, origin) => this.onUncaught(error, origin));
    this.link?.onStop(() => this.beginShutdown({ reason: 'asked by the supervisor' }));
    this.link?.onGone(() => {
      if (this.shuttingDown) {
        this.log.warn(
          'the supervisor is gone: exiting now without finishing the shutdown (acknowledged records are stored in Redis)',
        );
        void this.exit(1, 0);
      } else {
        this.beginShutdown({ reason: 'the supervisor is gone' });
      }
    });
  }

  /** A redis-server this process must stop on its way out, whichever way that is. */
  ownRedis(redis: EmbeddedRedis): void {
    this.redis = redis;
  }

  /** The started service, which a signal now stops in order. */
  serve(service: Service): void {
    this.service = service;
    this.link?.started(service.url);
  }

  /** Start-up failed: says why, stops what was started, exits with `code` (1 by default). */
  async failStart(message: string, code = 1): Promise<never> {
    if (!this.link?.failed(message, code)) this.say(message);
    return this.exit(code, FAILURE_REDIS_STOP_MS);
  }

  private onSignal(signal: StopSignal): void {
    if (this.signalled) {
      this.log.warn(
        { signal },
        'second signal: exiting now without finishing the shutdown (acknowledged records are stored in Redis)',
      );
      void this.exit(128 + constants.signals[signal], 0);
      return;
    }
    this.signalled = true;
    this.beginShutdown({ signal });
  }

  /** The first request to stop, whichever way it came, starts the ordered shutdown. */
  private beginShutdown(cause: { signal: StopSignal } | { reason: string }): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.log.info(
      { event: 'process.stopping', ...cause, timeoutMs: this.shutdownTimeoutMs },
      'shutting down',
    );
    void this.shutdown();
  }

  private async shutdown(): Promise<void> {
    const deadline = Date.now() + this.shutdownTimeoutMs;
    // The service bounds each of its waits, but this is the promise the setting makes, so it
    // does not depend on every step keeping to its bound.
    const overdue = setTimeout(() => {
      this.log.error(
        { timeoutMs: this.shutdownTimeoutMs },
        'shutdown did not finish within SLUICE_SHUTDOWN_TIMEOUT_MS: exiting anyway (acknowledged records are stored in Redis)',
      );
      void this.exit(1, 0);
    }, this.shutdownTimeoutMs);
    let code = 0;
    try {
      await this.service?.stop(deadline);
    } catch (error) {
      this.log.error({ err: error }, 'shutdown failed');
      code = 1;
    }
    await this.exit(code, remaining(deadline));
    clearTimeout(overdue);
  }

  private onUncaught(error: Error, origin: string): void {
    if (this.shuttingDown) {
      // Work abandoned by the shutdown fails as its connections close; the shutdown goes on.
      this.log.warn({ err: error, origin }, 'error during shutdown');
      return;
    }
    this.log.fatal({ err: error, origin }, 'uncaught error: exiting');
    void this.exit(1, FAILURE_REDIS_STOP_MS);
  }

  /**
   * Stops the embedded Redis (waiting at most `waitMs` for it to be gone), then exits with
   * `code`. A later call (a second signal, the shutdown deadline) cuts an earlier one short.
   */
  private async exit(code: number, waitMs: number): Promise<never> {
    const first = !this.exiting;
    this.exiting = true;
    if (this.redis) {
      const gone = await this.redis.stop(first ? waitMs : 0);
      if (!gone && waitMs > 0) {
        this.log.warn(
          { dir: this.redis.dir },
          'the redis-server Sluice started has not stopped yet; it finishes its shutdown on its own',
        );
      }
    }
    process.exit(code);
  }
}
