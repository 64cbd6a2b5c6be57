import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HttpRequest } from '@smithy/core/protocols';
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import { FirehoseError } from '../../errors/catalogue.js';
import type { AccessKeys } from './access-keys.js';
import { readSignatureParts, type SignatureParts } from './signature-parts.js';

/**
 * Verifies AWS Signature Version 4 on Firehose API requests, as Amazon Data Firehose does.
 *
 * The signature is not recomputed by hand: the request as received (method, path, query,
 * the signed headers only, the body bytes) is signed again with `@smithy/signature-v4`, the
 * signer the AWS SDK for JavaScript uses, with the request's own date, region and service,
 * and the two signatures are compared in constant time. The checks before that, their order
 * and their messages follow AWS's JSON services (errors answer HTTP 400).
 */

/** The request as received. */
export interface ReceivedRequest {
  method: string;
  /** Path and query exactly as on the request line. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The body bytes exactly as received; empty when there is none. */
  body: Buffer;
}

/** Who signed a verified request. */
export interface VerifiedSigner {
  accessKeyId: string;
}

/** Options for {@link SigV4Verifier}. */
export interface SigV4VerifierOptions {
  keys: AccessKeys;
  /** Accept only this region in the credential scope; any region when undefined. */
  region?: string | undefined;
}

/** The signing service Firehose's endpoint expects in the credential scope. */
const SIGNING_SERVICE = 'firehose';
const ALGORITHM = 'AWS4-HMAC-SHA256';
const TERMINATOR = 'aws4_request';
/** How far a signing time may be from the server's clock, either way (AWS: 5 minutes). */
const MAX_SKEW_MS = 5 * 60 * 1000;
/** The longest a presigned request may be valid (AWS: 7 days). */
const MAX_EXPIRES_SECONDS = 7 * 24 * 60 * 60;
const BASIC_ISO_8601 = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** The hash constructor the signer wants: SHA-256 from node:crypto, keyed for HMAC. */
class Sha256 extends Hash {
  constructor(secret?: ConstructorParameters<typeof Hash>[1]) {
    super('sha256', secret);
  }
}

/** Checks SigV4 signatures against a fixed set of access keys. */
export class SigV4Verifier {
  private readonly signers = new Map<string, SignatureV4>();
  private readonly region: string | undefined;

  constructor(options: SigV4VerifierOptions) {
    this.region = options.region;
    for (const [accessKeyId, secretAccessKey] of options.keys) {
      this.signers.set(
        accessKeyId,
        new SignatureV4({
          credentials: { accessKeyId, secretAccessKey },
          // Unused: every call names the request's own region.
          region: 'us-east-1',
          service: SIGNING_SERVICE,
          sha256: Sha256,
          // Never add a content hash header the client did not send: it would change the
          // signed headers.
          applyChecksum: false,
          uriEscapePath: true,
        }),
      );
    }
  }

  /**
   * Verifies the request's signature.
   *
   * @returns the access key that signed it.
   * @throws FirehoseError `MissingAuthenticationTokenException`,
   *   `IncompleteSignatureException`, `InvalidSignatureException` or
   *   `UnrecognizedClientException`, with AWS's messages.
   */
  async verify(request: ReceivedRequest): Promise<VerifiedSigner> {
    const { path, query } = splitUrl(request.url);
    const parts = readSignatureParts(request.headers, firstValues(query));

    const signingDate = parseAmzDate(parts.amzDate);
    const expiresIn = parts.form === 'query' ? parseExpires(parts.expires) : undefined;
    this.checkTime(parts.amzDate, signingDate, expiresIn);

    const signedHeaders = parts.signedHeaders.map((name) => name.toLowerCase());
    if (!signedHeaders.includes('host')) {
      throw new FirehoseError(
        'InvalidSignatureException',
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
      );
    }
    // Every AWS client signs these two when it sends them. An unsigned X-Amz-Target would let
    // a captured request be pointed at another operation; an unsigned X-Amz-Date cannot be
    // verified here, as the signer library always signs it.
    for (const [name, shown] of [
      ['x-amz-date', 'X-Amz-Date'],
      ['x-amz-target', 'X-Amz-Target'],
    ] as const) {
      if (request.headers[name] !== undefined && !signedHeaders.includes(name)) {
        throw new FirehoseError(
          'InvalidSignatureException',
          `'${shown}' must be a 'SignedHeader' in the AWS Authorization.`,
        );
      }
    }
    if (parts.algorithm !== ALGORITHM) {
      throw new FirehoseError(
        'IncompleteSignatureException',
        `Unsupported AWS 'algorithm': '${parts.algorithm}' (only ${ALGORITHM} for now). `,
      );
    }
    const scope = this.checkScope(parts);

    const signer = this.signers.get(scope.accessKeyId);
    if (signer === undefined) throw unrecognized();

    // A client may send the body's hash; the signer trusts it, so it must be the body's.
    const claimedHash = request.headers['x-amz-content-sha256'];
    if (claimedHash !== undefined) {
      if (claimedHash !== createHash('sha256').update(request.body).digest('hex')) {
        throw new FirehoseError(
          'InvalidSignatureException',
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
        );
      }
    }

    const expected = await this.recompute(signer, request, path, query, parts, {
      signedHeaders,
      signingDate,
      region: scope.region,
      expiresIn,
    });
    if (expected === undefined || !sameSignature(expected, parts.signature)) {
      throw signatureMismatch();
    }
    // Checked after the signature, as AWS does: Sluice issues no session tokens, so any is
    // invalid.
    if (parts.hasSecurityToken) throw unrecognized();
    return { accessKeyId: scope.accessKeyId };
  }

