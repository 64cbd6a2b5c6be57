/**
 * `auto-aof-rewrite-min-size` for every Redis Sluice starts or recommends (the embedded one,
 * docker-compose's, the tests' and the bench's): Redis rewrites its append-only file only once
 * the file has reached this size (and doubled since the last rewrite, Redis's default
 * `auto-aof-rewrite-percentage` 100).
 *
 * Why not Redis's default of 64 MB: Sluice's data set is small (the open and undelivered
 * batches) while everything acknowledged passes through the file, so the file doubles every few
 * seconds under load and Redis rewrites it as often. Each rewrite forks Redis, which stops its
 * one thread for the fork (5–14 ms measured with a few hundred MB in Redis) while every put
 * waits, and runs a child that writes the whole data set again. Measured at 17 MiB/s of
 * PutRecordBatch with `appendfsync everysec` on the 2-core development machine: a rewrite every
 * 3–4 s, a tenth of a core in the children, and the puts' server-side p99 31–44 ms; with rewrites
 * held off, 20–25 ms (docs/operations.md, "Rewrites of the append-only file"). At 1 GB the
 * file is rewritten about once a minute at that rate; the price is up to that much more disk, and
 * a longer replay of the file when Redis restarts.
 */
export const AOF_REWRITE_MIN_SIZE = '1gb';

/** {@link AOF_REWRITE_MIN_SIZE} in bytes, as `CONFIG GET auto-aof-rewrite-min-size` answers it. */
export const AOF_REWRITE_MIN_BYTES = 1024 ** 3;

/**
 * The `redis-server` flags of an append-only file synced as `appendfsync` says and rewritten
 * from {@link AOF_REWRITE_MIN_SIZE} on: what Sluice's own Redis runs with (`everysec`), and the
 * tests' and bench's when they keep the file.
 */
export function appendOnlyFileFlags(appendfsync: 'always' | 'everysec'): string[] {
  return [
    '--appendonly',
    'yes',
    '--appendfsync',
    appendfsync,
    '--auto-aof-rewrite-min-size',
    AOF_REWRITE_MIN_SIZE,
  ];
}
