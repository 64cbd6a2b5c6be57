import { describeJsonType } from '../json-type.js';
import { failedOutcome, type TransformRecordOutcome } from './transform-records.js';

/**
 * Firehose's Lambda response contract, enforced on what a Lambda-form transform returns and
 * what a remote transform answers (firehose-spec.md §4): `{"records": [...]}` with every input
 * `recordId` exactly once, `result` one of `Ok`, `Dropped`, `ProcessingFailed`, base64 `data`
 * for `Ok`, and optional `metadata.partitionKeys` of strings.
 *
 * A fault of one record's answer fails that record; a fault that makes the answer unreadable as
 * a whole (not the shape, a recordId that is not one of the invocation's, an unknown result)
 * fails every record, since no answer can be trusted to be the one meant. None is retried: the
 * same input would get the same answer.
 */

/** The message of a record the transform marked ProcessingFailed (as docs/error-output.md shows). */
export const PROCESSING_FAILED_MESSAGE = 'The record was marked ProcessingFailed by the transform.';

/** Standard base64, padded; what Buffer, Python's b64encode and Java's encoder write. */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Longest recordId a message quotes. */
const QUOTED_ID_CHARS = 100;

function quoteId(id: string): string {
  return JSON.stringify(id.length > QUOTED_ID_CHARS ? `${id.slice(0, QUOTED_ID_CHARS)}…` : id);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `count` copies of one failure: a response unreadable as a whole fails every record. */
function everyRecord(count: number, message: string): TransformRecordOutcome[] {
  const outcome = failedOutcome('Lambda.JsonProcessingException', message);
  return Array.from({ length: count }, () => outcome);
}

/**
 * Checks `value` as partition keys: an object whose values are strings.
 *
 * @returns the keys, or the reason they are not valid (for a JsonProcessingException).
 */
export function checkPartitionKeys(
  value: unknown,
  where: string,
): { keys: Record<string, string> } | { error: string } {
  if (!isObject(value)) {
    return { error: `${where} is ${describeJsonType(value)}: expected an object of strings` };
  }
  for (const [key, keyValue] of Object.entries(value)) {
    if (typeof keyValue !== 'string') {
      return {
        error: `${where}.${key} is ${describeJsonType(keyValue)}: partition key values must be strings`,
      };
    }
  }
  return { keys: value as Record<string, string> };
}

/** The outcome one response record gives its input record (result already checked). */
function outcomeOf(
  entry: Record<string, unknown>,
  result: 'Ok' | 'Dropped' | 'ProcessingFailed',
  where: string,
): TransformRecordOutcome {
  if (result === 'Dropped') return { result: 'Dropped' };
  if (result === 'ProcessingFailed') {
    return failedOutcome('Lambda.ProcessingFailedStatus', PROCESSING_FAILED_MESSAGE);
  }
  const { data, metadata } = entry;
  if (typeof data !== 'string') {
    return failedOutcome(
      'Lambda.JsonProcessingException',
      data === undefined || data === null
        ? `${where} is Ok but has no data: an Ok record needs its new data, base64`
        : `${where}.data is ${describeJsonType(data)}: expected the new data, base64`,
    );
  }
  if (data.length % 4 !== 0 || !BASE64.test(data)) {
    return failedOutcome(
      'Lambda.JsonProcessingException',
      `${where}.data is not base64 (standard alphabet, padded, no line breaks)`,
    );
  }
  const decoded = Buffer.from(data, 'base64');
  if (metadata === undefined || metadata === null) return { result: 'Ok', data: decoded };
  if (!isObject(metadata)) {
    return failedOutcome(
      'Lambda.JsonProcessingException',
      `${where}.metadata is ${describeJsonType(metadata)}: expected an object`,
    );
  }
  if (metadata.partitionKeys === undefined || metadata.partitionKeys === null) {
    return { result: 'Ok', data: decoded };
  }
  const checked = checkPartitionKeys(metadata.partitionKeys, `${where}.metadata.partitionKeys`);
  if ('error' in checked) return failedOutcome('Lambda.JsonProcessingException', checked.error);
  return { result: 'Ok', data: decoded, partitionKeys: checked.keys };
}

/**
 * The outcome of each input record, in input order, from a transform's `response` to an
 * invocation of the records `recordIds` (unique).
 */
export function checkLambdaResponse(
  response: unknown,
  recordIds: readonly string[],
): TransformRecordOutcome[] {
  const count = recordIds.length;
  if (!isObject(response) || !Array.isArray(response.records)) {
    const got = isObject(response)
      ? `its records member is ${describeJsonType(response.records)}`
      : `it is ${describeJsonType(response)}`;
    return everyRecord(count, `The transform's response is not {"records": [...]}: ${got}`);
  }
  const positions = new Map<string, number>();
  recordIds.forEach((id, position) => positions.set(id, position));
  const outcomes = new Array<TransformRecordOutcome | undefined>(count);
  const duplicated = new Set<number>();
  const entries: unknown[] = response.records;
  for (let k = 0; k < entries.length; k += 1) {
    const entry = entries[k];
    const where = `records[${k}]`;
    if (!isObject(entry)) {
      return everyRecord(
        count,
        `The transform's response is malformed: ${where} is ${describeJsonType(entry)}, not an object`,
      );
    }
    const id = entry.recordId;
    if (typeof id !== 'string') {
      return everyRecord(
        count,
        id === undefined
          ? `The transform's response is malformed: ${where} has no recordId`
          : `The transform's response is malformed: ${where}.recordId is ${describeJsonType(id)}, not a string`,
      );
    }
    const position = positions.get(id);
    if (position === undefined) {
      return everyRecord(
        count,
        `The transform's response is malformed: ${where}.recordId ${quoteId(id)} is not a record of this invocation`,
      );
    }
    const result = entry.result;
    if (result !== 'Ok' && result !== 'Dropped' && result !== 'ProcessingFailed') {
      return everyRecord(
        count,
        `The transform's response is malformed: ${where}.result is ${result === undefined ? 'missing' : JSON.stringify(result)}: expected "Ok", "Dropped" or "ProcessingFailed"`,
      );
    }
    if (outcomes[position] !== undefined) {
      duplicated.add(position);
      continue;
    }
    outcomes[position] = outcomeOf(entry, result, where);
  }
  return recordIds.map((id, position): TransformRecordOutcome => {
    if (duplicated.has(position)) {
      return failedOutcome(
        'Lambda.DuplicatedRecordId',
        `The transform's response has more than one record with recordId ${quoteId(id)}`,
      );
    }
    return (
      outcomes[position] ??
      failedOutcome(
        'Lambda.MissingRecordId',
        `The transform's response has no record with recordId ${quoteId(id)}`,
      )
    );
  });
}

/**
 * As {@link checkLambdaResponse}, for a response that is JSON text (a remote transform's
 * body): text that is not JSON fails every record.
 */
export function checkLambdaResponseText(
  text: string,
  recordIds: readonly string[],
): TransformRecordOutcome[] {
  let response: unknown;
  try {
    response = JSON.parse(text);
  } catch (error) {
    return everyRecord(
      recordIds.length,
      `The transform's response is not JSON (${(error as Error).message}): ${JSON.stringify(text.slice(0, 100))}`,
    );
  }
  return checkLambdaResponse(response, recordIds);
}
