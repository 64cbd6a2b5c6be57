import type { SeqBytes } from './http-receiver.js';
import { ACKNOWLEDGED, SENT } from './stamping-firehose.js';

/**
 * Every record a delivery phase sent, looked up by its sequence number in what the target
 * accepted and in the error output: lost, duplicated, failed on purpose and where it ended.
 */

/** Every acknowledged record accounted for, by sequence number. */
export interface RecordAccounting {
  /** Records PutRecordBatch acknowledged. */
  acknowledged: number;
  /** Acknowledged records the target accepted (the receiver; the index), at least once. */
  accepted: number;
  /** Acknowledged records found in the error output (at least once). */
  inErrorOutput: number;
  /** Acknowledged records neither accepted nor in the error output. */
  lost: number;
  /** Copies beyond the first, over accepted and error output together. */
  duplicated: number;
  /** Records sent but not acknowledged (no reply, or an error) that arrived anyway. */
  unacknowledgedArrived: number;
  /** Error-output records the target did not fail on purpose. */
  errorNotDeliberate: number;
  /** Records failed on purpose missing from the error output. */
  deliberateNotInErrorOutput: number;
  /** Records the target or the error output had that were never sent. */
  neverSent: number;
}

/**
 * Matches every record sent with what the target accepted (`accepted`: copies per sequence
 * number), what it failed on purpose (`failed`: non-zero per such record) and what the error
 * output holds, by sequence number.
 */
export function accountRecords(
  sent: { states: SeqBytes; next: number },
  accepted: Uint8Array,
  failed: Uint8Array,
  errors: SeqBytes,
): RecordAccounting {
  const a: RecordAccounting = {
    acknowledged: 0,
    accepted: 0,
    inErrorOutput: 0,
    lost: 0,
    duplicated: 0,
    unacknowledgedArrived: 0,
    errorNotDeliberate: 0,
    deliberateNotInErrorOutput: 0,
    neverSent: 0,
  };
  const end = Math.max(sent.next, accepted.length, failed.length);
  for (let seq = 0; seq < end; seq += 1) {
    const state = sent.states.at(seq);
    const got = accepted[seq] ?? 0;
    const errored = errors.at(seq);
    const copies = got + errored;
    const deliberate = (failed[seq] ?? 0) !== 0;
    if (errored > 0 && !deliberate) a.errorNotDeliberate += errored;
    if (deliberate && errored === 0) a.deliberateNotInErrorOutput += 1;
    if (state === ACKNOWLEDGED) {
      a.acknowledged += 1;
      if (got > 0) a.accepted += 1;
      if (errored > 0) a.inErrorOutput += 1;
      if (copies === 0) a.lost += 1;
      else a.duplicated += copies - 1;
    } else if (state === SENT) {
      if (copies > 0) a.unacknowledgedArrived += 1;
    } else if (copies > 0) {
      a.neverSent += 1;
    }
  }
  // The error output may name sequence numbers past everything else (it should not).
  for (let seq = end; seq < errors.bytes.length; seq += 1) {
    const errored = errors.at(seq);
    if (errored > 0) {
      a.neverSent += 1;
      a.errorNotDeliberate += errored;
    }
  }
  return a;
}
