import { randomUUID } from 'node:crypto';
import { checkLambdaResponse } from './lambda-contract.js';
import { OutcomeWriter, type PackedInputs } from './record-packing.js';
import type {
  FirehoseTransformationEvent,
  FirehoseTransformationEventRecord,
  FirehoseTransformationHandler,
} from './transform-kit.js';

/**
 * Runs a Lambda-form transform (in a transform worker): builds Firehose's transformation event
 * from the packed records (base64 `data`, as a Lambda gets it), calls the handler, and checks
 * its response against the Lambda contract. A handler that throws or rejects fails the
 * invocation (the error propagates, and the host retries it), as a Lambda's function error does.
 */

/** Where the event says it comes from. */
export interface LambdaEventSource {
  streamArn: string;
  region: string;
}

/**
 * Runs `handler` over `inputs`.
 *
 * @returns the packed outcomes (transfer them).
 * @throws what the handler throws or rejects with.
 */
export async function runLambdaForm(
  handler: FirehoseTransformationHandler,
  inputs: PackedInputs,
  source: LambdaEventSource,
): Promise<ArrayBuffer> {
  const recordIds: string[] = [];
  const records: FirehoseTransformationEventRecord[] = [];
  for (let i = 0; i < inputs.count; i += 1) {
    const recordId = inputs.recordId(i);
    recordIds.push(recordId);
    records.push({
      recordId,
      approximateArrivalTimestamp: inputs.arrivalMs(i),
      data: inputs.bytes.toString('base64', inputs.dataStart(i), inputs.dataEnd(i)),
    });
  }
  const event: FirehoseTransformationEvent = {
    invocationId: randomUUID(),
    deliveryStreamArn: source.streamArn,
    region: source.region,
    records,
  };
  const response: unknown = await handler(event);
  const inputBytes =
    inputs.count === 0 ? 0 : inputs.dataEnd(inputs.count - 1) - inputs.dataStart(0);
  const writer = new OutcomeWriter(inputs.count, '', inputBytes * 1.25, inputs);
  checkLambdaResponse(response, recordIds).forEach((outcome, i) => writer.outcome(i, outcome));
  return writer.finish();
}
