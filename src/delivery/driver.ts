import { Readable } from 'node:stream';
import type { Job } from 'bullmq';
import {
  hasFirstStage,
  PlanError,
  type DeliveryOutcome,
  type DestinationKind,
  type DestinationServices,
  type GiveUpObject,
  type PlanBase,
  type RecordStream,
  type RejectRecord,
  type S3Location,
} from '../destinations/destination-kind.js';
import type { TableCatalog } from '../formats/parquet/table-catalog.js';
import { kindByShape } from '../destinations/registry.js';
import type { DeliveryErrorCode } from '../errors/delivery-error-codes.js';
import { compress } from '../formats/compression.js';
import type { StreamDefinition } from '../streams/stream-definition.js';
import type { StreamRegistry } from '../streams/registry.js';
import { NO_TELEMETRY, type Telemetry } from '../telemetry/events.js';
import type { Logger } from '../telemetry/logger.js';
import type { BatchMeta, BatchStore, FailedSet } from './batch-store.js';
import {
  RetryableDeliveryError,
  describeError,
  type BackupSink,
  type ErrorOutputSink,
} from './delivery-errors.js';
import { FailedByType, writeErrorObjects } from './error-objects.js';
import { parseDeliveryPlan, serializeDeliveryPlan, type ParsedPlan } from './delivery-plan.js';
import type { DeliveryJobData } from './delivery-queues.js';
import type { ProcessingJob } from './processing-job.js';
import { ConcurrencyGate } from './concurrency-gate.js';
import { retryLogLevel } from './retry-log.js';
import {
  RecordTally,
  failedSetOf,
  failuresOf,
  requestGroups,
  type RecordFailure,
  type WholeFailure,
} from './attempt-records.js';

export { RetryableDeliveryError } from './delivery-errors.js';
export type { BackupSink, ErrorOutputSink } from './delivery-errors.js';

/** What the driver needs. */
export interface DeliveryDriverDeps {
  batches: BatchStore;
  registry: StreamRegistry;
  services: DestinationServices;
  errorOutput: ErrorOutputSink;
  backup: BackupSink;
  /** Where format conversion finds its tables (`SLUICE_CATALOG_DIR`). */
  catalog?: TableCatalog;
  /** How long a batch is retried where its kind has no retry window, from its oldest record. */
  retentionMs: number;
  /** The first stage of streams with processors or dynamic partitioning. */
  processing?: ProcessingJob;
  /**
   * Most delivery and processing jobs of one stream this process runs at once (its BullMQ
   * worker takes up to both together); unlimited when not given.
   */
  concurrency?: { delivery: number; processing: number };
  log: Logger;
  telemetry?: Telemetry;
  now?: () => number;
}

/** A problem that ends the batch's delivery without an attempt (no plan can be made). */
interface PlanProblem {
  code: DeliveryErrorCode;
  reason: string;
}

/**
 * The one delivery driver. It runs a batch through the pipeline — read the batch as records,
 * the processing stage, partitioning, encode, compress — hands the result to the batch's
 * destination kind to build, send and classify, and decides the batch's fate from the outcome:
 * delivered (data deleted); retried later, whole or only the records that failed (the job
 * throws; BullMQ re-runs it after the backoff, durably in Redis); or, once the retry window has
 * ended or the failure is permanent, written to the error output with each record's reason —
 * or, where the error output is the very store that fails (S3), kept in the dead set. Nothing
 * is ever deleted undelivered: an error-output write that fails keeps the batch queued.
 */
export class DeliveryDriver {
  private readonly now: () => number;
  private readonly telemetry: Telemetry;
  /** Per stream, the gates of its delivery and processing jobs (see `concurrency`). */
  private readonly gates = new Map<
    string,
    { delivery: ConcurrencyGate; processing: ConcurrencyGate }
  >();

  constructor(private readonly deps: DeliveryDriverDeps) {
    this.now = deps.now ?? Date.now;
    this.telemetry = deps.telemetry ?? NO_TELEMETRY;
  }

