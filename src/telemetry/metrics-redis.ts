import type { ChainableCommander } from 'ioredis';

/**
 * What the deployment's metrics need of Redis: PING, and pipelines whose commands may name
 * keys of many streams — on a Redis Cluster, of many nodes, which a plain cluster pipeline
 * refuses. The service passes `redis/cross-slot-pipeline.ts`'s; a single-node ioredis client
 * fits as it is.
 */
export interface MetricsRedis {
  ping(): Promise<unknown>;
  pipeline(): ChainableCommander;
}
