import { FirehoseError } from '../../errors/catalogue.js';
import { defineDestinationKind, type StoredDestination } from '../destination-kind.js';
import { bufferingThresholds, enabledProcessors } from '../shapes.js';
import { classifyBulkResponse } from './classify.js';
import {
  OpenSearchDestinationConfigurationSchema,
  OpenSearchDestinationUpdateSchema,
  StoredOpenSearchDestinationSchema,
  describeOpenSearch,
  mergeOpenSearch,
  normalizeOpenSearch,
  type OpenSearchDestinationConfiguration,
  type OpenSearchDestinationUpdate,
  type StoredOpenSearchDestination,
} from './config.js';
import { ENDPOINTS_SETTING } from './endpoints.js';
import {
  failureDetailsOf,
  openSearchErrorOutputOf,
  openSearchPlanSchema,
  planOpenSearchDelivery,
} from './plan.js';
import { buildBulkRequest, encodeBulkBody } from './request.js';
import { sendBulkRequest } from './sender.js';

/** One of Firehose's two members for an OpenSearch destination, and the names around it. */
interface Variant {
  shape: string;
  createMember: string;
  updateMember: string;
  description: string;
  planDestination: string;
}

/**
 * The OpenSearch destination kind of one variant: delivery by `_bulk` to an OpenSearch (or
 * Elasticsearch) cluster, one `index` action per record, to the rotated index of the record's
 * arrival, with a stable `_id` (FIREHOSE_DEFAULT) or one the cluster makes. Documents the
 * cluster refuses for good, and those still failing when `RetryOptions` ends, go to the
 * `S3Configuration` bucket as `AmazonOpenSearchService-failed`; with `S3BackupMode`
 * AllDocuments every record is written there too.
 *
 * Not switchable, as in Firehose: an OpenSearch destination stays one, and the two variants
 * do not update each other.
 */
function openSearchKind(variant: Variant) {
  const planSchema = openSearchPlanSchema(variant.planDestination);
  return defineDestinationKind({
    shape: variant.shape,
    family: variant.shape,
    switchable: false,
    createMember: variant.createMember,
    createSchema: OpenSearchDestinationConfigurationSchema,
    updateMember: variant.updateMember,
    updateSchema: OpenSearchDestinationUpdateSchema,
    storedSchema: StoredOpenSearchDestinationSchema,
    planSchema,
    planDestination: variant.planDestination,
    failureOutputType: 'AmazonOpenSearchService-failed',

    normalize: (config, where) =>
      normalizeOpenSearch(config as OpenSearchDestinationConfiguration, where),
    merge: (current, update): StoredDestination => ({
      shape: variant.shape,
      config: mergeOpenSearch(
        StoredOpenSearchDestinationSchema.parse(current.config),
        update as OpenSearchDestinationUpdate,
        variant.updateMember,
      ),
    }),
    // Never called for a kind that is not switchable; refused should that rule change.
    replaceWith: (_update, where) => {
      throw new FirehoseError(
        'InvalidArgumentException',
        `${where} cannot change a destination of another type into ${variant.createMember}. Create a new stream instead.`,
      );
    },
    describe: (config) => ({ [variant.description]: describeOpenSearch(config) }),
    buffering: (config) => bufferingThresholds(config.BufferingHints),
    processing: (config) => ({
      processors: enabledProcessors(config.ProcessingConfiguration),
      partitioning: false,
      partitionKeys: { query: [], lambda: [] },
    }),
    errorOutput: openSearchErrorOutputOf,
    verify: (config: StoredOpenSearchDestination, { openSearchEndpoints }) => {
      const arn = config.DomainARN;
      if (arn !== undefined && !openSearchEndpoints.hasDomain(arn)) {
        throw new FirehoseError(
          'InvalidArgumentException',
          `DomainARN ${arn} is not mapped to an endpoint: Sluice reaches a domain at the URL the ${ENDPOINTS_SETTING} setting gives for it (an entry with "domainArn": ${JSON.stringify(arn)} and "url"). Add one and restart Sluice, or give ClusterEndpoint instead.`,
        );
      }
    },
    // Firehose counts the window from the first failed attempt; 0 means no retry.
    retryWindow: (config) => ({
      seconds: config.RetryOptions.DurationInSeconds,
      from: 'first-failure',
    }),

    plan: (config, context) => planOpenSearchDelivery(variant.planDestination, config, context),
    compression: () => 'UNCOMPRESSED',
    encode: encodeBulkBody,
    build: (plan, body) => buildBulkRequest(plan, body),
    send: sendBulkRequest,
    classify: classifyBulkResponse,
    errorDetails: failureDetailsOf,
  });
}

/** `AmazonopensearchserviceDestinationConfiguration`. */
export const openSearchServiceKind = openSearchKind({
  shape: 'AmazonOpenSearchService',
  createMember: 'AmazonopensearchserviceDestinationConfiguration',
  updateMember: 'AmazonopensearchserviceDestinationUpdate',
  description: 'AmazonopensearchserviceDestinationDescription',
  planDestination: 'opensearch',
});

/** `ElasticsearchDestinationConfiguration`: the same destination under its older name. */
export const elasticsearchKind = openSearchKind({
  shape: 'Elasticsearch',
  createMember: 'ElasticsearchDestinationConfiguration',
  updateMember: 'ElasticsearchDestinationUpdate',
  description: 'ElasticsearchDestinationDescription',
  planDestination: 'elasticsearch',
});
