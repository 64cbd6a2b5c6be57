import type { VerifyContext } from '../destinations/destination-kind.js';
import { verifyContextFromSettings } from '../streams/stream-definition.js';
import type { FastifyBaseLogger } from 'fastify';
import type { RedisClient } from '../redis/client.js';
import type { Settings } from '../config/env.js';
import type { StreamRegistry } from '../streams/registry.js';
import type { RecordBuffer } from '../buffer/record-buffer.js';
import type { SigV4Verifier } from './auth/sigv4-verifier.js';
import type { AdminServices } from './admin/admin-services.js';
import type { Telemetry } from '../telemetry/events.js';
import type { MetricsSource } from '../telemetry/metrics.js';
import type { Readiness } from '../telemetry/readiness.js';
import type { LiveTail } from '../tail/live-tail.js';
import type { ConsoleServices } from '../console/console-services.js';

/** What every Firehose operation handler may use. Built once by the service. */
export interface ApiContext {
  settings: Settings;
  /** Shared command connection. */
  redis: RedisClient;
  registry: StreamRegistry;
  buffer: RecordBuffer;
  log: FastifyBaseLogger;
  /**
   * Checks every API request's SigV4 signature when access keys are configured; absent, the
   * API answers unauthenticated requests (`SLUICE_ACCESS_KEYS` unset).
   */
  auth?: SigV4Verifier | undefined;
  /** Where records received and throttled are reported; absent, nowhere. */
  telemetry?: Telemetry | undefined;
  /** What `GET /metrics` serves; absent, the route is not registered (`SLUICE_METRICS=false`). */
  metrics?: MetricsSource | undefined;
  /**
   * What CreateDeliveryStream and UpdateDestination check destinations against (the table
   * catalog, the OpenSearch endpoints); absent, read from the settings per request.
   */
  outside?: VerifyContext | undefined;
  /** The admin API's services (dead batches, replay); absent, `/admin/…` is not served. */
  admin?: AdminServices | undefined;
  /**
   * The process's readiness checks beyond Redis (delivery workers) and its draining state,
   * which `GET /ready` reports; absent, the app keeps its own (Redis only).
   */
  readiness?: Readiness | undefined;
  /**
   * The live tail: puts offer it their stored records, `GET /admin/v1/tail` reads it; absent,
   * nothing is captured and the tail route is not served.
   */
  tail?: LiveTail | undefined;
  /**
   * The web console's services (chart history, the store error output is read from, the
   * access keys its sign-in checks); absent, `/console` answers 404 (`SLUICE_CONSOLE=off`).
   */
  console?: ConsoleServices | undefined;
}

/**
 * One Firehose operation: takes the parsed JSON body (an object; its members are not yet
 * validated) and returns the response object, or throws a `FirehoseError`.
 */
export type OperationHandler = (
  input: Record<string, unknown>,
  ctx: ApiContext,
) => Promise<Record<string, unknown>>;

/** What destinations are checked against: the service's, or one read from the settings. */
export function verifyContextOf(ctx: ApiContext): VerifyContext {
  return ctx.outside ?? verifyContextFromSettings(ctx.settings);
}
