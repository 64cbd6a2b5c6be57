import { checkPartitionKeys } from './lambda-contract.js';
import { describeJsonType } from '../json-type.js';
import { errorText } from './error-text.js';
import { OutcomeWriter, type PackedInputs } from './record-packing.js';
import {
  RECORD_OUTCOME_TAG,
  type RecordContext,
  type RecordOutcomeData,
  type TransformDefinition,
} from './transform-kit.js';

/**
 * Runs a record-form transform (in a transform worker): each record decoded straight from the
 * packed bytes, `record` called once per record, in order, and each result encoded straight
 * into the packed outcomes. A record whose JSON does not parse, or whose `record` throws or
 * returns something it cannot be written as, fails alone; the others go on.
 */

/** A record-form definition, as `defineTransform` made it. */
export type RecordFormDefinition = Extract<TransformDefinition, { form: 'record' }>;

/** Outcome of one record's encoding: the data to write, or why it cannot be. */
type Encoded = { data: string | Uint8Array } | { error: string };

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function outcomeDataOf(value: unknown): RecordOutcomeData | undefined {
  if (typeof value !== 'object' || value === null || !(RECORD_OUTCOME_TAG in value)) {
    return undefined;
  }
  return (value as { [RECORD_OUTCOME_TAG]: RecordOutcomeData })[RECORD_OUTCOME_TAG];
}

/** `value` as the new record's data, as `decode` says records are written. */
function encode(value: unknown, decode: RecordFormDefinition['decode']): Encoded {
  switch (decode) {
    case 'json': {
      let text: string | undefined;
      try {
        text = JSON.stringify(value);
      } catch (error) {
        return {
          error: `The transform's result for the record cannot be written as JSON: ${errorText(error)}`,
        };
      }
      if (text === undefined) {
        return {
          error: `The transform returned ${describeJsonType(value)} for the record: return the new record's value, or ok(value), dropped() or failed(message)`,
        };
      }
      return { data: text };
    }
    case 'text':
      return typeof value === 'string'
        ? { data: value }
        : {
            error: `The transform returned ${describeJsonType(value)} for a 'text' record: return a string (JSON.stringify an object to write JSON), or ok(string), dropped() or failed(message)`,
          };
    case 'bytes':
      return value instanceof Uint8Array
        ? { data: value }
        : {
            error: `The transform returned ${describeJsonType(value)} for a 'bytes' record: return a Buffer or Uint8Array, or ok(bytes), dropped() or failed(message)`,
          };
  }
}

/** Writes what `record` returned for record `i` into `writer`. */
function settle(
  writer: OutcomeWriter,
  i: number,
  returned: unknown,
  decode: RecordFormDefinition['decode'],
): void {
  const outcome = outcomeDataOf(returned);
  if (outcome?.result === 'Dropped') {
    writer.dropped(i);
    return;
  }
  if (outcome?.result === 'ProcessingFailed') {
    writer.failed(i, 'Lambda.ProcessingFailedStatus', String(outcome.message));
    return;
  }
  let partitionKeys: Record<string, string> | undefined;
  if (outcome !== undefined && outcome.partitionKeys !== undefined) {
    const checked = checkPartitionKeys(outcome.partitionKeys, 'ok(…, { partitionKeys })');
    if ('error' in checked) {
      writer.failed(i, 'Lambda.JsonProcessingException', checked.error);
      return;
    }
    partitionKeys = checked.keys;
  }
  const encoded = encode(outcome === undefined ? returned : outcome.value, decode);
  if ('error' in encoded) writer.failed(i, 'Lambda.JsonProcessingException', encoded.error);
  else writer.ok(i, encoded.data, partitionKeys);
}

/**
 * Runs `definition` over `inputs`.
 *
 * @returns the packed outcomes (transfer them).
 */
export async function runRecordForm(
  definition: RecordFormDefinition,
  inputs: PackedInputs,
  streamName: string,
): Promise<ArrayBuffer> {
  const { decode, record } = definition;
  const delimiter = definition.delimiter ?? (decode === 'bytes' ? '' : '\n');
  // Output is usually near the input's size: room for a quarter more avoids most regrowth.
  const inputBytes =
    inputs.count === 0 ? 0 : inputs.dataEnd(inputs.count - 1) - inputs.dataStart(0);
  const writer = new OutcomeWriter(
    inputs.count,
    delimiter,
    inputBytes * 1.25 + inputs.count * Buffer.byteLength(delimiter, 'utf8'),
    inputs,
  );
  const { bytes } = inputs;
  for (let i = 0; i < inputs.count; i += 1) {
    let input: unknown;
    if (decode === 'bytes') {
      input = inputs.data(i);
    } else {
      const text = bytes.toString('utf8', inputs.dataStart(i), inputs.dataEnd(i));
      if (decode === 'text') {
        input = text;
      } else {
        try {
          input = JSON.parse(text);
        } catch (error) {
          writer.failed(
            i,
            'Lambda.ProcessingFailedStatus',
            `The record is not JSON (${errorText(error)}); the transform decodes records as JSON`,
          );
          continue;
        }
      }
    }
    const context: RecordContext = {
      recordId: inputs.recordId(i),
      approximateArrivalTimestamp: inputs.arrivalMs(i),
      deliveryStreamName: streamName,
    };
    let returned: unknown;
    try {
      returned = record(input as never, context);
      // Only an async record function pays for an await.
      if (isThenable(returned)) returned = await returned;
    } catch (error) {
      writer.failed(i, 'Lambda.ProcessingFailedStatus', `The transform threw: ${errorText(error)}`);
      continue;
    }
    settle(writer, i, returned, decode);
  }
  return writer.finish();
}
