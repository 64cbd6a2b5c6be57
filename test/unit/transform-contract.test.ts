import { describe, expect, it } from 'vitest';

import {
  checkLambdaResponse,
  checkLambdaResponseText,
} from '../../src/processors/transforms/lambda-contract.js';

/** The Lambda response contract, rule by rule, on responses built by hand. */

const IDS = ['r1', 'r2', 'r3'];
const b64 = (text: string) => Buffer.from(text).toString('base64');
const ok = (recordId: string, text = recordId) => ({ recordId, result: 'Ok', data: b64(text) });

function everyRecordFails(outcomes: unknown[], message: string | RegExp): void {
  expect(outcomes).toHaveLength(IDS.length);
  for (const outcome of outcomes) {
    expect(outcome).toMatchObject({
      result: 'ProcessingFailed',
      code: 'Lambda.JsonProcessingException',
    });
    expect((outcome as { message: string }).message).toMatch(message);
  }
}

describe('checkLambdaResponse', () => {
  it('gives each input record its answer, in input order, whatever the response order', () => {
    const outcomes = checkLambdaResponse(
      {
        records: [
          { recordId: 'r3', result: 'ProcessingFailed' },
          ok('r1', 'one'),
          { recordId: 'r2', result: 'Dropped', data: 'ignored' },
        ],
      },
      IDS,
    );
    expect(outcomes).toEqual([
      { result: 'Ok', data: Buffer.from('one') },
      { result: 'Dropped' },
      {
        result: 'ProcessingFailed',
        code: 'Lambda.ProcessingFailedStatus',
        message: 'The record was marked ProcessingFailed by the transform.',
      },
    ]);
  });

  it('takes partition keys of strings, and empty data', () => {
    const outcomes = checkLambdaResponse(
      {
        records: [
          { ...ok('r1'), metadata: { partitionKeys: { customer: 'c1', day: '01' } } },
          { recordId: 'r2', result: 'Ok', data: '', metadata: {} },
          { ...ok('r3'), metadata: { partitionKeys: null } },
        ],
      },
      IDS,
    );
    expect(outcomes).toEqual([
      { result: 'Ok', data: Buffer.from('r1'), partitionKeys: { customer: 'c1', day: '01' } },
      { result: 'Ok', data: Buffer.alloc(0) },
      { result: 'Ok', data: Buffer.from('r3') },
    ]);
  });

  it('fails a record missing from the response with Lambda.MissingRecordId', () => {
    const outcomes = checkLambdaResponse({ records: [ok('r1'), ok('r3')] }, IDS);
    expect(outcomes[1]).toEqual({
      result: 'ProcessingFailed',
      code: 'Lambda.MissingRecordId',
      message: `The transform's response has no record with recordId "r2"`,
    });
    expect(outcomes[0]?.result).toBe('Ok');
    expect(outcomes[2]?.result).toBe('Ok');
  });

  it('fails a record answered twice with Lambda.DuplicatedRecordId, even if both agree', () => {
    const outcomes = checkLambdaResponse(
      { records: [ok('r1'), ok('r2'), ok('r3'), ok('r2')] },
      IDS,
    );
    expect(outcomes[1]).toEqual({
      result: 'ProcessingFailed',
      code: 'Lambda.DuplicatedRecordId',
      message: `The transform's response has more than one record with recordId "r2"`,
    });
    expect(outcomes.filter((o) => o.result === 'Ok')).toHaveLength(2);
  });

  it.each([
    [{ recordId: 'r2', result: 'Ok' }, /records\[1\] is Ok but has no data/],
    [{ recordId: 'r2', result: 'Ok', data: null }, /records\[1\] is Ok but has no data/],
    [{ recordId: 'r2', result: 'Ok', data: 12 }, /records\[1\]\.data is a number: expected/],
    [{ recordId: 'r2', result: 'Ok', data: 'not base64!' }, /records\[1\]\.data is not base64/],
    [{ recordId: 'r2', result: 'Ok', data: 'YWJj\nZA==' }, /records\[1\]\.data is not base64/],
    [{ recordId: 'r2', result: 'Ok', data: 'YWJjZA' }, /records\[1\]\.data is not base64/],
    [{ ...ok('r2'), metadata: 'x' }, /records\[1\]\.metadata is a string: expected an object/],
    [
      { ...ok('r2'), metadata: { partitionKeys: ['a'] } },
      /records\[1\]\.metadata\.partitionKeys is an array: expected an object of strings/,
    ],
    [
      { ...ok('r2'), metadata: { partitionKeys: { n: 1 } } },
      /records\[1\]\.metadata\.partitionKeys\.n is a number: partition key values must be strings/,
    ],
  ])('fails only the record whose answer is malformed: %j', (answer, message) => {
    const outcomes = checkLambdaResponse({ records: [ok('r1'), answer, ok('r3')] }, IDS);
    expect(outcomes[1]).toMatchObject({
      result: 'ProcessingFailed',
      code: 'Lambda.JsonProcessingException',
    });
    expect((outcomes[1] as { message: string }).message).toMatch(message);
    expect(outcomes[0]?.result).toBe('Ok');
    expect(outcomes[2]?.result).toBe('Ok');
  });

  it.each([
    [undefined, /is not \{"records": \[...\]\}: it is undefined/],
    [null, /is not \{"records": \[...\]\}: it is null/],
    ['done', /is not \{"records": \[...\]\}: it is a string/],
    [[ok('r1')], /is not \{"records": \[...\]\}: it is an array/],
    [{ items: [] }, /is not \{"records": \[...\]\}: its records member is undefined/],
    [{ records: {} }, /its records member is an object/],
    [{ records: [ok('r1'), 'r2'] }, /records\[1\] is a string, not an object/],
    [{ records: [ok('r1'), { result: 'Ok', data: '' }] }, /records\[1\] has no recordId/],
    [
      { records: [{ recordId: 2, result: 'Ok' }] },
      /records\[0\]\.recordId is a number, not a string/,
    ],
    [
      { records: [ok('r1'), ok('nobody')] },
      /records\[1\]\.recordId "nobody" is not a record of this invocation/,
    ],
    [
      { records: [{ ...ok('r1'), result: 'OK' }] },
      /records\[0\]\.result is "OK": expected "Ok", "Dropped" or "ProcessingFailed"/,
    ],
    [{ records: [{ recordId: 'r1' }] }, /records\[0\]\.result is missing/],
  ])('fails every record when the response as a whole is malformed: %j', (response, message) => {
    everyRecordFails(checkLambdaResponse(response, IDS), message);
  });

  it('fails every record for an unknown recordId even when the others are fine', () => {
    everyRecordFails(
      checkLambdaResponse({ records: [ok('r1'), ok('r2'), ok('r3'), ok('r4')] }, IDS),
      /"r4" is not a record of this invocation/,
    );
  });

  it('shortens a long recordId in messages', () => {
    const id = 'x'.repeat(500);
    const [outcome] = checkLambdaResponse({ records: [] }, [id]);
    expect((outcome as { message: string }).message).toBe(
      `The transform's response has no record with recordId "${'x'.repeat(100)}…"`,
    );
  });

  it('answers an empty invocation with nothing', () => {
    expect(checkLambdaResponse({ records: [] }, [])).toEqual([]);
  });
});

describe('checkLambdaResponseText', () => {
  it('checks JSON text as the response', () => {
    const outcomes = checkLambdaResponseText(
      JSON.stringify({ records: IDS.map((id) => ok(id)) }),
      IDS,
    );
    expect(outcomes.map((o) => o.result)).toEqual(['Ok', 'Ok', 'Ok']);
  });

  it('fails every record for text that is not JSON, quoting its start', () => {
    everyRecordFails(
      checkLambdaResponseText('<html>oops</html>', IDS),
      /^The transform's response is not JSON \(.*\): "<html>oops<\/html>"$/,
    );
  });
});
