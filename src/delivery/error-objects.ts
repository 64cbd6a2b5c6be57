import type { S3Location } from '../destinations/destination-kind.js';
import { ErrorOutputTypeSchema, type FailedRecordInput } from '../error-output/error-records.js';
import type { Telemetry } from '../telemetry/events.js';
import type { Logger } from '../telemetry/logger.js';
import { RetryableDeliveryError, describeError, type ErrorOutputSink } from './delivery-errors.js';

/**
 * How a batch writes records it gives up on — failed in delivery (the driver) or in processing
 * (the processing job) — to the error output: one object per error-output type, in type order,
 * numbered from the batch's count of objects so far, so that a repeat writes the same objects.
 */

/** Where a batch's error objects go and what names them. */
export interface ErrorObjectsTarget {
  stream: string;
  /** The stream `VersionId` the objects are named with. */
  streamVersion: number;
  batchId: string;
  firstArrivalMs: number;
  location: S3Location;
}

/** What writing needs besides the records. */
export interface ErrorObjectsSinks {
  errorOutput: ErrorOutputSink;
  log: Logger;
  telemetry: Telemetry;
}

/** Failed records grouped by their error-output type, in the order they failed. */
export class FailedByType {
  readonly #byType = new Map<string, FailedRecordInput[]>();

  /** Adds a record under `type`. */
  add(type: string, entry: FailedRecordInput): void {
    let entries = this.#byType.get(type);
    if (entries === undefined) this.#byType.set(type, (entries = []));
    entries.push(entry);
  }

  /** The groups in type order: the order their objects are numbered in. */
  groups(): [string, FailedRecordInput[]][] {
    return [...this.#byType].sort(([a], [b]) => (a < b ? -1 : 1));
  }
}

/**
 * Writes the groups, one object each, numbered from `firstSeq`.
 *
 * @returns the number after the last object written (`firstSeq` when there was nothing).
 * @throws RetryableDeliveryError when a write fails: the batch stays queued and its retry
 *   rewrites the same objects.
 */
export async function writeErrorObjects(
  sinks: ErrorObjectsSinks,
  target: ErrorObjectsTarget,
  failed: FailedByType,
  firstSeq: number,
  nowMs: number,
): Promise<number> {
  const { location, ...identity } = target;
  let seq = firstSeq;
  for (const [type, entries] of failed.groups()) {
    let written: { bucket: string; key: string } | undefined;
    try {
      written = await sinks.errorOutput.write({
        ...identity,
        seq,
        type: ErrorOutputTypeSchema.parse(type),
        location,
        records: entries,
        nowMs,
      });
    } catch (error) {
      sinks.log.warn(
        {
          event: 'error-output.failed',
          stream: target.stream,
          batchId: target.batchId,
          errorType: type,
          records: entries.length,
          bucket: location.bucket,
          err: error,
        },
        'writing the error output failed; the batch stays queued and is retried',
      );
      throw new RetryableDeliveryError(`error output write failed: ${describeError(error)}`);
    }
    seq += 1;
    sinks.telemetry.emit({
      type: 'error-output.written',
      stream: target.stream,
      errorOutputType: type,
      records: entries.length,
    });
    sinks.log.warn(
      {
        event: 'error-output.written',
        stream: target.stream,
        batchId: target.batchId,
        records: entries.length,
        code: entries[0]?.code,
        errorType: type,
        bucket: written?.bucket,
        key: written?.key,
      },
      'records written to the error output',
    );
  }
  return seq;
}
