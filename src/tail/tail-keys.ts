import { streamPrefix } from '../streams/keys.js';

/**
 * The live tail's Redis keys. A stream's keys carry its hash tag (see streams/keys.ts), so one
 * capture script may touch them together under Redis Cluster; the index of tailed streams is
 * one key of its own, read with one command.
 */

/**
 * Sorted set of the streams someone tails: member the stream name, score the time (epoch ms)
 * the mark ends. Readers add and renew their stream's mark and drop ended ones; every API
 * process reads the live members about once a second while puts arrive. It expires with the
 * last mark, so no key is left behind when nobody tails.
 */
export const TAILED_STREAMS_KEY = 'sluice:tails';

/** The keys of one stream's tail. */
export function tailKeys(stream: string) {
  const p = streamPrefix(stream);
  return {
    /**
     * Redis stream of captured records (the ring): at most `RING_RECORDS` entries, expiring
     * `RING_MAX_AGE_MS` after the last capture. Fields: `at` (arrival, epoch ms), `bytes`,
     * `encoding`, `preview`, `truncated` (`1`/`0`), `skipped` (records left out by sampling
     * just before this one). Ids are `<ring start>-<records offered so far>` (see
     * tail-scripts.ts).
     */
    ring: `${p}:tail`,
    /**
     * String counter of records captured in the epoch second `second`, across processes;
     * expires 2 s after it was last counted.
     */
    rate: (second: number) => `${p}:tail:rate:${second}`,
  };
}
