import { fileURLToPath } from 'node:url';
import { loadSettings, settingSecrets, SettingsError, type Settings } from './config/env.js';
import { loadTls, type TlsMaterial } from './config/tls.js';
import { setHeapGrowth } from './lifecycle/heap-growth.js';
import { processRoles } from './lifecycle/process-plan.js';
import { ChildStartError, Supervisor } from './lifecycle/supervisor.js';
import { lowerPriority } from './lifecycle/process-priority.js';
import { SupervisorLink } from './lifecycle/supervisor-link.js';
import { ProcessLifecycle } from './process-lifecycle.js';
import {
  identifyRedis,
  isLoopbackRedis,
  redisServerAvailable,
  startEmbeddedRedis,
} from './redis/embedded-redis.js';
import { redisProbe } from './redis/connect.js';
import { redisTlsAdvice } from './redis/tls-advice.js';
import type { Service, startService as startServiceType } from './service.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { Redactor, redactUrlCredentials } from './telemetry/redact.js';

/**
 * Everything the process writes passes this, so no credential from the settings reaches a
 * terminal or a log, whichever path a message takes (see telemetry/redact.ts).
 */
const redactor = new Redactor(settingSecrets(process.env));

/** Writes a message for a person to stderr. */
function say(message: string): void {
  process.stderr.write(redactor.redact(`sluice: ${message}\n`));
}

/**
 * Starts the service, loading it only now: a supervisor never runs it, and so does not hold the
 * whole pipeline's modules in memory beside its children.
 */
async function startService(...args: Parameters<typeof startServiceType>): Promise<Service> {
  const service = await import('./service.js');
  return service.startService(...args);
}

/** Set once settings are read; from then on every way out goes through it. */
let lifecycle: ProcessLifecycle | undefined;

/** A Redis that answers but refuses the credentials in the URL (or wants some). */
function isAuthFailure(error: Error): boolean {
  return /WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(error.message);
}

/**
 * Process entry: settings → Redis (started locally when allowed and needed) → the service, or,
 * for `SLUICE_ROLE=all` with `SLUICE_PROCESSES` above 1, a supervisor whose children run the
 * service in their roles; SIGTERM/SIGINT → ordered shutdown (see process-lifecycle.ts). Exits
 * non-zero with a plain message when it cannot start, stopping whatever it started.
 */
