import { describe, expect, it } from 'vitest';
import { ConcurrencyGate } from '../../src/delivery/concurrency-gate.js';

/** The per-stream gate of delivery and processing jobs. */
describe('ConcurrencyGate', () => {
  it('runs at most `limit` at once, the others in arrival order, and frees places on failure', async () => {
    const gate = new ConcurrencyGate(2);
    const started: number[] = [];
    const finishers: (() => void)[] = [];
    let running = 0;
    let most = 0;
    const job = (n: number, fail = false) =>
      gate.run(async () => {
        started.push(n);
        running += 1;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => finishers.push(resolve));
        running -= 1;
        if (fail) throw new Error(`job ${n} failed`);
        return n;
      });
    const jobs = [job(1, true), job(2), job(3), job(4)];
    await Promise.resolve();
    expect(started).toEqual([1, 2]);
    for (let i = 0; i < 4; i++) {
      // Let the next job start before finishing one more.
      for (let tick = 0; tick < 5; tick++) await Promise.resolve();
      finishers.shift()?.();
    }
    const settled = await Promise.allSettled(jobs);
    expect(settled.map((s) => s.status)).toEqual([
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    expect(started).toEqual([1, 2, 3, 4]);
    expect(most).toBe(2);
    // Every place was given back: two more run at once straight away.
    const again = [job(5), job(6)];
    await Promise.resolve();
    expect(started.slice(4)).toEqual([5, 6]);
    finishers.splice(0).forEach((finish) => finish());
    await Promise.all(again);
  });
});
