import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Folders of `src/` in dependency order: a folder may import its own layer and the layers
 * before it, never a later one (config does not import api; destinations do not import
 * delivery). docs/design.md explains the order.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['errors', 'telemetry', 'lifecycle'],
  ['config', 'redis', 'formats'],
  ['processors'],
  ['destinations'],
  ['streams'],
  ['buffer'],
  ['error-output', 'delivery', 'tail'],
  ['api', 'console'],
  ['cli', '.'],
];

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function layerOf(folder: string): number {
  const index = LAYERS.findIndex((layer) => layer.includes(folder));
  if (index < 0) throw new Error(`src/${folder} is in no layer: add it to LAYERS`);
  return index;
}

function topFolder(file: string): string {
  const rel = relative(SRC, file);
  return rel.includes('/') ? (rel.split('/')[0] as string) : '.';
}

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

describe('imports follow the data flow', () => {
  it('no folder imports from a later layer', () => {
    const violations: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const from = topFolder(file);
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)) {
        const target = resolve(dirname(file), match[1] as string);
        const to = topFolder(target);
        if (layerOf(to) > layerOf(from)) {
          violations.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('the check sees a violation', () => {
    expect(layerOf('config')).toBeLessThan(layerOf('api'));
    expect(layerOf('destinations')).toBeLessThan(layerOf('delivery'));
  });
});
