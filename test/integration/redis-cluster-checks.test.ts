import { Cluster, Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { loadSettings } from '../../src/config/env.js';
import { checkRedis } from '../../src/redis/redis-checks.js';
import { startService } from '../../src/service.js';
import { FAST } from '../support/e2e.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';

/**
 * The start-up check on a Redis Cluster looks at every master, not only the one that answers
 * first: a setting that breaks Sluice's promises on any master (an evicting `maxmemory-policy`,
 * persistence off, too few replicas for `SLUICE_REDIS_MIN_REPLICAS`) is found and the master
 * named, and Sluice refuses to start on an evicting one. Against a real 3-master cluster with
 * one replica each; each test changes one master's configuration and puts it back.
 */

let cluster: RedisCluster;
let client: Cluster;
/** Masters' ports, in port order; the tests change the second and the third. */
let masterPorts: number[];
const nodeClients: Redis[] = [];

function onNode(port: number): Redis {
  const node = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  node.on('error', () => undefined);
  nodeClients.push(node);
  return node;
}

/** A cluster client that has read the slot map, so it knows every master. */
async function connectedCluster(): Promise<Cluster> {
  const connected = new Cluster(
    cluster.seeds.map((seed) => ({ host: '127.0.0.1', port: Number(new URL(seed).port) })),
    { redisOptions: { connectTimeout: 2_000 } },
  );
  connected.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    connected.once('ready', resolve);
    connected.once('end', () => reject(new Error('cluster client ended before it was ready')));
  });
  return connected;
}

beforeAll(async () => {
  cluster = await startRedisCluster();
  masterPorts = (await cluster.nodes()).filter((n) => n.role === 'master').map((n) => n.port);
  client = await connectedCluster();
}, 120_000);

afterAll(async () => {
  client?.disconnect();
  for (const node of nodeClients) node.disconnect();
  await cluster?.stop();
});

afterEach(async () => {
  for (const port of masterPorts) {
    const node = onNode(port);
    await node.config('SET', 'maxmemory-policy', 'noeviction');
    await node.config('SET', 'appendonly', 'yes');
  }
});

describe('checkRedis on a Redis Cluster', () => {
  it('finds nothing on a cluster set up as Sluice needs', async () => {
    expect(masterPorts).toHaveLength(3);
    expect(await checkRedis(client, 1)).toEqual({ errors: [], warnings: [] });
  });

  it('refuses an evicting maxmemory-policy on one master, naming that master only', async () => {
    const port = masterPorts[1] as number;
    await onNode(port).config('SET', 'maxmemory-policy', 'allkeys-lru');
    const check = await checkRedis(client);
    expect(check.errors).toEqual([
      `Redis Cluster master 127.0.0.1:${port} maxmemory-policy is allkeys-lru: Redis would evict acknowledged records under memory pressure. Fix: CONFIG SET maxmemory-policy noeviction (and set it in redis.conf).`,
    ]);
    await expect(
      startService(
        loadSettings({
          ...FAST,
          SLUICE_REDIS_MODE: 'cluster',
          SLUICE_REDIS_URL: cluster.url,
          SLUICE_HOST: '127.0.0.1',
          SLUICE_PORT: '0',
          SLUICE_METRICS: 'false',
        }),
        pino({ level: 'silent' }),
      ),
    ).rejects.toThrow(`Redis Cluster master 127.0.0.1:${port} maxmemory-policy is allkeys-lru`);
  });

  it('warns of one master without persistence, naming it', async () => {
    const port = masterPorts[2] as number;
    await onNode(port).config('SET', 'appendonly', 'no');
    const check = await checkRedis(client);
    expect(check.errors).toEqual([]);
    expect(check.warnings).toEqual([
      `Redis Cluster master 127.0.0.1:${port} persistence is off (appendonly no): if it crashes or restarts, acknowledged records that are not yet delivered are lost. Fix: CONFIG SET appendonly yes (and set it in redis.conf).`,
    ]);
  });

  it('warns of every master with fewer replicas than SLUICE_REDIS_MIN_REPLICAS', async () => {
    const check = await checkRedis(client, 2);
    expect(check.errors).toEqual([]);
    expect([...check.warnings].sort()).toEqual(
      masterPorts
        .map(
          (port) =>
            `SLUICE_REDIS_MIN_REPLICAS is 2 but Redis Cluster master 127.0.0.1:${port} has 1 replica(s) connected: every put to its slots is refused (ServiceUnavailableException) until 2 are.`,
        )
        .sort(),
    );
  });
});
