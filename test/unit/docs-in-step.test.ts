import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderSettingsTable } from '../../src/config/env.js';
import { ERROR_CATALOGUE } from '../../src/errors/catalogue.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('documentation stays in step with the code', () => {
  it('docs/errors.md documents every error code, with its status, and no other', () => {
    const page = read('docs/errors.md');
    const documented = [...page.matchAll(/^## (\w+)$/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ERROR_CATALOGUE).sort());
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      const section = page.split(`## ${code}\n`)[1]?.split('\n## ')[0] ?? '';
      expect(section, code).toContain(`HTTP ${entry.status}`);
    }
  });

  it('the README carries the settings table generated from the schema', () => {
    // Prettier pads table cells; compare with runs of spaces and dashes folded.
    const fold = (text: string) => text.replace(/ +/g, ' ').replace(/-{3,}/g, '---');
    // On failure, paste the table printed here into the README's configuration section.
    expect(fold(read('README.md')), renderSettingsTable()).toContain(fold(renderSettingsTable()));
  });
});
