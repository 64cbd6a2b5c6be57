import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  CreateDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  type AmazonopensearchserviceDestinationConfiguration,
  type FirehoseClient,
} from '@aws-sdk/client-firehose';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { readErrorObject, type ErrorOutputObject } from '../conformance/destination-harness.js';
import { listObjects } from '../conformance/local-files.js';
import {
  firehoseClient,
  startChild,
  startInProcess,
  type SluiceUnderTest,
} from '../conformance/sluice-under-test.js';
import { streamState } from '../conformance/stream-state.js';
import { Cleanups, cleanupAfterAll, eventually, startRedis, tempDir } from '../support/e2e.js';
import { putAccepted as put } from '../support/firehose-stream.js';
import { startOpenSearchServer, type OpenSearchServer } from '../support/opensearch-server.js';
import type { RedisServer } from '../support/redis-server.js';
import { uniqueName } from '../support/unique.js';

/**
 * The OpenSearch destination end to end: the unmodified AWS SDK creates streams and puts
 * records into Sluice (in this process, or a child process where it is killed), which delivers
 * by `_bulk` to the OpenSearch-protocol test server, and writes what it cannot deliver to the
 * error output in its local S3 directory.
 */

const ROLE = 'arn:aws:iam::000000000000:role/firehose';
const DOMAIN = 'arn:aws:es:us-east-1:000000000000:domain/e2e';
const PROCESS_TEST_MS = 150_000;

const file = cleanupAfterAll();
const cleanups = new Cleanups();
let redisServer: RedisServer;
let redis: Redis;
let dataDir: string;

beforeAll(async () => {
  redisServer = await startRedis(file);
  redis = new Redis(redisServer.url, { maxRetriesPerRequest: 2 });
  file.add(() => redis.quit());
  dataDir = await tempDir(file, 'sluice-opensearch-e2e-');
});

afterEach(async () => {
  await cleanups.run();
  await redis.flushall();
});

afterAll(() => file.run());

async function openSearch(
  options: Parameters<typeof startOpenSearchServer>[0] = {},
): Promise<OpenSearchServer> {
  const server = await startOpenSearchServer(options);
  cleanups.add(() => server.close());
  return server;
}

function sluiceEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    SLUICE_REDIS_URL: redisServer.url,
    SLUICE_S3_ENDPOINT: '',
    SLUICE_DATA_DIR: dataDir,
    ...extra,
  };
}

/** A destination on `server` with `overrides`; its error bucket is unique. */
function destination(
  server: OpenSearchServer,
  overrides: Partial<AmazonopensearchserviceDestinationConfiguration> = {},
): AmazonopensearchserviceDestinationConfiguration {
  return {
    RoleARN: ROLE,
    ClusterEndpoint: server.url,
    IndexName: uniqueName('idx').toLowerCase().replaceAll('_', '-'),
    IndexRotationPeriod: 'NoRotation',
    BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
    RetryOptions: { DurationInSeconds: 60 },
    S3Configuration: {
      RoleARN: ROLE,
      BucketARN: `arn:aws:s3:::${uniqueName('os-errors').toLowerCase().replaceAll('_', '-')}`,
    },
    ...overrides,
  };
}

async function createStream(
  client: FirehoseClient,
  config: AmazonopensearchserviceDestinationConfiguration,
): Promise<string> {
  const name = uniqueName('opensearch');
  await client.send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: name,
      AmazonopensearchserviceDestinationConfiguration: config,
    }),
  );
  return name;
}

function docs(run: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `{"id":"${run}-${i}","n":${i}}\n`);
}

async function waitForDrain(stream: string, sluice: SluiceUnderTest, timeoutMs = 30_000) {
  await eventually(
    `the backlog of ${stream} to drain`,
    async () => {
      const state = await streamState(redis, stream);
      if (state.dead > 0) throw new Error(`a batch was dead-lettered\n${sluice.logs()}`);
      return state.backlogRecords === 0 && !state.open;
    },
    {
      timeoutMs,
      state: async () => `${JSON.stringify(await streamState(redis, stream))}\n${sluice.logs()}`,
    },
  );
}

