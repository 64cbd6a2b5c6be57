import { loadSettings, SettingsError } from './config/env.js';
import {
  isLoopbackRedis,
  redisServerAvailable,
  startEmbeddedRedis,
  stopEmbeddedRedis,
} from './redis/embedded-redis.js';
import { redisAnswers } from './redis/connect.js';
import { startService } from './service.js';
import { createLogger } from './telemetry/logger.js';

/**
 * Process entry: settings → Redis (started locally when allowed and needed) → service;
 * SIGTERM/SIGINT → ordered shutdown. Exits non-zero with a plain message when it cannot start.
 */
async function main(): Promise<void> {
  let settings;
  try {
    settings = loadSettings();
  } catch (error) {
    if (error instanceof SettingsError) {
      process.stderr.write(`sluice: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(settings.SLUICE_LOG_LEVEL);
  const url = settings.SLUICE_REDIS_URL;

  let embeddedRedis = false;
  if (!(await redisAnswers(url))) {
    const canStart = settings.SLUICE_REDIS_AUTOSTART && isLoopbackRedis(url);
    if (canStart && redisServerAvailable()) {
      const started = await startEmbeddedRedis(url, settings.SLUICE_DATA_DIR);
      embeddedRedis = true;
      log.info(
        { redis: url, dir: started.dir, log: started.logFile },
        'no Redis answered, so Sluice started redis-server itself (append-only file on)',
      );
    } else {
      process.stderr.write(
        `sluice: no Redis answers at ${url}. ${
          canStart
            ? 'Install Redis (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) and Sluice will start it, or'
            : 'Start Redis there, or'
        } set SLUICE_REDIS_URL to a running Redis (docker compose up redis starts one).\n`,
      );
      process.exit(1);
    }
  }

  const service = await startService(settings, log);
  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) return;
    signalled = true;
    log.info({ signal }, 'shutting down');
    service
      .stop()
      // The Redis Sluice started goes with it on a clean exit; after a crash it stays up
      // and the next start finds it, records and all.
      .then(() => (embeddedRedis ? stopEmbeddedRedis(url) : undefined))
      .then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`sluice: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
