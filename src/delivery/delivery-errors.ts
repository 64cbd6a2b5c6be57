import type { BackupWriter } from '../error-output/backup-writer.js';
import type { ErrorOutputWriter } from '../error-output/error-output-writer.js';

/** Writes error-output objects; throws when the write fails. */
export type ErrorOutputSink = Pick<ErrorOutputWriter, 'write'>;

/** Writes backup copies; the same batch always lands under the same key. */
export type BackupSink = Pick<BackupWriter, 'write'>;

/** Thrown to make BullMQ retry the job with the `sluice` backoff. */
export class RetryableDeliveryError extends Error {
  override name = 'RetryableDeliveryError';
}

/** An error as a delivery reason says it: `<name>: <message>`. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
