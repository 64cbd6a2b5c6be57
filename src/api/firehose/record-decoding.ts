import { FirehoseError } from '../../errors/catalogue.js';
import { encodeChunk } from '../../formats/chunk-frame.js';
import { constraintText, validationMessage, wrongTypeError } from '../../config/validation.js';

/** Largest record, before base64 (Firehose: 1,000 KiB). */
export const MAX_RECORD_BYTES = 1_024_000;
/** Largest PutRecordBatch payload, before base64 (Firehose: 4 MiB). */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** Most records in one PutRecordBatch. */
export const MAX_BATCH_RECORDS = 500;

/** Records decoded into one framed chunk, ready for the buffer. */
export interface DecodedRecords {
  chunk: Buffer;
  payloadBytes: number;
  count: number;
}

/** Shown in messages instead of whole values: error bodies stay small for fluent-bit. */
function preview(value: string): string {
  return value.length > 32 ? `${value.slice(0, 32)}...` : value;
}

/**
 * Decodes the `Data` members of `records` (already known to be an array of 1..500 entries)
 * straight into one framed chunk, checking every Firehose rule first: a wrong type or bad
 * base64 is a SerializationException, a record over 1,024,000 bytes a ValidationException,
 * a batch over 4 MiB an InvalidArgumentException. Nothing is stored when any check fails.
 *
 * @param path how messages name a record's data: `(i) => 'records.<i+1>.member.data'`.
 */
export function decodeRecords(
  records: readonly unknown[],
  path: (index: number) => string,
  arrivalMs: number,
): DecodedRecords {
  const strings = new Array<string>(records.length);
  const lengths = new Array<number>(records.length);
  const tooLarge: { value: string; path: string; constraint: string }[] = [];
  let payloadBytes = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw wrongTypeError(path(i).replace(/\.data$/, ''), 'a structure', record);
    }
    const data = (record as { Data?: unknown }).Data;
    if (data === undefined || data === null) {
      throw new FirehoseError(
        'ValidationException',
        validationMessage([{ value: null, path: path(i), constraint: constraintText.notNull() }]),
      );
    }
    if (typeof data !== 'string') {
      throw wrongTypeError(path(i), 'a base64-encoded string', data);
    }
    if (data.length % 4 !== 0) {
      throw new FirehoseError(
        'SerializationException',
        `'${preview(data)}' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: ${data.length}`,
      );
    }
    const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
    const length = (data.length / 4) * 3 - padding;
    if (length > MAX_RECORD_BYTES) {
      tooLarge.push({
        value: `java.nio.HeapByteBuffer[pos=0 lim=${length} cap=${length}]`,
        path: path(i),
        constraint: constraintText.maxLength(MAX_RECORD_BYTES),
      });
    }
    strings[i] = data;
    lengths[i] = length;
    payloadBytes += length;
  }
  if (tooLarge.length > 0) {
    throw new FirehoseError('ValidationException', validationMessage(tooLarge));
  }
  if (payloadBytes > MAX_BATCH_BYTES) {
    throw new FirehoseError('InvalidArgumentException', 'Records size exceeds 4 MB limit');
  }
  const chunk = encodeChunk(arrivalMs, lengths, payloadBytes, (i, target, offset) => {
    const data = strings[i] as string;
    const length = lengths[i] as number;
    // Node's decoder skips characters outside the alphabet and accepts base64url; either
    // shows up as fewer bytes written or as '-'/'_', and Firehose rejects both.
    const written = target.write(data, offset, length, 'base64');
    if (written !== length || data.includes('-') || data.includes('_')) {
      throw new FirehoseError(
        'SerializationException',
        `'${preview(data)}' can not be converted to a Blob: Invalid base64 character or padding`,
      );
    }
  });
  return { chunk, payloadBytes, count: records.length };
}
