import { collect } from '../../formats/compression.js';
import {
  defineDestinationKind,
  type PipelineRecord,
  type StoredDestination,
} from '../destination-kind.js';
import { bufferingThresholds, enabledProcessors } from '../shapes.js';
import { classifyHttpResponse } from './classify.js';
import {
  HttpEndpointDestinationConfigurationSchema,
  HttpEndpointDestinationUpdateSchema,
  StoredHttpEndpointDestinationSchema,
  describeHttpEndpoint,
  mergeHttpEndpoint,
  normalizeHttpEndpoint,
  replaceWithHttpEndpoint,
  type HttpEndpointDestinationConfiguration,
  type HttpEndpointDestinationUpdate,
  type StoredHttpEndpointDestination,
} from './config.js';
import {
  httpErrorOutputOf,
  HttpDeliveryPlanSchema,
  planHttpDelivery,
  requestIdOf,
  type HttpDeliveryPlan,
} from './plan.js';
import { buildHttpRequest, encodeHttpBody, type HttpEndpointRequest } from './request.js';
import { sendHttpRequest, type HttpEndpointResponse } from './sender.js';

/** The stored shape of HTTP endpoint destinations. */
/** Most records Firehose sends in one request to an HTTP endpoint (firehose-spec.md §5). */
const MAX_RECORDS_PER_REQUEST = 10_000;

const SHAPE = 'HttpEndpoint';

/** The UpdateDestination member, also the `where` of merge messages. */
const UPDATE_MEMBER = 'HttpEndpointDestinationUpdate';

/**
 * `HttpEndpointDestinationConfiguration`: delivery to any HTTP endpoint by Firehose's HTTP
 * endpoint delivery protocol (one POST per batch, records base64 in a JSON body, the whole
 * batch acknowledged by a 200 that echoes the request id). Records the endpoint does not take
 * within `RetryOptions` go to the `S3Configuration` bucket as `http-endpoint-failed`; with
 * `S3BackupMode` AllData every record is written there too.
 *
 * Not switchable: like Firehose, an HTTP endpoint destination is never turned into another
 * type by UpdateDestination, nor another into one (`replaceWith` still checks a complete
 * configuration, should that rule ever change).
 */
export const httpEndpointKind = defineDestinationKind<
  StoredHttpEndpointDestination,
  HttpDeliveryPlan,
  HttpEndpointRequest,
  HttpEndpointResponse
>({
  shape: SHAPE,
  family: 'http',
  switchable: false,
  createMember: 'HttpEndpointDestinationConfiguration',
  createSchema: HttpEndpointDestinationConfigurationSchema,
  updateMember: UPDATE_MEMBER,
  updateSchema: HttpEndpointDestinationUpdateSchema,
  storedSchema: StoredHttpEndpointDestinationSchema,
  planSchema: HttpDeliveryPlanSchema,
  planDestination: 'http',
  failureOutputType: 'http-endpoint-failed',

  normalize: (config, where) =>
    normalizeHttpEndpoint(config as HttpEndpointDestinationConfiguration, where),
  merge: (current, update): StoredDestination => ({
    shape: SHAPE,
    config: mergeHttpEndpoint(
      StoredHttpEndpointDestinationSchema.parse(current.config),
      update as HttpEndpointDestinationUpdate,
      UPDATE_MEMBER,
    ),
  }),
  replaceWith: (update, where) =>
    replaceWithHttpEndpoint(update as HttpEndpointDestinationUpdate, where),
  describe: (config) => ({ HttpEndpointDestinationDescription: describeHttpEndpoint(config) }),
  buffering: (config) => bufferingThresholds(config.BufferingHints),
  processing: (config) => ({
    processors: enabledProcessors(config.ProcessingConfiguration),
    partitioning: false,
    partitionKeys: { query: [], lambda: [] },
  }),
  errorOutput: (config) => httpErrorOutputOf(config),
  // Firehose counts the window from the first failed attempt; 0 means no retry.
  retryWindow: (config) => ({
    seconds: config.RetryOptions.DurationInSeconds,
    from: 'first-failure',
  }),

  plan: planHttpDelivery,
  maxRecordsPerRequest: MAX_RECORDS_PER_REQUEST,
  planPart: (plan, part) => ({ ...plan, requestId: requestIdOf(plan.requestId, `part ${part}`) }),
  compression: (plan) => (plan.contentEncoding === 'GZIP' ? 'GZIP' : 'UNCOMPRESSED'),
  // The body is one JSON document with a length header: records and body are collected.
  encode: async function* (plan, records, { attemptAtMs }) {
    const all: PipelineRecord[] = [];
    for await (const group of records) all.push(...group.records());
    yield encodeHttpBody(plan, all, attemptAtMs);
  },
  build: async (plan, body, current) => buildHttpRequest(plan, await collect(body), current),
  send: sendHttpRequest,
  classify: classifyHttpResponse,
});
