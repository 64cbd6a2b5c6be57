import type { DeliveryErrorCode } from '../../errors/delivery-error-codes.js';
import type { DeliveryOutcome, SendResult } from '../destination-kind.js';
import type { HttpEndpointRequest } from './request.js';
import { MAX_RESPONSE_BYTES, ResponseTimeoutError, type HttpEndpointResponse } from './sender.js';

/**
 * The HTTP endpoint classifier: what an answer (or the error that stopped the exchange) means,
 * by the rules of Firehose's HTTP endpoint delivery protocol. Only a 200 that follows the
 * protocol delivers; a 413 is permanent (resending the same body cannot help); everything else
 * is retried within the destination's retry window. Codes come from the closed catalogue;
 * the endpoint's access key never appears in a reason, even if the endpoint echoes it.
 */

/** Most characters of an endpoint's body quoted in a reason (Firehose's `errorMessage` cap). */
export const MAX_QUOTED_BODY_CHARS = 8192;

/** Node's socket error codes meaning no connection could be made. */
const CONNECTION_FAILED_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'EAI_AGAIN',
  'EAI_FAIL',
  'ETIMEDOUT',
]);

/** Node's socket error codes meaning an established connection was dropped. */
const CONNECTION_RESET_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
]);

/** OpenSSL's certificate verification results, as Node reports them in `error.code`. */
const CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'OUT_OF_MEM',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);

/**
 * The classifier. A `delivered` outcome's location is the request's target and request id, so
 * an endpoint's operator can find the request in their logs.
 */
export function classifyHttpResponse(
  request: HttpEndpointRequest,
  result: SendResult<HttpEndpointResponse>,
): DeliveryOutcome {
  const outcome =
    'response' in result ? classifyAnswer(request, result.response) : classifyError(result.error);
  if (outcome.kind === 'delivered') return outcome;
  if (outcome.kind === 'partial') return outcome;
  return { ...outcome, reason: withoutAccessKey(outcome.reason, request) };
}

/** An answer's meaning: 200 and conforming delivers, 413 is permanent, the rest retries. */
function classifyAnswer(
  request: HttpEndpointRequest,
  response: HttpEndpointResponse,
): DeliveryOutcome {
  const { status } = response;
  if (status === 413) {
    // The endpoint refuses the body's size: the same body will never be taken.
    return {
      kind: 'permanent',
      code: 'HttpEndpoint.DestinationException',
      reason: destinationExceptionMessage(response),
    };
  }
  if (response.tooLarge) {
    return retry(
      'HttpEndpoint.ResponseTooLarge',
      `The endpoint answered HTTP ${status} with a response body larger than ${MAX_RESPONSE_BYTES} bytes (1 MiB), the most Firehose accepts; the answer was not read further.`,
    );
  }
  if (status !== 200) {
    return retry('HttpEndpoint.DestinationException', destinationExceptionMessage(response));
  }
  const problem = protocolProblem(request.requestId, response);
  if (problem !== undefined) {
    return retry(
      'HttpEndpoint.InvalidResponseFromDestination',
      `The endpoint answered 200, but its response does not follow the Firehose HTTP endpoint protocol: ${problem}.`,
    );
  }
  return { kind: 'delivered', location: `${request.target} (request id ${request.requestId})` };
}

/**
 * What makes a 200 answer non-conforming, or undefined when it conforms: `Content-Type`
 * application/json (parameters such as `charset` allowed), no `Content-Encoding`, a
 * `Content-Length`, and a JSON object whose `requestId` is the request's and whose `timestamp`
 * is a number. `errorMessage` and other members are allowed and ignored.
 */
export function protocolProblem(
  requestId: string,
  response: Pick<HttpEndpointResponse, 'headers' | 'body'>,
): string | undefined {
  const contentType = response.headers['content-type'];
  if (contentType === undefined)
    return 'it has no Content-Type header; it must be application/json';
  const mediaType = contentType.split(';', 1)[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    return `its Content-Type is ${JSON.stringify(contentType)}; it must be application/json`;
  }
  const encoding = response.headers['content-encoding']?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    return `it has Content-Encoding ${JSON.stringify(response.headers['content-encoding'])}; the response must not be encoded`;
  }
  if (response.headers['content-length'] === undefined) {
    return 'it has no Content-Length header (Firehose requires one; a chunked answer has none)';
  }
  let answer: unknown;
  try {
    answer = JSON.parse(response.body.toString('utf8'));
  } catch (error) {
    return `its body is not JSON (${error instanceof Error ? error.message : String(error)})`;
  }
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) {
    return `its body is JSON but not an object: ${quoteBody(response.body, 200)}`;
  }
  const { requestId: answeredId, timestamp } = answer as Record<string, unknown>;
  if (answeredId === undefined) {
    return `its body has no requestId; it must be the request's, ${JSON.stringify(requestId)}`;
  }
  if (answeredId !== requestId) {
    return `its requestId is ${JSON.stringify(answeredId)}, not the request's ${JSON.stringify(requestId)}`;
  }
  if (timestamp === undefined) return 'its body has no timestamp; it must be a number (epoch ms)';
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
    return `its timestamp is ${JSON.stringify(timestamp)}, not a number (epoch ms)`;
  }
  return undefined;
}

