import type { DeliveryErrorCode } from '../../errors/delivery-error-codes.js';

/**
 * The records a transform invocation takes and the outcomes it gives, and the error codes a
 * failed record carries: Firehose's own (`Lambda.*`), as its `processing-failed` error records
 * show them.
 */

/** One record of an invocation. */
export interface TransformInput {
  /**
   * Unique within the invocation; a transform sees it as `recordId`. Named as the pipeline's
   * records name it, so that they are handed over as they are, without an object per record.
   */
  id: string;
  /** When Sluice accepted the record, epoch ms (`approximateArrivalTimestamp`). */
  arrivalMs: number;
  data: Buffer;
}

/** What the transform made of one record. */
export type TransformRecordOutcome =
  | { result: 'Ok'; data: Buffer; partitionKeys?: Record<string, string> }
  | { result: 'Dropped' }
  | { result: 'ProcessingFailed'; code: TransformErrorCode; message: string };

/** An outcome that delivers nothing: Dropped or ProcessingFailed. */
export type NotOkOutcome = Exclude<TransformRecordOutcome, { result: 'Ok' }>;

/**
 * The Ok records of an invocation as one stored chunk (`formats/chunk-frame.ts`), and the
 * other records' outcomes by index in the invocation.
 */
export interface FramedOutcomes {
  /** The chunk; undefined when no record is Ok. */
  frame: Buffer | undefined;
  /** Ok records in the chunk, and their payload bytes. */
  records: number;
  bytes: number;
  others: [number, NotOkOutcome][];
}

/**
 * An invocation's outcomes, one per record in input order: as a list, and — where the
 * transform ran in a worker thread, which packs them — as {@link FramedOutcomes}.
 */
export interface InvocationOutcomes {
  readonly count: number;
  all(): TransformRecordOutcome[];
  /** Present where the outcomes are packed. */
  framed?(): FramedOutcomes;
}

/** Outcomes given as a list (a remote transform's, a failed invocation's). */
export function listedOutcomes(outcomes: TransformRecordOutcome[]): InvocationOutcomes {
  return { count: outcomes.length, all: () => outcomes };
}

/** A failed record's outcome. */
export type FailedOutcome = Extract<TransformRecordOutcome, { result: 'ProcessingFailed' }>;

/**
 * The codes a failed record of a transform carries. Their meanings are in the one catalogue of
 * delivery error codes (`src/errors/delivery-error-codes.ts`, documented in docs/errors.md).
 */
export const TRANSFORM_ERROR_CODES = [
  'Lambda.ProcessingFailedStatus',
  'Lambda.MissingRecordId',
  'Lambda.DuplicatedRecordId',
  'Lambda.JsonProcessingException',
  'Lambda.FunctionError',
] as const satisfies readonly DeliveryErrorCode[];

/** A failed record's code. */
export type TransformErrorCode = (typeof TRANSFORM_ERROR_CODES)[number];

/** The codes that mean the transform broke the Lambda contract (not a failure it reported). */
export const CONTRACT_VIOLATION_CODES: ReadonlySet<TransformErrorCode> = new Set([
  'Lambda.MissingRecordId',
  'Lambda.DuplicatedRecordId',
  'Lambda.JsonProcessingException',
]);

/** A failed outcome. */
export function failedOutcome(code: TransformErrorCode, message: string): FailedOutcome {
  return { result: 'ProcessingFailed', code, message };
}
