import type { IncomingHttpHeaders } from 'node:http';
import { FirehoseError } from '../../errors/catalogue.js';

/**
 * Reads the parts of an AWS Signature Version 4 from a request, in either of its two forms:
 * the `Authorization` header, or the query string of a presigned request. Only the shape is
 * checked here, with AWS's messages; whether the parts are right is the verifier's business.
 */

/** The signature parts of one request. */
export interface SignatureParts {
  /** Where the signature was: the `Authorization` header or the query string. */
  form: 'header' | 'query';
  /** E.g. `AWS4-HMAC-SHA256`. */
  algorithm: string;
  /** `<access key id>/<YYYYMMDD>/<region>/<service>/aws4_request`, as sent. */
  credential: string;
  /** The names listed in SignedHeaders, in the order sent. */
  signedHeaders: string[];
  /** Hex signature, as sent. */
  signature: string;
  /** The signing time as sent (`X-Amz-Date` header, or query parameter for presigned requests). */
  amzDate: string;
  /** Presigned requests: `X-Amz-Expires` as sent. */
  expires: string | undefined;
  /** Whether the request carries a session token (header or query parameter). */
  hasSecurityToken: boolean;
}

/** Query parameters a presigned request must carry (AWS's list, plus `X-Amz-Expires`, see below). */
const REQUIRED_QUERY_PARAMETERS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Signature',
  'X-Amz-SignedHeaders',
  'X-Amz-Date',
  // Every AWS presigner sends it and it is part of what is signed; without it the signature
  // could not be recomputed, so its absence gets a precise message rather than a mismatch.
  'X-Amz-Expires',
] as const;

/** The authorization-header parameters a signature must have, in AWS's order. */
const REQUIRED_HEADER_PARAMETERS = ['Credential', 'Signature', 'SignedHeaders'] as const;

/**
 * The signature parts of a request.
 *
 * @param query - the decoded query parameters (first value of each name).
 * @throws FirehoseError `InvalidSignatureException` when both forms are present,
 *   `MissingAuthenticationTokenException` when neither is, `IncompleteSignatureException`
 *   when one is but lacks a part.
 */
export function readSignatureParts(
  headers: IncomingHttpHeaders,
  query: ReadonlyMap<string, string>,
): SignatureParts {
  const authorization = headers.authorization;
  const inQuery = query.has('X-Amz-Algorithm');
  if (authorization !== undefined && inQuery) {
    throw new FirehoseError(
      'InvalidSignatureException',
      "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
    );
  }
  // AWS treats any other scheme (Basic, Bearer, AWS v2) as no AWS signature at all.
  if (inQuery) return fromQuery(headers, query);
  if (authorization?.trim().startsWith('AWS4-')) return fromHeader(headers, authorization);
  throw new FirehoseError('MissingAuthenticationTokenException', 'Missing Authentication Token');
}

function fromHeader(headers: IncomingHttpHeaders, authorization: string): SignatureParts {
  const trimmed = authorization.trim();
  const space = trimmed.search(/\s/);
  const algorithm = space < 0 ? trimmed : trimmed.slice(0, space);
  const rest = space < 0 ? '' : trimmed.slice(space);
  const params = new Map<string, string>();
  // AWS splits the parameters on commas and spaces alike.
  for (const piece of rest.split(/[,\s]+/).filter(Boolean)) {
    const equals = piece.indexOf('=');
    if (equals < 0) {
      throw new FirehoseError(
        'IncompleteSignatureException',
        `'${piece}' not a valid key=value pair (missing equal-sign) in Authorization header: '${authorization}'.`,
      );
    }
    params.set(piece.slice(0, equals), piece.slice(equals + 1));
  }

  let problems = '';
  for (const name of REQUIRED_HEADER_PARAMETERS) {
    if (!params.get(name)) problems += `Authorization header requires '${name}' parameter. `;
  }
  const amzDate = singleHeader(headers['x-amz-date']);
  if (amzDate === undefined && headers.date === undefined) {
    problems +=
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
  }
  if (problems !== '') {
    throw new FirehoseError(
      'IncompleteSignatureException',
      `${problems}Authorization=${authorization}`,
    );
  }
  if (amzDate === undefined) {
    // AWS accepts a `Date` header instead; every AWS SDK and CLI sends X-Amz-Date, and the
    // signer library recomputes with X-Amz-Date only, so say so rather than fail the match.
    throw new FirehoseError(
      'IncompleteSignatureException',
      "Sluice needs the signing time in an 'X-Amz-Date' header; signatures dated by the 'Date' header alone are not supported.",
    );
  }
  return {
    form: 'header',
    algorithm,
    credential: params.get('Credential') ?? '',
    signedHeaders: (params.get('SignedHeaders') ?? '').split(';'),
    signature: params.get('Signature') ?? '',
    amzDate,
    expires: undefined,
    hasSecurityToken: headers['x-amz-security-token'] !== undefined,
  };
}

function fromQuery(
  headers: IncomingHttpHeaders,
  query: ReadonlyMap<string, string>,
): SignatureParts {
  const missing = REQUIRED_QUERY_PARAMETERS.filter((name) => !query.get(name));
  if (missing.length > 0) {
    throw new FirehoseError(
      'IncompleteSignatureException',
      `${missing.map((name) => `AWS query-string parameters must include '${name}'. `).join('')}Re-examine the query-string parameters.`,
    );
  }
  const get = (name: string) => query.get(name) ?? '';
  return {
    form: 'query',
    algorithm: get('X-Amz-Algorithm'),
    credential: get('X-Amz-Credential'),
    signedHeaders: get('X-Amz-SignedHeaders').split(';'),
    signature: get('X-Amz-Signature'),
    amzDate: get('X-Amz-Date'),
    expires: get('X-Amz-Expires'),
    hasSecurityToken:
      query.has('X-Amz-Security-Token') || headers['x-amz-security-token'] !== undefined,
  };
}

/** A header that may arrive as a list (repeated): its values joined as HTTP would fold them. */
function singleHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}
