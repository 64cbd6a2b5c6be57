import { HttpRequest } from '@smithy/core/protocols';
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import { UsageError } from './cli-error.js';

/**
 * AWS Signature Version 4 for admin API requests, made with `@smithy/signature-v4` (the signer
 * of the AWS SDK for JavaScript, and the one Sluice verifies with), so that a Sluice that
 * requires signatures (`SLUICE_ACCESS_KEYS`) accepts the CLI with the same keys as any client.
 */

/** The signing service in the credential scope: Sluice checks for Firehose's. */
const SIGNING_SERVICE = 'firehose';
/** The region signed for when none is named. */
export const DEFAULT_REGION = 'us-east-1';

type Env = Readonly<Record<string, string | undefined>>;

/** The hash constructor the signer wants: SHA-256 from node:crypto, keyed for HMAC. */
class Sha256 extends Hash {
  constructor(secret?: ConstructorParameters<typeof Hash>[1]) {
    super('sha256', secret);
  }
}

/** A request about to be sent. */
export interface OutgoingRequest {
  readonly method: string;
  readonly url: URL;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | undefined;
}

/** Signs requests with one set of credentials for one region. */
export class RequestSigner {
  private readonly signer: SignatureV4;

  /** @param accessKeyId - shown in the signature's credential scope. */
  constructor(
    readonly accessKeyId: string,
    secretAccessKey: string,
    sessionToken: string | undefined,
    readonly region: string,
  ) {
    this.signer = new SignatureV4({
      credentials: { accessKeyId, secretAccessKey, sessionToken },
      region,
      service: SIGNING_SERVICE,
      sha256: Sha256,
      uriEscapePath: true,
    });
  }

  /**
   * The request's headers with the signature added (`authorization`, `x-amz-date`, the body
   * hash). `host` is signed but left out of the result: fetch sends it from the URL, the same
   * value.
   */
  async sign(request: OutgoingRequest): Promise<Record<string, string>> {
    const { url } = request;
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = value;
    const signed = await this.signer.sign(
      new HttpRequest({
        method: request.method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port === '' ? undefined : Number(url.port),
        path: url.pathname,
        query,
        headers: { ...request.headers, host: url.host },
        body: request.body,
      }),
    );
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(signed.headers)) {
      if (name.toLowerCase() !== 'host') headers[name] = value;
    }
    return headers;
  }
}

/**
 * A signer when `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` are both set (with
 * `AWS_SESSION_TOKEN` when that is set too, as every AWS client does); `undefined` when neither
 * is, and requests go unsigned.
 *
 * @param regionFlag - `--region`; else `AWS_REGION`, `AWS_DEFAULT_REGION`, `SLUICE_REGION`,
 *   else {@link DEFAULT_REGION}.
 * @throws UsageError when only one of the two keys is set, or the region is malformed.
 */
export function signerFromEnv(regionFlag: string | undefined, env: Env): RequestSigner | undefined {
  // Checked even when nothing is signed, so a typo in --region never goes unnoticed.
  const region = signingRegion(regionFlag, env);
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  if (accessKeyId === undefined && secretAccessKey === undefined) return undefined;
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    const [set, unset] =
      accessKeyId === undefined
        ? ['AWS_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY_ID']
        : ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];
    throw new UsageError(
      `${set} is set but ${unset} is not; set both to sign requests, or neither to send them unsigned`,
    );
  }
  return new RequestSigner(accessKeyId, secretAccessKey, nonEmpty(env.AWS_SESSION_TOKEN), region);
}

/** The region to sign for; see {@link signerFromEnv}. */
function signingRegion(flag: string | undefined, env: Env): string {
  const candidates: [string | undefined, string][] = [
    [flag, '--region'],
    [env.AWS_REGION, 'AWS_REGION'],
    [env.AWS_DEFAULT_REGION, 'AWS_DEFAULT_REGION'],
    [env.SLUICE_REGION, 'SLUICE_REGION'],
  ];
  for (const [value, source] of candidates) {
    const region = nonEmpty(value);
    if (region === undefined) continue;
    if (!/^[a-z0-9-]+$/.test(region)) {
      throw new UsageError(
        `${source} ${JSON.stringify(region)} is not a region name like us-east-1`,
      );
    }
    return region;
  }
  return DEFAULT_REGION;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
