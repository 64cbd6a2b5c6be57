import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real servers; two cores do not gain from more parallel files.
    maxWorkers: 2,
    // A JSON report too, on every run, from which .ci/run prints a plain "N passed, N failed"
    // line; .ci/run deletes it first, so a run that writes none cannot show stale counts.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
  },
});
