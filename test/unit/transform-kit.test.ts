import { describe, expect, it } from 'vitest';

import {
  defineTransform,
  dropped,
  failed,
  ok,
  RECORD_OUTCOME_TAG,
  TRANSFORM_TAG,
  type FirehoseTransformationResult,
} from '../../src/processors/transforms/transform-kit.js';

/**
 * The authoring kit: what `defineTransform`, `ok`, `dropped` and `failed` make, and (checked by
 * `tsc`, which `npm run typecheck` runs over the tests) which returns its types refuse: each
 * `@ts-expect-error` below fails the type check if that line ever compiles.
 */

describe('defineTransform', () => {
  it('tags a Lambda-form handler with Symbol.for("sluice.transform")', () => {
    const handler = (): FirehoseTransformationResult => ({ records: [] });
    const transform = defineTransform(handler);
    expect(TRANSFORM_TAG).toBe(Symbol.for('sluice.transform'));
    expect(transform[TRANSFORM_TAG]).toEqual({ form: 'lambda', handler });
  });

  it('keeps a record form’s decoding, delimiter and record function, bound to its options', () => {
    const options = {
      decode: 'text' as const,
      delimiter: ';',
      suffix: '!',
      record(this: { suffix: string }, text: string) {
        return text + this.suffix;
      },
    };
    const definition = defineTransform(options)[TRANSFORM_TAG];
    expect(definition).toMatchObject({ form: 'record', decode: 'text', delimiter: ';' });
    if (definition.form !== 'record') throw new Error('not a record form');
    const record = definition.record as (input: string) => unknown;
    expect(record('a')).toBe('a!');
  });

  it('leaves the delimiter undefined when not given (the worker picks the default)', () => {
    const definition = defineTransform({ decode: 'bytes', record: (bytes) => bytes })[
      TRANSFORM_TAG
    ];
    expect(definition).toMatchObject({ form: 'record', decode: 'bytes', delimiter: undefined });
  });
});

describe('ok, dropped, failed', () => {
  it('tag their outcome with Symbol.for("sluice.recordOutcome")', () => {
    expect(RECORD_OUTCOME_TAG).toBe(Symbol.for('sluice.recordOutcome'));
    expect(ok({ a: 1 }, { partitionKeys: { k: 'v' } })[RECORD_OUTCOME_TAG]).toEqual({
      result: 'Ok',
      value: { a: 1 },
      partitionKeys: { k: 'v' },
    });
    expect(ok('x')[RECORD_OUTCOME_TAG]).toEqual({
      result: 'Ok',
      value: 'x',
      partitionKeys: undefined,
    });
    expect(dropped()[RECORD_OUTCOME_TAG]).toEqual({ result: 'Dropped' });
    expect(failed('bad')[RECORD_OUTCOME_TAG]).toEqual({
      result: 'ProcessingFailed',
      message: 'bad',
    });
  });
});

describe('the kit’s types', () => {
  it('accept the returns each decoding writes', () => {
    const transforms = [
      defineTransform({ decode: 'json', record: (input) => ({ input }) }),
      defineTransform<{ n: number }>({ decode: 'json', record: (input) => input.n }),
      defineTransform({ decode: 'json', record: (input) => Promise.resolve(ok(input ?? null)) }),
      defineTransform({ decode: 'text', record: (text) => (text === '' ? dropped() : text) }),
      defineTransform({
        decode: 'text',
        record: (text) => Promise.resolve(ok(text, { partitionKeys: {} })),
      }),
      defineTransform({ decode: 'bytes', record: (bytes) => bytes.subarray(1) }),
      defineTransform({ decode: 'bytes', record: () => failed('no') }),
      defineTransform((event) => ({
        records: event.records.map((r) => ({ recordId: r.recordId, result: 'Dropped' })),
      })),
      defineTransform((event) =>
        Promise.resolve({
          records: event.records.map((r) => ({
            recordId: r.recordId,
            result: 'Ok' as const,
            data: r.data,
            metadata: { partitionKeys: { a: 'b' } },
          })),
        }),
      ),
    ];
    expect(transforms).toHaveLength(9);
  });

  it('refuse wrong returns', () => {
    const transforms = [
      // @ts-expect-error a 'text' record function must return a string
      defineTransform({ decode: 'text', record: (text) => text.length }),
      // @ts-expect-error ok() of a number where text is written
      defineTransform({ decode: 'text', record: (text) => ok(text.length) }),
      // @ts-expect-error a 'bytes' record function must return bytes, not text
      defineTransform({ decode: 'bytes', record: (bytes) => bytes.toString() }),
      // @ts-expect-error a 'json' record function must return something (undefined is no JSON)
      defineTransform({ decode: 'json', record: () => undefined }),
      // @ts-expect-error 'OK' is not a result
      defineTransform((event) => ({
        records: event.records.map((r) => ({ recordId: r.recordId, result: 'OK' })),
      })),
      // @ts-expect-error data is base64 text, not a Buffer
      defineTransform((event) => ({
        records: event.records.map((r) => ({
          recordId: r.recordId,
          result: 'Ok' as const,
          data: Buffer.from(r.data, 'base64'),
        })),
      })),
      // @ts-expect-error no such decoding
      defineTransform({ decode: 'xml', record: (input: unknown) => input }),
    ];
    expect(transforms).toHaveLength(7);
  });
});
