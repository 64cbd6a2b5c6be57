import { defineDestinationKind, type StoredDestination } from '../destination-kind.js';
import { bufferingThresholds, enabledProcessors } from '../shapes.js';
import { classifyRedshiftResult } from './classify.js';
import {
  RedshiftDestinationConfigurationSchema,
  RedshiftDestinationUpdateSchema,
  StoredRedshiftDestinationSchema,
  describeRedshift,
  mergeRedshift,
  normalizeRedshift,
  replaceWithRedshift,
  type RedshiftDestinationConfiguration,
  type RedshiftDestinationUpdate,
  type StoredRedshiftDestination,
} from './config.js';
import {
  RedshiftDeliveryPlanSchema,
  planRedshiftDelivery,
  redshiftErrorOutputOf,
  type RedshiftDeliveryPlan,
} from './plan.js';
import { buildRedshiftRequest, encodeRecordFrames, type RedshiftRequest } from './request.js';
import { sendRedshiftRequest, type RedshiftResponse } from './sender.js';

const SHAPE = 'Redshift';

/** The UpdateDestination member, also the `where` of merge messages. */
const UPDATE_MEMBER = 'RedshiftDestinationUpdate';

/**
 * `RedshiftDestinationConfiguration`: with `jdbc:postgresql://` a batch is loaded straight into
 * PostgreSQL with `COPY … FROM STDIN`, in one transaction with a row in the delivery ledger, so
 * no batch is ever loaded twice. Rows PostgreSQL rejects go to the `S3Configuration` bucket as
 * `redshift-failed`, the rest is loaded; failures of the whole load are retried within
 * `RetryOptions` and then go there too. Buffering is the `S3Configuration`'s, as in Firehose.
 */
export const redshiftKind = defineDestinationKind<
  StoredRedshiftDestination,
  RedshiftDeliveryPlan,
  RedshiftRequest,
  RedshiftResponse
>({
  shape: SHAPE,
  family: 'redshift',
  switchable: true,
  createMember: 'RedshiftDestinationConfiguration',
  createSchema: RedshiftDestinationConfigurationSchema,
  updateMember: UPDATE_MEMBER,
  updateSchema: RedshiftDestinationUpdateSchema,
  storedSchema: StoredRedshiftDestinationSchema,
  planSchema: RedshiftDeliveryPlanSchema,
  planDestination: 'redshift',
  failureOutputType: 'redshift-failed',

  normalize: (config, where) =>
    normalizeRedshift(config as RedshiftDestinationConfiguration, where),
  merge: (current, update): StoredDestination => ({
    shape: SHAPE,
    config: mergeRedshift(
      StoredRedshiftDestinationSchema.parse(current.config),
      update as RedshiftDestinationUpdate,
      UPDATE_MEMBER,
    ),
  }),
  replaceWith: (update, where) => replaceWithRedshift(update as RedshiftDestinationUpdate, where),
  describe: (config) => ({ RedshiftDestinationDescription: describeRedshift(config) }),
  buffering: (config) => bufferingThresholds(config.S3Configuration.BufferingHints),
  processing: (config) => ({
    processors: enabledProcessors(config.ProcessingConfiguration),
    partitioning: false,
    partitionKeys: { query: [], lambda: [] },
  }),
  errorOutput: (config) => redshiftErrorOutputOf(config),
  // Firehose counts the window from the first failed attempt; 0 means no retry.
  retryWindow: (config) => ({
    seconds: config.RetryOptions.DurationInSeconds,
    from: 'first-failure',
  }),

  plan: planRedshiftDelivery,
  // The direct path loads the records themselves; nothing is compressed on the way.
  compression: () => 'UNCOMPRESSED',
  encode: (_plan, records) => encodeRecordFrames(records),
  build: buildRedshiftRequest,
  send: sendRedshiftRequest,
  classify: classifyRedshiftResult,
});