  /** The BullMQ processor. Resolves with a short description of what happened. */
  async process(job: Job<DeliveryJobData>): Promise<string> {
    const { stream, batchId } = job.data;
    const { batches, registry } = this.deps;
    const attempt = job.attemptsMade + 1;
    const meta = await batches.getMeta(stream, batchId);
    // Gone means delivered already (a re-enqueue by the seal ticker after completion).
    if (!meta) return 'already delivered';
    if (meta.deadAtMs !== undefined) return 'dead-lettered earlier';
    const definition = await registry.get(stream);
    if (!definition) {
      // A stream is removed only once drained, so this is an operator deleting keys by hand.
      throw new RetryableDeliveryError(`Sluice.StreamMissing: stream ${stream} has no definition`);
    }
    const kind = kindByShape(definition.destination.shape);
    const processing = kind.processing(definition.destination.config);
    if (meta.partition === undefined && meta.plan === undefined && hasFirstStage(processing)) {
      // First stage: the records go through the processors into partition buffers, which
      // seal into the batches this driver delivers.
      if (this.deps.processing === undefined) {
        throw new RetryableDeliveryError(
          `Sluice.Internal: stream ${stream} has processing, but this process runs no processing stage`,
        );
      }
      const job = this.deps.processing;
      return this.gated(stream, 'processing', () =>
        job.run(meta, definition, kind, processing, attempt),
      );
    }
    return this.gated(stream, 'delivery', async () => {
      const fixed = await this.fixPlan(meta, definition);
      if (fixed === undefined) return 'already delivered';
      if ('problem' in fixed) {
        return this.deadLetter(
          meta,
          fixed.problem.code,
          `permanent failure: ${fixed.problem.reason}`,
        );
      }
      return this.attempt(meta, definition, fixed, attempt);
    });
  }

  /** Runs a job of `stream` within its kind's concurrency (see `concurrency`). */
  private gated(
    stream: string,
    kind: 'delivery' | 'processing',
    work: () => Promise<string>,
  ): Promise<string> {
    const limits = this.deps.concurrency;
    if (limits === undefined) return work();
    let gates = this.gates.get(stream);
    if (gates === undefined) {
      gates = {
        delivery: new ConcurrencyGate(limits.delivery),
        processing: new ConcurrencyGate(limits.processing),
      };
      this.gates.set(stream, gates);
    }
    return gates[kind].run(work);
  }

  /** One attempt of the pending records of `meta` as `fixed` says, and its consequences. */
  private async attempt(
    meta: BatchMeta,
    definition: StreamDefinition,
    { kind, plan }: ParsedPlan,
    attempt: number,
  ): Promise<string> {
    const { batches } = this.deps;
    let errorWrites = meta.errorWrites;
    if (meta.failed !== undefined) {
      // An earlier attempt gave these records up and crashed or failed writing them out:
      // write them now, without sending them to the destination again.
      errorWrites = await this.writeFailed(
        meta,
        kind,
        plan,
        meta.failed,
        errorWrites,
        meta.pending,
      );
      if (meta.pending?.length === 0) {
        await batches.complete(meta.stream, meta.id);
        return 'failed records written to the error output';
      }
    }
    if (plan.backup !== undefined && !meta.backupWritten) {
      await this.writeBackup(meta, plan, plan.backup);
    }
    // What may change between retries (an access key) comes from the stream as it is now,
    // when it still has the plan's kind of destination.
    const current =
      kindByShape(definition.destination.shape).planDestination === kind.planDestination
        ? definition.destination.config
        : undefined;
    const failures: RecordFailure[] = [];
    const processed = batches.readRecordChunks(meta, meta.pending);
    const delivered = new RecordTally();
    const locations: string[] = [];
    let whole: WholeFailure | undefined;
    // A kind without a record limit gets one request (requestGroups) of every pending record.
    const positions =
      kind.maxRecordsPerRequest === undefined || kind.planPart === undefined
        ? () => pendingPositions(meta)
        : undefined;
    for await (const group of requestGroups(kind, plan, processed)) {
      const rejected: RecordFailure[] = [];
      const outcome = await this.send(kind, group, current, meta, positions, (r) =>
        rejected.push({ ...r, retryable: false }),
      );
      if (outcome.kind === 'delivered' || outcome.kind === 'partial') {
        locations.push(outcome.location);
      }
      if ((outcome.kind === 'retry' || outcome.kind === 'permanent') && !group.tally.complete) {
        // The one streamed request of the batch stopped part-way: every pending record failed
        // with it. Their positions are read only if they are given up on (see settle).
        whole = { code: outcome.code, reason: outcome.reason, retryable: outcome.kind === 'retry' };
        continue;
      }
      // Records the encoder left out fail for good, whatever became of the request: one that
      // is retried leaves them out again. They are not also among the request's failures.
      const left = new Set(rejected.map((r) => r.position));
      const groupFailures = [
        ...failuresOf(outcome, group.tally).filter((f) => !left.has(f.position)),
        ...rejected,
      ];
      const failed = new Set(groupFailures.map((f) => f.position));
      delivered.addAll(group.tally, failed);
      failures.push(...groupFailures);
    }
    return this.settle(
      { meta, definition, kind, plan, delivered, failures, whole, locations, attempt },
      errorWrites,
    );
  }

