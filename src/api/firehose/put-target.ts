import { FirehoseError } from '../../errors/catalogue.js';
import type { AppendResult } from '../../buffer/record-buffer.js';
import type { ApiContext } from '../context.js';
import type { DecodedRecords } from './record-decoding.js';
import { constraintText, validationMessage, wrongTypeError } from '../../config/validation.js';

const STREAM_NAME_PATTERN = /^[a-zA-Z0-9_.-]+$/;

/**
 * Checks `DeliveryStreamName` of a put request with Firehose's constraints (the control-plane
 * operations check it through their schemas; puts do it here to stay off zod on the hot path).
 */
export function putStreamName(input: Record<string, unknown>): string {
  const name = input.DeliveryStreamName;
  if (name === undefined || name === null) {
    throw new FirehoseError(
      'ValidationException',
      validationMessage([
        { value: null, path: 'deliveryStreamName', constraint: constraintText.notNull() },
      ]),
    );
  }
  if (typeof name !== 'string') {
    throw wrongTypeError('deliveryStreamName', 'a string', name);
  }
  const problems: string[] = [];
  if (name.length < 1) problems.push(constraintText.minLength(1));
  if (name.length > 64) problems.push(constraintText.maxLength(64));
  if (!STREAM_NAME_PATTERN.test(name)) problems.push(constraintText.pattern('[a-zA-Z0-9_.-]+'));
  if (problems.length > 0) {
    throw new FirehoseError(
      'ValidationException',
      validationMessage(
        problems.map((constraint) => ({ value: name, path: 'deliveryStreamName', constraint })),
      ),
    );
  }
  return name;
}

/**
 * What a producer is told about records stored on the primary that too few replicas confirmed
 * (`SLUICE_REDIS_MIN_REPLICAS`): they are not acknowledged, and sending them again is right.
 */
export function notReplicatedMessage(
  result: Extract<AppendResult, { kind: 'not-replicated' }>,
): string {
  return `Records not acknowledged: ${result.replicas} of the ${result.wanted} Redis replicas SLUICE_REDIS_MIN_REPLICAS asks for confirmed them within ${result.timeoutMs} ms. Send them again (they may then be delivered twice).`;
}

/** Turns a refused append into Firehose's error for it. */
export function appendRefusal(
  result: Exclude<AppendResult, { kind: 'stored' } | { kind: 'backpressure' }>,
  stream: string,
  ctx: ApiContext,
): FirehoseError {
  const account = ctx.settings.SLUICE_ACCOUNT_ID;
  if (result.kind === 'not-gzip') {
    return new FirehoseError(
      'InvalidSourceException',
      `Only requests from CloudWatch Logs are supported when CloudWatch Logs decompression is enabled. Record ${result.record} of the request is not gzip-compressed CloudWatch Logs data.`,
    );
  }
  if (result.kind === 'not-replicated') {
    return new FirehoseError('ServiceUnavailableException', notReplicatedMessage(result));
  }
  if (result.kind === 'not-found') {
    return new FirehoseError(
      'ResourceNotFoundException',
      `Firehose ${stream} under account ${account} not found.`,
    );
  }
  return new FirehoseError(
    'ResourceNotFoundException',
    `Firehose ${stream} under account ${account} is ${result.status} and does not accept records.`,
  );
}

/**
 * Reports records a put stored (IncomingRecords, IncomingBytes) and offers them to the live
 * tail. Called only once they are stored, so acknowledged: the tail never shows a record the
 * producer was told failed.
 */
export function reportStored(
  ctx: ApiContext,
  stream: string,
  decoded: DecodedRecords,
  nowMs: number,
): void {
  ctx.tail?.offer(stream, decoded.chunk, decoded.count, nowMs);
  ctx.telemetry?.emit({
    type: 'records.received',
    stream,
    records: decoded.count,
    bytes: decoded.payloadBytes,
  });
}
