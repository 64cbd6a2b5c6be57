import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DeleteBucketCommand } from '@aws-sdk/client-s3';

import { startHttpProxy, type Forward, type HttpProxy } from '../../devtools/http-proxy.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import {
  pollUntil,
  readErrorObject,
  uniqueBucket,
  type DeliveredWrite,
  type DeliveryAttempt,
  type DestinationHarness,
  type DestinationTarget,
  type StreamOptions,
} from './destination-harness.js';
import { DATA_PREFIX, ERROR_PREFIX, s3Members, type S3Member } from './s3-layout.js';

/**
 * An S3 destination delivered to s3rver, a real S3-protocol server, through a loopback proxy
 * that records every PutObject (so the suite sees each attempt's key) and can withhold answers
 * (so a test catches a delivery written but not yet acknowledged).
 *
 * Faults: retryable — the bucket does not exist (NoSuchBucket, retried; created again on
 * recover); permanent — a `Prefix` whose evaluated length is over Firehose's 512 characters, so
 * no key can ever be made (`S3.InvalidPrefix`, dead-lettered at once).
 */
export function s3rverHarness(member: S3Member): DestinationHarness {
  let s3: S3Server | undefined;
  let proxy: HttpProxy | undefined;
  let dataDir: string | undefined;
  const targets = new Map<string, S3rverTarget>();
  const running = (): { s3: S3Server; proxy: HttpProxy; dataDir: string } => {
    if (s3 === undefined || proxy === undefined || dataDir === undefined) {
      throw new Error('s3rver harness: not started');
    }
    return { s3, proxy, dataDir };
  };
  return {
    name: `s3rver (${member})`,
    member,
    failureRouting: {
      kind: 'dead-set',
      permanentCode: 'S3.InvalidPrefix',
      retryableReason: /NoSuchBucket/,
    },
    partialRetry: {
      notApplicable:
        'an S3 batch is one object, written whole or not at all: there is no part of it to retry alone',
    },
    inFlightWindow: 'slow-answer',
    async start() {
      s3 = await startS3Server({ dirPrefix: 'sluice-conformance-s3-' });
      dataDir = await mkdtemp(join(tmpdir(), 'sluice-conformance-s3data-'));
      proxy = await startHttpProxy(s3.endpoint, (incoming, outgoing, forward) => {
        const put = putObjectOf(incoming);
        const target = put === undefined ? undefined : targets.get(put.bucket);
        if (put === undefined || target === undefined) forward();
        else target.handlePut(put.key, outgoing, forward);
      });
    },
    async stop() {
      await proxy?.close();
      await s3?.stop();
      if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
      proxy = undefined;
      s3 = undefined;
      dataDir = undefined;
    },
    env() {
      const { s3, proxy, dataDir } = running();
      return { ...s3.sluiceEnv, SLUICE_S3_ENDPOINT: proxy.endpoint, SLUICE_DATA_DIR: dataDir };
    },
    async target() {
      const target = new S3rverTarget(member, running().s3, (t) => targets.delete(t.bucket));
      await running().s3.createBucket(target.bucket);
      targets.set(target.bucket, target);
      return target;
    },
  };
}

/** The bucket and key of a PutObject (or UploadPart) request; undefined for anything else. */
function putObjectOf(incoming: IncomingMessage): { bucket: string; key: string } | undefined {
  if (incoming.method !== 'PUT') return undefined;
  const path = new URL(incoming.url ?? '/', 'http://proxy').pathname;
  const slash = path.indexOf('/', 1);
  if (slash < 0 || slash === path.length - 1) return undefined;
  return {
    bucket: decodeURIComponent(path.slice(1, slash)),
    key: decodeURIComponent(path.slice(slash + 1)),
  };
}

class S3rverTarget implements DestinationTarget {
  readonly bucket = uniqueBucket('conf-s3');
  /** Over 512 characters once evaluated (no expressions: `yyyy/MM/dd/HH/` is appended). */
  private readonly unnameablePrefix = `${'p'.repeat(600)}/`;
  private permanent = false;
  private bucketExists = true;
  /** Answers to PutObject are held this long after s3rver's answer; 0: passed on at once. */
  private answerDelayMs = 0;
  /** PutObject requests written by s3rver whose answer is still held. */
  private held = 0;
  private readonly seen: DeliveryAttempt[] = [];

  readonly errorOutputFaults = undefined;
  readonly scriptRequests = undefined;

  constructor(
    private readonly member: S3Member,
    private readonly s3: S3Server,
    private readonly onClose: (target: S3rverTarget) => void,
  ) {}

  members(options: StreamOptions) {
    return s3Members(
      this.member,
      this.bucket,
      this.permanent ? this.unnameablePrefix : DATA_PREFIX,
      options,
    );
  }

  /** The proxy's handling of a PutObject into this bucket: recorded, maybe answered late. */
  handlePut(key: string, outgoing: ServerResponse, forward: Forward): void {
    const attempt: DeliveryAttempt = { identity: key, records: undefined, accepted: false };
    this.seen.push(attempt);
    const delayMs = this.answerDelayMs;
    forward({
      onResponse: (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          attempt.accepted = response.statusCode === 200;
          if (attempt.accepted && delayMs > 0) this.held += 1;
          const answer = () => {
            if (outgoing.destroyed) return;
            outgoing.writeHead(response.statusCode ?? 502, response.headers);
            outgoing.end(Buffer.concat(chunks));
          };
          if (delayMs > 0) setTimeout(answer, delayMs).unref();
          else answer();
        });
      },
    });
  }

  async delivered(): Promise<DeliveredWrite[]> {
    return (await this.objects(DATA_PREFIX)).map(({ key, body }) => ({
      identity: key,
      records: undefined,
      bytes: body,
    }));
  }

  attempts(): DeliveryAttempt[] {
    return this.seen.map((attempt) => ({ ...attempt }));
  }

  async errorOutput() {
    return (await this.objects(ERROR_PREFIX)).map(({ key, body }) => readErrorObject(key, body));
  }

  async failRetryable(): Promise<void> {
    await this.s3.client.send(new DeleteBucketCommand({ Bucket: this.bucket }));
    this.bucketExists = false;
  }

  failPermanent(): Promise<void> {
    this.permanent = true;
    return Promise.resolve();
  }

  async recover(): Promise<void> {
    this.permanent = false;
    this.answerDelayMs = 0;
    if (!this.bucketExists) await this.s3.createBucket(this.bucket);
    this.bucketExists = true;
  }

  slowDeliveries(delayMs: number): void {
    this.answerDelayMs = delayMs;
  }

  deliveryInFlight(timeoutMs: number): Promise<void> {
    return pollUntil(
      `a PutObject into ${this.bucket} written by s3rver and its answer held`,
      () => this.held > 0,
      timeoutMs,
    );
  }

  close(): Promise<void> {
    this.onClose(this);
    return Promise.resolve();
  }

  private async objects(prefix: string): Promise<{ key: string; body: Buffer }[]> {
    let keys: string[];
    try {
      keys = await this.s3.listKeys(this.bucket);
    } catch (error) {
      if (error instanceof Error && error.name === 'NoSuchBucket') return [];
      throw error;
    }
    const wanted = keys.filter((key) => key.startsWith(prefix));
    return Promise.all(
      wanted.map(async (key) => ({ key, body: (await this.s3.getObject(this.bucket, key)).body })),
    );
  }
}
