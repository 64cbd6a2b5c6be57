import { ProcessorFailure } from './processor-failure.js';
import { describeJsonType } from '../json-type.js';

/**
 * The `CloudWatchLogProcessing` processor with `DataMessageExtraction` true. It reads a
 * decompressed CloudWatch Logs subscription payload and emits the `message` of each log event
 * as a record of its own, dropping the envelope's metadata (owner, log group, log stream…)
 * (docs.aws.amazon.com/firehose/latest/dev/Message_extraction.html). Messages are emitted as
 * they are, without a newline: streams add one with `AppendDelimiterToRecord`.
 *
 * The payload, as CloudWatch Logs sends it (docs.aws.amazon.com/AmazonCloudWatch/latest/logs/
 * ValidateLogEventFlow.html):
 * `{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"…","logStream":"…",
 * "subscriptionFilters":["…"],"logEvents":[{"id":"<56 digits>","timestamp":<ms>,"message":"…"}]}`.
 * When a subscription is created CloudWatch Logs first sends a `CONTROL_MESSAGE` (owner
 * `CloudwatchLogs`, empty log group and stream, one event "CWL CONTROL MESSAGE: Checking
 * health of destination Firehose.") to check that the destination is reachable; it carries no
 * log data and yields no records.
 */

/** The error code of a record that is not UTF-8 JSON. */
export const CLOUDWATCH_INVALID_JSON = 'CloudWatchLogs.InvalidJson';

/** The error code of a JSON record that is not a CloudWatch Logs subscription envelope. */
export const CLOUDWATCH_INVALID_ENVELOPE = 'CloudWatchLogs.InvalidEnvelope';

/** The error code of an envelope whose `messageType` is neither data nor control. */
export const CLOUDWATCH_UNKNOWN_MESSAGE_TYPE = 'CloudWatchLogs.UnknownMessageType';

/** `messageType` of a payload that carries log events. */
export const DATA_MESSAGE = 'DATA_MESSAGE';

/** `messageType` of the health check CloudWatch Logs sends to a new destination. */
export const CONTROL_MESSAGE = 'CONTROL_MESSAGE';

/** One log event of a subscription payload. */
export interface CloudWatchLogEvent {
  /** The event's id: a 56-digit decimal string (empty in control messages). */
  id: string;
  /** When the event happened, in epoch milliseconds. */
  timestamp: number;
  /** The log line. */
  message: string;
}

/**
 * A decompressed CloudWatch Logs subscription payload. Members CloudWatch Logs may add beyond
 * these (such as an event's `extractedFields`) are kept as they came.
 */
export interface CloudWatchLogsEnvelope {
  /** `DATA_MESSAGE` or `CONTROL_MESSAGE`. */
  messageType: string;
  /** The AWS account id the log data comes from (`CloudwatchLogs` in control messages). */
  owner: string;
  logGroup: string;
  logStream: string;
  /** The names of the subscription filters that matched. */
  subscriptionFilters: string[];
  logEvents: CloudWatchLogEvent[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses and checks a decompressed subscription payload. Every member Sluice relies on is
 * checked for presence and type, so that nothing downstream meets a surprise.
 *
 * @param data - The record after `Decompression`.
 * @returns The envelope.
 * @throws {@link ProcessorFailure} with output type `processing-failed`: code
 *   {@link CLOUDWATCH_INVALID_JSON} for data that is not UTF-8 JSON,
 *   {@link CLOUDWATCH_INVALID_ENVELOPE} naming the first member that is missing or of the
 *   wrong type.
 */
export function parseCloudWatchLogsEnvelope(data: Buffer): CloudWatchLogsEnvelope {
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    throw new ProcessorFailure(
      CLOUDWATCH_INVALID_JSON,
      `The record is not UTF-8 text, so not a CloudWatch Logs subscription payload. ${ADVICE}`,
      'processing-failed',
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ProcessorFailure(
      CLOUDWATCH_INVALID_JSON,
      `The record is not JSON (${(error as Error).message}), so not a CloudWatch Logs subscription payload. ${ADVICE}`,
      'processing-failed',
    );
  }
  if (!isObject(value)) {
    throw invalidEnvelope(`the record is ${describe(value)}, not a JSON object`);
  }
  for (const member of ['messageType', 'owner', 'logGroup', 'logStream'] as const) {
    expectString(value[member], member);
  }
  const filters = value.subscriptionFilters;
  if (!Array.isArray(filters)) {
    throw invalidEnvelope(`subscriptionFilters is ${describe(filters)}, not an array`);
  }
  filters.forEach((filter, index) => expectString(filter, `subscriptionFilters[${index}]`));
  const events = value.logEvents;
  if (!Array.isArray(events)) {
    throw invalidEnvelope(`logEvents is ${describe(events)}, not an array`);
  }
  for (let index = 0; index < events.length; index++) {
    const event: unknown = events[index];
    const where = `logEvents[${index}]`;
    if (!isObject(event)) throw invalidEnvelope(`${where} is ${describe(event)}, not an object`);
    expectString(event.id, `${where}.id`);
    if (typeof event.timestamp !== 'number' || !Number.isFinite(event.timestamp)) {
      throw invalidEnvelope(
        `${where}.timestamp is ${describe(event.timestamp)}, not a number of milliseconds`,
      );
    }
    expectString(event.message, `${where}.message`);
  }
  return value as unknown as CloudWatchLogsEnvelope;
}

/**
 * Message extraction: one record per log event of a `DATA_MESSAGE`, in order, each the event's
 * `message` as UTF-8; no record for a `CONTROL_MESSAGE`, which Firehose drops.
 *
 * @param data - The record after `Decompression`.
 * @returns The log events' messages (an empty list for a control message or a data message
 *   without events).
 * @throws {@link ProcessorFailure} with output type `processing-failed`: the codes of
 *   {@link parseCloudWatchLogsEnvelope}, and {@link CLOUDWATCH_UNKNOWN_MESSAGE_TYPE} for any
 *   other `messageType`.
 */
export function extractCloudWatchLogMessages(data: Buffer): Buffer[] {
  const envelope = parseCloudWatchLogsEnvelope(data);
  switch (envelope.messageType) {
    case DATA_MESSAGE:
      return envelope.logEvents.map((event) => Buffer.from(event.message, 'utf8'));
    case CONTROL_MESSAGE:
      return [];
    default:
      throw new ProcessorFailure(
        CLOUDWATCH_UNKNOWN_MESSAGE_TYPE,
        `The CloudWatch Logs payload's messageType is ${JSON.stringify(envelope.messageType)}; message extraction knows ${DATA_MESSAGE} (log events) and ${CONTROL_MESSAGE} (dropped).`,
        'processing-failed',
      );
  }
}

const ADVICE =
  'A stream with CloudWatchLogProcessing takes CloudWatch Logs subscription data only; send other data to a stream without it.';

function invalidEnvelope(problem: string): ProcessorFailure {
  return new ProcessorFailure(
    CLOUDWATCH_INVALID_ENVELOPE,
    `The record is not a CloudWatch Logs subscription payload: ${problem}. ${ADVICE}`,
    'processing-failed',
  );
}

function expectString(value: unknown, where: string): void {
  if (typeof value !== 'string') {
    throw invalidEnvelope(`${where} is ${describe(value)}, not a string`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON value's kind, for messages: the record's content is not repeated in them. */
function describe(value: unknown): string {
  return value === undefined ? 'missing' : describeJsonType(value);
}
