import { setTimeout as sleep } from 'node:timers/promises';

import type { FirehoseHttp } from './firehose-http.js';

/** The bucket every bench stream delivers to. */
export const BENCH_BUCKET = 'bench';

/** Buffering hints of the bench streams. */
export interface BufferingHints {
  sizeMb: number;
  intervalSeconds: number;
}

const ACTIVE_TIMEOUT_MS = 15_000;

/** A destination's `ProcessingConfiguration`, as the Firehose API takes it. */
export interface ProcessingConfiguration {
  Enabled: boolean;
  Processors: {
    Type: string;
    Parameters?: { ParameterName: string; ParameterValue: string }[];
  }[];
}

/**
 * Creates a GZIP-compressed S3 delivery stream through the Firehose API, as a user would, and
 * waits until DescribeDeliveryStream reports it ACTIVE (Firehose creates streams asynchronously).
 * `processing`, when given, is the destination's `ProcessingConfiguration`.
 *
 * @throws when creation fails or the stream is not ACTIVE within 15 seconds.
 */
export async function createBenchStream(
  client: FirehoseHttp,
  name: string,
  hints: BufferingHints,
  processing?: ProcessingConfiguration,
): Promise<void> {
  await client.call('CreateDeliveryStream', {
    DeliveryStreamName: name,
    ExtendedS3DestinationConfiguration: {
      RoleARN: 'arn:aws:iam::000000000000:role/bench',
      BucketARN: `arn:aws:s3:::${BENCH_BUCKET}`,
      CompressionFormat: 'GZIP',
      BufferingHints: { SizeInMBs: hints.sizeMb, IntervalInSeconds: hints.intervalSeconds },
      ...(processing === undefined ? {} : { ProcessingConfiguration: processing }),
    },
  });
  await waitUntilActive(client, name);
}

/**
 * Waits until DescribeDeliveryStream reports the stream ACTIVE (Firehose creates streams
 * asynchronously).
 *
 * @throws when the stream is not ACTIVE within 15 seconds.
 */
export async function waitUntilActive(client: FirehoseHttp, name: string): Promise<void> {
  const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
  let status = 'unknown';
  while (Date.now() < deadline) {
    const described = (await client.call('DescribeDeliveryStream', {
      DeliveryStreamName: name,
    })) as { DeliveryStreamDescription?: { DeliveryStreamStatus?: string } };
    status = described.DeliveryStreamDescription?.DeliveryStreamStatus ?? 'missing';
    if (status === 'ACTIVE') return;
    await sleep(100);
  }
  throw new Error(`stream ${name} is still ${status} after ${ACTIVE_TIMEOUT_MS} ms`);
}
