import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseInput } from '../../src/config/validation.js';
import { loadSettings, type Settings } from '../../src/config/env.js';
import {
  CreateDeliveryStreamInputSchema,
  DESTINATION_ID,
  definitionFromCreateInput,
  type StreamDefinition,
} from '../../src/streams/stream-definition.js';
import { FirehoseError } from '../../src/errors/catalogue.js';
import { STREAM_INDEX_KEY, streamKeys } from '../../src/streams/keys.js';
import { StreamRegistry } from '../../src/streams/registry.js';
import { CREATE_SCRIPT, REPLACE_SCRIPT } from '../../src/streams/registry-scripts.js';
import { RedisScript } from '../../src/redis/redis-script.js';
import { TEST_REDIS_URL } from '../support/global-setup.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { removeStreams } from '../support/shared-redis.js';
import { uniqueName } from '../support/unique.js';

const ROLE = 'arn:aws:iam::123456789012:role/firehose';
const BUCKET = 'arn:aws:s3:::bucket';

let redis: Redis;
let settings: Settings;
let registry: StreamRegistry;
const created: string[] = [];

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL);
  settings = loadSettings({ SLUICE_ACCOUNT_ID: '123456789012' });
  registry = new StreamRegistry(redis, settings);
});

afterEach(async () => {
  await removeStreams(redis, created.splice(0));
});

afterAll(async () => {
  await redis.quit();
});

function definition(
  name: string,
  destination: Record<string, unknown> = {},
  s: Settings = settings,
): StreamDefinition {
  return definitionFromCreateInput(
    parseInput(CreateDeliveryStreamInputSchema, {
      DeliveryStreamName: name,
      ExtendedS3DestinationConfiguration: { RoleARN: ROLE, BucketARN: BUCKET, ...destination },
    }),
    s,
    Date.now(),
  );
}

/** A new stream with a unique name, removed after the test. */
async function newStream(destination: Record<string, unknown> = {}): Promise<StreamDefinition> {
  const def = definition(uniqueName('reg'), destination);
  created.push(def.name);
  await registry.create(def);
  return def;
}

async function failure(promise: Promise<unknown>): Promise<{ type: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof FirehoseError) return { type: error.type, message: error.message };
    throw error;
  }
  throw new Error('expected a FirehoseError');
}

describe('create and get', () => {
  it('stores the definition and the fields the append script reads', async () => {
    const def = await newStream({ BufferingHints: { SizeInMBs: 3, IntervalInSeconds: 7 } });
    expect(await registry.get(def.name)).toEqual(def);
    const hash = await redis.hgetall(streamKeys(def.name).stream);
    expect(hash).toEqual({
      definition: JSON.stringify(def),
      status: 'ACTIVE',
      sizeBytes: String(3 * 1_048_576),
      intervalMs: '7000',
      version: '1',
      gzipOnly: '0',
      writtenBy: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
    });
    expect(await redis.zscore(STREAM_INDEX_KEY, def.name)).toBe('0');
  });

  it('refuses a name that exists, in any status', async () => {
    const def = await newStream();
    const expected = {
      type: 'ResourceInUseException',
      message: `Firehose ${def.name} under accountId 123456789012 already exists`,
    };
    expect(await failure(registry.create(def))).toEqual(expected);
    await registry.markDeleting(def.name);
    expect(await failure(registry.create(def))).toEqual(expected);
  });

  it('answers undefined or ResourceNotFoundException for an unknown stream', async () => {
    const name = uniqueName('missing');
    expect(await registry.get(name)).toBeUndefined();
    expect(await failure(registry.getExisting(name))).toEqual({
      type: 'ResourceNotFoundException',
      message: `Firehose ${name} under account 123456789012 not found.`,
    });
  });

  it('creates a name once when many processes race for it', async () => {
    const def = definition(uniqueName('race'));
    created.push(def.name);
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => new StreamRegistry(redis, settings).create(def)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });
});

