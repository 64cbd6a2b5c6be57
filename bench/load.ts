import { setTimeout as sleep } from 'node:timers/promises';

import { nowMs } from './clock.js';
import type { FirehoseHttp } from './firehose-http.js';
import { failedAll, putOutcome, type PutOutcome } from './put-outcome.js';
import type { PreparedBody } from './records.js';

/**
 * The load generator: PutRecordBatch requests of prepared bodies over keep-alive connections,
 * either closed-loop (a fixed number always in flight, as fast as the server answers) or paced
 * (open-loop at a target payload rate, like producers that do not wait for each other).
 */

/** One acknowledged request, for freshness: when it was sent and what it stored. */
export interface RequestEvent {
  /**
   * When the producer meant to send it: the paced schedule's due time, or the send time in a
   * closed loop. Paced requests that waited for a free connection are counted from their due
   * time, so a stalled server cannot hide its stall by delaying the requests that measure it.
   */
  dueMs: number;
  sentMs: number;
  ackedMs: number;
  acceptedRecords: number;
}

/** Live totals, readable while a load runs (for progress lines). */
export interface LoadProgress {
  requests: number;
  acceptedBytes: number;
  failedRecords: number;
}

/** Everything one load run measured. */
export interface LoadResult {
  /** When the first request was sent. */
  startMs: number;
  /** When the last reply arrived. */
  endMs: number;
  requests: number;
  acceptedRecords: number;
  /** Payload bytes (before base64) of the accepted records. */
  acceptedBytes: number;
  failedRecords: number;
  /** Failed records by reason. */
  errors: Map<string, number>;
  /** Request latencies (send to complete reply), ms, of every request that got a reply. */
  latenciesMs: number[];
  /** Acknowledged requests in completion order. */
  events: RequestEvent[];
  /** Paced only: requests that started more than {@link LATE_MS} after their due time. */
  lateStarts: number;
}

/** A paced request starting later than this behind schedule counts as late. */
export const LATE_MS = 100;

/** What every load run needs. */
export interface LoadOptions {
  client: FirehoseHttp;
  bodies: readonly PreparedBody[];
  durationMs: number;
  /** Per-request bound; a request without a reply by then fails. */
  timeoutMs: number;
  signal: AbortSignal;
  progress?: LoadProgress;
}

/** Collects outcomes into a {@link LoadResult}. */
class Recorder {
  readonly result: LoadResult;

  constructor(
    startMs: number,
    private readonly progress: LoadProgress | undefined,
  ) {
    this.result = {
      startMs,
      endMs: startMs,
      requests: 0,
      acceptedRecords: 0,
      acceptedBytes: 0,
      failedRecords: 0,
      errors: new Map(),
      latenciesMs: [],
      events: [],
      lateStarts: 0,
    };
  }

  /**
   * Sends one body and records what happened; never rejects.
   *
   * @param dueMs - when it should have been sent (paced); the send time when omitted.
   */
  async send(options: LoadOptions, body: PreparedBody, dueMs?: number): Promise<void> {
    const sentMs = nowMs();
    let outcome: PutOutcome;
    let replied = false;
    try {
      const reply = await options.client.putRecordBatch(body, options.timeoutMs);
      replied = true;
      outcome = putOutcome(reply, body);
    } catch (error) {
      outcome = failedAll(
        body.recordBytes.length,
        `no reply: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const ackedMs = nowMs();
    const r = this.result;
    r.requests += 1;
    r.endMs = Math.max(r.endMs, ackedMs);
    r.acceptedRecords += outcome.acceptedRecords;
    r.acceptedBytes += outcome.acceptedBytes;
    r.failedRecords += outcome.failedRecords;
    for (const [reason, n] of outcome.errors) r.errors.set(reason, (r.errors.get(reason) ?? 0) + n);
    if (replied) r.latenciesMs.push(ackedMs - sentMs);
    if (outcome.acceptedRecords > 0) {
      r.events.push({
        dueMs: dueMs ?? sentMs,
        sentMs,
        ackedMs,
        acceptedRecords: outcome.acceptedRecords,
      });
    }
    if (this.progress) {
      this.progress.requests += 1;
      this.progress.acceptedBytes += outcome.acceptedBytes;
      this.progress.failedRecords += outcome.failedRecords;
    }
  }
}

/**
 * Closed loop: `concurrency` senders, each sending its next request as soon as the previous one
 * is answered, until `durationMs` has passed or, when given, `maxRequests` have been sent
 * (requests in flight then still complete).
 */
export async function runClosedLoop(
  options: LoadOptions & { concurrency: number; maxRequests?: number },
): Promise<LoadResult> {
  const startMs = nowMs();
  const endAt = startMs + options.durationMs;
  const maxRequests = options.maxRequests ?? Number.POSITIVE_INFINITY;
  const recorder = new Recorder(startMs, options.progress);
  let next = 0;
  const sender = async (): Promise<void> => {
    while (nowMs() < endAt && next < maxRequests && !options.signal.aborted) {
      const body = options.bodies[next % options.bodies.length];
      next += 1;
      if (body === undefined) throw new Error('no prepared bodies');
      await recorder.send(options, body);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, sender));
  return recorder.result;
}

/**
 * Paced: request `i` is due when the payload sent before it, at `bytesPerSecond`, would have
 * taken that long; it starts then unless `maxInFlight` requests are still unanswered, in which
 * case it waits (and counts as late when it starts over {@link LATE_MS} behind schedule).
 */
export async function runPaced(
  options: LoadOptions & { bytesPerSecond: number; maxInFlight: number },
): Promise<LoadResult> {
  const startMs = nowMs();
  const endAt = startMs + options.durationMs;
  const recorder = new Recorder(startMs, options.progress);
  const inFlight = new Set<Promise<void>>();
  let scheduledBytes = 0;
  for (let i = 0; !options.signal.aborted; i += 1) {
    const due = startMs + (scheduledBytes / options.bytesPerSecond) * 1000;
    if (due >= endAt) break;
    const wait = due - nowMs();
    if (wait > 0) await sleep(wait);
    while (inFlight.size >= options.maxInFlight) await Promise.race(inFlight);
    if (nowMs() - due > LATE_MS) recorder.result.lateStarts += 1;
    const body = options.bodies[i % options.bodies.length];
    if (body === undefined) throw new Error('no prepared bodies');
    scheduledBytes += body.payloadBytes;
    const sending: Promise<void> = recorder.send(options, body, due).finally(() => {
      inFlight.delete(sending);
    });
    inFlight.add(sending);
  }
  await Promise.all(inFlight);
  return recorder.result;
}
