import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { FailureDetails, PipelineRecord, PlanContext } from '../destination-kind.js';
import { S3LocationSchema, type S3Location } from '../plan-base.js';
import { s3LocationOf } from '../s3/config.js';
import {
  DefaultDocumentIdFormatSchema,
  IndexRotationPeriodSchema,
  type StoredOpenSearchDestination,
} from './config.js';
import type { ClusterReference } from './endpoints.js';
import { indexNameFor } from './index-name.js';

/**
 * The plan of a batch delivered to OpenSearch (stored with the batch as JSON): the cluster, the
 * index every record goes to and the `_id` it gets, fixed on the first attempt. A retry — a
 * single document after a 429, or the whole batch after a crash — indexes each record under the
 * same `_id` in the same index, so it overwrites what an earlier attempt may have written
 * instead of adding a second document. Credentials are deliberately not here: plans sit in
 * Redis beside the data; the sender reads them from the settings.
 */
export function openSearchPlanSchema<D extends string>(destination: D) {
  return z.object({
    destination: z.literal(destination),
    /** Stream `VersionId` the plan was made under. */
    streamVersion: z.number().int(),
    /** The cluster as the stream named it: resolved to a URL (and credentials) on each send. */
    domainArn: z.string().optional(),
    clusterEndpoint: z.string().optional(),
    /** `IndexName`, before its rotation suffix. */
    indexName: z.string(),
    rotation: IndexRotationPeriodSchema,
    /** `TypeName`, sent as `_type` (Elasticsearch 6 and older); absent: none. */
    typeName: z.string().optional(),
    /** `DocumentIdOptions.DefaultDocumentIdFormat`. */
    documentIds: DefaultDocumentIdFormatSchema,
    /** What every `_id` of the batch starts with (FIREHOSE_DEFAULT), derived from the batch. */
    documentIdBase: z.string(),
    /** Where `AmazonOpenSearchService-failed` records go: the destination's `S3Configuration`. */
    errorOutput: S3LocationSchema,
    /** Where every record is also written (`S3BackupMode` AllDocuments); absent otherwise. */
    backup: S3LocationSchema.optional(),
  });
}

/** The plan of a batch delivered to an OpenSearch (or Elasticsearch) destination. */
export type OpenSearchDeliveryPlan = z.infer<ReturnType<typeof openSearchPlanSchema<string>>>;

/** The namespace of Sluice's document ids: hashes in it differ from other software's. */
const DOCUMENT_ID_NAMESPACE = 'sluice opensearch document id v1';

/**
 * What every `_id` of a batch starts with: 22 URL-safe base64 characters (128 bits) of
 * SHA-256 over the stream's ARN and the batch id. Derived, not drawn, so that a plan made twice
 * names the same documents; two streams' batches never share it.
 */
export function documentIdBaseOf(streamArn: string, batchId: string): string {
  return createHash('sha256')
    .update(`${DOCUMENT_ID_NAMESPACE}\n${streamArn}\n${batchId}`, 'utf8')
    .digest()
    .subarray(0, 16)
    .toString('base64url');
}

/**
 * The `_id` of a batch's record: the batch's base and the record's position in the batch,
 * which a record keeps on every attempt. Undefined with NO_DOCUMENT_ID (the cluster makes one).
 */
export function documentIdOf(plan: OpenSearchDeliveryPlan, position: number): string | undefined {
  return plan.documentIds === 'FIREHOSE_DEFAULT' ? `${plan.documentIdBase}-${position}` : undefined;
}

/** The index a record goes to: `IndexName` and the rotation suffix of its arrival time. */
export function indexOf(plan: OpenSearchDeliveryPlan, record: PipelineRecord): string {
  return indexNameFor(plan.indexName, plan.rotation, record.arrivalMs);
}

/** The cluster the plan names. */
export function clusterOf(plan: OpenSearchDeliveryPlan): ClusterReference {
  return plan.domainArn !== undefined
    ? { domainArn: plan.domainArn }
    : { clusterEndpoint: plan.clusterEndpoint ?? '' };
}

/**
 * What an `AmazonOpenSearchService-failed` record names besides the common members: the
 * `_id` (null when the cluster makes ids), the index with its suffix, and the type.
 */
export function failureDetailsOf(
  plan: OpenSearchDeliveryPlan,
  record: PipelineRecord,
): FailureDetails {
  return {
    esDocumentId: documentIdOf(plan, record.position),
    esIndexName: indexOf(plan, record),
    esTypeName: plan.typeName,
  };
}

/**
 * The plan of a batch's first attempt, from the stream's destination now. Every later attempt
 * uses it: cluster, index name and rotation, type, id scheme and S3 locations.
 */
export function planOpenSearchDelivery<D extends string>(
  destination: D,
  config: StoredOpenSearchDestination,
  context: PlanContext,
): OpenSearchDeliveryPlan & { destination: D } {
  return {
    destination,
    streamVersion: context.versionId,
    ...(config.DomainARN !== undefined ? { domainArn: config.DomainARN } : {}),
    ...(config.ClusterEndpoint !== undefined ? { clusterEndpoint: config.ClusterEndpoint } : {}),
    indexName: config.IndexName,
    rotation: config.IndexRotationPeriod,
    ...(config.TypeName !== undefined ? { typeName: config.TypeName } : {}),
    documentIds: config.DocumentIdOptions.DefaultDocumentIdFormat,
    documentIdBase: documentIdBaseOf(context.streamArn, context.batchId),
    errorOutput: openSearchErrorOutputOf(config),
    ...(config.S3BackupMode === 'AllDocuments'
      ? { backup: s3LocationOf(config.S3Configuration) }
      : {}),
  };
}

/**
 * Where an OpenSearch destination's failed documents go: its `S3Configuration`, under
 * `AmazonOpenSearchService-failed/` after the prefix (the error-output type), gzip-compressed
 * when that says GZIP and plain NDJSON for every other format, as the HTTP endpoint's.
 */
export function openSearchErrorOutputOf(config: StoredOpenSearchDestination): S3Location {
  const s3 = s3LocationOf(config.S3Configuration);
  return { ...s3, compression: s3.compression === 'GZIP' ? 'GZIP' : 'UNCOMPRESSED' };
}
