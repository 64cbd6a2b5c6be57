import { Readable } from 'node:stream';
import type { BuiltRequest, RecordStream } from '../destination-kind.js';
import type { S3DeliveryPlan } from './plan.js';

/** One PutObject: the plan's object with the attempt's body. */
export interface S3PutRequest extends BuiltRequest {
  bucket: string;
  key: string;
  /** The encoded, compressed object, streamed (read once). */
  body: Readable;
  contentEncoding: string | undefined;
}

/**
 * The encode stage for S3: records concatenated byte for byte, as Firehose writes them (it adds
 * no delimiter; producers add their own, or configure `AppendDelimiterToRecord`). One piece per
 * stored chunk: large pieces keep compression and uploads efficient, and the batch streams.
 */
export async function* encodeConcatenated(records: RecordStream): AsyncGenerator<Buffer> {
  for await (const group of records) {
    if (group.length > 0) yield group.concatenatedData();
  }
}

/** The request builder: the object the plan names, with the body as compressed. */
export function buildS3Put(
  plan: S3DeliveryPlan,
  body: AsyncIterable<Buffer>,
): Promise<S3PutRequest> {
  return Promise.resolve({
    target: `s3://${plan.bucket}/${plan.key}`,
    bucket: plan.bucket,
    key: plan.key,
    body: Readable.from(body, { objectMode: false }),
    contentEncoding: plan.contentEncoding,
  });
}