/** A failed exchange's meaning: always worth a retry; the code says what went wrong. */
function classifyError(error: unknown): DeliveryOutcome {
  if (error instanceof ResponseTimeoutError) {
    return retry(
      'HttpEndpoint.RequestTimeout',
      `The endpoint did not answer within ${error.timeoutMs} ms (the response timeout); the request was abandoned.`,
    );
  }
  const code = errorCode(error);
  const detail = errorDetail(code, error);
  if (isTlsFailure(code, error)) {
    return retry(
      'HttpEndpoint.SSLHandshakeFailure',
      `The TLS handshake with the endpoint failed: ${detail}.`,
    );
  }
  if (code !== undefined && CONNECTION_RESET_CODES.has(code)) {
    return retry(
      'HttpEndpoint.ConnectionReset',
      `The endpoint closed the connection before a complete answer: ${detail}.`,
    );
  }
  if (code !== undefined && code.startsWith('HPE_')) {
    return retry(
      'HttpEndpoint.InvalidResponseFromDestination',
      `The endpoint's answer is not valid HTTP: ${detail}.`,
    );
  }
  if (code !== undefined && CONNECTION_FAILED_CODES.has(code)) {
    return retry(
      'HttpEndpoint.ConnectionFailed',
      `No connection to the endpoint could be made: ${detail}.`,
    );
  }
  // Anything else stopped the request before an answer: a connection that never carried one.
  return retry('HttpEndpoint.ConnectionFailed', `The request to the endpoint failed: ${detail}.`);
}

/**
 * Firehose's message for a non-200 answer: `The following response was received from the
 * endpoint destination. <status>: <body>`, the body cut to {@link MAX_QUOTED_BODY_CHARS}.
 */
function destinationExceptionMessage(response: HttpEndpointResponse): string {
  return `The following response was received from the endpoint destination. ${response.status}: ${quoteBody(response.body, MAX_QUOTED_BODY_CHARS)}`;
}

/** The body as text, cut to `maxChars` characters with a note when cut. */
function quoteBody(body: Buffer, maxChars: number): string {
  // A character takes at most 4 bytes in UTF-8: decoding more than this cannot be shown.
  const text = body.subarray(0, maxChars * 4 + 4).toString('utf8');
  return text.length > maxChars || body.length > maxChars * 4 + 4
    ? `${text.slice(0, maxChars)}… (cut to ${maxChars} characters)`
    : text;
}

function isTlsFailure(code: string | undefined, error: unknown): boolean {
  if (code === undefined) return false;
  if (code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code === 'EPROTO') return true;
  if (CERTIFICATE_CODES.has(code)) return true;
  // Node's reset during a handshake: "Client network socket disconnected before secure TLS
  // connection was established".
  return code === 'ECONNRESET' && error instanceof Error && error.message.includes('TLS');
}

/** `error.code`, or that of the first of an AggregateError's errors (several addresses tried). */
function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, errors } = error as { code?: unknown; errors?: unknown };
  if (typeof code === 'string') return code;
  if (Array.isArray(errors) && errors.length > 0) return errorCode(errors[0]);
  return undefined;
}

function errorDetail(code: string | undefined, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (code === undefined) return message || 'an error without a message';
  return message === '' || message === code ? code : `${code} (${message})`;
}

function retry(code: DeliveryErrorCode, reason: string): DeliveryOutcome {
  return { kind: 'retry', code, reason };
}

/** The reason with the access key, should the endpoint have echoed it, replaced. */
function withoutAccessKey(reason: string, request: HttpEndpointRequest): string {
  const key = request.headers['X-Amz-Firehose-Access-Key'];
  return key ? reason.replaceAll(key, '[access key]') : reason;
}