  /** The signing time is within 5 minutes of now (presigned: not past its expiry). */
  private checkTime(amzDate: string, signingDate: Date, expiresIn: number | undefined): void {
    const now = Date.now();
    const signedAt = signingDate.getTime();
    if (signedAt > now + MAX_SKEW_MS) {
      throw new FirehoseError(
        'InvalidSignatureException',
        `Signature not yet current: ${amzDate} is still later than ${basicIso(now + MAX_SKEW_MS)} (${basicIso(now)} + 5 min.)`,
      );
    }
    if (expiresIn === undefined) {
      if (signedAt < now - MAX_SKEW_MS) {
        throw new FirehoseError(
          'InvalidSignatureException',
          `Signature expired: ${amzDate} is now earlier than ${basicIso(now - MAX_SKEW_MS)} (${basicIso(now)} - 5 min.)`,
        );
      }
    } else if (signedAt < now - expiresIn * 1000) {
      throw new FirehoseError(
        'InvalidSignatureException',
        `Signature expired: ${amzDate} is now earlier than ${basicIso(now - expiresIn * 1000)} (${basicIso(now)} - ${expiresIn} sec.)`,
      );
    }
  }

  /** The credential names a key, the signing day, Firehose, `aws4_request` and (if enforced) our region. */
  private checkScope(parts: SignatureParts): { accessKeyId: string; region: string } {
    // AWS ignores trailing slashes here.
    const credential = parts.credential.replace(/\/+$/, '');
    const pieces = credential.split('/');
    if (pieces.length !== 5) {
      throw new FirehoseError(
        'IncompleteSignatureException',
        `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'`,
      );
    }
    const [accessKeyId = '', day = '', region = '', service = '', terminator = ''] = pieces;
    let problems = '';
    if (this.region !== undefined && region !== this.region) {
      problems += 'Credential should be scoped to a valid region. ';
    }
    if (service !== SIGNING_SERVICE) {
      problems += `Credential should be scoped to correct service: '${SIGNING_SERVICE}'. `;
    }
    if (terminator !== TERMINATOR) {
      problems += `Credential should be scoped with a valid terminator: '${TERMINATOR}', not '${terminator}'. `;
    }
    const dateDay = parts.amzDate.slice(0, 8);
    if (day !== dateDay) {
      problems += `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${day}' != '${dateDay}', from '${parts.amzDate}'.`;
    }
    if (problems !== '') throw new FirehoseError('InvalidSignatureException', problems);
    return { accessKeyId, region };
  }

