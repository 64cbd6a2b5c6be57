import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { Settings } from '../config/env.js';
import type { StreamRegistry } from '../streams/registry.js';
import type { RecordBuffer } from '../buffer/record-buffer.js';

/** What every Firehose operation handler may use. Built once by the service. */
export interface ApiContext {
  settings: Settings;
  /** Shared command connection. */
  redis: Redis;
  registry: StreamRegistry;
  buffer: RecordBuffer;
  log: FastifyBaseLogger;
}

/**
 * One Firehose operation: takes the parsed JSON body (an object; its members are not yet
 * validated) and returns the response object, or throws a `FirehoseError`.
 */
export type OperationHandler = (
  input: Record<string, unknown>,
  ctx: ApiContext,
) => Promise<Record<string, unknown>>;
