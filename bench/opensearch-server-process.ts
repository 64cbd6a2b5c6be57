import { fileURLToPath } from 'node:url';

import { z } from 'zod';

import type { Child } from '../devtools/children.js';
import { startOpenSearchServer } from '../devtools/opensearch/server.js';
import type { ItemOutcome } from '../devtools/opensearch/types.js';
import { nowMs } from './clock.js';
import { SeqBytes } from './http-receiver.js';
import { launchIpcChild, runWhenScript, serveParent } from './ipc-child-process.js';

/**
 * The opensearch phase's cluster: the OpenSearch test server (`devtools/opensearch/`) in a child
 * process with its own event loop, so neither Sluice nor the bare `_bulk` reference shares a
 * core with it, and its CPU is not counted as theirs.
 *
 * It keeps no sources and no bulk log (bounded memory over a long run) and counts, per index,
 * every item's outcome; for the index Sluice writes it also tallies each bench record by its
 * sequence number (`{"seq":"…",…}`, see `http-receiver.ts`): how often it was indexed, and
 * whether it was failed on purpose. One record in `failEvery` — those whose sequence number is
 * a multiple of it — is answered 400 `mapper_parsing_exception` on every attempt, as a cluster
 * answers a document its mapping refuses, so it must end in the error output.
 */

/** Sequence numbers at or above this are not tallied (a bound on the tallies' memory). */
const MAX_TALLIED_SEQ = 1 << 28;

/** The child's settings, passed as its argument (JSON). */
export const BenchClusterOptionsSchema = z.object({
  /** One record in this many (sequence number a multiple of it) fails with a 400; 0: none. */
  failEvery: z.number().int().min(0),
  /** The index whose records are tallied by sequence number. */
  tallyIndex: z.string().min(1),
});

/** See {@link BenchClusterOptionsSchema}. */
export type BenchClusterOptions = z.infer<typeof BenchClusterOptionsSchema>;

/** Item counts of one index. */
export interface IndexCounters {
  items: number;
  /** Items answered 201 `created`. */
  created: number;
  /** Items answered 200 `updated` (a resent document overwriting itself). */
  updated: number;
  /** Payload bytes (the document line as parsed back to JSON) of created and updated items. */
  indexedBytes: number;
  /** Items failed on purpose (400), retries of the same record included. */
  failedOnPurpose: number;
  /** Items that failed otherwise, by status. */
  failedOther: Record<string, number>;
  /** When the first item arrived (epoch ms, {@link nowMs}). */
  firstItemMs: number | undefined;
  /** When the last item was indexed. */
  lastIndexedMs: number | undefined;
}

/** What the cluster counted: per index, and the bulk requests of every index together. */
export interface ClusterCounters {
  indices: Record<string, IndexCounters>;
  /** Bulk requests since start or the last reset, whatever they wrote to. */
  bulkRequests: number;
}

/** Per-record tallies of the tallied index, by sequence number. */
export interface ClusterTallies {
  counters: IndexCounters;
  /** How often each record was indexed (created or updated; saturates at 255). */
  indexed: Uint8Array;
  /** 1 for each record failed on purpose. */
  failed: Uint8Array;
}

function emptyCounters(): IndexCounters {
  return {
    items: 0,
    created: 0,
    updated: 0,
    indexedBytes: 0,
    failedOnPurpose: 0,
    failedOther: {},
    firstItemMs: undefined,
    lastIndexedMs: undefined,
  };
}

/** The sequence number of a parsed bench document (`seq` is a 15-digit string). */
function seqOfDocument(document: unknown): number | undefined {
  if (document === null || typeof document !== 'object') return undefined;
  const seq = (document as { seq?: unknown }).seq;
  if (typeof seq !== 'string' || !/^\d{15}$/.test(seq)) return undefined;
  return Number(seq);
}

/** What the child counts; separate from the IPC so it reads on its own. */
class ClusterCounts {
  readonly byIndex = new Map<string, IndexCounters>();
  indexed = new SeqBytes();
  failed = new SeqBytes();
  maxSeq = -1;

  constructor(private readonly options: BenchClusterOptions) {}

  /** Whether the document is one of those failed on purpose. */
  failsOnPurpose(document: unknown): boolean {
    const seq = seqOfDocument(document);
    return seq !== undefined && this.options.failEvery > 0 && seq % this.options.failEvery === 0;
  }

