/** The tests' import point; the helper itself lives in `devtools/`, shared with the bench. */
export {
  startRedisServer,
  type RedisServer,
  type RedisServerOptions,
  type RedisTlsFiles,
} from '../../devtools/redis-server.js';
