import { FirehoseError } from '../../errors/catalogue.js';
import type { OperationHandler } from '../context.js';
import { constraintText, validationMessage } from '../../config/validation.js';
import { appendRefusal, putStreamName, reportStored } from './put-target.js';
import { decodeRecords } from './record-decoding.js';
import { recordIds } from '../../buffer/record-id.js';

/** PutRecord: one record, stored durably before the answer. Backpressure answers 503. */
export const putRecord: OperationHandler = async (input, ctx) => {
  const stream = putStreamName(input);
  const record = input.Record;
  if (record === undefined || record === null) {
    throw new FirehoseError(
      'ValidationException',
      validationMessage([{ value: null, path: 'record', constraint: constraintText.notNull() }]),
    );
  }
  const now = Date.now();
  const decoded = decodeRecords([record], () => 'record.data', now);
  const result = await ctx.buffer.append(stream, decoded.chunk, decoded.payloadBytes, 1, now);
  if (result.kind === 'backpressure') {
    ctx.telemetry?.emit({ type: 'records.throttled', stream, records: 1 });
    throw new FirehoseError('ServiceUnavailableException', 'Slow down.');
  }
  if (result.kind !== 'stored') throw appendRefusal(result, stream, ctx);
  reportStored(ctx, stream, decoded, now);
  const [RecordId] = recordIds(result.batchId, result.chunkIndex, 1);
  return { RecordId, Encrypted: false };
};
