/**
 * Batch positions in the order they were added, kept as runs of consecutive positions: what a
 * request read of a batch is a handful of runs (the whole batch, or what was still pending),
 * so a tally of hundreds of thousands of records holds a few numbers instead of an array of
 * them (pushing every position cost the event loop about 100 ns a record).
 */
export class PositionRuns {
  /** First position of each run. */
  private readonly starts: number[] = [];
  /** Index (in the whole list) of each run's first position. */
  private readonly offsets: number[] = [];
  #length = 0;

  /** How many positions. */
  get length(): number {
    return this.#length;
  }

  /** Adds `count` consecutive positions from `start`. */
  addRun(start: number, count: number): void {
    if (count <= 0) return;
    const last = this.starts.length - 1;
    // Extends the last run when the new one continues it.
    if (
      last < 0 ||
      (this.starts[last] as number) + this.#length - (this.offsets[last] as number) !== start
    ) {
      this.starts.push(start);
      this.offsets.push(this.#length);
    }
    this.#length += count;
  }

  /** Adds one position. */
  add(position: number): void {
    this.addRun(position, 1);
  }

  /** The position at `index` in the order added, or undefined past the end. */
  at(index: number): number | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) return undefined;
    // The last run whose first index is at most `index`.
    let low = 0;
    let high = this.offsets.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((this.offsets[middle] as number) <= index) low = middle;
      else high = middle - 1;
    }
    return (this.starts[low] as number) + index - (this.offsets[low] as number);
  }

  /** Every position, in the order added. */
  *[Symbol.iterator](): IterableIterator<number> {
    for (let run = 0; run < this.starts.length; run += 1) {
      const start = this.starts[run] as number;
      const end = run + 1 < this.offsets.length ? (this.offsets[run + 1] as number) : this.length;
      const count = end - (this.offsets[run] as number);
      for (let k = 0; k < count; k += 1) yield start + k;
    }
  }
}