  /** Encode, compress, build, send, classify: one request of one attempt. */
  private async send(
    kind: DestinationKind,
    { plan, records }: { plan: PlanBase; records: RecordStream },
    current: unknown,
    meta: BatchMeta,
    positions: (() => readonly number[]) | undefined,
    reject: RejectRecord,
  ): Promise<DeliveryOutcome> {
    try {
      // A ZIP's one entry is named by the batch (a UUID, as Firehose's), so a retry rewrites
      // the same bytes.
      const body = compress(
        kind.encode(plan, records, {
          attemptAtMs: this.now(),
          reject,
          services: this.deps.services,
        }),
        kind.compression(plan),
        {
          entryName: meta.id,
          modifiedMs: meta.firstArrivalMs,
          deflateLevel: this.deps.services.deflateLevel,
        },
      );
      const request = await kind.build(plan, body, current, { positions });
      return kind.classify(request, await kind.send(request, this.deps.services));
    } catch (error) {
      // A bug in a builder or classifier, or the batch unreadable mid-way, must not lose the
      // batch: retried like any failure.
      return { kind: 'retry', code: 'Sluice.Internal', reason: describeError(error) };
    }
  }

  /** Positions of the batch's pending records. */
  private async positionsOf(meta: BatchMeta): Promise<number[]> {
    const positions: number[] = [];
    for await (const group of this.deps.batches.readRecordChunks(meta, meta.pending)) {
      for (let k = 0; k < group.length; k += 1) positions.push(group.positionAt(k));
    }
    return positions;
  }

  /**
   * Decides what an attempt means for each record: delivered, retried, or sent to the error
   * output (or the dead set), and records that durably before the job ends.
   */
  private async settle(attempted: Attempted, errorWritesSoFar: number): Promise<string> {
    const { meta, definition, kind, plan, delivered, whole, locations, attempt } = attempted;
    let failures = attempted.failures;
    const { batches } = this.deps;
    const nowMs = this.now();
    const destination = kind.shape;
    if (delivered.count > 0) {
      this.telemetry.emit({
        type: 'delivery.succeeded',
        stream: meta.stream,
        destination,
        records: delivered.count,
        bytes: delivered.bytes,
        freshnessMs: nowMs - Math.min(delivered.oldestArrivalMs, nowMs),
      });
    }
    if (failures.length === 0 && whole === undefined) {
      await batches.complete(meta.stream, meta.id);
      // Per batch, never per record; debug, since a busy stream delivers many a second.
      this.deps.log.debug(
        {
          event: 'batch.delivered',
          stream: meta.stream,
          batchId: meta.id,
          destination,
          records: delivered.count,
          bytes: delivered.bytes,
          attempt,
        },
        'batch delivered',
      );
      return locations.length === 0
        ? 'nothing left to deliver'
        : `delivered to ${locations.join(', ')}`;
    }

    const firstFailureAtMs = meta.firstFailureAtMs ?? nowMs;
    const window = this.retryWindow(meta, definition, kind, firstFailureAtMs, nowMs);
    if (whole !== undefined) {
      if (whole.retryable && !window.ended) {
        // Nothing was delivered and nothing is given up: what is pending stays pending.
        this.telemetry.emit({
          type: 'delivery.failed',
          stream: meta.stream,
          destination,
          stage: 'delivery',
          code: whole.code,
          records: meta.pending?.length ?? meta.records,
          attempt,
          retrying: true,
        });
        return this.retryLater(meta, firstFailureAtMs, whole, {
          attempt,
          records: meta.pending?.length ?? meta.records,
        });
      }
      // Given up on: the error output or the dead set needs the records' positions.
      const excluded = new Set(failures.map((f) => f.position));
      const positions = (await this.positionsOf(meta)).filter((p) => !excluded.has(p));
      failures = [...failures, ...positions.map((position) => ({ position, ...whole }))];
    }
    const retryable = window.ended ? [] : failures.filter((f) => f.retryable);
    const giveUp = window.ended ? failures : failures.filter((f) => !f.retryable);
    const last = failures[failures.length - 1] as RecordFailure;
    this.reportFailures(meta.stream, destination, failures, attempt, window.ended);

    let errorWrites = errorWritesSoFar;
    const pending = retryable.map((f) => f.position);
    if (giveUp.length > 0) {
      const untyped = giveUp.find((f) => (f.outputType ?? kind.failureOutputType) === undefined);
      if (untyped !== undefined || plan.errorOutput === undefined) {
        const failure = untyped ?? last;
        const why = window.ended
          ? `the ${window.name} ended after ${attempt} attempts; last error: ${failure.reason}`
          : `permanent failure: ${failure.reason}`;
        return this.deadLetter(meta, failure.code, why);
      }
      const failed = failedSetOf(giveUp, kind, attempt, nowMs, window);
      // Recorded before the write: a crash or a failed write leaves the next attempt to write
      // these records out, not to send them to the destination again.
      await batches.saveProgress(meta, errorWrites, pending, failed);
      await batches.markFirstFailure(meta, firstFailureAtMs);
      errorWrites = await this.writeFailed(meta, kind, plan, failed, errorWrites, pending);
    }
    if (retryable.length === 0) {
      await batches.complete(meta.stream, meta.id);
      return `${giveUp.length} records to the error output`;
    }
    // Nothing delivered and nothing given up: what is pending stays pending (a batch failing
    // whole does not rewrite its list of positions on every retry).
    if (delivered.count > 0 || giveUp.length > 0) {
      await batches.saveProgress(meta, errorWrites, pending, undefined);
    }
    return this.retryLater(meta, firstFailureAtMs, last, { attempt, records: retryable.length });
  }

