import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { transformCommand } from '../../src/cli/transform-command.js';
import { replayCommand } from '../../src/cli/replay-command.js';
import { renderSettingsTable, SETTINGS } from '../../src/config/env.js';
import { ERROR_CATALOGUE } from '../../src/errors/catalogue.js';
import { DELIVERY_ERROR_CODES } from '../../src/errors/delivery-error-codes.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** The text of the `## <heading>` section of a markdown page, up to the next `## ` heading. */
function section(page: string, heading: string): string {
  const start = page.indexOf(`\n## ${heading}\n`);
  if (start < 0) return '';
  const body = page.slice(start + heading.length + 5);
  const end = body.indexOf('\n## ');
  return end < 0 ? body : body.slice(0, end);
}

/** Variables the pages may name that are not server settings. */
const NOT_SETTINGS = new Set([
  // The `sluice` CLI's address of the server.
  'SLUICE_ENDPOINT',
  // The Redis the integration tests use.
  'SLUICE_TEST_REDIS_URL',
  // A real OpenSearch cluster the conformance suite may run against.
  'SLUICE_TEST_OPENSEARCH_URL',
]);

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

  it('docs/errors.md lists every delivery error code once, and no other', () => {
    const table = section(read('docs/errors.md'), 'Delivery error codes');
    expect(table, 'docs/errors.md has a "## Delivery error codes" section').not.toBe('');
    // One table row per code: `| \`S3.AccessDenied\` | … |`.
    const documented = [...table.matchAll(/^\| `([^`]+)` +\|/gm)].map((m) => m[1] as string);
    expect(new Set(documented).size, 'a code is listed twice').toBe(documented.length);
    expect(documented.sort()).toEqual(Object.keys(DELIVERY_ERROR_CODES).sort());
  });

  it('docs/errors.md marks the delivery codes the catalogue calls permanent as such', () => {
    const table = section(read('docs/errors.md'), 'Delivery error codes');
    for (const [code, meaning] of Object.entries(DELIVERY_ERROR_CODES)) {
      const row = table.split('\n').find((line) => line.startsWith(`| \`${code}\``)) ?? '';
      if (/\bPermanent\.$/.test(meaning)) expect(row, code).toMatch(/\|\s*permanent\s*\|/);
      if (/\bRetried\.$/.test(meaning)) expect(row, code).toMatch(/\|\s*yes\s*\|/);
    }
  });

  it('the README carries the settings table generated from the schema', () => {
    // Prettier pads table cells; compare with runs of spaces and dashes folded.
    const fold = (text: string) => text.replace(/ +/g, ' ').replace(/-{3,}/g, '---');
    // On failure, paste the table printed here into the README's configuration section.
    expect(fold(read('README.md')), renderSettingsTable()).toContain(fold(renderSettingsTable()));
  });

  it('the README and the delivery pages name only settings that exist', () => {
    for (const path of [
      'README.md',
      'docs/destinations.md',
      'docs/error-output.md',
      'docs/transforms.md',
      'docs/design.md',
    ]) {
      const named = new Set(read(path).match(/\bSLUICE_[A-Z0-9_]*[A-Z0-9]\b/g) ?? []);
      const unknown = [...named].filter((name) => !(name in SETTINGS) && !NOT_SETTINGS.has(name));
      expect(unknown, path).toEqual([]);
    }
  });

  it('docs/error-output.md documents every option of `sluice replay`, and no other', () => {
    const options = [...replayCommand.help().matchAll(/^ {2}(?:-\w, )?(--[a-z-]+)/gm)].map(
      (m) => m[1] as string,
    );
    expect(options).toContain('--stream');
    const flags = section(read('docs/error-output.md'), 'Replay');
    // The flag table's first column: `| \`--to <name>\` |` or `| \`-h\`, \`--help\` |`.
    const documented = [...flags.matchAll(/^\|[^|\n]*`(--[a-z-]+)[^`]*`[^|\n]*\|/gm)].map(
      (m) => m[1] as string,
    );
    expect(documented.sort()).toEqual(options.sort());
  });

  it('docs/transforms.md documents every option of `sluice transform test`', () => {
    const options = [...transformCommand.help().matchAll(/^ {2}(?:-\w, )?(--[a-z0-9-]+)/gm)]
      .map((m) => m[1] as string)
      .filter((option) => option !== '--help');
    expect(options).toEqual(['--dir', '--json', '--base64']);
    const text = section(read('docs/transforms.md'), 'Testing with `sluice transform test`');
    for (const option of options) expect(text, option).toContain(`\`${option}`);
  });
});
