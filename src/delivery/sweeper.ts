import type { Logger } from '../telemetry/logger.js';
import type { BatchStore } from './batch-store.js';
import type { DeliveryQueues } from './delivery-queues.js';

/**
 * Finds batches sealed but never enqueued (a process died between the two steps) and enqueues
 * them. Safe to repeat and to run in many processes: the job id is the batch id.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly batches: BatchStore,
    private readonly queues: DeliveryQueues,
    private readonly streamNames: () => Promise<string[]>,
    private readonly graceMs: number,
    private readonly log: Logger,
  ) {}

  /** Starts sweeping every `graceMs / 2`. */
  start(): void {
    this.timer = setInterval(
      () => {
        if (this.running) return;
        this.running = this.sweep()
          .then((count) => {
            if (count > 0) {
              this.log.info({ event: 'batches.swept', count }, 'sweeper enqueued stranded batches');
            }
          })
          .catch((error: unknown) => this.log.warn({ err: error }, 'sweep failed'))
          .finally(() => {
            this.running = undefined;
          });
      },
      Math.max(50, Math.floor(this.graceMs / 2)),
    );
    this.timer.unref();
  }

  /** One pass; returns how many batches were (re-)enqueued. Exposed for tests. */
  async sweep(now = Date.now()): Promise<number> {
    let count = 0;
    for (const stream of await this.streamNames()) {
      for (const batchId of await this.batches.sealedBefore(stream, now - this.graceMs)) {
        if (await this.batches.exists(stream, batchId)) {
          await this.queues.enqueue(stream, batchId);
          count += 1;
        } else {
          await this.batches.markEnqueued(stream, batchId);
        }
      }
    }
    return count;
  }

  /** Stops sweeping and waits for a pass in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
