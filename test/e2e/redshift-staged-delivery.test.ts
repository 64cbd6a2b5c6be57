import { gunzipSync } from 'node:zlib';

import {
  type FirehoseClient,
  type RedshiftDestinationConfiguration,
} from '@aws-sdk/client-firehose';
import { beforeAll, describe, expect, it } from 'vitest';

import { readErrorObject, ROLE_ARN } from '../conformance/destination-harness.js';
import {
  firehoseClient,
  startInProcess,
  type SluiceUnderTest,
} from '../conformance/sluice-under-test.js';
import { endedAttempts, streamState } from '../conformance/stream-state.js';
import { eventually, UUID } from '../support/e2e.js';
import {
  createRedshiftStream,
  jsonLine as json,
  putAccepted as put,
} from '../support/firehose-stream.js';
import { testSchema } from '../support/postgres.js';
import { postgresE2eSuite } from '../support/postgres-e2e-suite.js';
import { startRedshiftStandin, type RedshiftStandin } from '../support/redshift-standin.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import { uniqueName } from '../support/unique.js';

/**
 * The Redshift destination's staged path (`jdbc:redshift://`, Firehose's) end to end, driven
 * through the Firehose API: each batch staged as an object and a manifest in the intermediate
 * bucket (s3rver), loaded by `COPY … FROM '<manifest>' … MANIFEST` through the Redshift
 * stand-in (which reads the manifest and objects from s3rver and loads the shared PostgreSQL),
 * in one transaction with the ledger row. Shown: the exact COPY, object and manifest; a load
 * whose COMMIT answer is lost answered from the ledger, not loaded again; a load cut before
 * its COMMIT loaded once by the retry; a missing object retried as Redshift.MissingS3File; and
 * a batch that cannot load leaving its manifest under errors/ once RetryOptions ends.
 */

const suite = postgresE2eSuite();
const { file, cleanups, drained } = suite;
let s3: S3Server;

beforeAll(async () => {
  s3 = await startS3Server({ dirPrefix: 'sluice-redshift-s3-' });
  file.add(() => s3.stop());
}, 120_000);

