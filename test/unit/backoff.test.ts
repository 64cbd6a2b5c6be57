import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/delivery/backoff.js';

describe('retry backoff', () => {
  it('doubles from the base per attempt, without jitter at the midpoint', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4].map((a) => retryDelayMs(a, 1000, 120_000, mid))).toEqual([
      1000, 2000, 4000, 8000,
    ]);
  });

  it('stays within ±15 % jitter and never passes the cap', () => {
    expect(retryDelayMs(1, 1000, 120_000, () => 0)).toBe(850);
    expect(retryDelayMs(1, 1000, 120_000, () => 0.999_999)).toBe(1150);
    expect(retryDelayMs(30, 1000, 120_000, () => 0.999_999)).toBe(120_000);
    expect(retryDelayMs(1000, 1000, 120_000, () => 0)).toBe(102_000);
  });
});
