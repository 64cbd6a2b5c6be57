import type { DestinationServices, SendResult } from '../destination-kind.js';
import type { S3PutRequest } from './request.js';

/** A failed write, with the store's own verdict on whether a retry can help. */
export class ObjectWriteError extends Error {
  override name = 'ObjectWriteError';

  constructor(
    override readonly cause: unknown,
    /** The store says no retry can succeed (a key it can never take). */
    readonly permanent: boolean,
  ) {
    super(cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause));
  }
}

/** The sender: writes the object to the configured store (S3, S3-compatible or a directory). */
export async function sendS3Put(
  request: S3PutRequest,
  services: DestinationServices,
): Promise<SendResult<undefined>> {
  const store = services.objectStore;
  try {
    await store.put({
      bucket: request.bucket,
      key: request.key,
      body: request.body,
      contentEncoding: request.contentEncoding,
    });
    return { response: undefined };
  } catch (error) {
    // A body left half read would hold its source (the batch being read) open.
    request.body.destroy();
    return { error: new ObjectWriteError(error, store.isPermanent(error)) };
  }
}
