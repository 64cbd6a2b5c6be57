import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  CLOUDWATCH_INVALID_ENVELOPE,
  CLOUDWATCH_INVALID_JSON,
  CLOUDWATCH_UNKNOWN_MESSAGE_TYPE,
  extractCloudWatchLogMessages,
  parseCloudWatchLogsEnvelope,
} from '../../src/processors/builtin/cloudwatch-logs.js';
import { decompressGzip } from '../../src/processors/builtin/decompression.js';
import { ProcessorFailure } from '../../src/processors/builtin/processor-failure.js';
import {
  CONTROL_MESSAGE_TEXT,
  cloudWatchControlMessage,
  cloudWatchControlMessageJson,
  cloudWatchLogsEnvelopeJson,
  cloudWatchLogsPayload,
  logEventId,
} from '../support/cloudwatch-logs.js';

const ADVICE =
  'A stream with CloudWatchLogProcessing takes CloudWatch Logs subscription data only; send other data to a stream without it.';

function failureOf(run: () => unknown): ProcessorFailure {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ProcessorFailure);
    return error as ProcessorFailure;
  }
  throw new Error('expected a ProcessorFailure, nothing was thrown');
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** A valid DATA_MESSAGE envelope as an object, to break one member at a time. */
function envelope(): Record<string, unknown> {
  return JSON.parse(cloudWatchLogsEnvelopeJson({ events: ['a', 'b'] })) as Record<string, unknown>;
}

function envelopeFailure(data: Buffer): string {
  const failure = failureOf(() => extractCloudWatchLogMessages(data));
  expect(failure.code).toBe(CLOUDWATCH_INVALID_ENVELOPE);
  expect(failure.outputType).toBe('processing-failed');
  expect(
    failure.message.startsWith('The record is not a CloudWatch Logs subscription payload: '),
  ).toBe(true);
  expect(failure.message.endsWith(`. ${ADVICE}`)).toBe(true);
  return failure.message.slice(
    'The record is not a CloudWatch Logs subscription payload: '.length,
    -`. ${ADVICE}`.length,
  );
}

