import type { S3DeliveryPlan } from '../../streams/delivery-plan.js';
import type { S3DeliveryTarget } from '../../streams/delivery-target.js';
import { buildObjectKey, type ObjectKeyBatch } from './object-key.js';

/** `Content-Encoding` per compression format, as Firehose sets it on objects. */
const CONTENT_ENCODING: Record<S3DeliveryTarget['compression'], string | undefined> = {
  UNCOMPRESSED: undefined,
  GZIP: 'gzip',
};

/** The extension an object gets when the destination sets no `FileExtension`. */
const DEFAULT_EXTENSION: Record<S3DeliveryTarget['compression'], string> = {
  UNCOMPRESSED: '',
  GZIP: '.gz',
};

/**
 * The plan of a batch's first S3 delivery attempt, from the stream's current destination: the
 * bucket, the object key (Firehose's layout) and how the body is encoded. Stored with the batch,
 * it is what every later attempt uses, whatever the destination has become by then.
 *
 * @param target - The stream's S3 destination now.
 * @param batch - Batch id and arrival time of the oldest record.
 * @param legacyKey - The key fixed by a version that stored only the key; kept as it is.
 * @throws EvaluatedPrefixTooLongError (from {@link buildObjectKey}) when no key can be made;
 *   retrying cannot help.
 */
export function planS3Delivery(
  target: S3DeliveryTarget,
  batch: ObjectKeyBatch,
  legacyKey?: string,
): S3DeliveryPlan {
  const fileExtension = target.fileExtension ?? DEFAULT_EXTENSION[target.compression];
  // The key is built with the extension recorded here, so plan and key cannot disagree.
  const key = legacyKey ?? buildObjectKey({ ...target, fileExtension }, batch);
  const contentEncoding = CONTENT_ENCODING[target.compression];
  return {
    destination: 's3',
    streamVersion: target.versionId,
    bucket: target.bucket,
    prefix: target.prefix,
    key,
    compression: target.compression,
    ...(contentEncoding === undefined ? {} : { contentEncoding }),
    fileExtension,
  };
}
