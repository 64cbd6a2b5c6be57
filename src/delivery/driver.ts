import type { Job } from 'bullmq';
import type { Logger } from '../telemetry/logger.js';
import type { StreamRegistry } from '../streams/registry.js';
import { deliveryTargetOf, type StreamDefinition } from '../streams/stream-definition.js';
import type { S3Destination } from '../destinations/s3/s3-destination.js';
import type { DeliveryOutcome } from '../destinations/outcome.js';
import {
  parseDeliveryPlan,
  serializeDeliveryPlan,
  type DeliveryPlan,
} from '../streams/delivery-plan.js';
import type { BatchMeta, BatchStore } from './batch-store.js';
import type { DeliveryJobData } from './delivery-queues.js';

/** What the driver needs. */
export interface DeliveryDriverDeps {
  batches: BatchStore;
  registry: StreamRegistry;
  s3: S3Destination;
  /** How long a batch is retried, counted from its oldest record. */
  retentionMs: number;
  log: Logger;
  now?: () => number;
}

/** Thrown to make BullMQ retry the job with the `sluice` backoff. */
export class RetryableDeliveryError extends Error {
  override name = 'RetryableDeliveryError';
}

/**
 * Runs one delivery attempt of one batch and decides its fate: delivered (data deleted),
 * retried later (the job throws; BullMQ re-runs it after the backoff, durably in Redis), or,
 * once the retention window has ended or the failure is permanent, dead-lettered with its
 * reason. Nothing is ever deleted undelivered.
 */
export class DeliveryDriver {
  private readonly now: () => number;

  constructor(private readonly deps: DeliveryDriverDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** The BullMQ processor. Resolves with a short description of what happened. */
  async process(job: Job<DeliveryJobData>): Promise<string> {
    const { stream, batchId } = job.data;
    const { batches, registry, log } = this.deps;
    const meta = await batches.getMeta(stream, batchId);
    // Gone means delivered already (a re-enqueue by the sweeper after completion).
    if (!meta) return 'already delivered';
    if (meta.deadAtMs !== undefined) return 'dead-lettered earlier';
    const definition = await registry.get(stream);
    if (!definition) {
      // A stream is removed only once drained, so this is an operator deleting keys by hand.
      throw new RetryableDeliveryError(`stream ${stream} has no definition`);
    }
    const fixed = await this.fixPlan(meta, definition);
    if (fixed === undefined) return 'already delivered';
    const outcome: DeliveryOutcome =
      'problem' in fixed
        ? { kind: 'permanent', reason: fixed.problem }
        : await this.deps.s3.deliver(fixed.plan, meta);
    if (outcome.kind === 'delivered') {
      await batches.complete(stream, batchId);
      return `delivered to ${outcome.location}`;
    }
    const expired = this.now() - meta.firstArrivalMs >= this.deps.retentionMs;
    if (outcome.kind === 'permanent' || expired) {
      const reason =
        outcome.kind === 'permanent'
          ? `permanent failure: ${outcome.reason}`
          : `retention window of ${Math.round(this.deps.retentionMs / 1000)} s ended after ${job.attemptsMade + 1} attempts; last error: ${outcome.reason}`;
      await batches.deadLetter(stream, batchId, reason, this.now());
      log.error({ stream, batchId, records: meta.records, reason }, 'batch dead-lettered');
      return `dead-lettered: ${reason}`;
    }
    if (job.attemptsMade === 0) {
      log.warn({ stream, batchId, reason: outcome.reason }, 'delivery failed; will retry');
    }
    throw new RetryableDeliveryError(outcome.reason);
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
  ): Promise<{ plan: DeliveryPlan } | { problem: string } | undefined> {
    let stored = meta.plan;
    if (stored === undefined) {
      let proposed: DeliveryPlan;
      try {
        proposed = this.deps.s3.plan(deliveryTargetOf(definition), meta);
      } catch (error) {
        return { problem: `cannot name the object: ${describe(error)}` };
      }
      stored = await this.deps.batches.claimPlan(meta, serializeDeliveryPlan(proposed));
      if (stored === undefined) return undefined;
    }
    try {
      return { plan: parseDeliveryPlan(stored) };
    } catch (error) {
      return { problem: describe(error) };
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
