/** The tests' import point; the helper itself lives in `devtools/`, shared with the bench. */
export {
  startRedisCluster,
  type ClusterNodeInfo,
  type Failover,
  type RedisCluster,
  type RedisClusterOptions,
} from '../../devtools/redis-cluster.js';
