import { createHash } from 'node:crypto';
import {
  CreateDeliveryStreamCommand,
  FirehoseClient,
  ListDeliveryStreamsCommand,
  PutRecordCommand,
} from '@aws-sdk/client-firehose';
import { HttpRequest } from '@smithy/core/protocols';
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SigV4Verifier } from '../../src/api/auth/sigv4-verifier.js';
import { buildApp } from '../../src/api/app.js';
import { streamKeys } from '../../src/streams/keys.js';
import { useTestApi } from '../support/test-api.js';

/**
 * SigV4 authentication of the Firehose API: the unmodified AWS SDK with right and wrong keys
 * over HTTP, and hand-made requests signed with @smithy/signature-v4 (the SDK's own signer)
 * and then attacked: replayed late, re-bodied, tampered with, stripped of signed headers.
 */

const KEY = {
  accessKeyId: 'AKIASLUICETEST000001',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
const OTHER_KEY = { accessKeyId: 'AKIASLUICETEST000002', secretAccessKey: 'second/secret+key=' };
const HOST = 'firehose.sluice.test:4573';
const MINUTE = 60_000;
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const INVALID_TOKEN = 'The security token included in the request is invalid.';

class Sha256 extends Hash {
  constructor(secret?: ConstructorParameters<typeof Hash>[1]) {
    super('sha256', secret);
  }
}

// First, so that its beforeAll starts the API before this file's, which builds on it.
const { api, streamName } = useTestApi({ prefix: 'sigv4', removeStreams: 'afterAll' });
let app: FastifyInstance;
/** The same API with `SLUICE_AUTH_ENFORCE_REGION` semantics (us-east-1 only). */
let regional: FastifyInstance;
let endpoint: string;

beforeAll(async () => {
  const ctx = {
    settings: api.settings,
    redis: api.redis,
    registry: api.registry,
    buffer: api.buffer,
    log: pino({ level: 'silent' }),
  };
  const keys = new Map([
    [KEY.accessKeyId, KEY.secretAccessKey],
    [OTHER_KEY.accessKeyId, OTHER_KEY.secretAccessKey],
  ]);
  app = buildApp({ ...ctx, auth: new SigV4Verifier({ keys }) });
  endpoint = await app.listen({ host: '127.0.0.1', port: 0 });
  regional = buildApp({ ...ctx, auth: new SigV4Verifier({ keys, region: 'us-east-1' }) });
  await regional.ready();
});
// Runs before useTestApi's afterAll (vitest runs after-hooks newest first): the apps built on
// the API close before it does.
afterAll(async () => {
  await app.close();
  await regional.close();
});

function sdk(credentials: { accessKeyId: string; secretAccessKey: string }): FirehoseClient {
  return new FirehoseClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
}

/** An unsigned Firehose request for `target` with `body`. */
function draft(
  target = 'ListDeliveryStreams',
  body: string | Buffer = '{}',
  extraHeaders: Record<string, string> = {},
): HttpRequest {
  return new HttpRequest({
    method: 'POST',
    protocol: 'http:',
    hostname: 'firehose.sluice.test',
    path: '/',
    headers: {
      host: HOST,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `Firehose_20150804.${target}`,
      ...extraHeaders,
    },
    body,
  });
}

/** A request as the signer returns it. */
type Signed = Awaited<ReturnType<SignatureV4['presign']>>;

interface SignOptions {
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  date?: Date;
  region?: string;
  service?: string;
  unsignableHeaders?: Set<string>;
  applyChecksum?: boolean;
}

function signer(options: SignOptions): SignatureV4 {
  return new SignatureV4({
    credentials: options.credentials ?? KEY,
    region: options.region ?? 'us-east-1',
    service: options.service ?? 'firehose',
    sha256: Sha256,
    applyChecksum: options.applyChecksum ?? false,
  });
}

/** `request` signed in the Authorization header, as the SDKs send it. */
async function sign(request: HttpRequest, options: SignOptions = {}): Promise<Signed> {
  return signer(options).sign(request, {
    signingDate: options.date ?? new Date(),
    ...(options.unsignableHeaders ? { unsignableHeaders: options.unsignableHeaders } : {}),
  });
}

/** `request` signed in its query string (a presigned request). */
async function presign(
  request: HttpRequest,
  options: SignOptions & { expiresIn?: number } = {},
): Promise<Signed> {
  return signer(options).presign(request, {
    signingDate: options.date ?? new Date(),
    expiresIn: options.expiresIn ?? 900,
    // Firehose's operation header stays a header, as the route reads it.
    unhoistableHeaders: new Set(['x-amz-target']),
  });
}

interface Answer {
  status: number;
  errorType: string | undefined;
  requestId: string | undefined;
  body: { __type?: string; message?: string; DeliveryStreamNames?: string[] };
}

/** Sends `request` through fastify's inject, byte for byte, with `body` replacing its body if given. */
async function send(
  request: Signed,
  options: { body?: string | Buffer; on?: FastifyInstance } = {},
): Promise<Answer> {
  const query = Object.entries(request.query ?? {})
    .flatMap(([name, value]) =>
      (Array.isArray(value) ? value : [value ?? '']).map(
        (v) => `${encodeURIComponent(name)}=${encodeURIComponent(v)}`,
      ),
    )
    .join('&');
  const response = await (options.on ?? app).inject({
    method: request.method as 'POST',
    url: query === '' ? request.path : `${request.path}?${query}`,
    headers: request.headers,
    payload: (options.body ?? request.body) as string | Buffer,
  });
  return {
    status: response.statusCode,
    errorType: response.headers['x-amzn-errortype'] as string | undefined,
    requestId: response.headers['x-amzn-requestid'] as string | undefined,
    body: response.json(),
  };
}

function expectError(answer: Answer, type: string, message?: string | RegExp): void {
  expect({ status: answer.status, errorType: answer.errorType, type: answer.body.__type }).toEqual({
    status: 400,
    errorType: type,
    type,
  });
  expect(answer.requestId).toEqual(expect.any(String));
  if (typeof message === 'string') expect(answer.body.message).toBe(message);
  else if (message) expect(answer.body.message).toMatch(message);
}

/** `YYYYMMDD'T'HHMMSS'Z'`, as X-Amz-Date and the messages write times. */
function basicIso(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

describe('the AWS SDK, unmodified', () => {
  it('works with a configured key and stores the record', async () => {
    const client = sdk(KEY);
    try {
      const name = streamName('sigv4-sdk');
      await client.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: name,
          ExtendedS3DestinationConfiguration: {
            RoleARN: 'arn:aws:iam::000000000000:role/firehose',
            BucketARN: 'arn:aws:s3:::bucket',
          },
        }),
      );
      const put = await client.send(
        new PutRecordCommand({ DeliveryStreamName: name, Record: { Data: Buffer.from('ok\n') } }),
      );
      expect(put.RecordId).toEqual(expect.any(String));
      expect(await api.redis.hget(streamKeys(name).stats, 'backlogRecords')).toBe('1');
      // Any configured key works.
      const listed = await sdk(OTHER_KEY).send(new ListDeliveryStreamsCommand({ Limit: 10_000 }));
      expect(listed.DeliveryStreamNames).toContain(name);
    } finally {
      client.destroy();
    }
  });

  it('gets InvalidSignatureException with a wrong secret, and nothing is stored', async () => {
    const name = streamName('sigv4-wrong');
    const good = sdk(KEY);
    const wrong = sdk({ accessKeyId: KEY.accessKeyId, secretAccessKey: 'not-the-secret' });
    try {
      await good.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: name,
          ExtendedS3DestinationConfiguration: {
            RoleARN: 'arn:aws:iam::000000000000:role/firehose',
            BucketARN: 'arn:aws:s3:::bucket',
          },
        }),
      );
      const before = await api.redis.hgetall(streamKeys(name).stats);
      const error = await wrong
        .send(
          new PutRecordCommand({ DeliveryStreamName: name, Record: { Data: Buffer.from('x') } }),
        )
        .then(
          () => undefined,
          (e: unknown) =>
            e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } },
        );
      expect(error?.name).toBe('InvalidSignatureException');
      expect(error?.message).toBe(MISMATCH);
      expect(error?.$metadata?.httpStatusCode).toBe(400);
      expect(await api.redis.hgetall(streamKeys(name).stats)).toEqual(before);
      expect(await api.redis.exists(streamKeys(name).open)).toBe(0);
    } finally {
      good.destroy();
      wrong.destroy();
    }
  });

  it('gets UnrecognizedClientException with an unknown access key id', async () => {
    const client = sdk({ accessKeyId: 'AKIAUNKNOWN', secretAccessKey: KEY.secretAccessKey });
    try {
      const error = await client.send(new ListDeliveryStreamsCommand({})).then(
        () => undefined,
        (e: unknown) => e as { name?: string; message?: string },
      );
      expect(error?.name).toBe('UnrecognizedClientException');
      expect(error?.message).toBe(INVALID_TOKEN);
    } finally {
      client.destroy();
    }
  });
});