  record(item: ItemOutcome): void {
    let counters = this.byIndex.get(item.index);
    if (counters === undefined) {
      counters = emptyCounters();
      this.byIndex.set(item.index, counters);
    }
    const at = nowMs();
    counters.items += 1;
    counters.firstItemMs ??= at;
    const ok = item.status === 200 || item.status === 201;
    if (item.status === 201) counters.created += 1;
    else if (item.status === 200) counters.updated += 1;
    else if (item.injected) counters.failedOnPurpose += 1;
    else {
      const key = String(item.status);
      counters.failedOther[key] = (counters.failedOther[key] ?? 0) + 1;
    }
    if (ok) {
      counters.lastIndexedMs = at;
      counters.indexedBytes += approximateBytes(item.document);
    }
    if (item.index !== this.options.tallyIndex) return;
    const seq = seqOfDocument(item.document);
    if (seq === undefined || seq >= MAX_TALLIED_SEQ) return;
    if (seq > this.maxSeq) this.maxSeq = seq;
    if (ok) this.indexed.set(seq, Math.min(255, this.indexed.at(seq) + 1));
    else if (item.injected) this.failed.set(seq, 1);
  }

  tallies(): ClusterTallies {
    const length = this.maxSeq + 1;
    return {
      counters: { ...(this.byIndex.get(this.options.tallyIndex) ?? emptyCounters()) },
      indexed: this.indexed.bytes.slice(0, length),
      failed: this.failed.bytes.slice(0, length),
    };
  }

  reset(): void {
    this.byIndex.clear();
    this.indexed = new SeqBytes();
    this.failed = new SeqBytes();
    this.maxSeq = -1;
  }
}

/**
 * The document's size as JSON, without serialising it again: the bench documents are flat
 * objects of strings and numbers, so this sums their members.
 */
function approximateBytes(document: unknown): number {
  if (document === null || typeof document !== 'object') return 0;
  let bytes = 2;
  for (const [key, value] of Object.entries(document)) {
    bytes += key.length + 4;
    bytes += typeof value === 'string' ? value.length + 2 : String(value).length;
  }
  return bytes;
}

/** What the parent asks the cluster process. */
type Ask = 'counters' | 'tallies' | 'reset';
/** The child's answer to a question. */
type Reply =
  | { id: number; counters: ClusterCounters }
  | { id: number; tallies: ClusterTallies }
  | { id: number; reset: true };

/** The cluster process, from {@link launchBenchCluster}. */
export interface BenchClusterProcess {
  /** `http://127.0.0.1:<port>` (no trailing slash): the `ClusterEndpoint`. */
  readonly url: string;
  readonly child: Child;
  /** Item counts per index, and the bulk requests. */
  counters(): Promise<ClusterCounters>;
  /** The tallied index's counts and per-record tallies. */
  tallies(): Promise<ClusterTallies>;
  /** Deletes every index and forgets every count. */
  reset(): Promise<void>;
  /** Stops the process (bounded). */
  stop(): Promise<void>;
}

/**
 * Starts the cluster in a child process (this module as its script) on a free loopback port.
 *
 * @throws when the child does not report its port within 15 seconds.
 */
export async function launchBenchCluster(
  options: BenchClusterOptions,
): Promise<BenchClusterProcess> {
  const ipc = await launchIpcChild<Ask, Reply>(
    'opensearch server',
    fileURLToPath(import.meta.url),
    options,
  );
  return {
    url: `http://127.0.0.1:${ipc.port}`,
    child: ipc.child,
    counters: () => ipc.ask('counters', (r) => ('counters' in r ? r.counters : undefined)),
    tallies: () => ipc.ask('tallies', (r) => ('tallies' in r ? r.tallies : undefined)),
    async reset() {
      await ipc.ask('reset', (r) => ('reset' in r ? true : undefined));
    },
    stop: () => ipc.stop(),
  };
}

/** The child process: serve, report the port, answer the parent's questions. */
async function runChild(optionsJson: string | undefined): Promise<void> {
  const options = BenchClusterOptionsSchema.parse(JSON.parse(optionsJson ?? '{}'));
  const counts = new ClusterCounts(options);
  const server = await startOpenSearchServer({
    keepSources: false,
    bulkLogLimit: 0,
    onItem: (item) => counts.record(item),
  });
  // A 400 as the cluster answers a document its mapping refuses (mapper_parsing_exception).
  const failOnPurpose = () =>
    server.faults.failItemsWhere((item) => counts.failsOnPurpose(item.document), 400);
  failOnPurpose();
  serveParent<Ask, Reply>(
    Number(new URL(server.url).port),
    (question) => {
      if (question.ask === 'tallies') return { id: question.id, tallies: counts.tallies() };
      if (question.ask === 'reset') {
        server.reset();
        failOnPurpose();
        counts.reset();
        return { id: question.id, reset: true };
      }
      return {
        id: question.id,
        counters: {
          indices: Object.fromEntries(counts.byIndex),
          bulkRequests: server.stats().bulkRequests,
        },
      };
    },
    () => server.close(),
  );
}

runWhenScript(import.meta.url, runChild);
