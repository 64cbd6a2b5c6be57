import type { Redis } from 'ioredis';

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
 * they connect (warning).
 */
export async function checkRedis(redis: Redis, minReplicas = 0): Promise<RedisCheck> {
  const info = parseInfo(await redis.info());
  const errors: string[] = [];
  const warnings: string[] = [];
  const policy = info.get('maxmemory_policy') ?? 'noeviction';
  if (policy !== 'noeviction') {
    errors.push(
      `Redis maxmemory-policy is ${policy}: Redis would evict acknowledged records under memory pressure. Fix: CONFIG SET maxmemory-policy noeviction (and set it in redis.conf).`,
    );
  }
  const major = Number((info.get('redis_version') ?? '0').split('.')[0]);
  if (major < 5) {
    errors.push(`Redis ${info.get('redis_version')} is too old: Sluice needs Redis 5 or newer.`);
  }
  if (info.get('role') === 'slave') {
    errors.push(
      `Redis at SLUICE_REDIS_URL is a replica (of ${info.get('master_host') ?? '?'}:${info.get('master_port') ?? '?'}): it takes no writes. Point SLUICE_REDIS_URL at the primary.`,
    );
  }
  const connected = Number(info.get('connected_slaves') ?? '0');
  if (minReplicas > 0 && connected < minReplicas) {
    warnings.push(
      `SLUICE_REDIS_MIN_REPLICAS is ${minReplicas} but Redis has ${connected} replica(s) connected: every put is refused (ServiceUnavailableException) until ${minReplicas} are.`,
    );
  }
  if (info.get('aof_enabled') !== '1') {
    warnings.push(
      'Redis persistence is off (appendonly no): if Redis crashes or restarts, acknowledged records that are not yet delivered are lost. Fix: CONFIG SET appendonly yes (and set it in redis.conf).',
    );
  }
  return { errors, warnings };
}
