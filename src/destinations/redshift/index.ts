import { defineDestinationKind, type StoredDestination } from '../destination-kind.js';
import { bufferingThresholds, enabledProcessors } from '../shapes.js';
import { classifyRedshiftResult, classifyStagedResult } from './classify.js';
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
import { manifestOf } from './manifest.js';
import {
  RedshiftPlanSchema,
  isStagedPlan,
  planRedshiftDelivery,
  redshiftErrorOutputOf,
  type RedshiftPlan,
} from './plan.js';
import { encodeRecordRuns } from './record-runs.js';
import { buildRedshiftRequest, type RedshiftRequest } from './request.js';
import { sendRedshiftRequest, type RedshiftResponse } from './sender.js';
import {
  buildStagedRedshiftRequest,
  isStagedRequest,
  type StagedRedshiftRequest,
} from './staged-request.js';
import { sendStagedRedshiftRequest } from './staged-sender.js';

const SHAPE = 'Redshift';

/** The UpdateDestination member, also the `where` of merge messages. */
const UPDATE_MEMBER = 'RedshiftDestinationUpdate';

/**
 * `RedshiftDestinationConfiguration`: with `jdbc:postgresql://` a batch is loaded straight into
 * PostgreSQL with `COPY … FROM STDIN`, in one transaction with a row in the delivery ledger, so
 * no batch is ever loaded twice. Rows PostgreSQL rejects go to the `S3Configuration` bucket as
 * `redshift-failed`, the rest is loaded; failures of the whole load are retried within
 * `RetryOptions` and then go there too. With `jdbc:redshift://` (Firehose's path) the batch is
 * staged as an object and a manifest in the `S3Configuration` bucket and loaded by Redshift's
 * `COPY … MANIFEST`, in one transaction with the same ledger row; a batch given up leaves its
 * manifest under `errors/`. Buffering is the `S3Configuration`'s, as in Firehose.
 */
export const redshiftKind = defineDestinationKind<
  StoredRedshiftDestination,
  RedshiftPlan,
  RedshiftRequest | StagedRedshiftRequest,
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
  planSchema: RedshiftPlanSchema,
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
  // Both paths take the records in runs; the staged sender compresses the object it writes.
  compression: () => 'UNCOMPRESSED',
  encode: (_plan, records) => encodeRecordRuns(records),
  build: (plan, body, current, context) =>
    isStagedPlan(plan)
      ? buildStagedRedshiftRequest(plan, body, current)
      : buildRedshiftRequest(plan, body, current, context),
  send: (request, services) =>
    isStagedRequest(request)
      ? sendStagedRedshiftRequest(request, services)
      : sendRedshiftRequest(request, services),
  classify: (request, result) =>
    isStagedRequest(request)
      ? classifyStagedResult(request, result)
      : classifyRedshiftResult(request, result),
  // Firehose's manifest of the skipped batch under errors/, for a manual backfill.
  giveUpObjects: (plan) =>
    isStagedPlan(plan)
      ? [
          {
            bucket: plan.bucket,
            key: plan.skippedManifestKey,
            body: manifestOf([{ bucket: plan.bucket, key: plan.objectKey }]),
          },
        ]
      : [],
});
