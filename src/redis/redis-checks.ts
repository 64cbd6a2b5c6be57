import type { Redis } from 'ioredis';
import { isCluster, type RedisClient } from './client.js';

/** Parses `INFO` output into a map. */
function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** What the start-up check found. */
export interface RedisCheck {
  /** Fatal: Sluice must not run on this Redis. */
  errors: string[];
  /** Worth saying plainly, but Sluice runs. */
  warnings: string[];
}

/**
 * Checks that Redis can keep Sluice's promises: a `maxmemory-policy` that evicts keys would
 * silently delete acknowledged records (fatal); without persistence a Redis crash loses them
 * (warning); BullMQ needs Redis 5 or newer (fatal); a replica takes no writes (fatal); fewer
 * replicas connected than `minReplicas` (`SLUICE_REDIS_MIN_REPLICAS`) refuses every put until
 * they connect (warning). On a Redis Cluster, every master is checked.
 */
export async function checkRedis(redis: RedisClient, minReplicas = 0): Promise<RedisCheck> {
  if (!isCluster(redis)) return checkNode(redis, minReplicas, 'Redis', false);
  const masters = redis.nodes('master');
  const checks = await Promise.all(
    masters.map((node) =>
      checkNode(
        node,
        minReplicas,
        `Redis Cluster master ${node.options.host}:${node.options.port}`,
        true,
      ),
    ),
  );
  // Each master says the same of itself; one line per kind of finding is enough to act on.
  return {
    errors: [...new Set(checks.flatMap((check) => check.errors))],
    warnings: [...new Set(checks.flatMap((check) => check.warnings))],
  };
}

/** The checks of {@link checkRedis} on one node, named `name` in the messages. */
async function checkNode(
  redis: Redis,
  minReplicas: number,
  name: string,
  inCluster: boolean,
): Promise<RedisCheck> {
  const info = parseInfo(await redis.info());
  const errors: string[] = [];
  const warnings: string[] = [];
  const policy = info.get('maxmemory_policy') ?? 'noeviction';
  if (policy !== 'noeviction') {
    errors.push(
      `${name} maxmemory-policy is ${policy}: Redis would evict acknowledged records under memory pressure. Fix: CONFIG SET maxmemory-policy noeviction (and set it in redis.conf).`,
    );
  }
  const major = Number((info.get('redis_version') ?? '0').split('.')[0]);
  if (major < 5) {
    errors.push(`${name} ${info.get('redis_version')} is too old: Sluice needs Redis 5 or newer.`);
  }
  if (info.get('role') === 'slave') {
    errors.push(
      `${name} at SLUICE_REDIS_URL is a replica (of ${info.get('master_host') ?? '?'}:${info.get('master_port') ?? '?'}): it takes no writes. Point SLUICE_REDIS_URL at the primary.`,
    );
  }
  const connected = Number(info.get('connected_slaves') ?? '0');
  if (minReplicas > 0 && connected < minReplicas) {
    warnings.push(
      `SLUICE_REDIS_MIN_REPLICAS is ${minReplicas} but ${name} has ${connected} replica(s) connected: ${inCluster ? 'every put to its slots' : 'every put'} is refused (ServiceUnavailableException) until ${minReplicas} are.`,
    );
  }
  if (info.get('aof_enabled') !== '1') {
    warnings.push(
      `${name} persistence is off (appendonly no): if it crashes or restarts, acknowledged records that are not yet delivered are lost. Fix: CONFIG SET appendonly yes (and set it in redis.conf).`,
    );
  }
  return { errors, warnings };
}
