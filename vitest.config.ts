import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Every Lua script call checks that it touches only keys it declares, in one hash slot
    // (src/redis/strict-scripts.ts): what Redis Cluster requires, enforced on the single Redis too.
    env: { SLUICE_REDIS_STRICT_SCRIPTS: '1' },
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
