import { FirehoseError } from '../../errors/catalogue.js';
import type { OperationHandler } from '../context.js';
import { constraintText, validationMessage, wrongTypeError } from '../../config/validation.js';
import { appendRefusal, notReplicatedMessage, putStreamName, reportStored } from './put-target.js';
import { decodeRecords, MAX_BATCH_RECORDS } from './record-decoding.js';
import { recordIds } from '../../buffer/record-id.js';

/**
 * PutRecordBatch: 1..500 records, at most 4 MiB, stored as one chunk in one atomic call, then
 * acknowledged. Under backpressure every record answers `ServiceUnavailableException`
 * "Slow down." with HTTP 200, which SDKs and log shippers retry per record.
 */
export const putRecordBatch: OperationHandler = async (input, ctx) => {
  const stream = putStreamName(input);
  const records = input.Records;
  if (records === undefined || records === null) {
    throw new FirehoseError(
      'ValidationException',
      validationMessage([{ value: null, path: 'records', constraint: constraintText.notNull() }]),
    );
  }
  if (!Array.isArray(records)) {
    throw wrongTypeError('records', 'a list', records);
  }
  if (records.length < 1 || records.length > MAX_BATCH_RECORDS) {
    throw new FirehoseError(
      'ValidationException',
      validationMessage([
        {
          value: `[${records.length} records]`,
          path: 'records',
          constraint:
            records.length < 1
              ? constraintText.minLength(1)
              : constraintText.maxLength(MAX_BATCH_RECORDS),
        },
      ]),
    );
  }
  const now = Date.now();
  const decoded = decodeRecords(records, (i) => `records.${i + 1}.member.data`, now);
  const result = await ctx.buffer.append(
    stream,
    decoded.chunk,
    decoded.payloadBytes,
    decoded.count,
    now,
  );
  if (result.kind === 'backpressure') {
    ctx.telemetry?.emit({ type: 'records.throttled', stream, records: decoded.count });
    return {
      Encrypted: false,
      FailedPutCount: decoded.count,
      RequestResponses: records.map(() => ({
        ErrorCode: 'ServiceUnavailableException',
        ErrorMessage: 'Slow down.',
      })),
    };
  }
  if (result.kind === 'not-replicated') {
    // Per record, as backpressure is: producers resend failed entries.
    const ErrorMessage = notReplicatedMessage(result);
    return {
      Encrypted: false,
      FailedPutCount: decoded.count,
      RequestResponses: records.map(() => ({
        ErrorCode: 'ServiceUnavailableException',
        ErrorMessage,
      })),
    };
  }
  if (result.kind !== 'stored') throw appendRefusal(result, stream, ctx);
  reportStored(ctx, stream, decoded, now);
  return {
    Encrypted: false,
    FailedPutCount: 0,
    RequestResponses: recordIds(result.batchId, result.chunkIndex, decoded.count).map(
      (RecordId) => ({ RecordId }),
    ),
  };
};
