import { basename, resolve } from 'node:path';
import type { Logger } from '../../telemetry/logger.js';
import { DirectoryGeneration } from './directory-generation.js';
import { PackBufferPool, PackedOutcomes, packInputs } from './record-packing.js';
import { InvocationError, TransformLoadError } from './transform-errors.js';
import { LOCAL_TRANSFORM_PREFIX, resolveLocalTransform } from './transform-ref.js';
import type { InvocationOutcomes, TransformInput } from './transform-records.js';
import type { InvokeReply, InvokeRequest } from './worker-protocol.js';
import {
  TaskNotStartedError,
  TaskTimeoutError,
  WorkerLostError,
  WorkerPool,
} from '../../lifecycle/worker-pool.js';

/**
 * Local transforms: modules in the transforms directory, run in the shared worker pool.
 *
 * Before each invocation the directory's fingerprint is checked (after a change the file
 * system reports, else at most every 250 ms); when a file changed, the pool's workers are retired, so the next invocations load every module
 * afresh. A module that cannot be loaded is reported once per transform and version of the
 * directory (log.error) and fails invocations with a TransformLoadError until it changes.
 */

/** Options of {@link LocalTransforms}. */
export interface LocalTransformsOptions {
  transformsDir: string;
  workers: number;
  timeoutMs: number;
  memoryLimitMb: number;
  log: Logger;
}

/** Where an invocation's records come from. */
export interface LocalInvocation {
  streamName: string;
  streamArn: string;
  region: string;
}

/** The worker script: the compiled one, or the source under vitest. */
const WORKER_ENTRY = new URL(
  import.meta.url.endsWith('.ts') ? './worker-entry.ts' : './worker-entry.js',
  import.meta.url,
);

/** Most transform output lines logged per {@link OUTPUT_WINDOW_MS}; the rest are counted. */
const OUTPUT_LINES_PER_WINDOW = 100;
const OUTPUT_WINDOW_MS = 10_000;
/** Node's warning that type stripping is experimental, written by each worker that uses it. */
const TYPE_STRIPPING_WARNING =
  /^\(node:\d+\) ExperimentalWarning: Type Stripping is an experimental feature/;
/** Most times one invocation's records are sent to a worker that ends before starting them. */
const MOST_SENDS = 3;
/** Spare input buffers kept per worker: about the invocations each has in flight. */
const SPARE_BUFFERS_PER_WORKER = 2;
/** Longest transform output line logged. */
const MAX_OUTPUT_LINE_CHARS = 2_000;

/** Runs local transforms. */
export class LocalTransforms {
  readonly #dir: string;
  readonly #log: Logger;
  readonly #pool: WorkerPool<InvokeRequest, InvokeReply>;
  readonly #generation: DirectoryGeneration;
  readonly #buffers: PackBufferPool;
  #poolGeneration: string | undefined;
  /** This generation's module file per transform name (`null`: none). */
  readonly #files = new Map<string, string | null>();
  /** This generation's load failures, by file. */
  readonly #loadFailures = new Map<string, TransformLoadError>();
  #outputWindowStart = 0;
  #outputLines = 0;
  #outputSuppressed = 0;
  #skipTraceHint = false;