describe('a script call resent after its reply was lost (ioredis resends on reconnect)', () => {
  const createScript = new RedisScript(CREATE_SCRIPT, 1);
  const replaceScript = new RedisScript(REPLACE_SCRIPT, 1);
  const fields = (def: StreamDefinition, version = 1) => [
    JSON.stringify(def),
    def.status,
    '5242880',
    '300000',
    String(version),
    '0',
  ];

  it('CREATE answers "created" to its own repeat, "exists" to any other call', async () => {
    const def = definition(uniqueName('resent'));
    created.push(def.name);
    const key = streamKeys(def.name).stream;
    const token = randomUUID();
    expect(await createScript.run(redis, [key], [...fields(def), token])).toBe(1);
    const stored = await redis.hgetall(key);
    expect(await createScript.run(redis, [key], [...fields(def), token])).toBe(1);
    expect(await redis.hgetall(key)).toEqual(stored);
    // The same definition from another call (another request) is a name already taken.
    expect(await createScript.run(redis, [key], [...fields(def), randomUUID()])).toBe(0);
  });

  it('REPLACE answers "written" to its own repeat, "changed" to a stale other call', async () => {
    const def = definition(uniqueName('resent'));
    created.push(def.name);
    const key = streamKeys(def.name).stream;
    await createScript.run(redis, [key], [...fields(def), randomUUID()]);
    const next = { ...def, versionId: 2 };
    const [nextJson, ...rest] = fields(next, 2);
    const token = randomUUID();
    const replace = (callToken: string) =>
      replaceScript.run(redis, [key], [JSON.stringify(def), nextJson!, ...rest, callToken]);
    expect(await replace(token)).toBe(1);
    const stored = await redis.hgetall(key);
    expect(await replace(token)).toBe(1);
    expect(await redis.hgetall(key)).toEqual(stored);
    // Another call that read the old definition lost the race, even with an equal change.
    expect(await replace(randomUUID())).toBe(0);
  });
});

