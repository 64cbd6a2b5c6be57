/**
 * A counting gate: at most `limit` holders at once, the others wait in arrival order. The
 * driver keeps one per stream and kind of job, so that a stream's processing jobs and its
 * delivery jobs, which share one BullMQ worker, each have their own concurrency: long
 * deliveries of large batches no longer leave the transform workers idle.
 */
export class ConcurrencyGate {
  private held = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** Runs `work` once a place is free, and frees it when `work` settles. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.held >= this.limit) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.held += 1;
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      // The place passes straight to the next waiter, so `held` stays as it is.
      if (next !== undefined) next();
      else this.held -= 1;
    }
  }
}
