import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateDeliveryStreamCommand,
  DeleteDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  FirehoseClient,
  PutRecordBatchCommand,
  UpdateDestinationCommand,
} from '@aws-sdk/client-firehose';
import { describe, expect, it } from 'vitest';

import { loadSettings, settingSecrets } from '../../src/config/env.js';
import { startService } from '../../src/service.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { Redactor } from '../../src/telemetry/redact.js';
import { cleanupAfterEach, eventually, s3Destination, tempDir } from '../support/e2e.js';
import { startHttpReceiver } from '../support/http-receiver.js';
import { startRedisServer } from '../support/redis-server.js';
import { uniqueName } from '../support/unique.js';

/**
 * The lifecycle log lines (docs/operations.md, "Logs"): a real service in this process, its
 * logger the one main.ts makes (level from SLUICE_LOG_LEVEL, every line through the redactor)
 * writing into an array, against a private redis-server. Streams are created, updated and
 * deleted, records delivered, retried, written to the error output and dead-lettered; each
 * event must be logged once per batch or stream with its documented fields, and no record's
 * data nor any secret may appear anywhere in the log.
 */

const cleanups = cleanupAfterEach();

/** pino's numeric levels. */
const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

type LogLine = Record<string, unknown> & { level: number; msg: string; time: number };

const ACCESS_KEY_ID = 'AKIDLIFECYCLELOGS';
const ACCESS_KEY_SECRET = 'sigv4-secret-never-logged-7f3a';
/** The HTTP endpoint's AccessKey: not a setting, so the redactor does not know it. */
const ENDPOINT_ACCESS_KEY = 'endpoint-access-key-never-logged-91c2';
/** Record data that must never reach the log, raw or base64. */
const DATA_MARKERS = [
  'payload-marker-s3-4d1e',
  'payload-marker-http-88b0',
  'payload-marker-dead-c0de',
];

/** The named members of a line, for exact comparison. */
function fields(line: LogLine, ...names: string[]): Record<string, unknown> {
  return Object.fromEntries(names.map((name) => [name, line[name]]));
}

function events(lines: readonly LogLine[], event: string, stream?: string): LogLine[] {
  return lines.filter((l) => l.event === event && (stream === undefined || l.stream === stream));
}

