import { setTimeout as sleep } from 'node:timers/promises';
import { FirehoseApiError, type FirehoseClient } from './firehose-client.js';
import type { InputRecord } from './put-input.js';

/**
 * One PutRecordBatch request's records sent as Firehose asks producers to: entries answered
 * with an `ErrorCode` (such as `ServiceUnavailableException` "Slow down.") are sent again, only
 * they, after a growing wait, up to a bounded number of attempts; a request refused as a
 * whole for a passing reason (HTTP 5xx, throttling, no answer in time) is sent again the same
 * way. Anything else (no such stream, a request the server rejects) is thrown.
 */

/** Attempts per record (the first one included) unless `--max-attempts` says otherwise. */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** First wait before a new attempt; it doubles each time, up to {@link MAX_BACKOFF_MS}. */
const BASE_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 5_000;

/** A record given up, and the last error its entry was answered with. */
export interface FailedRecord {
  readonly line: number;
  readonly code: string;
  readonly message: string;
}

/** What sending one batch did. */
export interface BatchOutcome {
  readonly sent: number;
  readonly failed: FailedRecord[];
  /** Requests made, retries included. */
  readonly requests: number;
  /** Records sent again after a failed entry or a failed request. */
  readonly retried: number;
}

/** How {@link sendBatch} sends. */
export interface SendOptions {
  readonly client: FirehoseClient;
  readonly stream: string;
  readonly maxAttempts: number;
  /** Waits between attempts; replaced in tests. */
  readonly wait?: (ms: number) => Promise<unknown>;
  /** Told the records accepted, as they are. */
  readonly onSent?: (records: number) => void;
}

/** Whether a refusal of the whole request may pass when the request is sent again. */
function isPassing(err: unknown): boolean {
  if (!(err instanceof FirehoseApiError)) return false;
  if (err.code === 'Timeout' || err.code === 'ThrottlingException') return true;
  return err.status !== undefined && err.status >= 500;
}

/** The wait before attempt `attempt` (2 and on): exponential, with jitter so producers spread. */
function backoffMs(attempt: number): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (attempt - 2));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/**
 * Sends `records` (one PutRecordBatch's worth) to the stream.
 *
 * @throws FirehoseApiError when a request is refused for a reason that sending again cannot
 *   fix, or still fails as a whole at the last attempt.
 */
export async function sendBatch(
  records: readonly InputRecord[],
  options: SendOptions,
): Promise<BatchOutcome> {
  const wait = options.wait ?? sleep;
  let pending = records;
  let sent = 0;
  let requests = 0;
  let retried = 0;
  let lastErrors = new Map<InputRecord, { code: string; message: string }>();
  for (let attempt = 1; attempt <= options.maxAttempts && pending.length > 0; attempt += 1) {
    if (attempt > 1) {
      await wait(backoffMs(attempt));
      retried += pending.length;
    }
    requests += 1;
    let answer: Record<string, unknown>;
    try {
      answer = await options.client.call('PutRecordBatch', {
        DeliveryStreamName: options.stream,
        Records: pending.map((record) => ({ Data: record.data.toString('base64') })),
      });
    } catch (err) {
      if (!isPassing(err) || attempt === options.maxAttempts) throw err;
      const { code, message } = err as FirehoseApiError;
      lastErrors = new Map(pending.map((record) => [record, { code, message }]));
      continue;
    }
    const responses = Array.isArray(answer.RequestResponses) ? answer.RequestResponses : [];
    const again: InputRecord[] = [];
    lastErrors = new Map();
    pending.forEach((record, i) => {
      const entry = (responses[i] ?? {}) as { ErrorCode?: unknown; ErrorMessage?: unknown };
      if (typeof entry.ErrorCode === 'string') {
        again.push(record);
        lastErrors.set(record, {
          code: entry.ErrorCode,
          message: typeof entry.ErrorMessage === 'string' ? entry.ErrorMessage : '',
        });
      }
    });
    const accepted = pending.length - again.length;
    sent += accepted;
    if (accepted > 0) options.onSent?.(accepted);
    pending = again;
  }
  const failed = pending.map((record) => ({
    line: record.line,
    ...(lastErrors.get(record) ?? { code: 'Unknown', message: '' }),
  }));
  return { sent, failed, requests, retried };
}
