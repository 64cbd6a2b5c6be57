import type { Logger } from '../telemetry/logger.js';
import type { PartitionBuffer } from './partition-buffer.js';
import type { RecordBuffer } from './record-buffer.js';

/**
 * Seals buffers whose oldest record has reached the stream's `IntervalInSeconds` (and, for
 * streams with processing, partition buffers that are due), and drains streams being deleted.
 * Runs in every `api` process; the seal scripts are atomic, so several tickers never seal one
 * buffer twice.
 */
export class SealTicker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly buffer: RecordBuffer,
    private readonly streamNames: () => Promise<string[]>,
    private readonly tickMs: number,
    private readonly log: Logger,
    private readonly partitions?: PartitionBuffer,
  ) {}

  /** Starts ticking. */
  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick()
        .catch((error: unknown) => this.log.warn({ err: error }, 'seal tick failed'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.tickMs);
    this.timer.unref();
  }

  /** One pass over every stream. Exposed for tests. */
  async tick(now = Date.now()): Promise<void> {
    const names = await this.streamNames();
    await Promise.all(
      names.map(async (name) => {
        await this.buffer.sealIfDue(name, now);
        await this.partitions?.sealDue(name, now);
      }),
    );
  }

  /** Stops ticking and waits for a pass in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