describe('hand-signed requests', () => {
  it('are accepted, signed in the header or in the query string', async () => {
    expect((await send(await sign(draft()))).status).toBe(200);
    const presigned = await send(await presign(draft()));
    expect(presigned.status, JSON.stringify(presigned.body)).toBe(200);
    expect(presigned.body.DeliveryStreamNames).toEqual(expect.any(Array));
  });

  it('are accepted from any region unless the region is enforced', async () => {
    const elsewhere = await sign(draft(), { region: 'eu-west-1' });
    expect((await send(elsewhere)).status).toBe(200);
    expectError(
      await send(elsewhere, { on: regional }),
      'InvalidSignatureException',
      'Credential should be scoped to a valid region. ',
    );
    expect((await send(await sign(draft()), { on: regional })).status).toBe(200);
  });

  it('are accepted up to 5 minutes from the clock either way', async () => {
    const now = Date.now();
    expect((await send(await sign(draft(), { date: new Date(now - 4 * MINUTE) }))).status).toBe(
      200,
    );
    expect((await send(await sign(draft(), { date: new Date(now + 4 * MINUTE) }))).status).toBe(
      200,
    );
  });

  it('ignore headers the client did not sign', async () => {
    const signed = await sign(draft());
    signed.headers['x-forwarded-for'] = '203.0.113.9';
    expect((await send(signed)).status).toBe(200);
  });
});

