import type { HttpReply } from './firehose-http.js';
import type { PreparedBody } from './records.js';

/** What one PutRecordBatch achieved, per record. */
export interface PutOutcome {
  acceptedRecords: number;
  acceptedBytes: number;
  failedRecords: number;
  /** Failed records by reason: the per-record `ErrorCode`, or the request's error type. */
  errors: Map<string, number>;
}

/** The marker fluent-bit also relies on: a compact success reply contains it verbatim. */
const ALL_ACCEPTED = '"FailedPutCount":0';

/**
 * Classifies a PutRecordBatch reply. A 200 reply with `"FailedPutCount":0` accepted every
 * record; its 500 record ids are not parsed, because parsing them for every request would cost
 * the load generator more than the check. A 200 reply without the key (the ceiling answers `{}`)
 * also counts as all accepted. Otherwise the per-record `ErrorCode`s decide which payload bytes
 * count; a non-200 reply fails every record.
 */
export function putOutcome(reply: HttpReply, body: PreparedBody): PutOutcome {
  const total = body.recordBytes.length;
  if (reply.status !== 200) return failedAll(total, errorReason(reply));
  const marker = reply.body.indexOf(ALL_ACCEPTED);
  const next = reply.body.charAt(marker + ALL_ACCEPTED.length);
  if ((marker >= 0 && (next === ',' || next === '}')) || !reply.body.includes('"FailedPutCount"')) {
    return {
      acceptedRecords: total,
      acceptedBytes: body.payloadBytes,
      failedRecords: 0,
      errors: new Map(),
    };
  }
  const responses = requestResponses(reply, total);
  if (typeof responses === 'string') return failedAll(total, responses);
  const outcome: PutOutcome = {
    acceptedRecords: 0,
    acceptedBytes: 0,
    failedRecords: 0,
    errors: new Map(),
  };
  responses.forEach((entry: unknown, index) => {
    const code = (entry as { ErrorCode?: unknown } | null)?.ErrorCode;
    if (typeof code === 'string' && code !== '') {
      outcome.failedRecords += 1;
      outcome.errors.set(code, (outcome.errors.get(code) ?? 0) + 1);
    } else {
      outcome.acceptedRecords += 1;
      outcome.acceptedBytes += body.recordBytes[index] ?? 0;
    }
  });
  return outcome;
}

/**
 * Why a reply that is not HTTP 200 failed its request: `HTTP <status> <type>`, the type from
 * `x-amzn-ErrorType`, else from the body's `__type`.
 */
export function errorReason(reply: HttpReply): string {
  let type = reply.errorType;
  if (type === undefined) {
    try {
      type = String((JSON.parse(reply.body) as { __type?: unknown }).__type);
    } catch {
      type = 'unparseable error reply';
    }
  }
  return `HTTP ${reply.status} ${type}`;
}

/**
 * The `RequestResponses` of a 200 PutRecordBatch reply to a request of `records` records, one
 * entry a record, or what is wrong with the reply when it has not one per record.
 */
export function requestResponses(reply: HttpReply, records: number): unknown[] | string {
  let responses: unknown;
  try {
    responses = (JSON.parse(reply.body) as { RequestResponses?: unknown }).RequestResponses;
  } catch {
    return 'unparseable PutRecordBatch reply';
  }
  if (!Array.isArray(responses) || responses.length !== records) {
    return 'RequestResponses missing or of the wrong length';
  }
  return responses as unknown[];
}

/** Every record of the request failed for `reason`. */
export function failedAll(records: number, reason: string): PutOutcome {
  return {
    acceptedRecords: 0,
    acceptedBytes: 0,
    failedRecords: records,
    errors: new Map([[reason, records]]),
  };
}
