import { describe, expect, it } from 'vitest';

import { runLambdaForm } from '../../src/processors/transforms/lambda-form.js';
import {
  runRecordForm,
  type RecordFormDefinition,
} from '../../src/processors/transforms/record-form.js';
import {
  PackedInputs,
  packInputs,
  unpackOutcomes,
} from '../../src/processors/transforms/record-packing.js';
import {
  defineTransform,
  dropped,
  failed,
  ok,
  TRANSFORM_TAG,
  type FirehoseTransformationEvent,
  type Transform,
} from '../../src/processors/transforms/transform-kit.js';
import type { TransformRecordOutcome } from '../../src/processors/transforms/transform-records.js';

/**
 * What the worker does with a transform, run here in-process: the record form's decoding,
 * outcomes and encoding, and the Lambda form's event. (transform-host.test.ts runs the same
 * through real worker threads.)
 */

const ARRIVAL_MS = 1_717_236_000_000;

function inputsOf(texts: readonly (string | Buffer)[]): PackedInputs {
  return new PackedInputs(
    packInputs(
      texts.map((text, i) => ({
        id: `id-${i}`,
        arrivalMs: ARRIVAL_MS + i,
        data: Buffer.isBuffer(text) ? text : Buffer.from(text),
      })),
    ),
  );
}

async function runRecords(
  transform: Transform,
  texts: readonly (string | Buffer)[],
): Promise<TransformRecordOutcome[]> {
  const definition = transform[TRANSFORM_TAG] as RecordFormDefinition;
  return unpackOutcomes(await runRecordForm(definition, inputsOf(texts), 'clicks'));
}

const okText = (text: string) => ({ result: 'Ok', data: Buffer.from(text) });