describe('update', () => {
  it('replaces the destination, bumps the version and keeps the hash in step', async () => {
    const def = await newStream();
    const faster = definition(def.name, { BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 } });
    const updated = await registry.update(def.name, '1', DESTINATION_ID, () => faster.destination);
    expect(updated.destination).toEqual(faster.destination);
    expect(updated.versionId).toBe(2);
    expect(updated.lastUpdateTimestamp).toBeGreaterThanOrEqual(def.lastUpdateTimestamp);
    expect(await registry.get(def.name)).toEqual(updated);
    expect(
      await redis.hmget(streamKeys(def.name).stream, 'sizeBytes', 'intervalMs', 'version'),
    ).toEqual(['1048576', '0', '2']);
  });

  it('refuses another version with the Firehose message', async () => {
    const def = await newStream();
    expect(
      await failure(registry.update(def.name, '7', DESTINATION_ID, (c) => c.destination)),
    ).toEqual({
      type: 'ConcurrentModificationException',
      message: `Cannot update firehose: ${def.name} since the current version id: 1 and specified version id: 7 do not match`,
    });
    // Leading zeros name the same version.
    expect(
      (await registry.update(def.name, '001', DESTINATION_ID, (c) => c.destination)).versionId,
    ).toBe(2);
  });

  it('refuses an unknown destination id', async () => {
    const def = await newStream();
    expect(
      await failure(
        registry.update(def.name, '1', 'destinationId-000000000002', (c) => c.destination),
      ),
    ).toEqual({
      type: 'InvalidArgumentException',
      message: 'Destination Id destinationId-000000000002 not found',
    });
  });

  it('writes nothing when the change throws', async () => {
    const def = await newStream();
    await expect(
      registry.update(def.name, '1', DESTINATION_ID, () => {
        throw new FirehoseError('InvalidArgumentException', 'no');
      }),
    ).rejects.toThrow('no');
    expect(await registry.get(def.name)).toEqual(def);
  });

  it('lets exactly one of two concurrent updates of one version win', async () => {
    const def = await newStream();
    const results = await Promise.allSettled(
      [1, 2].map(() => registry.update(def.name, '1', DESTINATION_ID, (c) => c.destination)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected');
    expect((rejected?.reason as FirehoseError).type).toBe('ConcurrentModificationException');
    expect((await registry.getExisting(def.name)).versionId).toBe(2);
  });

  it('refuses to change a DELETING stream', async () => {
    const def = await newStream();
    await registry.markDeleting(def.name);
    expect(
      await failure(registry.update(def.name, '1', DESTINATION_ID, (c) => c.destination)),
    ).toEqual({
      type: 'ResourceInUseException',
      message: `Firehose ${def.name} under account 123456789012 is in DELETING state and cannot be changed.`,
    });
    expect((await failure(registry.tag(def.name, [{ Key: 'k' }]))).type).toBe(
      'ResourceInUseException',
    );
  });
});

describe('delete', () => {
  it('marks DELETING (idempotently), then removes only a DELETING stream', async () => {
    const def = await newStream();
    expect(await registry.remove(def.name)).toBe(false);
    expect(await registry.get(def.name)).toBeDefined();

    await registry.markDeleting(def.name);
    await registry.markDeleting(def.name);
    expect((await registry.getExisting(def.name)).status).toBe('DELETING');
    expect(await redis.hget(streamKeys(def.name).stream, 'status')).toBe('DELETING');

    expect(await registry.remove(def.name)).toBe(true);
    expect(await redis.exists(streamKeys(def.name).stream)).toBe(0);
    expect(await redis.zscore(STREAM_INDEX_KEY, def.name)).toBeNull();
    expect((await failure(registry.markDeleting(def.name))).type).toBe('ResourceNotFoundException');
  });
});

describe('tags', () => {
  it('adds, replaces, removes and pages tags by key', async () => {
    const def = await newStream();
    await registry.tag(def.name, [{ Key: 'b', Value: '1' }, { Key: 'a' }]);
    await registry.tag(def.name, [
      { Key: 'b', Value: '2' },
      { Key: 'c', Value: '3' },
    ]);
    expect(await registry.listTags(def.name)).toEqual({
      tags: [{ Key: 'a' }, { Key: 'b', Value: '2' }, { Key: 'c', Value: '3' }],
      hasMore: false,
    });
    expect(await registry.listTags(def.name, { limit: 1, exclusiveStartKey: 'a' })).toEqual({
      tags: [{ Key: 'b', Value: '2' }],
      hasMore: true,
    });
    await registry.untag(def.name, ['a', 'not-there']);
    expect((await registry.listTags(def.name)).tags.map((t) => t.Key)).toEqual(['b', 'c']);
    // Tags do not change the destination version.
    expect((await registry.getExisting(def.name)).versionId).toBe(1);
  });

  it('allows 50 tags, not 51', async () => {
    const def = await newStream();
    await registry.tag(
      def.name,
      Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}` })),
    );
    await registry.tag(def.name, [{ Key: 'k0', Value: 'replaced' }]);
    expect(await failure(registry.tag(def.name, [{ Key: 'one-more' }]))).toEqual({
      type: 'LimitExceededException',
      message: `A delivery stream can have at most 50 tags; ${def.name} has 50 and this request would make it 51.`,
    });
  });

  it('loses no concurrent tag change', async () => {
    const def = await newStream();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        new StreamRegistry(redis, settings).tag(def.name, [{ Key: `t${i}` }]),
      ),
    );
    expect((await registry.listTags(def.name)).tags).toHaveLength(10);
  });
});

describe('listing (private Redis, so the whole index is known)', () => {
  let server: RedisServer;
  let own: Redis;
  let small: StreamRegistry;
  const smallSettings = loadSettings({ SLUICE_MAX_STREAMS: '4' });

  beforeAll(async () => {
    server = await startRedisServer({ appendOnly: false });
    own = new Redis(server.url);
    small = new StreamRegistry(own, smallSettings);
    for (const name of ['c', 'a', 'B', 'b']) {
      await small.create(definition(name, {}, smallSettings));
    }
  });

  afterAll(async () => {
    await own.quit();
    await server.stop();
  });

  it('lists alphabetically in code-unit order, page by page', async () => {
    expect(await small.list({ limit: 10 })).toEqual({
      names: ['B', 'a', 'b', 'c'],
      hasMore: false,
    });
    expect(await small.list({ limit: 2 })).toEqual({ names: ['B', 'a'], hasMore: true });
    expect(await small.list({ limit: 2, exclusiveStartName: 'a' })).toEqual({
      names: ['b', 'c'],
      hasMore: false,
    });
    expect(await small.list({ limit: 2, exclusiveStartName: 'aa' })).toEqual({
      names: ['b', 'c'],
      hasMore: false,
    });
  });

  it('filters by type', async () => {
    expect((await small.list({ limit: 10, type: 'DirectPut' })).names).toHaveLength(4);
    expect(await small.list({ limit: 10, type: 'KinesisStreamAsSource' })).toEqual({
      names: [],
      hasMore: false,
    });
  });

  it('skips index entries whose hash is gone', async () => {
    await own.zadd(STREAM_INDEX_KEY, 0, 'a-stale');
    try {
      expect(await small.list({ limit: 2, exclusiveStartName: 'a' })).toEqual({
        names: ['b', 'c'],
        hasMore: false,
      });
      expect(await small.listAllNames()).toEqual(['B', 'a', 'b', 'c']);
    } finally {
      await own.zrem(STREAM_INDEX_KEY, 'a-stale');
    }
  });

  it('lists DELETING streams until they are removed', async () => {
    await small.markDeleting('c');
    expect(await small.listAllNames()).toEqual(['B', 'a', 'b', 'c']);
    await small.remove('c');
    expect(await small.listAllNames()).toEqual(['B', 'a', 'b']);
    await small.create(definition('c', {}, smallSettings));
  });

  it('refuses streams past SLUICE_MAX_STREAMS', async () => {
    expect(await failure(small.create(definition('d', {}, smallSettings)))).toEqual({
      type: 'LimitExceededException',
      message:
        'You have already consumed your firehose quota of 4 hoses. Firehose names: [B, a, b, c] (the quota is SLUICE_MAX_STREAMS).',
    });
    expect(await own.exists(streamKeys('d').stream)).toBe(0);
  });
});
