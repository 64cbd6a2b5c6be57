import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { BatchMeta, BatchStore } from '../../delivery/batch-store.js';
import type { S3DeliveryPlan } from '../../streams/delivery-plan.js';
import type { S3DeliveryTarget } from '../../streams/delivery-target.js';
import type { ObjectStore } from '../object-store.js';
import type { DeliveryOutcome } from '../outcome.js';
import { planS3Delivery } from './s3-plan.js';

/**
 * Delivers a batch as one object: records concatenated byte for byte (Firehose adds no
 * delimiter), compressed as configured, under Firehose's key layout. Where and how is decided
 * once, by {@link plan} on the first attempt; the driver stores that plan with the batch and
 * every attempt carries out the stored one, so retries overwrite rather than duplicate, even
 * across an UpdateDestination.
 */
export class S3Destination {
  constructor(
    private readonly store: ObjectStore,
    private readonly batches: BatchStore,
  ) {}

  /**
   * The plan for the first attempt of `meta` to the destination as it is now (keeping a key
   * fixed by an older version, if any).
   *
   * @throws Error when no object key can be made (a permanent failure).
   */
  plan(target: S3DeliveryTarget, meta: BatchMeta): S3DeliveryPlan {
    return planS3Delivery(
      target,
      { batchId: meta.id, firstArrivalMs: meta.firstArrivalMs },
      meta.legacyObjectKey,
    );
  }

  /**
   * One delivery attempt of `meta` as `plan` says, classified. Redis errors are thrown, not
   * classified: the driver's job then fails and is retried like any other attempt.
   */
  async deliver(plan: S3DeliveryPlan, meta: BatchMeta): Promise<DeliveryOutcome> {
    const { bucket, key, contentEncoding } = plan;
    const payload = Readable.from(this.concatenatedChunks(meta), { objectMode: false });
    const gzip = plan.compression === 'GZIP' ? createGzip() : undefined;
    const compressing = gzip ? pipeline(payload, gzip) : undefined;
    try {
      await this.store.put({ bucket, key, body: gzip ?? payload, contentEncoding });
      await compressing;
    } catch (error) {
      payload.destroy();
      gzip?.destroy();
      await compressing?.catch(() => undefined);
      const reason = `S3 PutObject s3://${bucket}/${key} failed: ${describe(error)}`;
      return this.store.isPermanent(error)
        ? { kind: 'permanent', reason }
        : { kind: 'retry', reason };
    }
    return { kind: 'delivered', location: `s3://${bucket}/${key}` };
  }

  /** One buffer per stored chunk: large writes keep compression and uploads efficient. */
  private async *concatenatedChunks(meta: BatchMeta): AsyncGenerator<Buffer> {
    for await (const records of this.batches.readChunks(meta)) {
      yield Buffer.concat(records.map((r) => r.data));
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
