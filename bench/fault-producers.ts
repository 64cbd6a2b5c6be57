import { setTimeout as sleep } from 'node:timers/promises';

import type { HttpReply } from './firehose-http.js';
import { Outcome, type Ledger } from './fault-ledger.js';
import { buildBody, MAX_ID, type RecordShape } from './fault-records.js';
import type { ApiTarget } from './fault-topology.js';
import { errorReason, requestResponses } from './put-outcome.js';

/**
 * The fault oracle's producers: concurrent loops that send PutRecordBatch requests of fresh ids
 * round-robin to the api processes that run, and file every record's outcome in the ledger.
 * A record that is not acknowledged is never sent again under the same id (it may have been
 * stored after all); fresh ids replace it until the target of acknowledged records is reached.
 */

/** What the producers need. */
export interface ProducerOptions {
  /** The api processes to send to right now (changes as faults kill and restart them). */
  targets: () => ApiTarget[];
  ledger: Ledger;
  shape: RecordShape;
  stream: string;
  /** Acknowledged records to reach. */
  target: number;
  producers: number;
  batchSize: number;
  requestTimeoutMs: number;
  /** Epoch ms after which no new request starts. */
  deadlineMs: number;
  /** Checked before every request; true ends the pushing (Ctrl-C, a fatal fault). */
  shouldStop: () => boolean;
}

/** Live figures, readable while the producers run. */
export interface ProducerProgress {
  requests: number;
  payloadBytes: number;
  inFlightRecords: number;
}

/** Pause after an unacknowledged request: doubles from the first value up to the second. */
const BACKOFF_MS = [50, 2_000] as const;
/** Pause while no api process runs or the target is covered by requests in flight. */
const IDLE_MS = 50;

/**
 * Runs the producers until `target` records are acknowledged, the deadline passes or
 * `shouldStop` says so; requests in flight then still complete (each bounded by its timeout).
 */
export async function runProducers(
  options: ProducerOptions,
  progress: ProducerProgress,
): Promise<void> {
  const { ledger } = options;
  let turn = 0;
  const producer = async (): Promise<void> => {
    const scratch = Buffer.alloc(options.shape.maxBytes);
    let backoffMs = 0;
    while (!options.shouldStop() && Date.now() < options.deadlineMs) {
      const wanted = options.target - ledger.totals.acked - progress.inFlightRecords;
      if (wanted <= 0) {
        if (progress.inFlightRecords === 0) return;
        await sleep(IDLE_MS);
        continue;
      }
      const targets = options.targets();
      const api = targets[turn % Math.max(1, targets.length)];
      turn += 1;
      if (api === undefined) {
        await sleep(IDLE_MS);
        continue;
      }
      const count = Math.min(options.batchSize, wanted);
      if (ledger.issued + count > MAX_ID) throw new Error('ran out of record ids');
      const { request, firstId } = ledger.issue(count, api.label, Date.now());
      const body = buildBody(options.shape, options.stream, firstId, count, scratch);
      progress.inFlightRecords += count;
      progress.requests += 1;
      let acked: number;
      try {
        const reply = await api.client.putRecordBatch(body, options.requestTimeoutMs);
        acked = settleReply(ledger, request, count, reply);
      } catch (error) {
        acked = 0;
        const code = (error as NodeJS.ErrnoException).code;
        // A refused connection reached no server: certainly not stored. Anything else after
        // the request may have been read (reset, hang-up, timeout) leaves it open.
        if (code === 'ECONNREFUSED') {
          ledger.settle(request, Outcome.failed, Date.now(), 'connection refused');
        } else {
          ledger.settle(request, Outcome.ambiguous, Date.now(), `no reply: ${errorText(error)}`);
        }
      } finally {
        progress.inFlightRecords -= count;
      }
      if (acked > 0) progress.payloadBytes += body.payloadBytes * (acked / count);
      if (acked === count) {
        backoffMs = 0;
      } else {
        backoffMs = Math.min(BACKOFF_MS[1], Math.max(BACKOFF_MS[0], backoffMs * 2));
        await sleep(backoffMs * (0.5 + Math.random()));
      }
    }
  };
  await Promise.all(Array.from({ length: options.producers }, producer));
}

/**
 * Files the outcome of a request that got a complete reply: each record with a `RecordId` is
 * acknowledged, each with an `ErrorCode` failed; an error reply fails all. A 200 reply that
 * cannot be read leaves every record ambiguous.
 *
 * @returns the number of acknowledged records.
 */
function settleReply(ledger: Ledger, request: number, count: number, reply: HttpReply): number {
  const now = Date.now();
  if (reply.status !== 200) {
    ledger.settle(request, Outcome.failed, now, errorReason(reply));
    return 0;
  }
  const responses = requestResponses(reply, count);
  if (typeof responses === 'string') {
    ledger.settle(request, Outcome.ambiguous, now, `HTTP 200, ${responses}`);
    return 0;
  }
  const outcomes = new Uint8Array(count);
  let acked = 0;
  let reason: string | undefined;
  responses.forEach((entry: unknown, i) => {
    const { RecordId, ErrorCode, ErrorMessage } = (entry ?? {}) as Record<string, unknown>;
    if (typeof ErrorCode === 'string' && ErrorCode !== '') {
      outcomes[i] = Outcome.failed;
      reason ??= `${ErrorCode}: ${typeof ErrorMessage === 'string' ? ErrorMessage : ''}`;
    } else if (typeof RecordId === 'string' && RecordId !== '') {
      outcomes[i] = Outcome.acked;
      acked += 1;
    } else {
      outcomes[i] = Outcome.ambiguous;
      reason ??= 'response entry with neither RecordId nor ErrorCode';
    }
  });
  ledger.settle(request, outcomes, now, reason);
  return acked;
}

function errorText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code) return code;
  return (error instanceof Error ? error.message : String(error)).replace(/\d+ ms/, 'N ms');
}
