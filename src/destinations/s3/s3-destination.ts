import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { BatchMeta, BatchStore } from '../../delivery/batch-store.js';
import type { S3DeliveryTarget } from '../../streams/delivery-target.js';
import type { ObjectStore } from '../object-store.js';
import type { DeliveryOutcome } from '../outcome.js';
import { buildObjectKey } from './object-key.js';

/** `Content-Encoding` per compression format, as Firehose sets it on objects. */
const CONTENT_ENCODING: Record<S3DeliveryTarget['compression'], string | undefined> = {
  UNCOMPRESSED: undefined,
  GZIP: 'gzip',
};

/**
 * Delivers a batch as one object: records concatenated byte for byte (Firehose adds no
 * delimiter), compressed as configured, under Firehose's key layout. The key is fixed on the
 * first attempt, so retries overwrite rather than duplicate.
 */
export class S3Destination {
  constructor(
    private readonly store: ObjectStore,
    private readonly batches: BatchStore,
  ) {}

  /**
   * One delivery attempt of `meta` to `target`, classified. Redis errors are thrown, not
   * classified: the driver's job then fails and is retried like any other attempt.
   */
  async deliver(target: S3DeliveryTarget, meta: BatchMeta): Promise<DeliveryOutcome> {
    let proposed = meta.objectKey;
    try {
      proposed ??= buildObjectKey(target, {
        batchId: meta.id,
        firstArrivalMs: meta.firstArrivalMs,
      });
    } catch (error) {
      return { kind: 'permanent', reason: `cannot name the object: ${describe(error)}` };
    }
    const key = await this.batches.claimObjectKey(meta, proposed);
    const payload = Readable.from(this.concatenatedChunks(meta), { objectMode: false });
    const encoding = CONTENT_ENCODING[target.compression];
    const gzip = encoding === 'gzip' ? createGzip() : undefined;
    const compressing = gzip ? pipeline(payload, gzip) : undefined;
    try {
      await this.store.put({
        bucket: target.bucket,
        key,
        body: gzip ?? payload,
        contentEncoding: encoding,
      });
      await compressing;
    } catch (error) {
      payload.destroy();
      gzip?.destroy();
      await compressing?.catch(() => undefined);
      const reason = `S3 PutObject s3://${target.bucket}/${key} failed: ${describe(error)}`;
      return this.store.isPermanent(error)
        ? { kind: 'permanent', reason }
        : { kind: 'retry', reason };
    }
    return { kind: 'delivered', location: `s3://${target.bucket}/${key}` };
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