  /**
   * The signature the library computes for this request with the key's secret, or undefined
   * when a header it lists as signed is missing (no signature can match then).
   */
  private async recompute(
    signer: SignatureV4,
    request: ReceivedRequest,
    path: string,
    query: Record<string, string | string[]>,
    parts: SignatureParts,
    scope: {
      signedHeaders: string[];
      signingDate: Date;
      region: string;
      expiresIn: number | undefined;
    },
  ): Promise<string | undefined> {
    // Only the headers the client signed: anything else (added by a proxy, or unsigned by
    // design) must not change the outcome. A signed header that was not sent cannot match, as
    // on AWS. The names come from the request, so only own headers are read, into an object
    // without a prototype: `constructor` in SignedHeaders is not a property of every object.
    const headers = Object.create(null) as Record<string, string>;
    for (const name of new Set(scope.signedHeaders)) {
      const value = Object.hasOwn(request.headers, name) ? request.headers[name] : undefined;
      if (value === undefined) return undefined;
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    const toSign = new HttpRequest({
      method: request.method,
      protocol: 'http:',
      hostname: headers.host ?? '',
      path,
      query,
      headers,
      body: request.body,
    });
    const listed = new Set(scope.signedHeaders);
    const common = {
      signingDate: scope.signingDate,
      signingRegion: scope.region,
      signingService: SIGNING_SERVICE,
      // Sign exactly what the client listed, even headers the library would not sign itself
      // (user-agent, expect, …).
      signableHeaders: listed,
    };
    if (parts.form === 'query') {
      const presigned = await signer.presign(toSign, {
        ...common,
        expiresIn: scope.expiresIn,
        // Headers stay headers: only the client's own query parameters are in the query.
        unhoistableHeaders: new Set(Object.keys(headers)),
      });
      const signature = presigned.query?.['X-Amz-Signature'];
      return typeof signature === 'string' ? signature : '';
    }
    // X-Amz-Date is signed (checked above): the library sets it from signingDate.
    const signed = await signer.sign(toSign, common);
    const authorization = signed.headers.authorization ?? '';
    return /Signature=([0-9a-f]+)$/.exec(authorization)?.[1] ?? '';
  }
}

function signatureMismatch(): FirehoseError {
  return new FirehoseError(
    'InvalidSignatureException',
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  );
}

function unrecognized(): FirehoseError {
  return new FirehoseError(
    'UnrecognizedClientException',
    'The security token included in the request is invalid.',
  );
}

/** Constant-time comparison of two hex signatures (their length is no secret). */
function sameSignature(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(provided, 'utf8');
  return expected !== '' && a.length === b.length && timingSafeEqual(a, b);
}

/** `YYYYMMDD'T'HHMMSS'Z'` as a Date; anything else is AWS's "Date must be in ISO-8601 'basic format'". */
function parseAmzDate(text: string): Date {
  const match = BASIC_ISO_8601.exec(text);
  const date = match
    ? new Date(
        Date.UTC(
          Number(match[1]),
          Number(match[2]) - 1,
          Number(match[3]),
          Number(match[4]),
          Number(match[5]),
          Number(match[6]),
        ),
      )
    : undefined;
  // Date.UTC rolls 20250231 over to March; a date that does not print back was not a date.
  if (date === undefined || basicIso(date.getTime()) !== text) {
    throw new FirehoseError(
      'IncompleteSignatureException',
      `Date must be in ISO-8601 'basic format'. Got '${text}'. See http://en.wikipedia.org/wiki/ISO_8601`,
    );
  }
  return date;
}

function parseExpires(text: string | undefined): number {
  const seconds = text !== undefined && /^\d{1,7}$/.test(text) ? Number(text) : Number.NaN;
  if (!(seconds >= 1 && seconds <= MAX_EXPIRES_SECONDS) || String(seconds) !== text) {
    throw new FirehoseError(
      'IncompleteSignatureException',
      `X-Amz-Expires must be a whole number of seconds from 1 to ${MAX_EXPIRES_SECONDS} (7 days), got '${text ?? ''}'.`,
    );
  }
  return seconds;
}

/** Epoch milliseconds as `YYYYMMDD'T'HHMMSS'Z'`. */
function basicIso(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The decoded path and query of a request line. Values are percent-decoded only (a `+`
 * stays a `+`), because the signer encodes them again exactly as AWS clients did.
 */
function splitUrl(url: string): { path: string; query: Record<string, string | string[]> } {
  const mark = url.indexOf('?');
  const rawPath = mark < 0 ? url : url.slice(0, mark);
  // Null prototype: a query name such as `constructor` must read as absent, not as a function.
  const query: Record<string, string | string[]> = Object.create(null) as Record<
    string,
    string | string[]
  >;
  if (mark >= 0) {
    for (const pair of url.slice(mark + 1).split('&')) {
      if (pair === '') continue;
      const equals = pair.indexOf('=');
      const name = decode(equals < 0 ? pair : pair.slice(0, equals));
      const value = equals < 0 ? '' : decode(pair.slice(equals + 1));
      // `__proto__` is an ordinary key of a null-prototype object, but the signer library
      // copies the query into a plain one; leaving it out makes the signature fail.
      if (name === '__proto__') continue;
      const seen = query[name];
      query[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
    }
  }
  return { path: decode(rawPath), query };
}

function firstValues(query: Record<string, string | string[]>): Map<string, string> {
  return new Map(
    Object.entries(query).map(([name, value]) => [
      name,
      Array.isArray(value) ? (value[0] ?? '') : value,
    ]),
  );
}

/** Percent-decoding that leaves malformed escapes as they are (the signature then fails). */
function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
