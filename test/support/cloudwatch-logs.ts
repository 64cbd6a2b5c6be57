import { gzipSync } from 'node:zlib';

/**
 * CloudWatch Logs subscription payloads, built as CloudWatch Logs builds them for a Firehose
 * destination: the JSON envelope, gzip-compressed (the API then carries it base64-encoded like
 * any record). Shapes from docs.aws.amazon.com/AmazonCloudWatch/latest/logs/ValidateLogEventFlow.html
 * and docs.aws.amazon.com/firehose/latest/dev/Message_extraction.html; the member order is that
 * of a captured payload (messageType first), the control message that of CloudWatch's health
 * check as recorded in Vector's test fixtures.
 */

/** A log event to put in a payload; what is left out is filled in as CloudWatch Logs would. */
export interface LogEventInput {
  message: string;
  /** Epoch milliseconds; defaults to the payload's `timestamp` plus the event's index. */
  timestamp?: number;
  /** Defaults to a 56-digit id derived from the timestamp and index, as real ids look. */
  id?: string;
}

/** What a data payload holds. */
export interface CloudWatchLogsPayloadOptions {
  /** The log events: messages, or events with their own timestamp/id. */
  events: (string | LogEventInput)[];
  /** The AWS account id; defaults to `123456789012`. */
  owner?: string;
  /** Defaults to `/aws/lambda/orders`. */
  logGroup?: string;
  /** Defaults to `2024/02/28/[$LATEST]14ff1bdcd999b9026e06c0c7e1fe47d5`. */
  logStream?: string;
  /** Defaults to `['Destination']`. */
  subscriptionFilters?: string[];
  /** Timestamp of the first event when events give none; defaults to 1709088639367. */
  timestamp?: number;
}

/** The decompressed JSON of a data payload (what `Decompression` yields). */
export function cloudWatchLogsEnvelopeJson(options: CloudWatchLogsPayloadOptions): string {
  const base = options.timestamp ?? 1_709_088_639_367;
  return JSON.stringify({
    messageType: 'DATA_MESSAGE',
    owner: options.owner ?? '123456789012',
    logGroup: options.logGroup ?? '/aws/lambda/orders',
    logStream: options.logStream ?? '2024/02/28/[$LATEST]14ff1bdcd999b9026e06c0c7e1fe47d5',
    subscriptionFilters: options.subscriptionFilters ?? ['Destination'],
    logEvents: options.events.map((event, index) => {
      const input = typeof event === 'string' ? { message: event } : event;
      const timestamp = input.timestamp ?? base + index;
      return { id: input.id ?? logEventId(timestamp, index), timestamp, message: input.message };
    }),
  });
}

/** A DATA_MESSAGE payload as CloudWatch Logs sends it to Firehose: gzip of the envelope. */
export function cloudWatchLogsPayload(options: CloudWatchLogsPayloadOptions): Buffer {
  return gzipSync(cloudWatchLogsEnvelopeJson(options));
}

/** The message of the health check CloudWatch Logs sends when a subscription is created. */
export const CONTROL_MESSAGE_TEXT = 'CWL CONTROL MESSAGE: Checking health of destination Firehose.';

/** The decompressed JSON of the control message. */
export function cloudWatchControlMessageJson(timestamp = 1_600_110_003_794): string {
  return JSON.stringify({
    messageType: 'CONTROL_MESSAGE',
    owner: 'CloudwatchLogs',
    logGroup: '',
    logStream: '',
    subscriptionFilters: [],
    logEvents: [{ id: '', timestamp, message: CONTROL_MESSAGE_TEXT }],
  });
}

/** The CONTROL_MESSAGE CloudWatch Logs sends first to a new Firehose destination, gzipped. */
export function cloudWatchControlMessage(timestamp?: number): Buffer {
  return gzipSync(cloudWatchControlMessageJson(timestamp));
}

/**
 * A 56-digit event id. Real ids are opaque 56-digit decimal numbers, consecutive for events
 * of one batch (…221568, …221569); this one starts with the timestamp and ends with the index.
 */
export function logEventId(timestamp: number, index: number): string {
  return (BigInt(timestamp) * 10n ** 43n + BigInt(index)).toString().padStart(56, '0').slice(-56);
}
