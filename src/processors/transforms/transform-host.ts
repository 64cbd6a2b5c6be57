import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../telemetry/logger.js';
import { LocalTransforms } from './local-transforms.js';
import { RemoteTransforms } from './remote-transform.js';
import { InvocationError } from './transform-errors.js';
import { LOCAL_TRANSFORM_PREFIX, type TransformRef } from './transform-ref.js';
import {
  failedOutcome,
  listedOutcomes,
  type InvocationOutcomes,
  type TransformInput,
  type TransformRecordOutcome,
} from './transform-records.js';

/**
 * The transform host: the one entry point the delivery pipeline calls to run a `Lambda`
 * processor's transform over an invocation's records, local (a module in the transforms
 * directory, in a pool of worker threads) or remote (an HTTP URL).
 *
 * Firehose's semantics: an invocation that fails as a whole (the transform throws, times out,
 * runs out of memory, ends its worker; a remote answers non-2xx, too much or not at all) is
 * retried `numberOfRetries` times after a short backoff, then every record of it fails with
 * `Lambda.FunctionError` and the last error. A response that breaks the Lambda contract fails
 * records (Lambda.MissingRecordId, DuplicatedRecordId, JsonProcessingException) and is not
 * retried. A local transform that cannot be loaded throws {@link TransformLoadError}: nothing
 * ran, and the caller keeps the records for later.
 */

export { TransformLoadError } from './transform-errors.js';
export type { TransformLoadErrorCode } from './transform-errors.js';
export type {
  FramedOutcomes,
  InvocationOutcomes,
  TransformErrorCode,
  TransformInput,
  TransformRecordOutcome,
} from './transform-records.js';
export { listedOutcomes } from './transform-records.js';
export { TRANSFORM_ERROR_CODES } from './transform-records.js';

/** Options of a {@link TransformHost}. */
export interface TransformHostOptions {
  /** Where local transforms (`sluice:transform:<name>`) live. */
  transformsDir: string;
  /** Worker threads shared by every local transform (the number of cores is a good choice). */
  workers: number;
  /** Longest one invocation attempt may take, local or remote. */
  timeoutMs: number;
  /** JavaScript heap limit of each worker thread (its old generation), MB. */
  memoryLimitMb: number;
  log: Logger;
  /** `region` of the Lambda event; `us-east-1` when not given. */
  region?: string;
}

/** Options of one invocation. */
export interface InvokeOptions {
  /** The processor's `NumberOfRetries`: attempts are this + 1. */
  numberOfRetries: number;
  streamName: string;
  /** `deliveryStreamArn` of the Lambda event. */
  streamArn: string;
}

/** Region the Lambda event names when the host is given none. */
const DEFAULT_REGION = 'us-east-1';
/** Backoff before the first retry; doubled for each next one, up to the maximum. */
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2_000;

/** `sluice:transform:<name>` or the URL, as messages name a transform. */
export function describeTransformRef(ref: TransformRef): string {
  return ref.kind === 'local' ? `${LOCAL_TRANSFORM_PREFIX}${ref.name}` : ref.url;
}

/** Runs transforms; one per process, shared by every stream. */
export class TransformHost {
  readonly #local: LocalTransforms;
  readonly #remote: RemoteTransforms;
  readonly #log: Logger;
  readonly #region: string;
  #closed = false;

  constructor(options: TransformHostOptions) {
    this.#log = options.log;
    this.#region = options.region ?? DEFAULT_REGION;
    this.#local = new LocalTransforms(options);
    this.#remote = new RemoteTransforms({ timeoutMs: options.timeoutMs });
  }

  /**
   * One invocation: `records` (the caller keeps each invocation within the processor's
   * BufferSizeInMBs and Firehose's 6 MB payload) through the transform `ref`. With no records,
   * a local transform is only loaded (which throws TransformLoadError if it cannot be).
   *
   * @returns one outcome per record, in input order.
   * @throws TransformLoadError when the local module cannot be loaded; an Error when the host
   *   is closed meanwhile.
   */
  async invoke(
    ref: TransformRef,
    records: readonly TransformInput[],
    options: InvokeOptions,
  ): Promise<TransformRecordOutcome[]> {
    return (await this.invokeOutcomes(ref, records, options)).all();
  }

  /**
   * {@link invoke}, with the outcomes as the transform gave them: packed by a worker thread
   * (the delivery pipeline takes a local transform's Ok records as a stored chunk) or listed.
   */
  async invokeOutcomes(
    ref: TransformRef,
    records: readonly TransformInput[],
    options: InvokeOptions,
  ): Promise<InvocationOutcomes> {
    if (this.#closed) throw new Error('the transform host is closed');
    const invocation = {
      streamName: options.streamName,
      streamArn: options.streamArn,
      region: this.#region,
    };
    const retries = Number.isFinite(options.numberOfRetries)
      ? Math.floor(options.numberOfRetries)
      : 0;
    const attempts = Math.max(0, retries) + 1;
    let lastError: InvocationError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      if (attempt > 1) {
        await sleep(Math.min(FIRST_BACKOFF_MS * 2 ** (attempt - 2), MAX_BACKOFF_MS));
        if (this.#closed) throw new Error('the transform host was closed during the invocation');
      }
      try {
        return ref.kind === 'local'
          ? await this.#local.invoke(ref.name, records, invocation)
          : listedOutcomes(await this.#remote.invoke(ref.url, records, invocation));
      } catch (error) {
        if (!(error instanceof InvocationError)) throw error;
        lastError = error;
      }
    }
    const message = `${(lastError as InvocationError).message} (${attempts === 1 ? '1 attempt' : `${attempts} attempts`})`;
    this.#log.warn(
      {
        transform: describeTransformRef(ref),
        stream: options.streamName,
        records: records.length,
        attempts,
        error: message,
      },
      'transform invocation failed',
    );
    const outcome = failedOutcome('Lambda.FunctionError', message);
    return listedOutcomes(records.map(() => outcome));
  }

  /** Stops the workers and closes remote connections; running invocations reject. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#remote.close();
    await this.#local.close();
  }
}