describe('the record form', () => {
  it('json: parses each record, writes JSON and a newline, passes the context', async () => {
    const contexts: unknown[] = [];
    const transform = defineTransform<{ n: number }>({
      decode: 'json',
      record(input, context) {
        contexts.push(context);
        return { doubled: input.n * 2 };
      },
    });
    expect(await runRecords(transform, ['{"n":1}', ' {"n": 2}\n'])).toEqual([
      okText('{"doubled":2}\n'),
      okText('{"doubled":4}\n'),
    ]);
    expect(contexts).toEqual([
      { recordId: 'id-0', approximateArrivalTimestamp: ARRIVAL_MS, deliveryStreamName: 'clicks' },
      {
        recordId: 'id-1',
        approximateArrivalTimestamp: ARRIVAL_MS + 1,
        deliveryStreamName: 'clicks',
      },
    ]);
  });

  it('json: fails a record that is not JSON without calling record, and goes on', async () => {
    let calls = 0;
    const transform = defineTransform({
      decode: 'json',
      record: (input) => {
        calls += 1;
        return input ?? null;
      },
    });
    const [bad, good] = await runRecords(transform, ['{"n":', '"fine"']);
    expect(bad).toMatchObject({
      result: 'ProcessingFailed',
      code: 'Lambda.ProcessingFailedStatus',
    });
    expect((bad as { message: string }).message).toMatch(
      /^The record is not JSON \(SyntaxError: .*\); the transform decodes records as JSON$/,
    );
    expect(good).toEqual(okText('"fine"\n'));
    expect(calls).toBe(1);
  });

  it('json: ok() with partition keys, dropped(), failed(), a throw, async returns', async () => {
    const transform = defineTransform<{ op: string }>({
      decode: 'json',
      async record(input) {
        await Promise.resolve();
        switch (input.op) {
          case 'keys':
            return ok({ k: 1 }, { partitionKeys: { customer: 'c7' } });
          case 'drop':
            return dropped();
          case 'fail':
            return failed('bad op');
          case 'throw':
            throw new RangeError('out of range');
          default:
            return input;
        }
      },
    });
    const outcomes = await runRecords(transform, [
      '{"op":"keys"}',
      '{"op":"drop"}',
      '{"op":"fail"}',
      '{"op":"throw"}',
      '{"op":"other"}',
    ]);
    expect(outcomes).toEqual([
      { result: 'Ok', data: Buffer.from('{"k":1}\n'), partitionKeys: { customer: 'c7' } },
      { result: 'Dropped' },
      { result: 'ProcessingFailed', code: 'Lambda.ProcessingFailedStatus', message: 'bad op' },
      {
        result: 'ProcessingFailed',
        code: 'Lambda.ProcessingFailedStatus',
        message: 'The transform threw: RangeError: out of range',
      },
      okText('{"op":"other"}\n'),
    ]);
  });

  it('json: fails a record whose result JSON cannot write, with what to return', async () => {
    const transform = defineTransform({
      decode: 'json',
      record: (input) => (input === 1 ? (undefined as unknown as null) : { big: BigInt(1) }),
    });
    const [undefinedResult, bigint] = await runRecords(transform, ['1', '2']);
    expect(undefinedResult).toEqual({
      result: 'ProcessingFailed',
      code: 'Lambda.JsonProcessingException',
      message:
        "The transform returned undefined for the record: return the new record's value, or ok(value), dropped() or failed(message)",
    });
    expect(bigint).toMatchObject({ code: 'Lambda.JsonProcessingException' });
    expect((bigint as { message: string }).message).toMatch(
      /^The transform's result for the record cannot be written as JSON: TypeError: .*BigInt/,
    );
  });

  it('text: gets UTF-8 text, returns text with its delimiter', async () => {
    const transform = defineTransform({
      decode: 'text',
      delimiter: '|',
      record: (text) => `<${text}>`,
    });
    expect(await runRecords(transform, ['héllo', ''])).toEqual([okText('<héllo>|'), okText('<>|')]);
  });

  it('text: fails a record for which an object (or ok(number)) is returned, saying what to do', async () => {
    const transform = defineTransform({
      decode: 'text',
      record: (text) =>
        text === 'object' ? ({ a: 1 } as unknown as string) : ok(5 as unknown as string),
    });
    const [object, number] = await runRecords(transform, ['object', 'number']);
    expect(object).toEqual({
      result: 'ProcessingFailed',
      code: 'Lambda.JsonProcessingException',
      message:
        "The transform returned an object for a 'text' record: return a string (JSON.stringify an object to write JSON), or ok(string), dropped() or failed(message)",
    });
    expect(number).toMatchObject({
      message: expect.stringMatching(/returned a number for a 'text' record/) as unknown,
    });
  });

  it('text: fails a record whose partition keys are not strings', async () => {
    const transform = defineTransform({
      decode: 'text',
      record: (text) => ok(text, { partitionKeys: { n: 1 as unknown as string } }),
    });
    expect(await runRecords(transform, ['a'])).toEqual([
      {
        result: 'ProcessingFailed',
        code: 'Lambda.JsonProcessingException',
        message: 'ok(…, { partitionKeys }).n is a number: partition key values must be strings',
      },
    ]);
  });

  it('bytes: gets the bytes as a Buffer, returns bytes, no delimiter by default', async () => {
    const transform = defineTransform({
      decode: 'bytes',
      record: (bytes) =>
        bytes.length === 1 ? ('text' as unknown as Buffer) : new Uint8Array([...bytes].reverse()),
    });
    const [reversed, wrong] = await runRecords(transform, [
      Buffer.from([1, 2, 255]),
      Buffer.from([7]),
    ]);
    expect(reversed).toEqual({ result: 'Ok', data: Buffer.from([255, 2, 1]) });
    expect(wrong).toMatchObject({
      code: 'Lambda.JsonProcessingException',
      message: expect.stringMatching(
        /returned a string for a 'bytes' record: return a Buffer or Uint8Array/,
      ) as unknown,
    });
  });
});

describe('the Lambda form', () => {
  it('gets Firehose’s event (base64 data, ids, arrival times, stream ARN, region)', async () => {
    let seen: FirehoseTransformationEvent | undefined;
    const handler = (event: FirehoseTransformationEvent) => {
      seen = event;
      return {
        records: event.records.map((r) => ({
          recordId: r.recordId,
          result: 'Ok' as const,
          data: r.data,
        })),
      };
    };
    const outcomes = unpackOutcomes(
      await runLambdaForm(handler, inputsOf(['a', Buffer.from([0, 255])]), {
        streamArn: 'arn:aws:firehose:eu-west-1:000000000000:deliverystream/s',
        region: 'eu-west-1',
      }),
    );
    expect(outcomes).toEqual([okText('a'), { result: 'Ok', data: Buffer.from([0, 255]) }]);
    expect(seen).toEqual({
      invocationId: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      deliveryStreamArn: 'arn:aws:firehose:eu-west-1:000000000000:deliverystream/s',
      region: 'eu-west-1',
      records: [
        { recordId: 'id-0', approximateArrivalTimestamp: ARRIVAL_MS, data: 'YQ==' },
        { recordId: 'id-1', approximateArrivalTimestamp: ARRIVAL_MS + 1, data: 'AP8=' },
      ],
    });
  });

  it('lets a handler’s rejection through (an invocation error, retried by the host)', async () => {
    await expect(
      runLambdaForm(() => Promise.reject(new Error('down')), inputsOf(['a']), {
        streamArn: 'arn',
        region: 'us-east-1',
      }),
    ).rejects.toThrow('down');
  });
});
