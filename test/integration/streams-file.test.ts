import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings, type Settings } from '../../src/config/env.js';
import { applyStreamsFile, type StreamsFileLogger } from '../../src/streams/streams-file.js';
import { STREAM_INDEX_KEY, streamKeys } from '../../src/streams/keys.js';
import { StreamRegistry } from '../../src/streams/registry.js';
import { TEST_REDIS_URL } from '../support/global-setup.js';
import { startRedisServer } from '../support/redis-server.js';
import { uniqueName } from '../support/unique.js';

const ROLE = 'arn:aws:iam::000000000000:role/firehose';

let redis: Redis;
let settings: Settings;
let registry: StreamRegistry;
let dir: string;
const names: string[] = [];
const logged: { level: string; msg: string; obj: object }[] = [];

const log: StreamsFileLogger = {
  info: (obj, msg) => logged.push({ level: 'info', msg, obj }),
  warn: (obj, msg) => logged.push({ level: 'warn', msg, obj }),
};

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL);
  settings = loadSettings({});
  registry = new StreamRegistry(redis, settings);
  dir = mkdtempSync(join(tmpdir(), 'sluice-streams-file-'));
});

afterEach(async () => {
  for (const name of names.splice(0)) {
    await redis.del(streamKeys(name).stream);
    await redis.zrem(STREAM_INDEX_KEY, name);
  }
  logged.length = 0;
});

afterAll(async () => {
  await redis.quit();
  rmSync(dir, { recursive: true, force: true });
});

/** A stream name cleaned up after the test. */
function streamName(prefix: string): string {
  const name = uniqueName(prefix);
  names.push(name);
  return name;
}

function entry(name: string, destination: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    DeliveryStreamName: name,
    ExtendedS3DestinationConfiguration: {
      RoleARN: ROLE,
      BucketARN: 'arn:aws:s3:::bucket',
      ...destination,
    },
  };
}