  /** One `delivery.failed` event per stage, error code and fate; never one per record. */
  private reportFailures(
    stream: string,
    destination: string,
    failures: readonly RecordFailure[],
    attempt: number,
    windowEnded: boolean,
  ): void {
    const groups = new Map<
      string,
      { stage: 'processing' | 'delivery'; code: string; retrying: boolean; records: number }
    >();
    for (const failure of failures) {
      const stage = failure.outputType === 'processing-failed' ? 'processing' : 'delivery';
      const retrying = failure.retryable && !windowEnded;
      const key = `${stage} ${failure.code} ${retrying}`;
      const group = groups.get(key);
      if (group === undefined) groups.set(key, { stage, code: failure.code, retrying, records: 1 });
      else group.records += 1;
    }
    for (const group of groups.values()) {
      this.telemetry.emit({ type: 'delivery.failed', stream, destination, attempt, ...group });
    }
  }

  /**
   * Ends the attempt so that BullMQ runs the next one after the backoff. Logged as
   * `delivery.retrying` at the level {@link retryLogLevel} gives: `records` is how many are
   * retried.
   */
  private async retryLater(
    meta: BatchMeta,
    firstFailureAtMs: number,
    failure: { code: string; reason: string },
    { attempt, records }: { attempt: number; records: number },
  ): Promise<never> {
    await this.deps.batches.markFirstFailure(meta, firstFailureAtMs);
    const first = meta.firstFailureAtMs === undefined;
    this.deps.log[retryLogLevel(attempt, first)](
      {
        event: 'delivery.retrying',
        stream: meta.stream,
        batchId: meta.id,
        code: failure.code,
        reason: failure.reason,
        attempt,
        records,
      },
      first ? 'delivery failed; will retry' : 'delivery still failing; will retry',
    );
    throw new RetryableDeliveryError(`${failure.code}: ${failure.reason}`);
  }

