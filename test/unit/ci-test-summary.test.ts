import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../.ci/test-summary.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sluice-ci-summary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function summarize(path: string) {
  const run = spawnSync(process.execPath, [SCRIPT, path], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('.ci/test-summary.mjs, the closing line of .ci/run', () => {
  it("prints vitest's counts as one plain line", () => {
    const path = join(dir, 'report.json');
    writeFileSync(
      path,
      JSON.stringify({ numPassedTests: 7, numFailedTests: 1, numPendingTests: 2 }),
    );
    expect(summarize(path)).toMatchObject({ status: 0, stdout: '7 passed, 1 failed, 2 skipped\n' });
    writeFileSync(
      path,
      JSON.stringify({ numPassedTests: 3, numFailedTests: 0, numPendingTests: 0 }),
    );
    expect(summarize(path)).toMatchObject({ status: 0, stdout: '3 passed, 0 failed\n' });
  });

  it('fails, printing no counts, when the report is missing or not a report', () => {
    const missing = summarize(join(dir, 'absent.json'));
    expect(missing.status).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/no test report/);
    const other = join(dir, 'other.json');
    writeFileSync(other, '{"hello":1}');
    expect(summarize(other)).toMatchObject({ status: 1, stdout: '' });
  });
});