async function main(): Promise<void> {
  let settings;
  let tls;
  try {
    settings = loadSettings();
    tls = loadTls(settings);
  } catch (error) {
    if (error instanceof SettingsError) {
      say(error.message);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(settings.SLUICE_LOG_LEVEL, redactor);
  setHeapGrowth(settings.SLUICE_HEAP_GROWTH_PERCENT);
  // First: threads started from here on inherit the priority of the thread that starts them.
  if (settings.SLUICE_ROLE === 'worker') {
    const priority = lowerPriority(settings.SLUICE_DELIVERY_NICE);
    if (priority.kind === 'lowered') {
      log.info(
        { event: 'process.priority', nice: priority.nice, threads: priority.threads },
        `delivery runs at nice ${priority.nice} (SLUICE_DELIVERY_NICE): API processes get busy cores first`,
      );
    } else if (priority.kind === 'failed') {
      log.warn(
        { event: 'process.priority', error: priority.error },
        `could not lower the delivery process's priority (SLUICE_DELIVERY_NICE): ${priority.error}`,
      );
    }
  }
  const link = SupervisorLink.ofThisProcess();
  const running = new ProcessLifecycle(log, settings.SLUICE_SHUTDOWN_TIMEOUT_MS, say, link);
  lifecycle = running;
  running.install();
  // A supervisor's child: the supervisor has found or started Redis, and gave the child its role.
  if (link) return running.serve(await startService(settings, log, tls));

  await prepareRedis(settings, tls, running, log);
  const roles = settings.SLUICE_ROLE === 'all' ? processRoles(settings.SLUICE_PROCESSES) : [];
  if (roles.length <= 1) return running.serve(await startService(settings, log, tls));

  const supervisor = new Supervisor({
    exec: fileURLToPath(import.meta.url),
    roles,
    shutdownTimeoutMs: settings.SLUICE_SHUTDOWN_TIMEOUT_MS,
    log,
    onGiveUp: (message) => void running.failStart(message),
  });
  // Served before it starts: a signal during the start stops the children started so far.
  running.serve(supervisor);
  try {
    await supervisor.start();
  } catch (error) {
    if (error instanceof ChildStartError) return running.failStart(error.message, error.code);
    throw error;
  }
}

/**
 * Makes sure a Redis answers at `SLUICE_REDIS_URL`: the configured one, one an earlier run left
 * running, or one started here (`SLUICE_REDIS_AUTOSTART`); ends the start with a plain message
 * when none can be had.
 */
async function prepareRedis(
  settings: Settings,
  tls: TlsMaterial,
  running: ProcessLifecycle,
  log: Logger,
): Promise<void> {
  const url = settings.SLUICE_REDIS_URL;
  const shownUrl = redactUrlCredentials(url);
  if (settings.SLUICE_REDIS_MODE === 'cluster') return prepareCluster(url, tls, running);

  const failure = await redisProbe(url, undefined, tls.redis);
  if (failure === undefined) {
    // A Redis in Sluice's own data directory is one an earlier Sluice started.
    const found =
      isLoopbackRedis(url) && !tls.redis
        ? await identifyRedis(url, settings.SLUICE_DATA_DIR)
        : { kind: 'external' as const };
    if (found.kind === 'left-running') {
      running.ownRedis(found.redis);
      log.warn(
        { redis: shownUrl, dir: found.redis.dir },
        'found the redis-server an earlier Sluice run started still running (that run was killed before it could stop it): using it, and stopping it at exit',
      );
    } else if (found.kind === 'shared') {
      log.info(
        { redis: shownUrl, dir: found.dir },
        'using the redis-server another running Sluice process started in this data directory; that process stops it',
      );
    }
  } else if (isAuthFailure(failure)) {
    return running.failStart(
      `Redis at ${shownUrl} refused the credentials in SLUICE_REDIS_URL (${failure.message}). Fix: put its password in SLUICE_REDIS_URL (redis://:PASSWORD@host:port, or redis://USER:PASSWORD@host:port with Redis ACLs).`,
    );
  } else {
    // Never for rediss://: the Redis started here speaks no TLS.
    const canStart = settings.SLUICE_REDIS_AUTOSTART && isLoopbackRedis(url) && !tls.redis;
    const tlsAdvice = tls.redis ? redisTlsAdvice(failure) : undefined;
    if (canStart && redisServerAvailable()) {
      const started = await startEmbeddedRedis(url, settings.SLUICE_DATA_DIR, {
        onSpawned: (redis) => running.ownRedis(redis),
      });
      log.info(
        { redis: shownUrl, dir: started.dir, log: started.logFile, redisPid: started.pid },
        'no Redis answered, so Sluice started redis-server itself (append-only file on); it stops it at exit',
      );
    } else if (tlsAdvice) {
      return running.failStart(
        `the TLS connection to Redis at ${shownUrl} failed: ${failure.message}. ${tlsAdvice}`,
      );
    } else {
      return running.failStart(
        `no Redis answers at ${shownUrl}. ${
          canStart
            ? 'Install Redis (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) and Sluice will start it, or'
            : 'Start Redis there, or'
        } set SLUICE_REDIS_URL to a running Redis (docker compose up redis starts one).`,
      );
    }
  }
}

/**
 * Makes sure a node of the Redis Cluster answers: one of the comma-separated URLs (the client
 * finds the others from it). A cluster is never started here.
 */
async function prepareCluster(
  url: string,
  tls: TlsMaterial,
  running: ProcessLifecycle,
): Promise<void> {
  const failures: string[] = [];
  for (const node of url.split(',')) {
    const failure = await redisProbe(node, undefined, tls.redis);
    if (failure === undefined) return;
    if (isAuthFailure(failure)) {
      return running.failStart(
        `Redis Cluster node ${redactUrlCredentials(node)} refused the credentials in SLUICE_REDIS_URL (${failure.message}). Fix: put the cluster's password in SLUICE_REDIS_URL (redis://:PASSWORD@host:port, or redis://USER:PASSWORD@host:port with Redis ACLs).`,
      );
    }
    failures.push(`${redactUrlCredentials(node)}: ${failure.message}`);
  }
  return running.failStart(
    `no node of the Redis Cluster in SLUICE_REDIS_URL answers (${failures.join('; ')}). Fix: start the cluster, or name nodes of it that run.`,
  );
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  // Settings that only turn out invalid while starting (a keys file, say) exit as invalid ones.
  const code = error instanceof SettingsError ? 2 : 1;
  if (lifecycle) {
    void lifecycle.failStart(message, code);
  } else {
    say(message);
    process.exit(code);
  }
});
