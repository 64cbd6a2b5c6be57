import { buildObjectKey } from '../s3/object-key.js';

/**
 * The keys a staged Redshift batch writes in the intermediate bucket, all derived from the
 * batch (its id and oldest arrival) so every retry writes the same ones. Firehose's S3 layout
 * under the `S3Configuration` `Prefix` (which has no expressions for Redshift): the prefix, the
 * UTC date path `yyyy/MM/dd/HH/` appended as Firehose appends it (plain concatenation), and
 * `<StreamName>-<VersionId>-<yyyy-MM-dd-HH-mm-ss>-<batch id>`. Firehose does not document
 * where its manifests go; Sluice puts them beside the objects, under `manifests/` and, for a
 * batch given up, `errors/manifests/`, named like the object (without its extension).
 */

/** What the keys are made from. */
export interface StagedKeyInput {
  streamName: string;
  versionId: number;
  /** `S3Configuration.Prefix` ('' when absent). */
  prefix: string;
  compression: 'UNCOMPRESSED' | 'GZIP';
  batchId: string;
  /** Arrival of the batch's oldest record, epoch ms. */
  firstArrivalMs: number;
}

/** A staged batch's keys. */
export interface StagedKeys {
  /** The staged object: `<Prefix>yyyy/MM/dd/HH/<name>[.gz]`. */
  objectKey: string;
  /** The manifest the COPY reads: `<Prefix>manifests/yyyy/MM/dd/HH/<name>`. */
  manifestKey: string;
  /** The manifest left when the batch is given up: `<Prefix>errors/manifests/yyyy/MM/dd/HH/<name>`. */
  skippedManifestKey: string;
}

/** The folder, under the Prefix, of the manifests the COPYs read. */
export const MANIFESTS_FOLDER = 'manifests/';
/** The folder, under the Prefix, of the manifests of batches given up (Firehose's `errors/`). */
export const SKIPPED_MANIFESTS_FOLDER = 'errors/manifests/';

/**
 * The keys of a staged batch.
 *
 * @throws EvaluatedPrefixTooLongError when a prefix with its date path is longer than Firehose
 *   allows.
 */
export function stagedKeysOf(input: StagedKeyInput): StagedKeys {
  const key = (prefix: string, compression: 'UNCOMPRESSED' | 'GZIP') =>
    buildObjectKey(
      {
        streamName: input.streamName,
        versionId: input.versionId,
        prefix,
        errorOutputPrefix: undefined,
        compression,
        fileExtension: undefined,
        timeZone: 'UTC',
      },
      { batchId: input.batchId, firstArrivalMs: input.firstArrivalMs },
    );
  return {
    objectKey: key(input.prefix, input.compression),
    manifestKey: key(input.prefix + MANIFESTS_FOLDER, 'UNCOMPRESSED'),
    skippedManifestKey: key(input.prefix + SKIPPED_MANIFESTS_FOLDER, 'UNCOMPRESSED'),
  };
}