  /**
   * Writes records given up on to the error output, one object per error-output type,
   * numbered from `errorWrites`, then clears them from the batch. A failed write keeps the
   * batch queued with the records still recorded: the retry rewrites the same objects.
   *
   * @returns the number of error-output objects the batch has now.
   */
  private async writeFailed(
    meta: BatchMeta,
    kind: DestinationKind,
    plan: PlanBase,
    failed: FailedSet,
    errorWrites: number,
    pending: readonly number[] | undefined,
  ): Promise<number> {
    const location = plan.errorOutput;
    if (location === undefined) {
      throw new RetryableDeliveryError('the plan names no error output for failed records');
    }
    const positions = failed.records.map(([position]) => position);
    const records = new Map(
      (await this.deps.batches.readRecords(meta, positions)).map((r) => [r.position, r]),
    );
    const byType = new FailedByType();
    for (const [position, reasonIndex] of failed.records) {
      const reason = failed.reasons[reasonIndex];
      const record = records.get(position);
      if (reason === undefined || record === undefined) continue;
      byType.add(reason.type, {
        record,
        code: reason.code,
        message: reason.message,
        attemptsMade: reason.attemptsMade,
        attemptEndingMs: reason.attemptEndingMs,
        details: {
          ...(reason.type === kind.failureOutputType ? kind.errorDetails?.(plan, record) : {}),
          ...(reason.type === 'format-conversion-failed' && plan.dataCatalogTable !== undefined
            ? { dataCatalogTable: plan.dataCatalogTable }
            : {}),
        },
      });
    }
    if (
      kind.giveUpObjects !== undefined &&
      failed.reasons.some((reason) => reason.type === kind.failureOutputType)
    ) {
      await this.writeGiveUpObjects(meta, kind.giveUpObjects(plan));
    }
    const seq = await writeErrorObjects(
      { errorOutput: this.deps.errorOutput, log: this.deps.log, telemetry: this.telemetry },
      { ...writeIdentity(meta, plan), location },
      byType,
      errorWrites,
      this.now(),
    );
    await this.deps.batches.saveProgress(meta, seq, pending, undefined);
    return seq;
  }

  /**
   * Writes what the kind leaves for a batch it gave up (a Redshift batch's `errors/`
   * manifest). Keys come from the plan, so a rewrite after a crash replaces the same objects.
   */
  private async writeGiveUpObjects(
    meta: BatchMeta,
    objects: readonly GiveUpObject[],
  ): Promise<void> {
    const store = this.deps.services.objectStore;
    for (const object of objects) {
      try {
        await store.put({
          bucket: object.bucket,
          key: object.key,
          body: Readable.from([object.body], { objectMode: false }),
          contentEncoding: object.contentEncoding,
        });
      } catch (error) {
        throw new RetryableDeliveryError(
          `writing s3://${object.bucket}/${object.key} for the batch given up failed: ${describeError(error)}`,
        );
      }
    }
    if (objects.length > 0) {
      this.deps.log.info(
        { stream: meta.stream, batchId: meta.id, keys: objects.map((o) => o.key) },
        'objects left for a batch given up written',
      );
    }
  }

  /**
   * Whether failing records may still be retried, by the kind's window (`RetryOptions`) or
   * else Sluice's retention, and the window's name for messages.
   */
  private retryWindow(
    meta: BatchMeta,
    definition: StreamDefinition,
    kind: DestinationKind,
    firstFailureAtMs: number,
    nowMs: number,
  ): { ended: boolean; name: string } {
    const current = definition.destination;
    const currentKind = kindByShape(current.shape);
    // RetryOptions changed by UpdateDestination apply to later retries, as in Firehose.
    const window =
      currentKind.planDestination === kind.planDestination
        ? currentKind.retryWindow(current.config)
        : undefined;
    if (window === undefined) {
      return {
        ended: nowMs - meta.firstArrivalMs >= this.deps.retentionMs,
        name: `retention window of ${Math.round(this.deps.retentionMs / 1000)} s`,
      };
    }
    const start = window.from === 'first-failure' ? firstFailureAtMs : meta.firstArrivalMs;
    return {
      ended: nowMs - start >= window.seconds * 1000,
      name: `retry window of ${window.seconds} s`,
    };
  }

  /**
   * Writes the plan's backup copy of every record once; a failure keeps the batch queued. Only
   * kinds whose batches are bounded (HTTP endpoints, 64 MiB) have backups of all data.
   */
  private async writeBackup(meta: BatchMeta, plan: PlanBase, location: S3Location): Promise<void> {
    const all = await this.deps.batches.readRecords(meta);
    try {
      await this.deps.backup.write({
        ...writeIdentity(meta, plan),
        location,
        records: all,
      });
    } catch (error) {
      throw new RetryableDeliveryError(`backup write failed: ${describeError(error)}`);
    }
    await this.deps.batches.markBackupWritten(meta);
    this.telemetry.emit({
      type: 'backup.written',
      stream: meta.stream,
      records: all.length,
      bytes: all.reduce((sum, r) => sum + r.data.length, 0),
    });
  }