describe('lifecycle log lines', () => {
  it('stream created/updated/deleted/drained, batch delivered (debug), retries, error output, dead-lettered: fields as documented, no data, no secrets', async () => {
    const redisServer = await startRedisServer({ appendOnly: false });
    cleanups.add(() => redisServer.stop());
    const receiver = await startHttpReceiver({ accessKey: ENDPOINT_ACCESS_KEY });
    cleanups.add(() => receiver.close());
    receiver.always({ kind: 'status', status: 500, errorMessage: 'receiver down for the test' });
    const dataDir = await tempDir(cleanups, 'sluice-logs-');
    // A file where the bucket's directory would be: every write to it fails.
    await mkdir(join(dataDir, 's3'), { recursive: true });
    await writeFile(join(dataDir, 's3', 'logs-blocked'), 'not a directory');

    const env = {
      SLUICE_REDIS_URL: redisServer.url,
      SLUICE_HOST: '127.0.0.1',
      SLUICE_PORT: '0',
      SLUICE_DATA_DIR: dataDir,
      SLUICE_LOG_LEVEL: 'debug',
      SLUICE_ACCESS_KEYS: `${ACCESS_KEY_ID}:${ACCESS_KEY_SECRET}`,
      SLUICE_RETENTION_SECONDS: '3',
      SLUICE_SEAL_TICK_MS: '50',
      SLUICE_RETRY_BASE_MS: '50',
      SLUICE_RETRY_MAX_MS: '200',
      SLUICE_SWEEP_AFTER_MS: '500',
    };
    const settings = loadSettings(env);
    const text: string[] = [];
    const log = createLogger(settings.SLUICE_LOG_LEVEL, new Redactor(settingSecrets(env)), (l) =>
      text.push(l),
    );
    const lines = (): LogLine[] =>
      text
        .join('')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as LogLine);

    const service = await startService(settings, log);
    cleanups.add(() => service.stop());
    const firehose = new FirehoseClient({
      endpoint: service.url,
      region: 'us-east-1',
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: ACCESS_KEY_SECRET },
      maxAttempts: 1,
    });
    cleanups.add(() => firehose.destroy());

    const delivered = uniqueName('logs-ok');
    const failing = uniqueName('logs-http');
    const dead = uniqueName('logs-dead');
    const atOnce = { SizeInMBs: 1, IntervalInSeconds: 0 };
    await firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: delivered,
        ExtendedS3DestinationConfiguration: s3Destination('logs-ok', { BufferingHints: atOnce }),
      }),
    );
    await firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: failing,
        HttpEndpointDestinationConfiguration: {
          EndpointConfiguration: { Url: receiver.url, AccessKey: ENDPOINT_ACCESS_KEY },
          BufferingHints: atOnce,
          RetryOptions: { DurationInSeconds: 3 },
          S3Configuration: s3Destination('logs-failed'),
        },
      }),
    );
    await firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: dead,
        ExtendedS3DestinationConfiguration: s3Destination('logs-blocked', {
          BufferingHints: atOnce,
        }),
      }),
    );
    const put = (stream: string, marker: string) =>
      firehose.send(
        new PutRecordBatchCommand({
          DeliveryStreamName: stream,
          Records: [1, 2, 3].map((n) => ({ Data: Buffer.from(`{"${marker}":${n}}\n`) })),
        }),
      );
    const [s3Marker, httpMarker, deadMarker] = DATA_MARKERS as [string, string, string];
    await put(delivered, s3Marker);
    await put(failing, httpMarker);
    await put(dead, deadMarker);

    await eventually('the S3 batch to be delivered', () =>
      events(lines(), 'batch.delivered', delivered).length > 0 ? true : undefined,
    );
    const version = (
      await firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: delivered }))
    ).DeliveryStreamDescription?.VersionId;
    await firehose.send(
      new UpdateDestinationCommand({
        DeliveryStreamName: delivered,
        CurrentDeliveryStreamVersionId: version,
        DestinationId: 'destinationId-000000000001',
        ExtendedS3DestinationUpdate: { Prefix: 'updated/' },
      }),
    );
    await firehose.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: delivered }));
    await eventually(
      'the deleted stream to drain, the HTTP records to reach the error output, the blocked batch to be dead-lettered',
      () => {
        const all = lines();
        return events(all, 'stream.drained', delivered).length === 1 &&
          events(all, 'error-output.written', failing).length > 0 &&
          events(all, 'batch.dead-lettered', dead).length > 0
          ? true
          : undefined;
      },
    );
    const all = lines();

    // The process and the streams.
    expect(events(all, 'process.started').map((l) => fields(l, 'level', 'role', 'msg'))).toEqual([
      { level: LEVEL.info, role: 'all', msg: 'sluice started' },
    ]);
    for (const [stream, destination] of [
      [delivered, 'ExtendedS3'],
      [failing, 'HttpEndpoint'],
      [dead, 'ExtendedS3'],
    ] as const) {
      expect(
        events(all, 'stream.created', stream).map((l) =>
          fields(l, 'level', 'destination', 'version'),
        ),
      ).toEqual([{ level: LEVEL.info, destination, version: 1 }]);
    }
    expect(
      events(all, 'stream.updated', delivered).map((l) =>
        fields(l, 'level', 'destination', 'version'),
      ),
    ).toEqual([{ level: LEVEL.info, destination: 'ExtendedS3', version: 2 }]);
    for (const event of ['stream.deleted', 'stream.drained']) {
      expect(events(all, event, delivered).map((l) => fields(l, 'level'))).toEqual([
        { level: LEVEL.info },
      ]);
    }

    // One debug line per delivered batch, with its counts.
    const deliveredLines = events(all, 'batch.delivered', delivered);
    expect(
      deliveredLines.map((l) => fields(l, 'level', 'destination', 'records', 'bytes', 'attempt')),
    ).toEqual([
      // The kind that carries the plan out: ExtendedS3 and S3 streams both deliver as S3.
      {
        level: LEVEL.debug,
        destination: 'S3',
        records: 3,
        bytes: `{"${s3Marker}":1}\n`.length * 3,
        attempt: 1,
      },
    ]);
    expect(typeof deliveredLines[0]?.batchId).toBe('string');

    // Retries: one line per batch attempt, with the code and the attempt number; warn for the
    // first failure, info on attempts 2, 4, 8, …, debug otherwise.
    for (const [stream, code] of [
      [failing, 'HttpEndpoint.DestinationException'],
      [dead, 'S3.InvalidBucketState'],
    ] as const) {
      const retries = events(all, 'delivery.retrying', stream);
      // Attempts 50 to 200 ms apart, within 3 s windows (the S3 batch's retention counts from
      // its put, and a new stream's worker starts within a second).
      expect(retries.length, `retries of ${stream}`).toBeGreaterThanOrEqual(2);
      expect(retries.map((r) => fields(r, 'level', 'code', 'attempt', 'records'))).toEqual(
        retries.map((_r, i) => ({
          level: i === 0 ? LEVEL.warn : ((i + 1) & i) === 0 ? LEVEL.info : LEVEL.debug,
          code,
          attempt: i + 1,
          records: 3,
        })),
      );
      for (const retry of retries) {
        expect(typeof retry.batchId).toBe('string');
        expect(typeof retry.reason).toBe('string');
      }
    }

    // Given up: the HTTP records written to the error output, the S3 batch dead-lettered.
    const written = events(all, 'error-output.written', failing);
    expect(
      written.map((l) => fields(l, 'level', 'records', 'code', 'errorType', 'bucket')),
    ).toEqual([
      {
        level: LEVEL.warn,
        records: 3,
        code: 'HttpEndpoint.DestinationException',
        errorType: 'http-endpoint-failed',
        bucket: 'logs-failed',
      },
    ]);
    expect(String(written[0]?.key)).toMatch(/^http-endpoint-failed\//);
    expect(typeof written[0]?.batchId).toBe('string');
    const deadLines = events(all, 'batch.dead-lettered', dead);
    expect(deadLines.map((l) => fields(l, 'level', 'records', 'code'))).toEqual([
      { level: LEVEL.error, records: 3, code: 'S3.InvalidBucketState' },
    ]);
    expect(String(deadLines[0]?.reason)).toContain(`sluice replay --stream ${dead}`);
    expect(typeof deadLines[0]?.batchId).toBe('string');

    // Nothing of the records, nothing secret.
    const whole = text.join('');
    for (const marker of DATA_MARKERS) {
      expect(whole).not.toContain(marker);
      expect(whole).not.toContain(Buffer.from(`{"${marker}"`).toString('base64').slice(0, 16));
    }
    expect(whole).not.toContain(ENDPOINT_ACCESS_KEY);
    expect(whole).not.toContain(ACCESS_KEY_SECRET);
  });

  it('debug lines only with SLUICE_LOG_LEVEL=debug; the default is info', () => {
    const written = (level: string): string[] => {
      const out: string[] = [];
      const log = createLogger(level, new Redactor(), (l) => out.push(l));
      log.debug({ event: 'batch.delivered' }, 'batch delivered');
      log.info({ event: 'stream.created' }, 'stream created');
      return out.map((l) => (JSON.parse(l) as { event: string }).event);
    };
    expect(written(loadSettings({}).SLUICE_LOG_LEVEL)).toEqual(['stream.created']);
    expect(written(loadSettings({ SLUICE_LOG_LEVEL: 'debug' }).SLUICE_LOG_LEVEL)).toEqual([
      'batch.delivered',
      'stream.created',
    ]);
  });
});
