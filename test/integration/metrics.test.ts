import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  CreateDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  FirehoseClient,
  ListDeliveryStreamsCommand,
  PutRecordCommand,
} from '@aws-sdk/client-firehose';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';

import { loadSettings } from '../../src/config/env.js';
import { startService, type Service } from '../../src/service.js';
import {
  cleanupAfterAll,
  eventually,
  FAST,
  putRecordBatch,
  s3Destination,
  startRedis,
  tempDir,
} from '../support/e2e.js';
import { freePort } from '../support/free-port.js';
import { startHttpReceiver } from '../support/http-receiver.js';
import {
  matching,
  parseExposition,
  sampleValue,
  sumOf,
  type Exposition,
} from '../support/prometheus-text.js';
import { uniqueName } from '../support/unique.js';

/**
 * `/metrics` across processes: three Sluice services share one Redis — `all` and `api` with
 * the API (the `api` one requiring signatures), and a `worker` serving metrics on its own
 * port — and traffic of known size goes in through both APIs. Whichever process is scraped,
 * the durable series must be the deployment's exact totals.
 */
describe('metrics of several processes', () => {
  const suite = cleanupAfterAll();
  const ROLE_ALL = 'all';
  let all: Service;
  let api: Service;
  let worker: Service;
  let workerMetricsUrl: string;
  let dataDir: string;
  let viaAll: FirehoseClient;
  let viaApi: FirehoseClient;

  beforeAll(async () => {
    const redisServer = await startRedis(suite);
    dataDir = await tempDir(suite, 'sluice-metrics-');
    const receiverFailing = await startHttpReceiver();
    suite.add(() => receiverFailing.close());
    receiverFailing.always({ kind: 'status', status: 500, errorMessage: 'down on purpose' });
    failingUrl = receiverFailing.url;
    const base = {
      ...FAST,
      SLUICE_REDIS_URL: redisServer.url,
      SLUICE_DATA_DIR: dataDir,
      SLUICE_HOST: '127.0.0.1',
      SLUICE_PORT: '0',
      SLUICE_MAX_BACKLOG_MB: '1',
      SLUICE_TRANSFORM_WORKERS: '1',
    };
    const log = pino({ level: 'silent' });
    all = await startService(loadSettings({ ...base, SLUICE_ROLE: ROLE_ALL }), log);
    suite.add(() => all.stop());
    api = await startService(
      loadSettings({
        ...base,
        SLUICE_ROLE: 'api',
        SLUICE_ACCESS_KEYS: 'AKIDMETRICS:metrics-secret',
      }),
      log,
    );
    suite.add(() => api.stop());
    const metricsPort = await freePort();
    worker = await startService(
      loadSettings({ ...base, SLUICE_ROLE: 'worker', SLUICE_METRICS_PORT: String(metricsPort) }),
      log,
    );
    suite.add(() => worker.stop());
    workerMetricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    viaAll = client(all.url!, { accessKeyId: 'any', secretAccessKey: 'any' });
    viaApi = client(api.url!, { accessKeyId: 'AKIDMETRICS', secretAccessKey: 'metrics-secret' });
  });

  let failingUrl: string;

  function client(
    endpoint: string,
    credentials: { accessKeyId: string; secretAccessKey: string },
  ): FirehoseClient {
    const firehose = new FirehoseClient({
      endpoint,
      region: 'us-east-1',
      credentials,
      maxAttempts: 1,
    });
    suite.add(() => firehose.destroy());
    return firehose;
  }

  /** The three scrape targets. */
  function targets(): { name: string; url: string }[] {
    return [
      { name: 'all', url: `${all.url!}/metrics` },
      { name: 'api', url: `${api.url!}/metrics` },
      { name: 'worker', url: workerMetricsUrl },
    ];
  }

  async function scrape(url: string): Promise<Exposition> {
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(await response.text());
  }

  /**
   * Waits until every process's scrape passes `check` (other processes write their counts
   * once a second), then returns the scrapes.
   */
  async function everyScrape(
    what: string,
    stream: string,
    check: (exposition: Exposition) => boolean,
  ): Promise<Map<string, Exposition>> {
    let last = new Map<string, Exposition>();
    return eventually(
      what,
      async () => {
        last = new Map();
        for (const target of targets()) last.set(target.name, await scrape(target.url));
        return [...last.values()].every(check) ? last : undefined;
      },
      {
        state: () =>
          [...last]
            .map(([name, e]) => {
              const series = e.samples.filter((s) => s.labels.stream === stream && !s.labels.le);
              return `${name}: ${series.map((s) => `${s.name}${JSON.stringify(s.labels)} ${s.value}`).join(', ')}`;
            })
            .join('\n'),
      },
    );
  }

  it('counts records, bytes and requests put through two APIs and delivered by two workers', async () => {
    const stream = uniqueName('metrics-s3');
    await viaAll.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: stream,
        ExtendedS3DestinationConfiguration: s3Destination('metrics-bucket', {
          BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
          Prefix: `${stream}/`,
          ErrorOutputPrefix: `${stream}-errors/`,
        }),
      }),
    );
    let bytes = 0;
    for (let request = 0; request < 3; request += 1) {
      const records = Array.from(
        { length: 10 },
        (_, i) => `{"via":"all","n":${request * 10 + i}}\n`,
      );
      bytes += records.reduce((sum, r) => sum + Buffer.byteLength(r), 0);
      const result = await putRecordBatch(viaAll, stream, records);
      expect(result.FailedPutCount).toBe(0);
    }
    for (let i = 0; i < 4; i += 1) {
      const data = `{"via":"api","n":${i},"pad":"${'x'.repeat(i * 7)}"}\n`;
      bytes += Buffer.byteLength(data);
      await viaApi.send(
        new PutRecordCommand({ DeliveryStreamName: stream, Record: { Data: Buffer.from(data) } }),
      );
    }
    const records = 34;
    const labels = { stream };
    const scrapes = await everyScrape(
      `34 records of ${stream} counted as delivered by every process`,
      stream,
      (e) =>
        sampleValue(e, 'sluice_delivery_records_total', { stream, destination: 'S3' }) ===
          records && sampleValue(e, 'sluice_backlog_records', labels) === 0,
    );
    for (const [name, e] of scrapes) {
      const where = `scrape of ${name}`;
      expect(sampleValue(e, 'sluice_incoming_records_total', labels), where).toBe(records);
      expect(sampleValue(e, 'sluice_incoming_bytes_total', labels), where).toBe(bytes);
      expect(sampleValue(e, 'sluice_incoming_put_requests_total', labels), where).toBe(7);
      expect(sampleValue(e, 'sluice_throttled_records_total', labels), where).toBeUndefined();
      expect(
        sampleValue(e, 'sluice_delivery_bytes_total', { stream, destination: 'S3' }),
        where,
      ).toBe(bytes);
      expect(sampleValue(e, 'sluice_batches_completed_records_total', labels), where).toBe(records);
      expect(sampleValue(e, 'sluice_batches_completed_bytes_total', labels), where).toBe(bytes);
      expect(sampleValue(e, 'sluice_backlog_bytes', labels), where).toBe(0);
      expect(sumOf(e, 'sluice_delivery_failed_records_total', labels), where).toBe(0);
      expect(sampleValue(e, 'sluice_dead_set_batches', labels), where).toBe(0);
      expect(sampleValue(e, 'sluice_open_buffer_age_seconds', labels), where).toBe(0);
      // Every delivery is one observation of the freshness histogram; the last bucket has all.
      const successes = sampleValue(e, 'sluice_delivery_success_total', {
        stream,
        destination: 'S3',
      });
      expect(successes, where).toBeGreaterThan(0);
      expect(
        sampleValue(e, 'sluice_delivery_data_freshness_seconds_count', {
          stream,
          destination: 'S3',
        }),
        where,
      ).toBe(successes);
      expect(
        sampleValue(e, 'sluice_delivery_data_freshness_seconds_bucket', {
          stream,
          destination: 'S3',
          le: '+Inf',
        }),
        where,
      ).toBe(successes);
      expect(sampleValue(e, 'sluice_redis_up'), where).toBe(1);
      expect(sampleValue(e, 'sluice_streams'), where).toBeGreaterThanOrEqual(1);
    }
    // What the store holds is what the counters say was delivered.
    const objects = await filesUnder(join(dataDir, 's3', 'metrics-bucket', stream));
    const stored = (await Promise.all(objects.map((f) => readFile(f)))).map((b) => b.toString());
    expect(stored.join('').split('\n').filter(Boolean)).toHaveLength(records);
    expect(stored.reduce((sum, text) => sum + Buffer.byteLength(text), 0)).toBe(bytes);
  });

  it('counts records an endpoint refused, given up to the error output', async () => {
    const stream = uniqueName('metrics-http');
    await viaApi.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: stream,
        HttpEndpointDestinationConfiguration: {
          EndpointConfiguration: { Url: failingUrl, Name: 'failing receiver' },
          BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
          RetryOptions: { DurationInSeconds: 0 },
          S3Configuration: {
            RoleARN: 'arn:aws:iam::000000000000:role/firehose',
            BucketARN: 'arn:aws:s3:::metrics-failed',
          },
        },
      }),
    );
    for (let request = 0; request < 2; request += 1) {
      const result = await putRecordBatch(
        viaApi,
        stream,
        Array.from({ length: 5 }, (_, i) => `event ${request}-${i}\n`),
      );
      expect(result.FailedPutCount).toBe(0);
    }
    const scrapes = await everyScrape(
      `10 records of ${stream} in the error output`,
      stream,
      (e) =>
        sampleValue(e, 'sluice_error_output_records_total', {
          stream,
          type: 'http-endpoint-failed',
        }) === 10 && sampleValue(e, 'sluice_backlog_records', { stream }) === 0,
    );
    for (const [name, e] of scrapes) {
      const where = `scrape of ${name}`;
      const failed = matching(e, 'sluice_delivery_failed_records_total', { stream });
      expect(failed.length, where).toBeGreaterThan(0);
      for (const sample of failed) {
        expect(sample.labels, where).toMatchObject({
          destination: 'HttpEndpoint',
          stage: 'delivery',
          retrying: 'false',
        });
      }
      expect(sumOf(e, 'sluice_delivery_failed_records_total', { stream }), where).toBe(10);
      expect(sumOf(e, 'sluice_delivery_retries_total', { stream }), where).toBe(0);
      expect(sumOf(e, 'sluice_delivery_records_total', { stream }), where).toBe(0);
      expect(sumOf(e, 'sluice_error_output_objects_total', { stream }), where).toBeGreaterThan(0);
      expect(sampleValue(e, 'sluice_incoming_records_total', { stream }), where).toBe(10);
      expect(sampleValue(e, 'sluice_batches_completed_records_total', { stream }), where).toBe(10);
    }
  });

  it('counts throttled records exactly, and the backlog they ran into', async () => {
    const stream = uniqueName('metrics-throttle');
    await viaAll.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: stream,
        // Never sealed during the test: the backlog only grows, up to SLUICE_MAX_BACKLOG_MB.
        ExtendedS3DestinationConfiguration: s3Destination('metrics-bucket', {
          BufferingHints: { SizeInMBs: 128, IntervalInSeconds: 900 },
        }),
      }),
    );
    const record = 'y'.repeat(50_000);
    let accepted = 0;
    let throttled = 0;
    for (let request = 0; request < 40 && throttled < 15; request += 1) {
      const via = request % 2 === 0 ? viaAll : viaApi;
      const result = await putRecordBatch(
        via,
        stream,
        Array.from({ length: 5 }, () => record),
      );
      if (result.FailedPutCount === 0) accepted += 5;
      else throttled += result.FailedPutCount ?? 0;
    }
    expect(throttled).toBeGreaterThan(0);
    const scrapes = await everyScrape(
      `${throttled} throttled records of ${stream}`,
      stream,
      (e) => sampleValue(e, 'sluice_throttled_records_total', { stream }) === throttled,
    );
    for (const [name, e] of scrapes) {
      const where = `scrape of ${name}`;
      expect(sampleValue(e, 'sluice_incoming_records_total', { stream }), where).toBe(accepted);
      expect(sampleValue(e, 'sluice_backlog_records', { stream }), where).toBe(accepted);
      expect(sampleValue(e, 'sluice_backlog_bytes', { stream }), where).toBe(accepted * 50_000);
      expect(sampleValue(e, 'sluice_backlog_stored_bytes', { stream }), where).toBeLessThanOrEqual(
        1024 * 1024,
      );
      expect(sampleValue(e, 'sluice_backlog_limit_bytes'), where).toBe(1024 * 1024);
      expect(sampleValue(e, 'sluice_open_buffer_age_seconds', { stream }), where).toBeGreaterThan(
        0,
      );
    }
  });

  it('counts what a transform did, and times it in the process that ran it', async () => {
    const stream = uniqueName('metrics-transform');
    await viaAll.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: stream,
        ExtendedS3DestinationConfiguration: s3Destination('metrics-bucket', {
          BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
          Prefix: `${stream}/`,
          ErrorOutputPrefix: `${stream}-errors/`,
          ProcessingConfiguration: {
            Enabled: true,
            Processors: [
              {
                Type: 'Lambda',
                Parameters: [
                  {
                    ParameterName: 'LambdaArn',
                    ParameterValue: 'sluice:transform:filter-enrich-json',
                  },
                ],
              },
            ],
          },
        }),
      }),
    );
    const input = [
      '{"level":"info","msg":"a"}',
      '{"level":"WARNING","msg":"b"}',
      '{"level":"debug","msg":"c"}',
      '{"level":"error","msg":"d"}',
      'not json',
      '{"level":"trace","msg":"e"}',
    ];
    expect((await putRecordBatch(viaApi, stream, input)).FailedPutCount).toBe(0);
    const scrapes = await everyScrape(
      `the transformed records of ${stream} delivered`,
      stream,
      (e) =>
        sampleValue(e, 'sluice_delivery_records_total', { stream, destination: 'S3' }) === 3 &&
        sampleValue(e, 'sluice_error_output_records_total', {
          stream,
          type: 'processing-failed',
        }) === 1,
    );
    const objects = await filesUnder(join(dataDir, 's3', 'metrics-bucket', stream));
    const delivered = (await Promise.all(objects.map((f) => readFile(f)))).reduce(
      (sum, b) => sum + b.length,
      0,
    );
    for (const [name, e] of scrapes) {
      const where = `scrape of ${name}`;
      expect(sampleValue(e, 'sluice_processing_input_records_total', { stream }), where).toBe(6);
      expect(sampleValue(e, 'sluice_processing_succeeded_records_total', { stream }), where).toBe(
        3,
      );
      expect(sampleValue(e, 'sluice_processing_dropped_records_total', { stream }), where).toBe(2);
      expect(sampleValue(e, 'sluice_processing_failed_records_total', { stream }), where).toBe(1);
      expect(sampleValue(e, 'sluice_processing_succeeded_bytes_total', { stream }), where).toBe(
        delivered,
      );
      expect(
        sampleValue(e, 'sluice_delivery_bytes_total', { stream, destination: 'S3' }),
        where,
      ).toBe(delivered);
      expect(
        sampleValue(e, 'sluice_processing_invocations_total', { stream }),
        where,
      ).toBeGreaterThan(0);
      expect(sampleValue(e, 'sluice_batches_processed_total', { stream }), where).toBe(1);
      expect(sampleValue(e, 'sluice_active_partitions', { stream }), where).toBe(0);
    }
    // Timings are the process's own: the api process ran no transform.
    const timed = (name: string) =>
      sampleValue(scrapes.get(name)!, 'sluice_processing_duration_seconds_count', { stream }) ?? 0;
    expect(timed('api')).toBe(0);
    expect(timed('all') + timed('worker')).toBeGreaterThan(0);
  });

  it("labels each process's own metrics with its role", async () => {
    for (const target of targets()) {
      const e = await scrape(target.url);
      const role = target.name === 'all' ? ROLE_ALL : target.name;
      expect(sampleValue(e, 'process_cpu_user_seconds_total'), target.name).toBeGreaterThan(0);
      expect(matching(e, 'process_cpu_user_seconds_total')[0]?.labels).toEqual({ role });
      expect(matching(e, 'nodejs_eventloop_lag_seconds')).toHaveLength(1);
      // The deployment's series carry no role: they are the same from every process.
      for (const sample of matching(e, 'sluice_incoming_records_total')) {
        expect(sample.labels.role).toBeUndefined();
      }
    }
  });

  it("times the API's answers per operation and outcome, in the process that answered", async () => {
    const count = (e: Exposition, operation: string, outcome: string) =>
      sampleValue(e, 'sluice_api_request_duration_seconds_count', { operation, outcome }) ?? 0;
    const before = await scrape(`${api.url!}/metrics`);
    const stream = uniqueName('metrics-timing');
    // Through the signing API: 3 ListDeliveryStreams, 2 DescribeDeliveryStream of a stream
    // that does not exist, 1 unsigned request, 2 made-up targets.
    for (let i = 0; i < 3; i += 1) await viaApi.send(new ListDeliveryStreamsCommand({}));
    for (let i = 0; i < 2; i += 1) {
      await expect(
        viaApi.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream })),
      ).rejects.toThrow(/not found/);
    }
    const post = (target: string) =>
      fetch(api.url!, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target },
        body: '{}',
      });
    expect((await post('Firehose_20150804.ListDeliveryStreams')).status).toBe(400);
    expect((await post('Firehose_20150804.MadeUp1')).status).toBe(400);
    expect((await post(`Firehose_20150804.${'x'.repeat(300)}`)).status).toBe(400);
    const after = await scrape(`${api.url!}/metrics`);
    const delta = (operation: string, outcome: string) =>
      count(after, operation, outcome) - count(before, operation, outcome);
    expect(delta('ListDeliveryStreams', 'ok')).toBe(3);
    expect(delta('DescribeDeliveryStream', 'ResourceNotFoundException')).toBe(2);
    expect(delta('ListDeliveryStreams', 'MissingAuthenticationTokenException')).toBe(1);
    // Made-up targets share one series (unsigned: refused before their operation is looked
    // up): labels come from closed sets only.
    expect(delta('unknown', 'MissingAuthenticationTokenException')).toBe(2);
    const operations = new Set(
      matching(after, 'sluice_api_request_duration_seconds_count').map((s) => s.labels.operation),
    );
    expect([...operations].every((o) => o === 'unknown' || /^[A-Z][A-Za-z]+$/.test(o!))).toBe(true);
    // Each observation landed in the histogram's buckets, with the process's role.
    const sample = matching(after, 'sluice_api_request_duration_seconds_bucket').find(
      (s) => s.labels.operation === 'ListDeliveryStreams' && s.labels.le === '+Inf',
    );
    expect(sample?.labels.role).toBe('api');
    expect(sample?.value).toBe(count(after, 'ListDeliveryStreams', 'ok'));
  });

  it('serves /metrics without a signature where every other request needs one', async () => {
    const response = await fetch(`${api.url!}/metrics`);
    expect(response.status).toBe(200);
    const unsigned = await fetch(api.url!, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'Firehose_20150804.ListDeliveryStreams',
      },
      body: '{}',
    });
    expect(unsigned.status).toBe(400);
    // The worker's metrics port serves its probes too, and nothing else.
    expect((await fetch(workerMetricsUrl.replace('/metrics', '/'))).status).toBe(404);
    expect((await fetch(workerMetricsUrl.replace('/metrics', '/health'))).status).toBe(200);
    const ready = await fetch(workerMetricsUrl.replace('/metrics', '/ready'));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { redis: 'ok', deliveryWorkers: 'ok', shutdown: 'ok' },
    });
  });
});

describe('SLUICE_METRICS=false', () => {
  const suite = cleanupAfterAll();

  it('serves no /metrics, on the API port nor on SLUICE_METRICS_PORT (which keeps the probes)', async () => {
    const redisServer = await startRedis(suite);
    const dataDir = await tempDir(suite, 'sluice-metrics-off-');
    const metricsPort = await freePort();
    const service = await startService(
      loadSettings({
        ...FAST,
        SLUICE_REDIS_URL: redisServer.url,
        SLUICE_DATA_DIR: dataDir,
        SLUICE_PORT: '0',
        SLUICE_ROLE: 'api',
        SLUICE_METRICS: 'false',
        SLUICE_METRICS_PORT: String(metricsPort),
      }),
      pino({ level: 'silent' }),
    );
    suite.add(() => service.stop());
    const response = await fetch(`${service.url!}/metrics`);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('UnknownOperationException');
    expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/health`)).status).toBe(200);
  });
});

/** Every file under `dir`, recursively; none when it does not exist. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}
