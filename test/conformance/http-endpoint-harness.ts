import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.js';
import {
  pollUntil,
  readErrorObject,
  ROLE_ARN,
  uniqueBucket,
  type DeliveredWrite,
  type DeliveryAttempt,
  type DestinationHarness,
  type DestinationTarget,
  type ErrorOutputObject,
  type StreamOptions,
} from './destination-harness.js';
import { blockDirectory, listObjects, unblockDirectory } from './local-files.js';

/** `RetryOptions.DurationInSeconds` of a test that does not name one. */
const DEFAULT_RETRY_SECONDS = 60;

/**
 * An HTTP endpoint destination delivered to a scriptable Firehose HTTP endpoint receiver
 * (`test/support/http-receiver.ts`), one receiver per target. Its `S3Configuration` error
 * bucket lives in Sluice's local-directory store, read back as files.
 *
 * Faults: retryable — the endpoint answers 500; permanent — it answers 413; slow — it takes a
 * request and answers later; error output broken — a regular file where the error bucket's
 * directory goes.
 */
export function httpEndpointHarness(): DestinationHarness {
  let dataDir: string | undefined;
  const started = (): string => {
    if (dataDir === undefined) throw new Error('http endpoint harness: not started');
    return dataDir;
  };
  return {
    name: 'HTTP endpoint (HttpEndpointDestinationConfiguration)',
    member: 'HttpEndpointDestinationConfiguration',
    failureRouting: {
      kind: 'error-output',
      type: 'http-endpoint-failed',
      permanentCode: 'HttpEndpoint.DestinationException',
      retryableCode: 'HttpEndpoint.DestinationException',
    },
    partialRetry: { maxRecordsPerRequest: 10_000 },
    inFlightWindow: 'slow-answer',
    async start() {
      dataDir = await mkdtemp(join(tmpdir(), 'sluice-conformance-http-'));
    },
    async stop() {
      if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
      dataDir = undefined;
    },
    env: () => ({ SLUICE_S3_ENDPOINT: '', SLUICE_DATA_DIR: started() }),
    async target() {
      // The store's root: SLUICE_DATA_DIR/s3.
      return httpTarget(await startHttpReceiver(), join(started(), 's3'));
    },
  };
}

function httpTarget(receiver: HttpReceiver, root: string): DestinationTarget {
  const errorBucket = uniqueBucket('conf-http-errors');
  const errorDir = join(root, errorBucket);
  return {
    members: (options: StreamOptions) => ({
      HttpEndpointDestinationConfiguration: {
        EndpointConfiguration: { Url: receiver.url, Name: 'conformance receiver' },
        BufferingHints: { SizeInMBs: options.sizeMBs, IntervalInSeconds: options.intervalSeconds },
        RetryOptions: { DurationInSeconds: options.retrySeconds ?? DEFAULT_RETRY_SECONDS },
        RoleARN: ROLE_ARN,
        S3Configuration: {
          RoleARN: ROLE_ARN,
          BucketARN: `arn:aws:s3:::${errorBucket}`,
          CompressionFormat: 'UNCOMPRESSED',
        },
      },
    }),
    delivered(): Promise<DeliveredWrite[]> {
      return Promise.resolve(
        receiver.requests
          .filter((request) => request.accepted)
          .map((request) => {
            const records = request.records ?? [];
            return {
              identity: request.requestId ?? '',
              records,
              bytes: Buffer.concat(records),
            };
          }),
      );
    },
    attempts: (): DeliveryAttempt[] =>
      receiver.requests.map((request) => ({
        identity: request.requestId ?? '',
        records: request.records?.length,
        accepted: request.accepted,
      })),
    async errorOutput(): Promise<ErrorOutputObject[]> {
      const keys = await listObjects(errorDir);
      return Promise.all(
        keys.map(async (key) => readErrorObject(key, await readFile(join(errorDir, key)))),
      );
    },
    failRetryable() {
      receiver.always({ kind: 'status', status: 500, errorMessage: 'conformance: try again' });
      return Promise.resolve();
    },
    failPermanent() {
      receiver.always({ kind: 'status', status: 413, errorMessage: 'conformance: too large' });
      return Promise.resolve();
    },
    recover() {
      receiver.always({ kind: 'ok' });
      return Promise.resolve();
    },
    slowDeliveries(delayMs) {
      receiver.always({ kind: 'slow', delayMs });
    },
    deliveryInFlight: (timeoutMs) =>
      pollUntil(
        `a request at ${receiver.url} received and not yet answered`,
        () => receiver.requests.some((request) => request.answer === undefined),
        timeoutMs,
      ),
    errorOutputFaults: {
      break: () => blockDirectory(errorDir),
      repair: () => unblockDirectory(errorDir),
    },
    scriptRequests(outcomes) {
      receiver.script(
        ...outcomes.map((outcome) =>
          outcome === 'ok'
            ? { kind: 'ok' as const }
            : { kind: 'status' as const, status: 500, errorMessage: 'conformance: try again' },
        ),
      );
    },
    close: () => receiver.close(),
  };
}