  /**
   * Keeps the batch in the dead set. The stored reason leads with the error code and says where
   * the batch is and how to get it out, since `sluice dead` is where an operator reads it.
   */
  private async deadLetter(meta: BatchMeta, code: string, why: string): Promise<string> {
    const reason = `${code}: ${why}. The batch is kept in Sluice's dead set, because the destination's own store is where its error output would go; list it with \`sluice dead --stream ${meta.stream}\` and replay it with \`sluice replay --stream ${meta.stream} --type dead\`.`;
    await this.deps.batches.deadLetter(meta.stream, meta.id, reason, this.now());
    this.telemetry.emit({
      type: 'batch.dead-lettered',
      stream: meta.stream,
      records: meta.records,
      code,
    });
    this.deps.log.error(
      {
        event: 'batch.dead-lettered',
        stream: meta.stream,
        batchId: meta.id,
        records: meta.records,
        code,
        reason,
      },
      'batch dead-lettered',
    );
    return `dead-lettered: ${reason}`;
  }

  /**
   * The batch's delivery plan: the stored one, or, on the first attempt, one made from the
   * stream's current destination and stored before anything is written. Only the stored plan
   * is ever used, so an attempt racing another one still writes what the first claim fixed.
   *
   * @returns The plan; a problem no retry can fix; or undefined when the batch is gone.
   */
  private async fixPlan(
    meta: BatchMeta,
    definition: StreamDefinition,
  ): Promise<ParsedPlan | { problem: PlanProblem } | undefined> {
    let stored = meta.plan;
    if (stored === undefined) {
      const kind = kindByShape(definition.destination.shape);
      let proposed: PlanBase;
      try {
        proposed = await kind.plan(definition.destination.config, {
          streamName: definition.name,
          streamArn: definition.arn,
          versionId: definition.versionId,
          batchId: meta.id,
          firstArrivalMs: meta.firstArrivalMs,
          legacyObjectKey: meta.legacyObjectKey,
          partitionKeys: meta.partition,
          sourceBackup: meta.partition?.backup === true,
          catalog: this.deps.catalog,
        });
      } catch (error) {
        return error instanceof PlanError
          ? { problem: { code: error.code, reason: error.message } }
          : { problem: { code: 'Sluice.PlanFailed', reason: describeError(error) } };
      }
      stored = await this.deps.batches.claimPlan(meta, serializeDeliveryPlan(proposed));
      if (stored === undefined) return undefined;
    }
    try {
      return parseDeliveryPlan(stored);
    } catch (error) {
      return { problem: { code: 'Sluice.PlanUnreadable', reason: describeError(error) } };
    }
  }
}

/** One attempt and what became of its records, for {@link DeliveryDriver.settle}. */
interface Attempted {
  meta: BatchMeta;
  definition: StreamDefinition;
  kind: DestinationKind;
  plan: PlanBase;
  /** The records the destination took. */
  delivered: RecordTally;
  /** The records that failed, processing failures included. */
  failures: readonly RecordFailure[];
  /** Set when the batch's one streamed request failed part-way: every other pending record. */
  whole: WholeFailure | undefined;
  /** Where delivered requests went, for the job's description. */
  locations: readonly string[];
  attempt: number;
}

/**
 * The batch positions an attempt of `meta` reads, in order: the pending ones (as
 * `readRecordChunks` filters them), else every record.
 */
function pendingPositions(meta: BatchMeta): number[] {
  if (meta.pending === undefined) {
    const all = new Array<number>(meta.records);
    for (let i = 0; i < meta.records; i += 1) all[i] = i;
    return all;
  }
  return [...new Set(meta.pending)]
    .filter((p) => Number.isInteger(p) && p >= 0 && p < meta.records)
    .sort((a, b) => a - b);
}

/** What names the objects a batch writes besides its delivery: error output and backup. */
function writeIdentity(meta: BatchMeta, plan: PlanBase) {
  return {
    stream: meta.stream,
    streamVersion: plan.streamVersion,
    batchId: meta.id,
    firstArrivalMs: meta.firstArrivalMs,
  };
}