/** The stand-in in front of the shared PostgreSQL, reading objects from s3rver. */
async function standin(): Promise<RedshiftStandin> {
  const started = await startRedshiftStandin(suite.db.host, suite.db.port, async (bucket, key) => {
    try {
      return (await s3.getObject(bucket, key)).body;
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  });
  cleanups.add(() => started.close());
  return started;
}

async function sluice(): Promise<SluiceUnderTest> {
  return startInProcess(cleanups, {
    SLUICE_REDIS_URL: suite.redisServer.url,
    ...s3.sluiceEnv,
    // Not zlib's default, so that the staged objects show the setting reached them.
    SLUICE_GZIP_LEVEL: '9',
  });
}

async function bucket(): Promise<string> {
  const name = uniqueName('rs-staged').toLowerCase();
  await s3.createBucket(name);
  return name;
}

/** A staged destination loading `table` through the stand-in at `port`. */
function destination(
  port: number,
  table: string,
  intermediate: string,
  overrides: Partial<RedshiftDestinationConfiguration> = {},
): RedshiftDestinationConfiguration {
  return {
    RoleARN: ROLE_ARN,
    ClusterJDBCURL: `jdbc:redshift://127.0.0.1:${port}/${suite.db.database}`,
    CopyCommand: {
      DataTableName: table,
      DataTableColumns: 'id, name',
      CopyOptions: "JSON 'auto' TIMEFORMAT 'auto'",
    },
    Username: suite.db.user,
    Password: suite.db.password || 'trust-ignores-it',
    RetryOptions: { DurationInSeconds: 60 },
    S3Configuration: {
      RoleARN: ROLE_ARN,
      BucketARN: `arn:aws:s3:::${intermediate}`,
      Prefix: 'staging/',
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
    },
    ...overrides,
  };
}

const createStream = (client: FirehoseClient, config: RedshiftDestinationConfiguration) =>
  createRedshiftStream(client, config, 'rs');

/** What {@link stagedStream} sets up, besides the defaults. */
interface StagedStreamOptions {
  /** The table's name in its schema (`t`) and its columns (`id integer, name text`). */
  name?: string;
  columns?: string;
  /** Readies the stand-in before Sluice starts. */
  arrange?: (proxy: RedshiftStandin) => void;
  /** Changes to the stream's destination, given the qualified table and intermediate bucket. */
  overrides?: (table: string, intermediate: string) => Partial<RedshiftDestinationConfiguration>;
}

/**
 * A table in a schema of its own, the stand-in in front of it, a Sluice, and a stream loading
 * the table through the stand-in with an intermediate bucket of its own.
 */
async function stagedStream(options: StagedStreamOptions = {}) {
  const { name = 't', columns = 'id integer, name text' } = options;
  const schema = await testSchema(cleanups, suite.db);
  const table = `${schema}.${name}`;
  await suite.db.pool.query(`CREATE TABLE ${table} (${columns})`);
  const proxy = await standin();
  options.arrange?.(proxy);
  const running = await sluice();
  const client = firehoseClient(cleanups, running);
  const intermediate = await bucket();
  const stream = await createStream(
    client,
    destination(proxy.port, table, intermediate, options.overrides?.(table, intermediate)),
  );
  return { schema, table, proxy, running, client, intermediate, stream };
}

async function ids(table: string): Promise<number[]> {
  const { rows } = await suite.db.pool.query<{ id: number }>(`SELECT id FROM ${table} ORDER BY id`);
  return rows.map((r) => r.id);
}

describe('the Redshift destination on the staged path', () => {
  it('stages the batch GZIP-compressed with its manifest and loads it by COPY … MANIFEST with the CopyOptions, once', async () => {
    const { schema, proxy, running, client, intermediate, stream } = await stagedStream({
      name: 'events',
      overrides: (table, intermediate) => ({
        CopyCommand: {
          DataTableName: table,
          DataTableColumns: 'id, name',
          CopyOptions: "JSON 'auto' GZIP",
        },
        S3Configuration: {
          RoleARN: ROLE_ARN,
          BucketARN: `arn:aws:s3:::${intermediate}`,
          Prefix: 'staging/',
          CompressionFormat: 'GZIP',
          BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
        },
      }),
    });
    const records = Array.from({ length: 25 }, (_, i) => json({ id: i, name: `n|${i}\t"x"` }));
    await put(client, stream, records);
    await drained(stream, running);

    const { rows } = await suite.db.pool.query<{ id: number; name: string }>(
      `SELECT id, name FROM ${schema}.events ORDER BY id`,
    );
    expect(rows).toEqual(records.map((_, i) => ({ id: i, name: `n|${i}\t"x"` })));

    const keys = await s3.listKeys(intermediate);
    const name = `${stream}-1-\\d{4}-\\d\\d-\\d\\d-\\d\\d-\\d\\d-\\d\\d-${UUID}`;
    const date = '\\d{4}/\\d\\d/\\d\\d/\\d\\d/';
    expect(keys).toHaveLength(2);
    const [objectKey, manifestKey] = keys as [string, string];
    expect(objectKey).toMatch(new RegExp(`^staging/${date}${name}\\.gz$`));
    expect(manifestKey).toBe(`staging/manifests/${objectKey.slice('staging/'.length, -3)}`);
    const object = await s3.getObject(intermediate, objectKey);
    expect(object.contentEncoding).toBe('gzip');
    // gzip's header (RFC 1952 XFL): 2 for deflate's smallest, SLUICE_GZIP_LEVEL 9.
    expect(object.body[8]).toBe(2);
    expect(gunzipSync(object.body).toString()).toBe(records.join(''));
    const manifest = await s3.getObject(intermediate, manifestKey);
    expect(manifest.body.toString()).toBe(
      `{"entries":[{"url":"s3://${intermediate}/${objectKey}","mandatory":true,"meta":{"content_length":${object.body.length}}}]}`,
    );

    expect(proxy.copies.map((c) => c.sql)).toEqual([
      `COPY "${schema}"."events" ("id", "name") FROM 's3://${intermediate}/${manifestKey}' CREDENTIALS 'aws_iam_role=${ROLE_ARN}' MANIFEST JSON 'auto' GZIP`,
    ]);
    expect(proxy.copies[0]?.rows).toBe(25);
    const ledger = await suite.db.pool.query(
      `SELECT stream, records, loaded FROM ${schema}.sluice_delivery_ledger`,
    );
    expect(ledger.rows).toEqual([{ stream, records: 25, loaded: 25 }]);
    expect(proxy.loads.map((l) => l.committed)).toEqual([true]);
  });

  it('hands CSV options to the COPY as written; without DataTableColumns the COPY names no columns', async () => {
    const { schema, proxy, running, client, intermediate, stream } = await stagedStream({
      name: 'csv',
      columns: 'id integer, name text, note text',
      overrides: (table) => ({
        CopyCommand: { DataTableName: table, CopyOptions: "CSV NULL AS 'NA'" },
      }),
    });
    await put(client, stream, ['1,"a, ""b""",NA\n', '2,c,"multi\nline"\n']);
    await drained(stream, running);

    const { rows } = await suite.db.pool.query(
      `SELECT id, name, note FROM ${schema}.csv ORDER BY id`,
    );
    expect(rows).toEqual([
      { id: 1, name: 'a, "b"', note: null },
      { id: 2, name: 'c', note: 'multi\nline' },
    ]);
    const [objectKey, manifestKey] = (await s3.listKeys(intermediate)) as [string, string];
    expect(objectKey).toMatch(/^staging\/\d{4}\/.*[0-9a-f]$/);
    expect(proxy.copies.map((c) => c.sql)).toEqual([
      `COPY "${schema}"."csv" FROM 's3://${intermediate}/${manifestKey}' CREDENTIALS 'aws_iam_role=${ROLE_ARN}' MANIFEST CSV NULL AS 'NA'`,
    ]);
  });

  it('when the COMMIT’s answer is lost, the retry stages the same keys again and answers from the ledger: loaded once', async () => {
    const { schema, table, proxy, running, client, intermediate, stream } = await stagedStream({
      arrange: (standinProxy) => standinProxy.cutNextCommit('after'),
    });
    const records = Array.from({ length: 10 }, (_, i) => json({ id: i, name: 'a' }));
    await put(client, stream, records);
    await drained(stream, running);

    expect(await ids(table)).toEqual(records.map((_, i) => i));
    expect(running.logs()).toContain('Redshift.ConnectionFailed');
    // The first load committed; the retry found its ledger row and claimed nothing, ran no COPY.
    expect(proxy.loads.map((l) => l.committed)).toEqual([true]);
    expect(proxy.copies).toHaveLength(1);
    const ledger = await suite.db.pool.query(
      `SELECT delivery_id, records, loaded FROM ${schema}.sluice_delivery_ledger`,
    );
    expect(ledger.rows).toEqual([{ delivery_id: proxy.loads[0]?.key, records: 10, loaded: 10 }]);
    expect(await s3.listKeys(intermediate)).toHaveLength(2);
  });

  it('when the connection is cut before the COMMIT, nothing stays loaded and the retry loads the batch once', async () => {
    const { table, proxy, running, client, intermediate, stream } = await stagedStream({
      arrange: (standinProxy) => standinProxy.cutNextCommit('before'),
    });
    const records = Array.from({ length: 10 }, (_, i) => json({ id: i, name: 'b' }));
    await put(client, stream, records);
    await drained(stream, running);

    expect(await ids(table)).toEqual(records.map((_, i) => i));
    expect(proxy.loads.map((l) => l.committed)).toEqual([false, true]);
    expect(new Set(proxy.loads.map((l) => l.key)).size).toBe(1);
    expect(proxy.copies).toHaveLength(2);
    expect(proxy.copies[0]?.sql).toBe(proxy.copies[1]?.sql);
    expect(await s3.listKeys(intermediate)).toHaveLength(2);
  });

  it('retries a COPY that finds no object as Redshift.MissingS3File, in a transaction left with nothing loaded', async () => {
    const { table, proxy, running, client, stream } = await stagedStream({
      arrange: (standinProxy) => standinProxy.hideObjects(true),
    });
    await put(client, stream, [json({ id: 1, name: 'c' }), json({ id: 2, name: 'c' })]);
    await eventually(
      '2 failed attempts',
      async () => (await endedAttempts(suite.redis, stream)) >= 2,
      {
        state: () => running.logs(),
      },
    );
    expect(running.logs()).toContain('Redshift.MissingS3File');
    expect(proxy.copies[0]?.failure).toMatch(/NoSuchKey/);
    expect(await ids(table)).toEqual([]);
    proxy.hideObjects(false);
    await drained(stream, running);
    expect(await ids(table)).toEqual([1, 2]);
    expect(proxy.loads.filter((l) => l.committed)).toHaveLength(1);
  });

  it('after RetryOptions ends for a dropped table, leaves the manifest of the skipped object under errors/ and the records in the error output', async () => {
    const { table, running, client, intermediate, stream } = await stagedStream({
      name: 'gone',
      overrides: () => ({ RetryOptions: { DurationInSeconds: 2 } }),
    });
    await suite.db.pool.query(`DROP TABLE ${table}`);
    const records = [json({ id: 1, name: 'd' }), json({ id: 2, name: 'd' })];
    await put(client, stream, records);
    const skipped = await eventually(
      'the errors/ manifest',
      async () => (await s3.listKeys(intermediate)).find((k) => k.startsWith('staging/errors/')),
      { state: () => running.logs() },
    );
    await drained(stream, running);

    const keys = await s3.listKeys(intermediate);
    const objectKey = keys.find((k) => /^staging\/\d{4}\//u.test(k)) as string;
    const name = objectKey.slice('staging/'.length);
    expect(skipped).toBe(`staging/errors/manifests/${name}`);
    expect((await s3.getObject(intermediate, skipped)).body.toString()).toBe(
      `{"entries":[{"url":"s3://${intermediate}/${objectKey}","mandatory":true}]}`,
    );
    expect((await s3.getObject(intermediate, objectKey)).body.toString()).toBe(records.join(''));
    expect(keys).toContain(`staging/manifests/${name}`);

    const errorKeys = keys.filter((k) => k.startsWith('staging/redshift-failed/'));
    expect(errorKeys).toHaveLength(1);
    const errors = readErrorObject(
      errorKeys[0] as string,
      (await s3.getObject(intermediate, errorKeys[0] as string)).body,
    );
    expect(errors.records.map((r) => r.rawData.toString())).toEqual(records);
    for (const record of errors.records) {
      expect(record.code).toBe('Redshift.TableNotFound');
      expect(record.message).toMatch(
        /relation ".*\.gone" does not exist \(the retry window of 2 s ended after \d+ attempts\)/,
      );
    }
    expect(await streamState(suite.redis, stream)).toMatchObject({ dead: 0, backlogRecords: 0 });
  });
});
