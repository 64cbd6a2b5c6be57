import { createHash, createHmac } from 'node:crypto';

/**
 * AWS Signature Version 4 for Firehose requests, so the bench's producers send what the AWS
 * SDK sends (and keep working if Sluice checks signatures). The body hash is an input, because
 * the bench reuses a few prepared bodies and hashes each once.
 */

/** Credentials and scope a producer signs with. */
export interface SigningIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

const SERVICE = 'firehose';
const ALGORITHM = 'AWS4-HMAC-SHA256';
const SIGNED_HEADERS = 'content-type;host;x-amz-date;x-amz-target';

/** Hex SHA-256, for request bodies. */
export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Signs `POST /` requests for one host; caches the day's signing key. */
export class Signer {
  private keyDate = '';
  private key: Buffer = Buffer.alloc(0);

  constructor(
    private readonly identity: SigningIdentity,
    private readonly host: string,
  ) {}

  /**
   * The `X-Amz-Date` and `Authorization` headers for a request with these headers and body hash.
   *
   * @param now - signing time; the server compares it with its clock.
   */
  sign(
    contentType: string,
    target: string,
    bodySha256Hex: string,
    now = new Date(),
  ): { 'x-amz-date': string; authorization: string } {
    const amzDate = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const day = amzDate.slice(0, 8);
    const scope = `${day}/${this.identity.region}/${SERVICE}/aws4_request`;
    const canonical = [
      'POST',
      '/',
      '',
      `content-type:${contentType}`,
      `host:${this.host}`,
      `x-amz-date:${amzDate}`,
      `x-amz-target:${target}`,
      '',
      SIGNED_HEADERS,
      bodySha256Hex,
    ].join('\n');
    const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonical)].join('\n');
    const signature = createHmac('sha256', this.signingKey(day)).update(stringToSign).digest('hex');
    return {
      'x-amz-date': amzDate,
      authorization: `${ALGORITHM} Credential=${this.identity.accessKeyId}/${scope}, SignedHeaders=${SIGNED_HEADERS}, Signature=${signature}`,
    };
  }

  private signingKey(day: string): Buffer {
    if (day !== this.keyDate) {
      const hmac = (key: string | Buffer, data: string) =>
        createHmac('sha256', key).update(data).digest();
      const dateKey = hmac(`AWS4${this.identity.secretAccessKey}`, day);
      this.key = hmac(hmac(hmac(dateKey, this.identity.region), SERVICE), 'aws4_request');
      this.keyDate = day;
    }
    return this.key;
  }
}
