import type { OperationHandler } from '../context.js';
import { createDeliveryStream } from './create-delivery-stream.js';
import { deleteDeliveryStream } from './delete-delivery-stream.js';
import { describeDeliveryStream } from './describe-delivery-stream.js';
import { listDeliveryStreams } from './list-delivery-streams.js';
import { listTagsForDeliveryStream } from './list-tags-for-delivery-stream.js';
import { putRecord } from './put-record.js';
import { putRecordBatch } from './put-record-batch.js';
import { scanPutRecordBatchBody } from './put-record-batch-body.js';
import {
  startDeliveryStreamEncryption,
  stopDeliveryStreamEncryption,
} from './start-stop-encryption.js';
import { tagDeliveryStream } from './tag-delivery-stream.js';
import { untagDeliveryStream } from './untag-delivery-stream.js';
import { updateDestination } from './update-destination.js';

/** `X-Amz-Target` prefix of every Firehose operation. */
export const TARGET_PREFIX = 'Firehose_20150804.';

/**
 * Every Firehose operation, by its name in `X-Amz-Target`. A Map, not an object literal: the
 * name comes from the request, and an object would also answer `constructor`, `toString`,
 * `__proto__` … from its prototype.
 */
export const OPERATIONS: ReadonlyMap<string, OperationHandler> = new Map<string, OperationHandler>([
  ['CreateDeliveryStream', createDeliveryStream],
  ['DeleteDeliveryStream', deleteDeliveryStream],
  ['DescribeDeliveryStream', describeDeliveryStream],
  ['ListDeliveryStreams', listDeliveryStreams],
  ['ListTagsForDeliveryStream', listTagsForDeliveryStream],
  ['PutRecord', putRecord],
  ['PutRecordBatch', putRecordBatch],
  ['StartDeliveryStreamEncryption', startDeliveryStreamEncryption],
  ['StopDeliveryStreamEncryption', stopDeliveryStreamEncryption],
  ['TagDeliveryStream', tagDeliveryStream],
  ['UntagDeliveryStream', untagDeliveryStream],
  ['UpdateDestination', updateDestination],
]);

/** Reads an operation's usual body straight from the bytes, or returns undefined. */
export type FastBodyReader = (body: Buffer) => Record<string, unknown> | undefined;

/**
 * Operations whose usual body is read straight from the bytes (see put-record-batch-body.ts).
 * A reader returns undefined for any other body, which is then parsed with `JSON.parse`.
 * A Map for the same reason as {@link OPERATIONS}.
 */
export const FAST_BODY_READERS: ReadonlyMap<string, FastBodyReader> = new Map<
  string,
  FastBodyReader
>([['PutRecordBatch', scanPutRecordBatchBody]]);
