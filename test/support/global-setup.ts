import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { Redis } from 'ioredis';

/** The shared Redis most tests use, each under its own unique stream names. */
export const TEST_REDIS_URL = process.env.SLUICE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const SLUICE_MAIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));

/**
 * vitest global setup: fails the run at once, with the fix in the message, when a precondition
 * every integration test relies on is missing, rather than letting each test time out on its own.
 */
export default async function setup(): Promise<void> {
  if (!existsSync(SLUICE_MAIN)) {
    throw new Error(
      `${SLUICE_MAIN} does not exist: run \`npm run build\` first — \`npm test\` does it for you`,
    );
  }
  await pingSharedRedis();
}

async function pingSharedRedis(): Promise<void> {
  // One attempt with a short timeout: retries would only delay the message below.
  const redis = new Redis(TEST_REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 3_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // ioredis reports the cause (e.g. ECONNREFUSED) here and only "Connection is closed" to connect().
  let connectionError: Error | undefined;
  redis.on('error', (err: Error) => {
    connectionError = err;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    const reason = connectionError?.message ?? (err instanceof Error ? err.message : String(err));
    throw new Error(
      `The test Redis at ${TEST_REDIS_URL} does not answer (${reason}). ` +
        "Start one with `redis-server --daemonize yes --port 6379 --bind 127.0.0.1 --save '' --appendonly no`, " +
        'or point SLUICE_TEST_REDIS_URL at another.',
      { cause: err },
    );
  } finally {
    redis.disconnect();
  }
}