/** The error-output objects of a destination's error bucket. */
async function errorOutput(
  config: AmazonopensearchserviceDestinationConfiguration,
): Promise<ErrorOutputObject[]> {
  const bucket = (config.S3Configuration?.BucketARN ?? '').replace('arn:aws:s3:::', '');
  const dir = join(dataDir, 's3', bucket);
  const keys = (await listObjects(dir)).filter((k) =>
    k.startsWith('AmazonOpenSearchService-failed/'),
  );
  return Promise.all(keys.map(async (key) => readErrorObject(key, await readFile(join(dir, key)))));
}

/** The documents of `index` as id → parsed source and version. */
function stored(server: OpenSearchServer, index: string) {
  return [...server.documents(index)].map(([id, doc]) => ({
    id,
    source: doc.source,
    version: doc.version,
  }));
}

describe('OpenSearch destination', () => {
  it('delivers to the cluster a DomainARN maps to, with basic auth, and describes the stream without credentials', async () => {
    const server = await openSearch({ auth: { username: 'firehose', password: 'pa55-w0rd-e2e' } });
    const endpoints = JSON.stringify({
      endpoints: [
        { domainArn: DOMAIN, url: server.url, username: 'firehose', password: 'pa55-w0rd-e2e' },
      ],
    });
    const sluice = await startInProcess(
      cleanups,
      sluiceEnv({ SLUICE_OPENSEARCH_ENDPOINTS: endpoints }),
    );
    const client = firehoseClient(cleanups, sluice);
    const config = destination(server, {
      ClusterEndpoint: undefined,
      DomainARN: DOMAIN,
      IndexRotationPeriod: 'OneDay',
    });
    const stream = await createStream(client, config);
    const sent = docs('auth', 20);
    await put(client, stream, sent);
    await waitForDrain(stream, sluice);

    const day = new Date().toISOString().slice(0, 10);
    const index = `${config.IndexName}-${day}`;
    const documents = stored(server, index);
    expect(documents.map((d) => JSON.stringify(d.source)).sort()).toEqual(
      sent.map((s) => s.trimEnd()).sort(),
    );
    // FIREHOSE_DEFAULT: ids of one batch share its base, and run through its positions.
    const bases = new Set(documents.map((d) => d.id.replace(/-\d+$/u, '')));
    expect(bases.size).toBe(1);
    expect(documents.map((d) => Number(d.id.replace(/^.*-/u, ''))).sort((a, b) => a - b)).toEqual(
      sent.map((_, i) => i),
    );
    expect(documents.every((d) => d.version === 1)).toBe(true);

    const description = await client.send(
      new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream }),
    );
    const described = description.DeliveryStreamDescription?.Destinations?.[0];
    expect(described?.AmazonopensearchserviceDestinationDescription).toMatchObject({
      DomainARN: DOMAIN,
      IndexName: config.IndexName,
      IndexRotationPeriod: 'OneDay',
      S3BackupMode: 'FailedDocumentsOnly',
      DocumentIdOptions: { DefaultDocumentIdFormat: 'FIREHOSE_DEFAULT' },
      RetryOptions: { DurationInSeconds: 60 },
    });
    expect(JSON.stringify(description)).not.toContain('pa55-w0rd-e2e');
    expect(sluice.logs()).not.toContain('pa55-w0rd-e2e');
  });

  it('refuses a DomainARN SLUICE_OPENSEARCH_ENDPOINTS does not map, at CreateDeliveryStream', async () => {
    const server = await openSearch();
    const sluice = await startInProcess(cleanups, sluiceEnv());
    const client = firehoseClient(cleanups, sluice);
    const error = await createStream(
      client,
      destination(server, { ClusterEndpoint: undefined, DomainARN: DOMAIN }),
    ).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe('InvalidArgumentException');
    expect(error?.message).toContain(`DomainARN ${DOMAIN} is not mapped to an endpoint`);
    expect(error?.message).toContain('SLUICE_OPENSEARCH_ENDPOINTS');
  });

  it('retries the documents of a 429 storm alone, under their ids, until the cluster takes them: nothing duplicated', async () => {
    const server = await openSearch();
    const sluice = await startInProcess(cleanups, sluiceEnv());
    const client = firehoseClient(cleanups, sluice);
    const config = destination(server);
    const stream = await createStream(client, config);
    // Every other item of the first request, then all items of the next two, are throttled.
    server.faults.scriptItems(
      ...Array.from({ length: 50 }, (_, i): 'ok' | 429 => (i % 2 === 0 ? 'ok' : 429)),
    );
    server.faults.failItems(50, 429);
    const sent = docs('storm', 50);
    await put(client, stream, sent);
    await waitForDrain(stream, sluice);

    const index = config.IndexName ?? '';
    const documents = stored(server, index);
    expect(documents).toHaveLength(50);
    expect(
      documents.every((d) => d.version === 1),
      'no document written twice',
    ).toBe(true);
    const requests = server.bulkRequests();
    const [first, ...retries] = requests;
    expect(first?.items).toHaveLength(50);
    // The retries carry only the throttled documents, with the ids they had.
    const throttledIds = new Set(first?.items.filter((i) => i.status === 429).map((i) => i.id));
    expect(throttledIds.size).toBe(25);
    for (const request of retries) {
      for (const item of request.items) expect(throttledIds.has(item.id)).toBe(true);
    }
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(await errorOutput(config)).toEqual([]);
    expect(await streamState(redis, stream)).toMatchObject({ dead: 0, deliveredBatches: 1 });
  });

  it('writes mapping errors to the error output at once with esDocumentId and esIndexName, retries 5xx items, delivers the rest', async () => {
    const server = await openSearch();
    const sluice = await startInProcess(cleanups, sluiceEnv());
    const client = firehoseClient(cleanups, sluice);
    const config = destination(server, { IndexRotationPeriod: 'OneHour' });
    const stream = await createStream(client, config);
    // A mapping is made by the first document: n is a number. Record 2 sends a string there.
    const sent = [
      '{"id":"a","n":1}\n',
      '{"id":"b","n":2}\n',
      '{"id":"c","n":"not a number"}\n',
      'not json at all\n',
      '{"id":"e","n":5}\n',
      'two\nlines',
    ];
    server.faults.scriptItems('ok', 503);
    await put(client, stream, sent);
    await waitForDrain(stream, sluice);

    const objects = await errorOutput(config);
    const lines = objects.flatMap((o) => o.lines);
    const records = objects.flatMap((o) => o.records);
    expect(records.map((r) => r.rawData.toString()).sort()).toEqual(
      [sent[2], sent[3], sent[5]].sort(),
    );
    const byData = new Map(
      lines.map((l) => [Buffer.from(String(l.rawData), 'base64').toString(), l]),
    );
    const hour = new Date().toISOString().slice(0, 13).replace('T', '-');
    const index = `${config.IndexName}-${hour}`;
    const mapping = byData.get(sent[2] as string);
    expect(mapping).toMatchObject({
      attemptsMade: 1,
      errorCode: 'OS.MapperParsingException',
      esIndexName: index,
      esTypeName: null,
    });
    expect(String(mapping?.esDocumentId)).toMatch(/^[A-Za-z0-9_-]{22}-2$/u);
    expect(String(mapping?.errorMessage)).toContain('mapper_parsing_exception');
    expect(byData.get(sent[3] as string)).toMatchObject({ errorCode: 'OS.MapperParsingException' });
    expect(byData.get(sent[5] as string)).toMatchObject({
      errorCode: 'OS.MalformedData',
      esDocumentId: expect.stringMatching(/-5$/u) as unknown,
    });
    expect(objects.every((o) => o.key.startsWith('AmazonOpenSearchService-failed/'))).toBe(true);
    const documents = stored(server, index);
    expect(documents.map((d) => (d.source as { id: string }).id).sort()).toEqual(['a', 'b', 'e']);
    expect(documents.every((d) => d.version === 1)).toBe(true);
    expect(await streamState(redis, stream)).toMatchObject({ dead: 0, backlogRecords: 0 });
  });

  it('writes every record to the S3 configuration with AllDocuments, besides delivering it', async () => {
    const server = await openSearch();
    const sluice = await startInProcess(cleanups, sluiceEnv());
    const client = firehoseClient(cleanups, sluice);
    const config = destination(server, {
      S3BackupMode: 'AllDocuments',
      S3Configuration: {
        RoleARN: ROLE,
        BucketARN: `arn:aws:s3:::${uniqueName('os-backup').toLowerCase().replaceAll('_', '-')}`,
        Prefix: 'backup/',
      },
    });
    const stream = await createStream(client, config);
    const sent = docs('backup', 10);
    await put(client, stream, sent);
    await waitForDrain(stream, sluice);

    expect(stored(server, config.IndexName ?? '')).toHaveLength(10);
    const bucket = (config.S3Configuration?.BucketARN ?? '').replace('arn:aws:s3:::', '');
    const dir = join(dataDir, 's3', bucket);
    const keys = await listObjects(dir);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^backup\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/opensearch/u);
    expect((await readFile(join(dir, keys[0] as string))).toString()).toBe(sent.join(''));
  });

  it('with a wrong password, retries (OS.AuthenticationFailed) and then writes the records to the error output, never showing the password', async () => {
    const server = await openSearch({ auth: { username: 'firehose', password: 'right-password' } });
    const endpoints = JSON.stringify({
      endpoints: [{ url: server.url, username: 'firehose', password: 'wrong-pa55word' }],
    });
    const sluice = await startInProcess(
      cleanups,
      sluiceEnv({ SLUICE_OPENSEARCH_ENDPOINTS: endpoints }),
    );
    const client = firehoseClient(cleanups, sluice);
    const config = destination(server, { RetryOptions: { DurationInSeconds: 1 } });
    const stream = await createStream(client, config);
    const sent = docs('password', 3);
    await put(client, stream, sent);
    const objects = await eventually('the error output', async () => {
      const found = await errorOutput(config);
      const state = await streamState(redis, stream);
      return found.length > 0 && state.backlogRecords === 0 ? found : undefined;
    });
    const lines = objects.flatMap((o) => o.lines);
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(line.errorCode).toBe('OS.AuthenticationFailed');
      expect(String(line.errorMessage)).toMatch(/401/u);
      expect(String(line.errorMessage)).toMatch(/retry window of 1 s ended after \d+ attempts/u);
      expect(Number(line.attemptsMade)).toBeGreaterThanOrEqual(2);
    }
    expect(JSON.stringify(lines)).not.toContain('wrong-pa55word');
    expect(sluice.logs()).not.toContain('wrong-pa55word');
    expect(server.bulkRequests().every((r) => r.status === 401)).toBe(true);
    expect(server.documents(config.IndexName ?? '').size).toBe(0);
  });

  it('lets the cluster make ids with NO_DOCUMENT_ID', async () => {
    const server = await openSearch();
    const sluice = await startInProcess(cleanups, sluiceEnv());
    const client = firehoseClient(cleanups, sluice);
    const config = destination(server, {
      DocumentIdOptions: { DefaultDocumentIdFormat: 'NO_DOCUMENT_ID' },
    });
    const stream = await createStream(client, config);
    await put(client, stream, docs('generated', 5));
    await waitForDrain(stream, sluice);
    const [request] = server.bulkRequests();
    expect(request?.items.every((i) => i.idGenerated)).toBe(true);
    expect(stored(server, config.IndexName ?? '')).toHaveLength(5);
  });

  it(
    'after a SIGKILL in the middle of a delivery and a restart, indexes every document once, under the same ids',
    async () => {
      const server = await openSearch();
      const env = sluiceEnv({ SLUICE_RETRY_BASE_MS: '200' });
      const first = await startChild(cleanups, env);
      const client = firehoseClient(cleanups, first);
      const config = destination(server);
      const stream = await createStream(client, config);
      // The cluster indexes each bulk at once and answers 3 s later: the kill lands in between.
      server.faults.slow(3_000, { count: 1, applyFirst: true });
      const sent = docs('crash', 200);
      await put(client, stream, sent);
      await eventually(
        'the bulk request to be applied',
        () => server.documents(config.IndexName ?? '').size === 200,
        {
          timeoutMs: 20_000,
        },
      );
      await first.kill();
      expect((await streamState(redis, stream)).backlogRecords).toBe(200);
      const idsBefore = new Map(
        stored(server, config.IndexName ?? '').map((d) => [d.id, d.source]),
      );

      const second = await startChild(cleanups, env);
      await waitForDrain(stream, second, 75_000);
      const after = stored(server, config.IndexName ?? '');
      expect(after).toHaveLength(200);
      // The same ids, each document written again once (version 2): overwritten, not added.
      expect(new Map(after.map((d) => [d.id, d.source]))).toEqual(idsBefore);
      expect(after.every((d) => d.version === 2)).toBe(true);
      const requests = server.bulkRequests();
      expect(requests).toHaveLength(2);
      expect(requests[1]?.items.map((i) => i.id)).toEqual(requests[0]?.items.map((i) => i.id));
      expect(requests[0]?.items[0]?.id).toMatch(/^[A-Za-z0-9_-]{22}-0$/u);
    },
    PROCESS_TEST_MS,
  );
});
