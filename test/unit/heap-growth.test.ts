import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

import { SETTINGS, loadSettings } from '../../src/config/env.js';

/**
 * `SLUICE_HEAP_GROWTH_PERCENT` (lifecycle/heap-growth.ts): set after the process started, it
 * still decides how far V8 lets the old generation grow past what survived a full collection.
 * Seen from outside, in a child process: V8's trace of the child's own collection (`gc()`,
 * traced as `testing`) gives the live size, and the next marking's start the limit V8 then
 * set: the live size times (1 + percent / 100), plus the young generation's capacity. Two
 * children differing only in the percent must differ in limit by the live size times the
 * difference; without the setting taking effect both limits are V8's own, and equal.
 */

const MODULE = new URL('../../dist/src/lifecycle/heap-growth.js', import.meta.url).href;

/** A child that sets `percent`, keeps about 30 MB live, collects, then grows until marking. */
function childScript(percent: number): string {
  return `
    const { setHeapGrowth } = await import(${JSON.stringify(MODULE)});
    setHeapGrowth(${percent});
    const live = [];
    for (let i = 0; i < 400_000; i += 1) live.push({ i, s: 'v' + i });
    globalThis.gc();
    const grown = [];
    for (let i = 0; i < 6_000_000; i += 1) {
      grown.push({ i });
      if (i % 10_000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    console.log('kept', live.length + grown.length);
  `;
}

/** The live size after the child's own collection and the old generation limit set after it. */
function limitAfterCollection(percent: number): { liveMb: number; limitMb: number } {
  const run = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      '--trace-gc',
      '--trace-incremental-marking',
      '--input-type=module',
      '-e',
      childScript(percent),
    ],
    { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
  );
  expect(run.status, run.stderr).toBe(0);
  const lines = run.stdout.split('\n');
  const collection = lines.findIndex((line) => /Mark-Compact .* testing;/.test(line));
  expect(collection, run.stdout.slice(0, 4000)).toBeGreaterThanOrEqual(0);
  const liveMb = Number(/-> ([\d.]+) \(/.exec(lines[collection] ?? '')?.[1]);
  const start = lines
    .slice(collection + 1)
    .map((line) => /\(size\/limit\/slack\) v8: (\d+)MB \/ (\d+)MB/.exec(line))
    .find((match) => match !== null);
  expect(start, run.stdout.slice(0, 4000)).toBeDefined();
  return { liveMb, limitMb: Number(start?.[2]) };
}

describe('heap growth', () => {
  it('sets the limit V8 keeps after a full collection, whichever percent is given', () => {
    const half = limitAfterCollection(50);
    const tripled = limitAfterCollection(200);
    // The same allocations: the same live size, within V8's rounding.
    expect(Math.abs(half.liveMb - tripled.liveMb)).toBeLessThan(2);
    // 200 % against 50 %: the limit is 1.5 live sizes higher (limits are whole MB).
    const extra = (tripled.limitMb - half.limitMb) / half.liveMb;
    expect(extra).toBeGreaterThan(1.35);
    expect(extra).toBeLessThan(1.65);
  });

  it('is a setting: 200 by default, 0 (V8 decides) to 1000', () => {
    expect(SETTINGS.SLUICE_HEAP_GROWTH_PERCENT.default).toBe('200');
    expect(loadSettings({}).SLUICE_HEAP_GROWTH_PERCENT).toBe(200);
    expect(loadSettings({ SLUICE_HEAP_GROWTH_PERCENT: '0' }).SLUICE_HEAP_GROWTH_PERCENT).toBe(0);
    expect(() => loadSettings({ SLUICE_HEAP_GROWTH_PERCENT: '1001' })).toThrow(
      /SLUICE_HEAP_GROWTH_PERCENT/,
    );
    expect(() => loadSettings({ SLUICE_HEAP_GROWTH_PERCENT: '-5' })).toThrow(
      /SLUICE_HEAP_GROWTH_PERCENT/,
    );
  });
});
