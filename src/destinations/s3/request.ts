import type { BuiltRequest, PipelineRecord } from '../destination-kind.js';
import type { S3DeliveryPlan } from './plan.js';

/** One PutObject: the plan's object with the attempt's body. */
export interface S3PutRequest extends BuiltRequest {
  bucket: string;
  key: string;
  /** The encoded, compressed object. */
  body: Buffer;
  contentEncoding: string | undefined;
}

/**
 * The encode stage for S3: records concatenated byte for byte, as Firehose writes them (it adds
 * no delimiter; producers add their own, or configure `AppendDelimiterToRecord`).
 */
export function encodeConcatenated(records: readonly PipelineRecord[]): Buffer {
  return Buffer.concat(records.map((record) => record.data));
}

/** The request builder: the object the plan names, with the body as compressed. */
export function buildS3Put(plan: S3DeliveryPlan, body: Buffer): S3PutRequest {
  return {
    target: `s3://${plan.bucket}/${plan.key}`,
    bucket: plan.bucket,
    key: plan.key,
    body,
    contentEncoding: plan.contentEncoding,
  };
}
