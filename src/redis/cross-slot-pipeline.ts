import type { ChainableCommander } from 'ioredis';
import { isCluster, type RedisClient } from './client.js';

/**
 * A pipeline whose commands may name keys of many streams, hence many hash slots: reads and
 * writes that visit many streams at once (metrics, reconciling passes, the console).
 *
 * On one Redis it is an ordinary pipeline. A Redis Cluster client refuses a pipeline whose keys
 * are served by different nodes, so there each command is sent on its own, at once, and the
 * cluster client (with auto-pipelining on, see connect.ts) batches those bound for one node.
 * Either way `exec()` answers `[error, reply]` per command, in order; unlike a pipeline on one
 * Redis, the commands of a cluster "pipeline" to different nodes are not ordered among
 * themselves, which none of its users needs.
 */
export function crossSlotPipeline(redis: RedisClient): ChainableCommander {
  if (!isCluster(redis)) return redis.pipeline();
  const commands: [name: string, args: unknown[]][] = [];
  const exec = async (): Promise<[Error | null, unknown][]> =>
    Promise.all(
      commands.map(async ([name, args]) => {
        const method = (redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[
          name
        ];
        if (typeof method !== 'function') {
          return [new Error(`no such Redis command: ${name}`), null] as [Error, null];
        }
        try {
          return [null, await method.apply(redis, args)] as [null, unknown];
        } catch (error) {
          return [error instanceof Error ? error : new Error(String(error)), null] as [Error, null];
        }
      }),
    );
  const recorder: ChainableCommander = new Proxy({} as ChainableCommander, {
    get(_target, property) {
      if (property === 'exec') return exec;
      if (property === 'length') return commands.length;
      if (typeof property !== 'string' || property === 'then') return undefined;
      return (...args: unknown[]) => {
        commands.push([property, args]);
        return recorder;
      };
    },
  });
  return recorder;
}
