/**
 * Redis key names. Every key of one stream carries the hash tag `{<stream>}` so that, under
 * Redis Cluster, a stream's definition, buffer, batches and BullMQ queue live in one slot and
 * one Lua script may touch them all.
 */

/** Sorted set (all scores 0) of every stream name, for ListDeliveryStreams paging. */
export const STREAM_INDEX_KEY = 'sluice:streams';

/**
 * Sorted set of the streams whose buffers the seal ticker must look at, scored by when
 * (epoch ms): an open buffer's deadline, a sealed batch's enqueue check, or a lease while a
 * ticker visits it (see `buffer/seal-schedule.ts`). Idle streams are not in it, so a tick
 * costs one read whatever the number of streams.
 */
export const SEAL_SCHEDULE_KEY = 'sluice:{schedule}:seal';

/**
 * Sorted set of the streams whose delivery queue may hold jobs (score: when added, ms): the
 * streams delivery processes run a worker for (see `delivery/active-streams.ts`).
 */
export const ACTIVE_STREAMS_KEY = 'sluice:{schedule}:active';

/** Set of the streams being deleted, for the delivery side to drain and remove. */
export const DELETING_STREAMS_KEY = 'sluice:{schedule}:deleting';

/**
 * Sorted set of the streams whose metrics counters changed (score: the last flush that wrote
 * them, ms), so the console's sampler reads those and not every stream.
 */
export const COUNTED_STREAMS_KEY = 'sluice:{schedule}:counted';

/** `sluice:{<stream>}:`: the prefix of every per-stream key, also the BullMQ prefix. */
export function streamPrefix(stream: string): string {
  return `sluice:{${stream}}`;
}

/** The per-stream keys, named once. */
export function streamKeys(stream: string) {
  const p = streamPrefix(stream);
  return {
    /**
     * Hash: `definition` (JSON of the stored stream), `status`, `sizeBytes` and `intervalMs`
     * (the buffering hints the append script reads atomically), `version`.
     */
    stream: `${p}:stream`,
    /**
     * Hash of the open (unsealed) buffer: `id`, `firstArrivalMs`, `bytes` (payload), `records`,
     * `storedBytes` (what it holds in Redis, as the backlog cap counts it).
     */
    open: `${p}:open`,
    /**
     * Hash of counters: `backlogBytes` (payload), `backlogRecords`, `backlogStoredBytes` (what
     * the backlog holds in Redis, bounded by the backlog cap), `delivered*`, `dead*`.
     */
    stats: `${p}:stats`,
    /**
     * Hash of the stream's metrics counters (`telemetry/durable-families.ts`), added to by
     * every process once a second, so any process reports the deployment's totals. Removed
     * with the stream.
     */
    metrics: `${p}:metrics`,
    /**
     * List of the web console's samples of the stream's counters, oldest first (see
     * `console/stream-history.ts`). Removed with the stream; expires an hour after its last write.
     */
    consoleHistory: `${p}:console-history`,
    /** Sorted set of batch ids sealed but not yet confirmed enqueued (score: seal time, ms). */
    sealed: `${p}:sealed`,
    /** Sorted set of batch ids whose retention window ended undelivered (score: time, ms). */
    dead: `${p}:dead`,
    /**
     * Sorted set indexing the stream's error-output objects (score: when written, ms). Member:
     * JSON `{"bucket","key","type","batchId","seq","records"}` in that order, so rewriting an
     * object (a retry) updates its entry instead of adding one; see `error-output/error-index.ts`.
     */
    errors: `${p}:errors`,
    /**
     * Set of replay item ids (`error:<bucket>/<key>`, `dead:<batchId>`) of this stream already
     * replayed, so a selection replayed twice sends nothing twice; see `error-output/replay.ts`.
     */
    replayed: `${p}:replayed`,
    /** Prefix of batch keys; see {@link batchKeys}. */
    batchPrefix: `${p}:batch:`,
    /**
     * Sorted set of the stream's open partition buffers (second buffering stage, see
     * `buffer/partition-scripts.ts`); member: partition id, score: when the buffer is due (ms).
     */
    partitions: `${p}:partitions`,
    /** Prefix of open partition buffer hashes; the partition id follows. */
    partitionPrefix: `${p}:partition:`,
  };
}

/**
 * String key holding the reply of one APPEND call for a short while (its receipt), so that the
 * same call resent after a lost reply stores nothing twice. `token` is unique to the call.
 */
export function appendReceiptKey(stream: string, token: string): string {
  return `${streamPrefix(stream)}:appended:${token}`;
}

/** Keys of one batch: its metadata hash and its list of framed chunks. */
export function batchKeys(stream: string, batchId: string) {
  const base = `${streamPrefix(stream)}:batch:${batchId}`;
  return { meta: base, chunks: `${base}:chunks` };
}

/** BullMQ queue name; combined with the prefix {@link streamPrefix}. */
export const DELIVERY_QUEUE_NAME = 'deliver';
