import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';

/**
 * The test helper `startRedisCluster` itself, against real redis-server processes: the cluster it
 * starts spreads keys over its masters, survives the SIGKILL of a master without losing
 * replicated writes, takes the killed node back, and moves slots to a new master while a client
 * keeps writing.
 */

const INITIAL_KEYS = 2_000;
/** Slots moved to the added master; enough to catch keys, few enough to move in seconds. */
const MOVED_SLOTS = 300;
/** The writer that runs during the reshard stops after this many keys even if it is not told to. */
const MAX_WRITER_KEYS = 50_000;
/** Keys read or written at the same time. */
const CONCURRENCY = 50;
const STEP_TIMEOUT_MS = 90_000;

let cluster: RedisCluster;
const clients: (Redis | Cluster)[] = [];

/** An ioredis Cluster client seeded with `ports`, closed after the tests. */
function clusterClient(ports: readonly number[]): Cluster {
  const client = new Cluster(
    ports.map((port) => ({ host: '127.0.0.1', port })),
    { redisOptions: { connectTimeout: 2_000 } },
  );
  client.on('error', () => undefined);
  clients.push(client);
  return client;
}

/** A plain connection to one node, closed after the tests. */
function nodeClient(port: number): Redis {
  const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  clients.push(client);
  return client;
}

/** Runs `work` for every item, `CONCURRENCY` at a time. */
async function forEachLimited<T>(items: readonly T[], work: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += CONCURRENCY) {
    await Promise.all(items.slice(i, i + CONCURRENCY).map(work));
  }
}

/** The keys among `keys` whose value through `client` is not `expected(key)`. */
async function misread(
  client: Cluster,
  keys: readonly string[],
  expected: (key: string) => string,
): Promise<string[]> {
  const wrong: string[] = [];
  await forEachLimited(keys, async (key) => {
    if ((await client.get(key)) !== expected(key)) wrong.push(key);
  });
  return wrong;
}

const initialKeys = Array.from({ length: INITIAL_KEYS }, (_, i) => `{tag${i}}:initial`);
const valueOf = (key: string): string => `value of ${key}`;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
}, STEP_TIMEOUT_MS);

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await cluster?.stop();
});

describe('startRedisCluster', () => {
  it('starts 3 masters with a replica each and spreads keys over all masters', async () => {
    const nodes = await cluster.nodes();
    const masters = nodes.filter((n) => n.role === 'master');
    expect(masters).toHaveLength(3);
    expect(nodes.filter((n) => n.role === 'replica')).toHaveLength(3);
    expect(masters.reduce((sum, n) => sum + n.slotCount, 0)).toBe(16_384);
    expect(cluster.seeds).toEqual(masters.map((n) => n.url));
    expect(cluster.url).toBe(cluster.seeds.join(','));

    const client = clusterClient(masters.map((n) => n.port));
    await forEachLimited(initialKeys, async (key) => {
      await client.set(key, valueOf(key));
    });
    // WAIT counts the replicas that have every write of the connection it is sent on, so it goes
    // over the same per-master connections the writes went over.
    const replicated = await Promise.all(client.nodes('master').map((n) => n.wait(1, 10_000)));
    expect(replicated).toEqual([1, 1, 1]);

    const sizes = await Promise.all(masters.map((n) => nodeClient(n.port).dbsize()));
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(INITIAL_KEYS);
    // Each master serves a third of the slots; hash tags spread the keys evenly enough.
    for (const size of sizes) expect(size).toBeGreaterThan(INITIAL_KEYS / 5);
  });

  it('fails a killed master over to its replica, losing no replicated key', async () => {
    const before = await cluster.nodes();
    const { killed, promoted } = await cluster.killMaster();
    const killedId = before.find((n) => n.port === killed)?.id;
    expect(before.find((n) => n.port === promoted)?.masterId).toBe(killedId);

    const after = await cluster.nodes();
    expect(after.find((n) => n.port === killed)?.failed).toBe(true);
    const promotedNode = after.find((n) => n.port === promoted);
    expect(promotedNode?.role).toBe('master');
    expect(promotedNode?.slots).toEqual(before.find((n) => n.port === killed)?.slots);

    const survivors = after.filter((n) => n.role === 'master' && !n.failed).map((n) => n.port);
    expect(await misread(clusterClient(survivors), initialKeys, valueOf)).toEqual([]);

    await cluster.restartNode(killed);
    const rejoined = (await cluster.nodes()).find((n) => n.port === killed);
    expect(rejoined?.failed).toBe(false);
    expect(rejoined?.role).toBe('replica');
    expect(rejoined?.masterId).toBe(promotedNode?.id);
  });

  it('moves slots to an added master while a client keeps writing', async () => {
    const added = await cluster.addMaster();
    expect(added.role).toBe('master');
    expect(added.slotCount).toBe(0);
    const masters = (await cluster.nodes()).filter((n) => n.role === 'master' && !n.failed);
    const client = clusterClient(masters.map((n) => n.port));

    const acknowledged: string[] = [];
    const failures: string[] = [];
    let writing = true;
    let next = 0;
    const writer = async (): Promise<void> => {
      while (writing && next < MAX_WRITER_KEYS) {
        const key = `{written${next}}:during-reshard`;
        next += 1;
        try {
          await client.set(key, valueOf(key));
          acknowledged.push(key);
        } catch (err) {
          failures.push(`${key}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    };
    const writers = Array.from({ length: 4 }, writer);
    let moved: number;
    try {
      moved = await cluster.reshard(added.port, MOVED_SLOTS);
    } finally {
      writing = false;
      await Promise.all(writers);
    }

    expect(acknowledged.length).toBeGreaterThan(100);
    expect(await misread(client, acknowledged, valueOf)).toEqual([]);
    expect(await misread(client, initialKeys, valueOf)).toEqual([]);
    // redis-cli rounds every source's share down but the first's (up), so a slot per source less.
    const sources = masters.length - 1;
    expect(moved).toBeGreaterThanOrEqual(MOVED_SLOTS - (sources - 1));
    expect(moved).toBeLessThanOrEqual(MOVED_SLOTS);
    const target = (await cluster.nodes()).find((n) => n.port === added.port);
    expect(target?.slotCount).toBe(moved);
    expect(await nodeClient(added.port).dbsize()).toBeGreaterThan(0);
    // Writes may fail while a slot changes hands, but not many.
    expect(failures.length, failures.slice(0, 5).join('\n')).toBeLessThan(acknowledged.length / 10);
  });

  it('rebalances the slots evenly over all masters, keys included', async () => {
    await cluster.rebalance();
    const masters = (await cluster.nodes()).filter((n) => n.role === 'master' && !n.failed);
    expect(masters).toHaveLength(4);
    // redis-cli leaves a master alone when it is within 2% of its share.
    for (const master of masters) {
      expect(Math.abs(master.slotCount - 16_384 / 4)).toBeLessThanOrEqual(0.02 * (16_384 / 4));
    }
    const client = clusterClient(masters.map((n) => n.port));
    expect(await misread(client, initialKeys, valueOf)).toEqual([]);
  });
});