let fileCounter = 0;
function writeStreamsFile(content: unknown): string {
  fileCounter += 1;
  const path = join(dir, `streams-${fileCounter}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('applyStreamsFile', () => {
  it('creates missing streams, then changes nothing when applied again', async () => {
    const a = streamName('sf-a');
    const b = streamName('sf-b');
    const path = writeStreamsFile({
      DeliveryStreams: [
        entry(a, { Prefix: 'a/' }),
        { ...entry(b), Tags: [{ Key: 'team', Value: 'x' }] },
      ],
    });
    expect(await applyStreamsFile(path, registry, settings, log)).toEqual({
      created: [a, b],
      updated: [],
      unchanged: [],
      skipped: [],
    });
    const stored = await registry.getExisting(a);
    expect((stored.destination.config as { Prefix: string }).Prefix).toBe('a/');
    expect((await registry.getExisting(b)).tags).toEqual([{ Key: 'team', Value: 'x' }]);

    expect(await applyStreamsFile(path, registry, settings, log)).toEqual({
      created: [],
      updated: [],
      unchanged: [a, b],
      skipped: [],
    });
    expect(await registry.getExisting(a)).toEqual(stored);
  });

  it('replaces a differing destination as an update, bumping the version', async () => {
    const a = streamName('sf-upd');
    await applyStreamsFile(
      writeStreamsFile({ DeliveryStreams: [entry(a)] }),
      registry,
      settings,
      log,
    );
    const changed = writeStreamsFile({
      DeliveryStreams: [entry(a, { BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 10 } })],
    });
    expect((await applyStreamsFile(changed, registry, settings, log)).updated).toEqual([a]);
    const def = await registry.getExisting(a);
    expect(def.versionId).toBe(2);
    expect((def.destination.config as { BufferingHints: unknown }).BufferingHints).toEqual({
      SizeInMBs: 1,
      IntervalInSeconds: 10,
    });
    expect(await redis.hget(streamKeys(a).stream, 'intervalMs')).toBe('10000');
    expect((await applyStreamsFile(changed, registry, settings, log)).unchanged).toEqual([a]);
  });

  it('validates every entry before applying any', async () => {
    const good = streamName('sf-good');
    const bad = streamName('sf-bad');
    const path = writeStreamsFile({
      DeliveryStreams: [
        entry(good),
        entry(bad, {
          EncryptionConfiguration: {
            KMSEncryptionConfig: { AWSKMSKeyARN: 'arn:aws:kms:us-east-1:000000000000:key/k' },
          },
        }),
      ],
    });
    await expect(applyStreamsFile(path, registry, settings, log)).rejects.toThrow(
      `Streams file ${path}: stream "${bad}" (DeliveryStreams[1]): InvalidArgumentException: ExtendedS3DestinationConfiguration.EncryptionConfiguration.KMSEncryptionConfig: KMS encryption of delivered objects is not supported by Sluice yet; use NoEncryptionConfig NoEncryption.`,
    );
    expect(await registry.get(good)).toBeUndefined();
  });

  it('checks destinations against the endpoints and catalog as CreateDeliveryStream does', async () => {
    const name = streamName('sf-domain');
    const domain = 'arn:aws:es:us-east-1:000000000000:domain/logs';
    const path = writeStreamsFile({
      DeliveryStreams: [
        {
          DeliveryStreamName: name,
          AmazonopensearchserviceDestinationConfiguration: {
            RoleARN: ROLE,
            DomainARN: domain,
            IndexName: 'logs',
            S3Configuration: { RoleARN: ROLE, BucketARN: 'arn:aws:s3:::bucket' },
          },
        },
      ],
    });
    await expect(applyStreamsFile(path, registry, settings, log)).rejects.toThrow(
      `Streams file ${path}: stream "${name}" (DeliveryStreams[0]): InvalidArgumentException: DomainARN ${domain} is not mapped to an endpoint`,
    );
    expect(await registry.get(name)).toBeUndefined();
    const mapped = loadSettings({
      SLUICE_OPENSEARCH_ENDPOINTS: JSON.stringify({
        endpoints: [{ url: 'http://127.0.0.1:9', domainArn: domain }],
      }),
    });
    expect((await applyStreamsFile(path, registry, mapped, log)).created).toEqual([name]);
  });

  it('reports constraint violations with the AWS message', async () => {
    const path = writeStreamsFile({ DeliveryStreams: [{ DeliveryStreamName: 'bad name' }] });
    await expect(applyStreamsFile(path, registry, settings, log)).rejects.toThrow(
      `Streams file ${path}: stream "bad name" (DeliveryStreams[0]): ValidationException: 1 validation error detected: Value 'bad name' at 'deliveryStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+`,
    );
  });

  it('rejects a stream declared twice, a file that is not JSON, and a wrong top level', async () => {
    const a = streamName('sf-dup');
    const dup = writeStreamsFile({ DeliveryStreams: [entry(a), entry(a)] });
    await expect(applyStreamsFile(dup, registry, settings, log)).rejects.toThrow(
      `Streams file ${dup}: stream "${a}" (DeliveryStreams[1]) is declared twice (also DeliveryStreams[0]).`,
    );
    const notJson = writeStreamsFile('{"DeliveryStreams": [');
    await expect(applyStreamsFile(notJson, registry, settings, log)).rejects.toThrow(
      `Streams file ${notJson}: is not valid JSON`,
    );
    const wrong = writeStreamsFile([entry(a)]);
    await expect(applyStreamsFile(wrong, registry, settings, log)).rejects.toThrow(
      `Streams file ${wrong}: must be a JSON object with a "DeliveryStreams" list of CreateDeliveryStream requests.`,
    );
    const missing = join(dir, 'does-not-exist.json');
    await expect(applyStreamsFile(missing, registry, settings, log)).rejects.toThrow(
      `Streams file ${missing}: cannot be read`,
    );
    expect(await registry.get(a)).toBeUndefined();
  });

  it('leaves a stream that is being deleted alone, with a warning', async () => {
    const a = streamName('sf-del');
    const path = writeStreamsFile({ DeliveryStreams: [entry(a)] });
    await applyStreamsFile(path, registry, settings, log);
    await registry.markDeleting(a);
    expect(
      (
        await applyStreamsFile(
          writeStreamsFile({ DeliveryStreams: [entry(a, { Prefix: 'x/' })] }),
          registry,
          settings,
          log,
        )
      ).skipped,
    ).toEqual([a]);
    expect(logged.some((l) => l.level === 'warn' && l.msg.includes('being deleted'))).toBe(true);
  });

  it('is safe when several processes apply the same file at once', async () => {
    const a = streamName('sf-race');
    const b = streamName('sf-race');
    const path = writeStreamsFile({ DeliveryStreams: [entry(a), entry(b)] });
    const summaries = await Promise.all(
      Array.from({ length: 4 }, () =>
        applyStreamsFile(path, new StreamRegistry(redis, settings), settings, log),
      ),
    );
    expect(summaries.flatMap((s) => s.created).sort()).toEqual([a, b].sort());
    expect((await registry.getExisting(a)).versionId).toBe(1);
  });

  it('refuses, before creating anything, a file that would exceed SLUICE_MAX_STREAMS', async () => {
    const server = await startRedisServer({ appendOnly: false });
    const own = new Redis(server.url);
    try {
      const limited = loadSettings({ SLUICE_MAX_STREAMS: '1' });
      const path = writeStreamsFile({ DeliveryStreams: [entry('one'), entry('two')] });
      await expect(
        applyStreamsFile(path, new StreamRegistry(own, limited), limited, log),
      ).rejects.toThrow(
        `Streams file ${path}: creating 2 new streams (one, two) would exceed SLUICE_MAX_STREAMS (1); 0 streams exist already.`,
      );
      expect(await own.zcard(STREAM_INDEX_KEY)).toBe(0);
    } finally {
      await own.quit();
      await server.stop();
    }
  });
});