describe('attacks and mistakes', () => {
  it('no authentication at all: MissingAuthenticationTokenException, before the body is read', async () => {
    expectError(
      await send(draft()),
      'MissingAuthenticationTokenException',
      'Missing Authentication Token',
    );
    // Malformed body and unknown operation: still the authentication error first.
    expectError(
      await send(draft('NoSuchOperation', '{not json')),
      'MissingAuthenticationTokenException',
    );
    expectError(
      await send(draft('ListDeliveryStreams', 'x', { 'content-type': 'text/plain' })),
      'MissingAuthenticationTokenException',
    );
    const elsewhere = await app.inject({ method: 'GET', url: '/other' });
    expect(elsewhere.json()).toEqual({
      __type: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    });
    // Another scheme is no AWS signature.
    expectError(
      await send(draft('ListDeliveryStreams', '{}', { authorization: 'Bearer abc' })),
      'MissingAuthenticationTokenException',
    );
  });

  it('GET /health stays open', async () => {
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
  });

  it('a replayed request older than 5 minutes: Signature expired', async () => {
    const signedAt = new Date(Date.now() - 6 * MINUTE);
    const answer = await send(await sign(draft(), { date: signedAt }));
    expectError(
      answer,
      'InvalidSignatureException',
      new RegExp(
        `^Signature expired: ${basicIso(signedAt)} is now earlier than \\d{8}T\\d{6}Z \\(\\d{8}T\\d{6}Z - 5 min\\.\\)$`,
      ),
    );
  });

  it('a request dated more than 5 minutes ahead: Signature not yet current', async () => {
    const signedAt = new Date(Date.now() + 6 * MINUTE);
    expectError(
      await send(await sign(draft(), { date: signedAt })),
      'InvalidSignatureException',
      new RegExp(
        `^Signature not yet current: ${basicIso(signedAt)} is still later than \\d{8}T\\d{6}Z \\(\\d{8}T\\d{6}Z \\+ 5 min\\.\\)$`,
      ),
    );
  });

  it('a presigned request past its X-Amz-Expires: Signature expired', async () => {
    const signedAt = new Date(Date.now() - 2 * MINUTE);
    expectError(
      await send(await presign(draft(), { date: signedAt, expiresIn: 60 })),
      'InvalidSignatureException',
      /^Signature expired: .* - 60 sec\.\)$/,
    );
  });

  it('a signature over a different body', async () => {
    const signed = await sign(draft('ListDeliveryStreams', '{"Limit":1}'));
    expectError(await send(signed, { body: '{"Limit":2}' }), 'InvalidSignatureException', MISMATCH);
    // Presigned requests cover their body too.
    const presigned = await presign(draft('ListDeliveryStreams', '{"Limit":1}'));
    expectError(
      await send(presigned, { body: '{"Limit":2}' }),
      'InvalidSignatureException',
      MISMATCH,
    );
  });

  it('a body hash header that does not match the body', async () => {
    // The signer trusts x-amz-content-sha256; a signature over the hash of one body must not
    // let another body through.
    const original = '{"Limit":1}';
    const signed = await sign(draft('ListDeliveryStreams', original), { applyChecksum: true });
    expect(signed.headers['x-amz-content-sha256']).toBe(
      createHash('sha256').update(original).digest('hex'),
    );
    expect((await send(signed)).status).toBe(200);
    expectError(
      await send(signed, { body: '{"Limit":2}' }),
      'InvalidSignatureException',
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
  });

  it('a signed header changed after signing', async () => {
    const signed = await sign(draft());
    signed.headers['x-amz-target'] = 'Firehose_20150804.DeleteDeliveryStream';
    expectError(await send(signed), 'InvalidSignatureException', MISMATCH);
    const rehosted = await sign(draft());
    rehosted.headers.host = 'elsewhere.test';
    expectError(await send(rehosted), 'InvalidSignatureException', MISMATCH);
  });

  it('a signed header removed after signing', async () => {
    const signed = await sign(draft());
    delete signed.headers['content-type'];
    expectError(await send(signed), 'InvalidSignatureException', MISMATCH);
  });

  it('X-Amz-Date removed, or re-dated', async () => {
    const signed = await sign(draft());
    delete signed.headers['x-amz-date'];
    expectError(
      await send(signed),
      'IncompleteSignatureException',
      `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${signed.headers.authorization}`,
    );
    const redated = await sign(draft(), { date: new Date(Date.now() - MINUTE) });
    redated.headers['x-amz-date'] = basicIso(new Date());
    expectError(await send(redated), 'InvalidSignatureException', MISMATCH);
  });

  it('a header listed in SignedHeaders but not sent, object-prototype names included', async () => {
    for (const name of ['x-not-sent', 'constructor', '__proto__', 'tostring', 'hasownproperty']) {
      const signed = await sign(draft());
      signed.headers.authorization = (signed.headers.authorization ?? '').replace(
        'SignedHeaders=',
        `SignedHeaders=${name};`,
      );
      expectError(await send(signed), 'InvalidSignatureException', MISMATCH);
    }
  });

  it('Host, X-Amz-Date or X-Amz-Target left out of SignedHeaders', async () => {
    for (const [header, shown] of [
      ['host', "'Host' or ':authority'"],
      ['x-amz-date', "'X-Amz-Date'"],
      ['x-amz-target', "'X-Amz-Target'"],
    ] as const) {
      const signed = await sign(draft(), { unsignableHeaders: new Set([header]) });
      expect(signed.headers.authorization).not.toMatch(new RegExp(`[=;]${header}[;,]`));
      expectError(
        await send(signed),
        'InvalidSignatureException',
        `${shown} must be a 'SignedHeader' in the AWS Authorization.`,
      );
    }
  });

  it('a signature made for another service', async () => {
    expectError(
      await send(await sign(draft(), { service: 'kinesis' })),
      'InvalidSignatureException',
      "Credential should be scoped to correct service: 'firehose'. ",
    );
  });

  it('a credential scope of another day than X-Amz-Date', async () => {
    const signed = await sign(draft());
    const date = signed.headers['x-amz-date'] ?? '';
    const otherDay = `${Number(date.slice(0, 8)) - 1}`;
    signed.headers.authorization = (signed.headers.authorization ?? '').replace(
      `/${date.slice(0, 8)}/`,
      `/${otherDay}/`,
    );
    expectError(
      await send(signed),
      'InvalidSignatureException',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${otherDay}' != '${date.slice(0, 8)}', from '${date}'.`,
    );
  });

  it('an incomplete or malformed Authorization header', async () => {
    const header = `AWS4-HMAC-SHA256 Credential=${KEY.accessKeyId}/20250101/us-east-1/firehose/aws4_request`;
    const request = draft('ListDeliveryStreams', '{}', {
      authorization: header,
      'x-amz-date': basicIso(new Date()),
    });
    expectError(
      await send(request),
      'IncompleteSignatureException',
      `Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=${header}`,
    );
    const signed = await sign(draft());
    signed.headers.authorization = (signed.headers.authorization ?? '').replace(
      'AWS4-HMAC-SHA256',
      'AWS4-ECDSA-P256-SHA256',
    );
    expectError(
      await send(signed),
      'IncompleteSignatureException',
      "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256' (only AWS4-HMAC-SHA256 for now). ",
    );
    const badDate = await sign(draft());
    badDate.headers['x-amz-date'] = '2025-01-01T00:00:00Z';
    expectError(
      await send(badDate),
      'IncompleteSignatureException',
      "Date must be in ISO-8601 'basic format'. Got '2025-01-01T00:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601",
    );
  });

  it('a presigned request missing query parameters', async () => {
    const presigned = await presign(draft());
    delete presigned.query?.['X-Amz-Signature'];
    delete presigned.query?.['X-Amz-Date'];
    expectError(
      await send(presigned),
      'IncompleteSignatureException',
      "AWS query-string parameters must include 'X-Amz-Signature'. AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters.",
    );
  });

  it('both forms at once', async () => {
    const presigned = await presign(draft());
    presigned.headers.authorization = (await sign(draft())).headers.authorization ?? '';
    expectError(
      await send(presigned),
      'InvalidSignatureException',
      "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
    );
  });

  it('a session token, which Sluice never issues', async () => {
    const signed = await sign(draft(), { credentials: { ...KEY, sessionToken: 'FwoGZXIvYXdzE' } });
    expect(signed.headers['x-amz-security-token']).toBe('FwoGZXIvYXdzE');
    expectError(await send(signed), 'UnrecognizedClientException', INVALID_TOKEN);
  });

  it("another key's id with this key's secret", async () => {
    const signed = await sign(draft(), {
      credentials: { accessKeyId: OTHER_KEY.accessKeyId, secretAccessKey: KEY.secretAccessKey },
    });
    expectError(await send(signed), 'InvalidSignatureException', MISMATCH);
  });
});
