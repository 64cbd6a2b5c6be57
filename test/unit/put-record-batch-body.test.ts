import { describe, expect, it } from 'vitest';
import { scanPutRecordBatchBody } from '../../src/api/firehose/put-record-batch-body.js';

const scan = (text: string) => scanPutRecordBatchBody(Buffer.from(text));

/** A deterministic generator, so a failure names a reproducible case. */
function prng(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

describe('scanPutRecordBatchBody', () => {
  it('reads what every SDK sends, exactly as JSON.parse does', () => {
    const records = [{ Data: 'aGVsbG8K' }, { Data: '' }, { Data: 'AAEC/w==' }];
    for (const text of [
      JSON.stringify({ DeliveryStreamName: 's-1.x_y', Records: records }),
      JSON.stringify({ Records: records, DeliveryStreamName: 's' }),
      JSON.stringify({ DeliveryStreamName: 's', Records: records }, null, 2),
      // boto3's separators
      '{"DeliveryStreamName": "s", "Records": [{"Data": "aGVsbG8K"}, {"Data": ""}]}',
      ' \r\n\t{ "DeliveryStreamName" : "s" , "Records" : [ ] } \n',
    ]) {
      expect(scan(text), text).toEqual(JSON.parse(text));
    }
  });

  it('agrees with JSON.parse on generated bodies with random whitespace and order', () => {
    const random = prng(7);
    const space = () => [' ', '\n', '\t', '\r', '', ''][Math.floor(random() * 6)] ?? '';
    for (let round = 0; round < 300; round++) {
      const count = Math.floor(random() * 20);
      const records = Array.from({ length: count }, () => {
        const bytes = Buffer.from(
          Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256)),
        );
        return `${space()}{${space()}"Data"${space()}:${space()}"${bytes.toString('base64')}"${space()}}${space()}`;
      });
      const name = `${space()}"DeliveryStreamName"${space()}:${space()}"stream-${round}"${space()}`;
      const list = `${space()}"Records"${space()}:${space()}[${records.join(',')}]${space()}`;
      const text = `${space()}{${random() < 0.5 ? `${name},${list}` : `${list},${name}`}}${space()}`;
      expect(scan(text), text).toEqual(JSON.parse(text));
    }
  });

  it.each([
    [
      'an escaped slash, as some serializers write',
      '{"DeliveryStreamName":"s","Records":[{"Data":"a\\/b="}]}',
    ],
    ['a unicode escape', '{"DeliveryStreamName":"\\u0073","Records":[]}'],
    ['non-ASCII bytes', '{"DeliveryStreamName":"é","Records":[]}'],
    ['a control character in the name', '{"DeliveryStreamName":"a\tb","Records":[]}'],
    ['another member', '{"DeliveryStreamName":"s","Records":[],"Extra":1}'],
    [
      'another record member',
      '{"DeliveryStreamName":"s","Records":[{"Data":"","PartitionKey":"x"}]}',
    ],
    ['a null Data', '{"DeliveryStreamName":"s","Records":[{"Data":null}]}'],
    ['a record that is not an object', '{"DeliveryStreamName":"s","Records":["QQ=="]}'],
    ['Records that is not a list', '{"DeliveryStreamName":"s","Records":{}}'],
    ['a duplicate member', '{"DeliveryStreamName":"s","DeliveryStreamName":"t","Records":[]}'],
    ['a missing member', '{"DeliveryStreamName":"s"}'],
    ['a trailing comma', '{"DeliveryStreamName":"s","Records":[{"Data":""},]}'],
    ['trailing bytes', '{"DeliveryStreamName":"s","Records":[]} x'],
    ['a truncated body', '{"DeliveryStreamName":"s","Records":[{"Data":"QQ=='],
    ['an empty object', '{}'],
    ['an empty body', ''],
    ['a list', '[]'],
  ])('leaves %s to JSON.parse', (_what, text) => {
    expect(scan(text)).toBeUndefined();
  });
});