  constructor(options: LocalTransformsOptions) {
    this.#dir = resolve(options.transformsDir);
    this.#log = options.log;
    this.#generation = new DirectoryGeneration(this.#dir);
    this.#buffers = new PackBufferPool(SPARE_BUFFERS_PER_WORKER * options.workers);
    this.#pool = new WorkerPool<InvokeRequest, InvokeReply>({
      size: options.workers,
      entry: WORKER_ENTRY,
      timeoutMs: options.timeoutMs,
      // The young generation keeps V8's default; the old one is where a runaway heap grows.
      resourceLimits: { maxOldGenerationSizeMb: options.memoryLimitMb },
      onOutput: (line, stream, key) => this.#output(line, stream, key),
    });
  }

  /**
   * One invocation of the transform `name` over `records` (none: load it only).
   *
   * @returns one outcome per record, in order (packed).
   * @throws TransformLoadError when it cannot be loaded; InvocationError when this attempt
   *   failed as a whole (retry it); PoolClosedError after {@link close}.
   */
  async invoke(
    name: string,
    records: readonly TransformInput[],
    invocation: LocalInvocation,
  ): Promise<InvocationOutcomes> {
    const generation = await this.#generation.current();
    if (generation !== this.#poolGeneration) {
      if (this.#poolGeneration !== undefined) this.#pool.retire();
      this.#poolGeneration = generation;
      this.#files.clear();
      this.#loadFailures.clear();
    }
    const file = this.#fileOf(name);
    const known = this.#loadFailures.get(file);
    if (known !== undefined) throw known;
    let reply: InvokeReply;
    try {
      reply = await this.#run(file, records, invocation);
    } catch (error) {
      if (error instanceof TaskTimeoutError) {
        throw new InvocationError(
          `Sluice encountered timeout errors when calling the transform ${LOCAL_TRANSFORM_PREFIX}${name}: ${error.message}`,
        );
      }
      if (error instanceof WorkerLostError || error instanceof TaskNotStartedError) {
        throw new InvocationError(
          `The transform ${LOCAL_TRANSFORM_PREFIX}${name} failed: ${error.message}`,
        );
      }
      throw error;
    }
    switch (reply.type) {
      case 'result':
        if (reply.spare !== undefined) this.#buffers.give(reply.spare);
        return new PackedOutcomes(reply.packed);
      case 'invocation-error':
        throw new InvocationError(
          `The transform ${LOCAL_TRANSFORM_PREFIX}${name} threw: ${reply.error}`,
        );
      case 'load-error':
        throw this.#loadFailed(name, file, reply.reason, generation);
    }
  }

  /**
   * Sends the records to a worker, and sends them again when the worker they were queued in
   * ended before starting them (another task's timeout or crash): they did not run, so this is
   * no attempt of theirs.
   */
  async #run(
    file: string,
    records: readonly TransformInput[],
    invocation: LocalInvocation,
  ): Promise<InvokeReply> {
    for (let sent = 1; ; sent += 1) {
      const packed = packInputs(records, this.#buffers);
      try {
        return await this.#pool.run(
          file,
          {
            file,
            packed,
            streamName: invocation.streamName,
            streamArn: invocation.streamArn,
            region: invocation.region,
          },
          [packed],
        );
      } catch (error) {
        // A task is queued only behind its own transform's, and never again once that one
        // failed: a second time is not expected, but must not loop.
        if (!(error instanceof TaskNotStartedError) || sent >= MOST_SENDS) throw error;
      }
    }
  }

  /** Ends the workers; running invocations fail with PoolClosedError. */
  close(): Promise<void> {
    this.#generation.close();
    return this.#pool.close();
  }

  /**
   * The module of `name` in this generation.
   *
   * @throws TransformLoadError (Lambda.ResourceNotFound) when there is none.
   */
  #fileOf(name: string): string {
    let file = this.#files.get(name);
    if (file === undefined) {
      file = resolveLocalTransform(this.#dir, name) ?? null;
      this.#files.set(name, file);
      if (file === null) {
        this.#log.error(
          { transform: name, dir: this.#dir, reason: this.#missingReason(name) },
          'transform not found',
        );
      }
    }
    if (file === null) {
      throw new TransformLoadError(
        'Lambda.ResourceNotFound',
        name,
        undefined,
        this.#missingReason(name),
        `The transform ${LOCAL_TRANSFORM_PREFIX}${name} does not exist: ${this.#missingReason(name)}. Add the module (or fix the stream's LambdaArn); the next invocation looks again.`,
      );
    }
    return file;
  }

  #missingReason(name: string): string {
    return `there is no ${name}.ts, .mts, .js or .mjs in ${this.#dir}`;
  }

  #loadFailed(name: string, file: string, reason: string, generation: string): TransformLoadError {
    const error = new TransformLoadError(
      'Sluice.TransformLoadFailed',
      name,
      file,
      reason,
      `The transform ${LOCAL_TRANSFORM_PREFIX}${name} cannot be loaded from ${file}: ${reason}. Fix the file; the next invocation loads it again.`,
    );
    // Invocations already running when the file changed report nothing about the new version.
    if (generation === this.#poolGeneration && !this.#loadFailures.has(file)) {
      this.#loadFailures.set(file, error);
      this.#log.error({ transform: name, file, reason }, 'transform cannot be loaded');
    }
    return error;
  }

  /** Logs a line a transform printed, within a budget: transforms may print per record. */
  #output(line: string, stream: 'stdout' | 'stderr', file: string | undefined): void {
    // Older Node 22 releases warn, in every worker, that type stripping is experimental; that
    // line and its "(Use `node --trace-warnings …`" hint are noise, not the transform's output.
    if (stream === 'stderr' && TYPE_STRIPPING_WARNING.test(line)) {
      this.#skipTraceHint = true;
      return;
    }
    if (this.#skipTraceHint) {
      this.#skipTraceHint = false;
      if (line.startsWith('(Use `node --trace-warnings')) return;
    }
    const now = Date.now();
    if (now - this.#outputWindowStart >= OUTPUT_WINDOW_MS) {
      if (this.#outputSuppressed > 0) {
        this.#log.warn(
          { suppressed: this.#outputSuppressed, windowMs: OUTPUT_WINDOW_MS },
          `transform output beyond ${OUTPUT_LINES_PER_WINDOW} lines was not logged`,
        );
      }
      this.#outputWindowStart = now;
      this.#outputLines = 0;
      this.#outputSuppressed = 0;
    }
    if (this.#outputLines >= OUTPUT_LINES_PER_WINDOW) {
      this.#outputSuppressed += 1;
      return;
    }
    this.#outputLines += 1;
    const output =
      line.length > MAX_OUTPUT_LINE_CHARS ? `${line.slice(0, MAX_OUTPUT_LINE_CHARS)}…` : line;
    const transform = file === undefined ? undefined : basename(file).replace(/\.[^.]+$/, '');
    const fields = { transform, output };
    if (stream === 'stderr') this.#log.warn(fields, 'transform stderr');
    else this.#log.info(fields, 'transform stdout');
  }
}