describe('test support: CloudWatch Logs payloads', () => {
  it('builds gzip of the envelope CloudWatch Logs sends, with 56-digit ids and ms timestamps', () => {
    const payload = cloudWatchLogsPayload({ events: ['one', { message: 'two', timestamp: 5 }] });
    expect(payload.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const decoded = JSON.parse(gunzipSync(payload).toString()) as Record<string, unknown>;
    expect(Object.keys(decoded)).toEqual([
      'messageType',
      'owner',
      'logGroup',
      'logStream',
      'subscriptionFilters',
      'logEvents',
    ]);
    expect(decoded).toMatchObject({
      messageType: 'DATA_MESSAGE',
      owner: '123456789012',
      subscriptionFilters: ['Destination'],
      logEvents: [
        { timestamp: 1_709_088_639_367, message: 'one' },
        { timestamp: 5, message: 'two' },
      ],
    });
    const ids = (decoded.logEvents as { id: string }[]).map((event) => event.id);
    for (const id of ids) expect(id).toMatch(/^\d{56}$/);
    expect(logEventId(1_709_088_639_367, 1)).toBe('1709088639367' + '0'.repeat(42) + '1');
  });

  it('builds the control message CloudWatch Logs sends first', () => {
    expect(JSON.parse(gunzipSync(cloudWatchControlMessage(7)).toString())).toEqual({
      messageType: 'CONTROL_MESSAGE',
      owner: 'CloudwatchLogs',
      logGroup: '',
      logStream: '',
      subscriptionFilters: [],
      logEvents: [{ id: '', timestamp: 7, message: CONTROL_MESSAGE_TEXT }],
    });
  });
});

describe('CloudWatch Logs message extraction', () => {
  it('emits each log event message as a record, in order, after decompression', () => {
    const messages = ['{"eventVersion":"1.03","userIdentity":{"type":"Root1"}}', 'plain line', ''];
    const decompressed = decompressGzip(cloudWatchLogsPayload({ events: messages }), 1 << 20);
    const records = extractCloudWatchLogMessages(decompressed);
    expect(records.map((record) => record.toString('utf8'))).toEqual(messages);
  });

  it('encodes messages as UTF-8, astral characters and JSON escapes included', () => {
    const messages = ['héllo wörld', '日本語のログ', 'emoji 🚀 done', 'tab\tquote"backslash\\'];
    const records = extractCloudWatchLogMessages(
      Buffer.from(cloudWatchLogsEnvelopeJson({ events: messages })),
    );
    expect(records).toEqual(messages.map((message) => Buffer.from(message, 'utf8')));
    // The same rocket written as a \u surrogate pair, as some JSON writers do.
    const escaped = Buffer.from(
      cloudWatchLogsEnvelopeJson({ events: ['x'] }).replace(
        '"message":"x"',
        '"message":"\\ud83d\\ude80"',
      ),
    );
    expect(extractCloudWatchLogMessages(escaped)).toEqual([Buffer.from('🚀', 'utf8')]);
  });

  it('yields no records for the control message', () => {
    expect(extractCloudWatchLogMessages(Buffer.from(cloudWatchControlMessageJson()))).toEqual([]);
    expect(
      extractCloudWatchLogMessages(decompressGzip(cloudWatchControlMessage(), 1 << 20)),
    ).toEqual([]);
  });

  it('yields no records for a data message without events', () => {
    expect(
      extractCloudWatchLogMessages(Buffer.from(cloudWatchLogsEnvelopeJson({ events: [] }))),
    ).toEqual([]);
  });

  it('refuses a message type it does not know', () => {
    const failure = failureOf(() =>
      extractCloudWatchLogMessages(json({ ...envelope(), messageType: 'OTHER_MESSAGE' })),
    );
    expect(failure.code).toBe(CLOUDWATCH_UNKNOWN_MESSAGE_TYPE);
    expect(failure.outputType).toBe('processing-failed');
    expect(failure.message).toBe(
      `The CloudWatch Logs payload's messageType is "OTHER_MESSAGE"; message extraction knows DATA_MESSAGE (log events) and CONTROL_MESSAGE (dropped).`,
    );
  });

  it('refuses data that is not JSON, and JSON that is not UTF-8', () => {
    const notJson = failureOf(() => extractCloudWatchLogMessages(Buffer.from('hello world')));
    expect(notJson.code).toBe(CLOUDWATCH_INVALID_JSON);
    expect(notJson.outputType).toBe('processing-failed');
    expect(notJson.message).toMatch(
      /^The record is not JSON \(.+\), so not a CloudWatch Logs subscription payload\. /,
    );
    expect(notJson.message.endsWith(ADVICE)).toBe(true);

    const stillGzipped = failureOf(() =>
      extractCloudWatchLogMessages(cloudWatchLogsPayload({ events: ['a'] })),
    );
    expect(stillGzipped.code).toBe(CLOUDWATCH_INVALID_JSON);
    expect(stillGzipped.message).toBe(
      `The record is not UTF-8 text, so not a CloudWatch Logs subscription payload. ${ADVICE}`,
    );
  });

  it('names the first member that is missing or of the wrong type', () => {
    expect(envelopeFailure(json([1, 2]))).toBe('the record is an array, not a JSON object');
    expect(envelopeFailure(json('DATA_MESSAGE'))).toBe('the record is a string, not a JSON object');
    expect(envelopeFailure(json(null))).toBe('the record is null, not a JSON object');

    const cases: [(value: Record<string, unknown>) => void, string][] = [
      [(v) => delete v.messageType, 'messageType is missing, not a string'],
      [(v) => (v.owner = 123456789012), 'owner is a number, not a string'],
      [(v) => (v.logGroup = null), 'logGroup is null, not a string'],
      [(v) => (v.logStream = {}), 'logStream is an object, not a string'],
      [(v) => delete v.subscriptionFilters, 'subscriptionFilters is missing, not an array'],
      [
        (v) => (v.subscriptionFilters = ['ok', 3]),
        'subscriptionFilters[1] is a number, not a string',
      ],
      [(v) => delete v.logEvents, 'logEvents is missing, not an array'],
      [(v) => (v.logEvents = {}), 'logEvents is an object, not an array'],
      [(v) => ((v.logEvents as unknown[])[1] = 'line'), 'logEvents[1] is a string, not an object'],
      [
        (v) => delete (v.logEvents as Record<string, unknown>[])[0]!.id,
        'logEvents[0].id is missing, not a string',
      ],
      [
        (v) => ((v.logEvents as Record<string, unknown>[])[1]!.timestamp = '1709088639367'),
        'logEvents[1].timestamp is a string, not a number of milliseconds',
      ],
      [
        (v) => ((v.logEvents as Record<string, unknown>[])[0]!.message = { text: 'x' }),
        'logEvents[0].message is an object, not a string',
      ],
      [
        (v) => ((v.logEvents as Record<string, unknown>[])[1]!.message = true),
        'logEvents[1].message is a boolean, not a string',
      ],
    ];
    for (const [breakIt, problem] of cases) {
      const value = envelope();
      breakIt(value);
      expect(envelopeFailure(json(value))).toBe(problem);
    }
  });

  it('checks a control message as strictly as a data message', () => {
    const control = JSON.parse(cloudWatchControlMessageJson()) as Record<string, unknown>;
    delete control.logEvents;
    expect(envelopeFailure(json(control))).toBe('logEvents is missing, not an array');
  });
});

describe('parseCloudWatchLogsEnvelope', () => {
  it('returns the envelope, members CloudWatch Logs may add kept', () => {
    const value = envelope();
    (value.logEvents as Record<string, unknown>[])[0]!.extractedFields = { ip: '10.0.0.1' };
    const parsed = parseCloudWatchLogsEnvelope(json(value));
    expect(parsed.logGroup).toBe('/aws/lambda/orders');
    expect(parsed.logStream).toBe('2024/02/28/[$LATEST]14ff1bdcd999b9026e06c0c7e1fe47d5');
    expect(parsed.owner).toBe('123456789012');
    expect(parsed.subscriptionFilters).toEqual(['Destination']);
    expect(parsed.logEvents.map((event) => event.message)).toEqual(['a', 'b']);
    expect(parsed.logEvents[0]).toMatchObject({ extractedFields: { ip: '10.0.0.1' } });
  });

  it('parses the control message with its empty log group, stream and id', () => {
    const parsed = parseCloudWatchLogsEnvelope(Buffer.from(cloudWatchControlMessageJson(9)));
    expect(parsed).toEqual({
      messageType: 'CONTROL_MESSAGE',
      owner: 'CloudwatchLogs',
      logGroup: '',
      logStream: '',
      subscriptionFilters: [],
      logEvents: [{ id: '', timestamp: 9, message: CONTROL_MESSAGE_TEXT }],
    });
  });
});
