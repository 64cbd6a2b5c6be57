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

  /** One delivery attempt of `meta` to `target`, classified. */
  async deliver(target: S3DeliveryTarget, meta: BatchMeta): Promise<DeliveryOutcome> {
    let key: string;
    try {
      key = await this.batches.claimObjectKey(
        meta,
        meta.objectKey ??
          buildObjectKey(target, { batchId: meta.id, firstArrivalMs: meta.firstArrivalMs }),
      );
    } catch (error) {
      return { kind: 'permanent', reason: `cannot name the object: ${describe(error)}` };
    }
    const payload = Readable.from(this.concatenatedChunks(meta), { objectMode: false });
    const encoding = CONTENT_ENCODING[target.compression];
    try {
      if (encoding === 'gzip') {
        const gzip = createGzip();
        const compressing = pipeline(payload, gzip);
        try {
          await this.store.put({
            bucket: target.bucket,
            key,
            body: gzip,
            contentEncoding: encoding,
          });
        } catch (error) {
          gzip.destroy();
          await compressing.catch(() => undefined);
          throw error;
        }
        await compressing;
      } else {
        await this.store.put({
          bucket: target.bucket,
          key,
          body: payload,
          contentEncoding: encoding,
        });
      }
    } catch (error) {
      payload.destroy();
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
