import { Cluster, type Redis } from 'ioredis';

/**
 * A connection to Sluice's Redis: one node (`SLUICE_REDIS_MODE=single`) or a Redis Cluster
 * (`cluster`). Both speak the same commands; what differs is that a cluster client sends each
 * command to the node that serves its key's slot, so a call (script, pipeline, multi-key
 * command) must keep all its keys in one slot, and two calls on one client are ordered only
 * when they go to the same node.
 */
export type RedisClient = Redis | Cluster;

/** Whether `redis` is a Redis Cluster client (calls to different slots may reach different nodes). */
export function isCluster(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}
