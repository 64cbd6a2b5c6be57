import { Readable } from 'node:stream';
import type {
  DeliveryOutcome,
  DestinationKind,
  PipelineRecord,
  PlanBase,
  RecordStream,
} from '../destinations/destination-kind.js';
import { RecordGroup } from '../destinations/record-group.js';
import type { FailedSet } from './batch-store.js';
import { PositionRuns } from '../destinations/position-runs.js';

/**
 * What the driver does with one attempt's records: splits them into the requests a kind takes,
 * tallies what each request read, and turns outcomes into per-record failures and the batch's
 * record of them. (Processing and partitioning ran before, in the first stage: see
 * processing-job.ts.)
 */

/** One record that failed in an attempt. */
export interface RecordFailure {
  /** The record's position in its batch. */
  position: number;
  code: string;
  reason: string;
  retryable: boolean;
  /** Error-output type when it is not the destination's (e.g. `format-conversion-failed`). */
  outputType?: string;
}

/** A request that failed whole after reading only part of its records. */
export interface WholeFailure {
  code: string;
  reason: string;
  retryable: boolean;
}

/**
 * What passed through a request: positions in order, count, bytes, oldest arrival. Filled as
 * the request's records stream past, so it is complete only once the request read them all.
 */
export class RecordTally {
  /** Batch positions of the records, in the order the request read them. */
  readonly positions = new PositionRuns();
  /** How many records. */
  count = 0;
  /** Their payload bytes. */
  bytes = 0;
  /** Arrival time of the oldest (epoch ms); +∞ while none. */
  oldestArrivalMs = Number.POSITIVE_INFINITY;
  /** Whether every record of the request has passed. */
  complete = false;

  /** Counts a group of records as it passes. */
  add(group: RecordGroup): void {
    group.addPositionsTo(this.positions);
    this.bytes += group.dataBytes();
    this.count += group.length;
    this.oldestArrivalMs = Math.min(this.oldestArrivalMs, group.oldestArrivalMs());
  }

  /** Counts `other`'s records, except those at the `failed` positions. */
  addAll(other: RecordTally, failed: ReadonlySet<number>): void {
    this.oldestArrivalMs = Math.min(this.oldestArrivalMs, other.oldestArrivalMs);
    if (failed.size === 0) {
      this.count += other.count;
      this.bytes += other.bytes;
      return;
    }
    // Per-record sizes are not kept: a partly delivered request counts its records, not bytes.
    for (const position of other.positions) if (!failed.has(position)) this.count += 1;
  }
}

/** The records given up on, as the batch records them until they are written out. */
export function failedSetOf(
  giveUp: readonly RecordFailure[],
  kind: DestinationKind,
  attempt: number,
  nowMs: number,
  window: { ended: boolean; name: string },
): FailedSet {
  const reasons: FailedSet['reasons'] = [];
  const reasonIndex = new Map<string, number>();
  const records: FailedSet['records'] = [];
  for (const failure of giveUp) {
    const type = failure.outputType ?? kind.failureOutputType ?? '';
    const message =
      window.ended && failure.retryable
        ? `${failure.reason} (the ${window.name} ended after ${attempt} attempts)`
        : failure.reason;
    const key = JSON.stringify([type, failure.code, message]);
    let index = reasonIndex.get(key);
    if (index === undefined) {
      index =
        reasons.push({
          type,
          code: failure.code,
          message,
          attemptsMade: attempt,
          attemptEndingMs: nowMs,
        }) - 1;
      reasonIndex.set(key, index);
    }
    records.push([failure.position, index]);
  }
  return { reasons, records };
}

/** The records an outcome reports as not delivered, by batch position. */
export function failuresOf(outcome: DeliveryOutcome, tally: RecordTally): RecordFailure[] {
  switch (outcome.kind) {
    case 'delivered':
      return [];
    case 'retry':
    case 'permanent':
      return [...tally.positions].map((position) => ({
        position,
        code: outcome.code,
        reason: outcome.reason,
        retryable: outcome.kind === 'retry',
      }));
    case 'partial':
      return outcome.failed.flatMap((f) => {
        const position = tally.positions.at(f.index);
        return position === undefined ? [] : [{ ...f, position }];
      });
  }
}

/** The records of one request, with the plan that gives the request its identity. */
export interface RequestGroup {
  plan: PlanBase;
  records: RecordStream;
  /** What the request read of its records. */
  tally: RecordTally;
}

/**
 * The requests an attempt makes. A kind without a record limit gets one request whose records
 * stream straight from the batch, so a batch is never whole in memory. A kind with one gets
 * groups of at most `maxRecordsPerRequest` by batch position, each collected before it is
 * sent, so that a retry of a group has the same records and identity as before whatever else
 * was delivered in between.
 */
export async function* requestGroups(
  kind: DestinationKind,
  plan: PlanBase,
  records: RecordStream,
): AsyncGenerator<RequestGroup> {
  const max = kind.maxRecordsPerRequest;
  if (max === undefined || kind.planPart === undefined) {
    const tally = new RecordTally();
    yield { plan, records: tallied(records, tally), tally };
    return;
  }
  const planPart = kind.planPart.bind(kind);
  let part = -1;
  let group: PipelineRecord[] = [];
  const collected = (): RequestGroup => {
    const whole = RecordGroup.of(group);
    const tally = new RecordTally();
    tally.add(whole);
    tally.complete = true;
    return { plan: part === 0 ? plan : planPart(plan, part), records: once(whole), tally };
  };
  for await (const chunk of records) {
    for (const record of chunk.records()) {
      const recordPart = Math.floor(record.position / max);
      if (recordPart !== part && group.length > 0) {
        yield collected();
        group = [];
      }
      part = recordPart;
      group.push(record);
    }
  }
  if (group.length > 0) yield collected();
}

/** `records` as they pass, counted into `tally`, which is complete once they all have. */
async function* tallied(records: RecordStream, tally: RecordTally): RecordStream {
  for await (const group of records) {
    tally.add(group);
    yield group;
  }
  tally.complete = true;
}

/** One group as a record stream. */
function once(group: RecordGroup): RecordStream {
  return Readable.from([group], { objectMode: true }) as AsyncIterable<RecordGroup>;
}
