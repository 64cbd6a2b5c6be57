/**
 * What the producers learnt about every record and request they sent, in typed arrays, so ten
 * million records take tens of megabytes and no string per record.
 *
 * Ids are handed out in increasing order, one contiguous range per request, so a request is
 * found from any of its ids by binary search; the per-request times and the api process that
 * answered tell, for a lost or duplicated record, which faults were around it.
 */

/** What a producer knows about one record. */
export const Outcome = {
  /** Issued, no answer yet (none are left once the producers stopped). */
  pending: 0,
  /** Answered with a RecordId: Sluice promised it is durable. */
  acked: 1,
  /** Answered with an ErrorCode or an error reply, or the connection was refused. */
  failed: 2,
  /** No complete answer (connection dropped, timed out): it may or may not be stored. */
  ambiguous: 3,
} as const;
/** One of {@link Outcome}'s values. */
export type OutcomeValue = (typeof Outcome)[keyof typeof Outcome];

/** A request, as {@link Ledger.request} reports it. */
export interface RequestInfo {
  index: number;
  firstId: number;
  count: number;
  /** Epoch ms. */
  sentMs: number;
  answeredMs: number;
  /** The api process the request went to, e.g. `api#2 (pid 1234)`. */
  api: string;
}

/** A Float64Array that grows by doubling. */
class Column {
  values: Float64Array;
  constructor(capacity: number) {
    this.values = new Float64Array(Math.max(16, capacity));
  }
  ensure(length: number): void {
    if (length <= this.values.length) return;
    let size = this.values.length;
    while (size < length) size *= 2;
    const grown = new Float64Array(size);
    grown.set(this.values);
    this.values = grown;
  }
}

/** Per-record outcomes and a per-request log. */
export class Ledger {
  private states: Uint8Array;
  private issuedIds = 0;
  private requests = 0;
  private readonly firstIds: Column;
  private readonly counts: Column;
  private readonly sentAt: Column;
  private readonly answeredAt: Column;
  private readonly apiIndex: Column;
  private readonly apiNames: string[] = [];
  private readonly apiByName = new Map<string, number>();
  /** Records per outcome. */
  readonly totals = { acked: 0, failed: 0, ambiguous: 0 };
  /** Failed and ambiguous records by reason. */
  readonly reasons = new Map<string, number>();

  /** @param expectedIds - a first guess at how many ids will be issued (it grows as needed). */
  constructor(expectedIds: number) {
    this.states = new Uint8Array(Math.max(1024, expectedIds));
    const requests = Math.ceil(expectedIds / 100);
    this.firstIds = new Column(requests);
    this.counts = new Column(requests);
    this.sentAt = new Column(requests);
    this.answeredAt = new Column(requests);
    this.apiIndex = new Column(requests);
  }

  /** Ids handed out so far (ids are 0 … issued - 1). */
  get issued(): number {
    return this.issuedIds;
  }

  /**
   * Hands out `count` fresh ids for one request to `api` sent now.
   *
   * @returns the request's index (for {@link settle}) and its first id.
   */
  issue(count: number, api: string, sentMs: number): { request: number; firstId: number } {
    const firstId = this.issuedIds;
    this.issuedIds += count;
    if (this.issuedIds > this.states.length) {
      let size = this.states.length;
      while (size < this.issuedIds) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.states);
      this.states = grown;
    }
    const request = this.requests;
    this.requests += 1;
    for (const column of [
      this.firstIds,
      this.counts,
      this.sentAt,
      this.answeredAt,
      this.apiIndex,
    ]) {
      column.ensure(this.requests);
    }
    let apiIndex = this.apiByName.get(api);
    if (apiIndex === undefined) {
      apiIndex = this.apiNames.length;
      this.apiNames.push(api);
      this.apiByName.set(api, apiIndex);
    }
    this.firstIds.values[request] = firstId;
    this.counts.values[request] = count;
    this.sentAt.values[request] = sentMs;
    this.apiIndex.values[request] = apiIndex;
    return { request, firstId };
  }

  /**
   * Records the answer to request `request`: one outcome for all its records, or one per record
   * (in order). `reason` is counted for every record that is not acknowledged.
   */
  settle(
    request: number,
    outcome: OutcomeValue | Uint8Array,
    answeredMs: number,
    reason?: string,
  ): void {
    const firstId = this.firstIds.values[request] ?? 0;
    const count = this.counts.values[request] ?? 0;
    this.answeredAt.values[request] = answeredMs;
    for (let i = 0; i < count; i += 1) {
      const value = (typeof outcome === 'number' ? outcome : outcome[i]) ?? Outcome.ambiguous;
      this.states[firstId + i] = value;
      if (value === Outcome.acked) this.totals.acked += 1;
      else if (value === Outcome.failed) this.totals.failed += 1;
      else if (value === Outcome.ambiguous) this.totals.ambiguous += 1;
      if (value !== Outcome.acked && reason !== undefined) {
        this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
      }
    }
  }

  /** The outcome of record `id` ({@link Outcome.pending} for an id never issued). */
  state(id: number): OutcomeValue {
    return (id < this.issuedIds ? (this.states[id] ?? 0) : 0) as OutcomeValue;
  }

  /** The request that carried record `id`, or undefined for an id never issued. */
  request(id: number): RequestInfo | undefined {
    if (id < 0 || id >= this.issuedIds) return undefined;
    let lo = 0;
    let hi = this.requests - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((this.firstIds.values[mid] ?? 0) <= id) lo = mid;
      else hi = mid - 1;
    }
    return {
      index: lo,
      firstId: this.firstIds.values[lo] ?? 0,
      count: this.counts.values[lo] ?? 0,
      sentMs: this.sentAt.values[lo] ?? 0,
      answeredMs: this.answeredAt.values[lo] ?? 0,
      api: this.apiNames[this.apiIndex.values[lo] ?? 0] ?? 'unknown',
    };
  }
}
