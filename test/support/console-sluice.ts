import {
  CreateDeliveryStreamCommand,
  FirehoseClient,
  PutRecordBatchCommand,
} from '@aws-sdk/client-firehose';
import { pino } from 'pino';
import { loadSettings } from '../../src/config/env.js';
import { StreamHistory } from '../../src/console/stream-history.js';
import { STREAM_INDEX_KEY } from '../../src/streams/keys.js';
import { startService as startSluiceService, type Service } from '../../src/service.js';
import { FAST, startServers, tempDir, type Cleanups, type Servers } from './e2e.js';
import { startHttpReceiver, type HttpReceiver } from './http-receiver.js';
import { uniqueName } from './unique.js';

/**
 * An in-process Sluice for the console's tests: the real service (`startService`, the
 * composition root `main.ts` uses) with workers, on a private redis-server and a private S3
 * server, and an HTTP endpoint receiver; plus a history sampler the test triggers itself, so
 * a chart gets points in a second instead of the service's 10 s interval.
 */
export interface ConsoleSluice {
  /** `http://127.0.0.1:<port>` of the API (and the console under `/console`). */
  url: string;
  servers: Servers;
  receiver: HttpReceiver;
  /** The AWS SDK client, signed with the first access key when keys are configured. */
  firehose: FirehoseClient;
  /** Bucket S3 streams deliver to, and HTTP streams write their error output to. */
  bucket: string;
  /** Writes one history sample of every stream now (at most one per half second). */
  sample(): Promise<void>;
  /** Creates a stream delivering to {@link bucket}. */
  createS3Stream(prefix: string): Promise<string>;
  /** Creates a stream delivering to a bucket that does not exist: its batches die. */
  createDoomedS3Stream(prefix: string): Promise<string>;
  /** Creates a stream delivering to {@link receiver}; error output goes to {@link bucket}. */
  createHttpStream(prefix: string, accessKey?: string): Promise<string>;
  put(stream: string, records: readonly string[]): Promise<void>;
  service: Service;
}

const ROLE = 'arn:aws:iam::000000000000:role/firehose';

/** Starts a {@link ConsoleSluice}; `env` adds or overrides settings. Stopped by `cleanups`. */
export async function startConsoleSluice(
  cleanups: Cleanups,
  env: Record<string, string> = {},
  accessKey?: { id: string; secret: string },
): Promise<ConsoleSluice> {
  const servers = await startServers(cleanups);
  const bucket = 'console-deliveries';
  await servers.s3.createBucket(bucket);
  // The service's S3 client takes its credentials from the environment, as in production.
  for (const [name, value] of Object.entries(servers.sluiceEnv)) {
    if (!name.startsWith('AWS_')) continue;
    const saved = process.env[name];
    process.env[name] = value;
    cleanups.add(() => {
      if (saved === undefined) delete process.env[name];
      else process.env[name] = saved;
    });
  }
  const receiver = await startHttpReceiver();
  cleanups.add(() => receiver.close());
  const settings = loadSettings({
    ...servers.sluiceEnv,
    ...FAST,
    SLUICE_HOST: '127.0.0.1',
    SLUICE_PORT: '0',
    SLUICE_DATA_DIR: await tempDir(cleanups, 'sluice-console-'),
    // S3 batches that cannot be delivered reach the dead set quickly.
    SLUICE_RETENTION_SECONDS: '2',
    ...(accessKey ? { SLUICE_ACCESS_KEYS: `${accessKey.id}:${accessKey.secret}` } : {}),
    ...env,
  });
  const service = await startSluiceService(settings, pino({ level: 'silent' }));
  cleanups.add(() => service.stop());
  const url = service.url;
  if (url === undefined) throw new Error('the service serves no API');
  const firehose = new FirehoseClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: {
      accessKeyId: accessKey?.id ?? 'AKIDCONSOLE',
      secretAccessKey: accessKey?.secret ?? 'unused',
    },
    maxAttempts: 3,
  });
  cleanups.add(() => firehose.destroy());
  const sampler = new StreamHistory({
    redis: servers.redis,
    streamNames: () => servers.redis.zrange(STREAM_INDEX_KEY, '0', '-1'),
    onSampleError: () => undefined,
    intervalMs: 1000,
  });
  const createS3 = async (prefix: string, target: string) => {
    const name = uniqueName(prefix);
    await firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: name,
        ExtendedS3DestinationConfiguration: {
          RoleARN: ROLE,
          BucketARN: `arn:aws:s3:::${target}`,
          BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
        },
      }),
    );
    return name;
  };
  return {
    url,
    servers,
    receiver,
    firehose,
    bucket,
    service,
    sample: () => sampler.sampleAll(),
    createS3Stream: (prefix) => createS3(prefix, bucket),
    createDoomedS3Stream: (prefix) => createS3(prefix, `missing-${Date.now()}`),
    async createHttpStream(prefix, endpointKey = 'endpoint-secret-key') {
      const name = uniqueName(prefix);
      await firehose.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: name,
          HttpEndpointDestinationConfiguration: {
            EndpointConfiguration: { Url: receiver.url, Name: 'receiver', AccessKey: endpointKey },
            BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
            RetryOptions: { DurationInSeconds: 0 },
            S3Configuration: { RoleARN: ROLE, BucketARN: `arn:aws:s3:::${bucket}` },
          },
        }),
      );
      return name;
    },
    async put(stream, records) {
      const answer = await firehose.send(
        new PutRecordBatchCommand({
          DeliveryStreamName: stream,
          Records: records.map((record) => ({ Data: Buffer.from(record) })),
        }),
      );
      if (answer.FailedPutCount !== 0) throw new Error(`${answer.FailedPutCount} records failed`);
    },
  };
}

/** An `Authorization` header of HTTP Basic credentials. */
export function basicAuth(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}
