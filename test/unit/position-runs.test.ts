import { describe, expect, it } from 'vitest';

import { Prng } from '../../bench/prng.js';
import { PositionRuns } from '../../src/destinations/position-runs.js';

/**
 * Position lists (position-runs.ts), what a request's tally keeps of the batch positions it
 * read: whatever the order of runs and single positions added, the list answers exactly what an
 * array of the same positions would, and whole runs cost one entry.
 */

describe('a position list', () => {
  it('answers what an array of the same positions answers, for random runs and single positions', () => {
    for (let seed = 1; seed <= 200; seed += 1) {
      const prng = new Prng(seed);
      const random = () => prng.next();
      const list = new PositionRuns();
      const expected: number[] = [];
      let next = Math.floor(random() * 10);
      for (let step = 0; step < 20; step += 1) {
        // Continuing the last run, skipping ahead, going back, a single position or none.
        const shape = random();
        const start =
          shape < 0.4
            ? next
            : shape < 0.7
              ? next + 1 + Math.floor(random() * 5)
              : Math.floor(random() * 50);
        const count = random() < 0.3 ? 1 : Math.floor(random() * 6);
        if (count === 1 && random() < 0.5) list.add(start);
        else list.addRun(start, count);
        for (let k = 0; k < count; k += 1) expected.push(start + k);
        if (count > 0) next = start + count;
      }
      expect(list.length).toBe(expected.length);
      expect([...list]).toEqual(expected);
      for (let index = -2; index <= expected.length + 1; index += 1) {
        expect(list.at(index)).toBe(expected[index]);
      }
      expect(list.at(1.5)).toBeUndefined();
    }
  });

  it('keeps consecutive runs as one', () => {
    const list = new PositionRuns();
    list.addRun(0, 500);
    list.addRun(500, 500);
    list.add(1_000);
    list.addRun(2_000, 0);
    expect(list.length).toBe(1_001);
    expect(list.at(1_000)).toBe(1_000);
    expect((list as unknown as { starts: number[] }).starts).toEqual([0]);
    list.addRun(7, 3);
    expect((list as unknown as { starts: number[] }).starts).toEqual([0, 7]);
    expect(list.at(1_001)).toBe(7);
    expect(list.at(1_003)).toBe(9);
    expect(list.at(1_004)).toBeUndefined();
  });
});
