import {
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ObjectNotFoundError, type ObjectStore, type PutObjectRequest } from '../object-store.js';

/** Part size for multipart uploads; objects smaller than one part go up in one PutObject. */
const PART_SIZE = 5 * 1024 * 1024;

/**
 * S3 errors that no retry can fix. Everything else (throttling, 5xx, network, and also
 * NoSuchBucket or AccessDenied, which an operator can fix) is retried, as Firehose does.
 */
const PERMANENT_S3_ERRORS = new Set(['KeyTooLongError', 'EntityTooLarge', 'InvalidBucketName']);

/**
 * A store that accepts a connection and then never answers must not hold a batch forever (the
 * worker would keep renewing its lock): an idle socket fails the attempt, which is retried.
 */
const CONNECTION_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 60_000;

/** Settings for {@link S3ObjectStore}. */
export interface S3ObjectStoreOptions {
  /** Custom endpoint URL, or undefined for Amazon S3's own endpoints. */
  endpoint: string | undefined;
  region: string;
  forcePathStyle: boolean;
}

/** Writes objects to Amazon S3 or an S3-compatible store, multipart for large objects. */
export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  private readonly client: S3Client;

  constructor(options: S3ObjectStoreOptions) {
    this.description = `s3 ${options.endpoint ?? `aws ${options.region}`}`;
    this.client = new S3Client({
      region: options.region,
      requestHandler: new NodeHttpHandler({
        connectionTimeout: CONNECTION_TIMEOUT_MS,
        requestTimeout: REQUEST_TIMEOUT_MS,
      }),
      ...(options.endpoint === undefined
        ? {}
        : {
            endpoint: options.endpoint,
            forcePathStyle: options.forcePathStyle,
            // S3-compatible stores (s3rver, some MinIO versions) store streamed uploads with
            // the SDK's default trailing checksums corrupted: send checksums only when required.
            requestChecksumCalculation: 'WHEN_REQUIRED',
            responseChecksumValidation: 'WHEN_REQUIRED',
          }),
    });
  }

  async put(request: PutObjectRequest): Promise<void> {
    const upload = new Upload({
      client: this.client,
      partSize: PART_SIZE,
      queueSize: 2,
      // A failed multipart upload is aborted, so no partial object is left behind.
      leavePartsOnError: false,
      params: {
        Bucket: request.bucket,
        Key: request.key,
        Body: request.body,
        ...(request.contentEncoding ? { ContentEncoding: request.contentEncoding } : {}),
      },
    });
    await upload.done();
  }

  /**
   * GetObject; the body as stored (a `Content-Encoding: gzip` object stays compressed).
   *
   * @throws ObjectNotFoundError on `NoSuchKey` (or a bare 404).
   */
  async get(bucket: string, key: string): Promise<Buffer> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (out.Body === undefined) return Buffer.alloc(0);
      return Buffer.from(await out.Body.transformToByteArray());
    } catch (error) {
      if (
        error instanceof S3ServiceException &&
        (error.name === 'NoSuchKey' || error.$metadata.httpStatusCode === 404)
      ) {
        throw new ObjectNotFoundError(bucket, key, { cause: error });
      }
      throw error;
    }
  }

  /** ListObjectsV2, following continuation tokens until the listing is complete. */
  async *list(bucket: string, prefix: string): AsyncIterable<string> {
    let token: string | undefined;
    for (;;) {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of out.Contents ?? []) {
        if (object.Key !== undefined) yield object.Key;
      }
      if (!out.IsTruncated) return;
      // A store that answers "truncated" without a new token would otherwise list forever.
      const next = out.NextContinuationToken;
      if (next === undefined || next === token) {
        throw new Error(
          `listing s3://${bucket}/${prefix} did not advance: store sent no new token`,
        );
      }
      token = next;
    }
  }

  isPermanent(error: unknown): boolean {
    return error instanceof S3ServiceException && PERMANENT_S3_ERRORS.has(error.name);
  }

  async close(): Promise<void> {
    this.client.destroy();
    return Promise.resolve();
  }
}
