import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { PlanContext } from '../destination-kind.js';
import { S3LocationSchema, type S3Location } from '../plan-base.js';
import { s3LocationOf } from '../s3/config.js';
import { ContentEncodingSchema, type StoredHttpEndpointDestination } from './config.js';

/**
 * The plan of a batch delivered to an HTTP endpoint (stored with the batch as JSON): where it
 * goes and the request id every attempt carries. The access key is deliberately not here:
 * plans are stored in Redis beside the data, and a key rotated by UpdateDestination must apply
 * on the next retry, as Firehose does; the builder reads it from the stream's configuration.
 */
export const HttpDeliveryPlanSchema = z.object({
  destination: z.literal('http'),
  /** Stream `VersionId` the plan was made under; UpdateDestination raises it. */
  streamVersion: z.number().int(),
  /** `EndpointConfiguration.Url`, sent unchanged (path and query included). */
  url: z.string(),
  /**
   * `X-Amz-Firehose-Request-Id` and the body's `requestId`: the same on every attempt of the
   * batch, so an endpoint can drop a retried duplicate (Firehose's dedupe key).
   */
  requestId: z.uuid(),
  /** `RequestConfiguration.ContentEncoding`: GZIP compresses the body. */
  contentEncoding: ContentEncodingSchema,
  /**
   * `RequestConfiguration.CommonAttributes` as `[name, value]` pairs, in their configured order.
   * Pairs, not an object: a plan is read back through zod, whose records drop a member named
   * `__proto__` — a valid attribute name that must not vanish.
   */
  commonAttributes: z.array(z.tuple([z.string(), z.string()])),
  /** The stream's ARN, sent as `X-Amz-Firehose-Source-Arn`. */
  sourceArn: z.string(),
  /** Where `http-endpoint-failed` records go: the destination's `S3Configuration`. */
  errorOutput: S3LocationSchema,
  /** Where every record is also written when `S3BackupMode` is `AllData`; absent otherwise. */
  backup: S3LocationSchema.optional(),
});

/** The plan of a batch delivered to an HTTP endpoint. */
export type HttpDeliveryPlan = z.infer<typeof HttpDeliveryPlanSchema>;

/**
 * The namespace of Sluice's request ids (a fixed random UUID): ids derived in it cannot
 * collide with name-based UUIDs other software derives from the same names.
 */
const REQUEST_ID_NAMESPACE = Buffer.from('6f1f3c52a0d54f0e9a3e51c2b7d8e4a1', 'hex');

/**
 * The request id of a batch: a name-based UUID (version 5, RFC 9562) of the stream's ARN and
 * the batch id. Deriving it, rather than drawing a random one, makes it the batch's own
 * identity: it is the same on every attempt even if a plan were ever made twice, and two
 * streams' batches never share one.
 */
export function requestIdOf(streamArn: string, batchId: string): string {
  const hash = createHash('sha1')
    .update(REQUEST_ID_NAMESPACE)
    .update(`${streamArn}\n${batchId}`, 'utf8')
    .digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The plan of a batch's first HTTP delivery attempt, from the stream's destination now. Stored
 * with the batch, it is what every later attempt uses (URL, request id, encoding, attributes);
 * only the access key is read afresh on each attempt.
 */
export function planHttpDelivery(
  config: StoredHttpEndpointDestination,
  context: PlanContext,
): HttpDeliveryPlan {
  const s3 = s3LocationOf(config.S3Configuration);
  return {
    destination: 'http',
    streamVersion: context.versionId,
    url: config.EndpointConfiguration.Url,
    requestId: requestIdOf(context.streamArn, context.batchId),
    contentEncoding: config.RequestConfiguration.ContentEncoding,
    commonAttributes: config.RequestConfiguration.CommonAttributes.map((a) => [
      a.AttributeName,
      a.AttributeValue,
    ]),
    sourceArn: context.streamArn,
    errorOutput: httpErrorOutputOf(config),
    ...(config.S3BackupMode === 'AllData' ? { backup: { ...s3 } } : {}),
  };
}

/**
 * Where an HTTP endpoint destination's failed records go: its `S3Configuration`, gzip-compressed
 * when that says GZIP and plain NDJSON for every other format, so that people and `sluice
 * replay` read error objects without a codec for each format (backups get the format itself).
 */
export function httpErrorOutputOf(config: StoredHttpEndpointDestination): S3Location {
  const s3 = s3LocationOf(config.S3Configuration);
  return { ...s3, compression: s3.compression === 'GZIP' ? 'GZIP' : 'UNCOMPRESSED' };
}
