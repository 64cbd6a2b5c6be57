/**
 * What transform authors import (`import { defineTransform, ok, dropped, failed } from 'sluice'`).
 *
 * A transform is a module under the transforms directory whose default export is made by
 * {@link defineTransform}, in one of two forms:
 *
 * - the Lambda form takes Firehose's transformation event and returns its response, byte for
 *   byte as a Firehose transform Lambda does (base64 `data` both ways), so a Lambda ports by
 *   changing `export const handler = async (event) =>` into
 *   `export default defineTransform(async (event) =>`;
 * - the record form is called once per record with the record already decoded (JSON, text or
 *   bytes) and returns the new record; Sluice does the base64, the ids and the response.
 *
 * This module is loaded in every transform worker, so it imports nothing at run time and does
 * nothing but tag objects: the transform host reads the tags (by `Symbol.for`, so that a copy
 * of this file loaded from another path is recognised too).
 */

/** One record of a {@link FirehoseTransformationEvent}. */
export interface FirehoseTransformationEventRecord {
  /** Opaque; the response must echo it. */
  recordId: string;
  /** When Sluice accepted the record, epoch milliseconds. */
  approximateArrivalTimestamp: number;
  /** The record, base64. */
  data: string;
}

/** The event a Lambda-form transform receives: Firehose's, member for member. */
export interface FirehoseTransformationEvent {
  invocationId: string;
  deliveryStreamArn: string;
  region: string;
  records: FirehoseTransformationEventRecord[];
}

/** What became of a record: `Dropped` is a success that delivers nothing. */
export type FirehoseRecordResult = 'Ok' | 'Dropped' | 'ProcessingFailed';

/** One record of a {@link FirehoseTransformationResult}. */
export interface FirehoseTransformationResultRecord {
  /** The `recordId` of an input record; every input record must be answered exactly once. */
  recordId: string;
  result: FirehoseRecordResult;
  /** The new record, base64; required for `Ok`. */
  data?: string;
  /** Keys for dynamic partitioning (`!{partitionKeyFromLambda:<key>}` in the S3 prefix). */
  metadata?: { partitionKeys?: Record<string, string> };
}

/** What a Lambda-form transform returns: Firehose's transformation response. */
export interface FirehoseTransformationResult {
  records: FirehoseTransformationResultRecord[];
}

/** A Lambda-form transform's handler. */
export type FirehoseTransformationHandler = (
  event: FirehoseTransformationEvent,
) => FirehoseTransformationResult | Promise<FirehoseTransformationResult>;

/** How a record-form transform gets each record. */
export type RecordDecoding = 'json' | 'text' | 'bytes';

/** What a record-form transform knows about the record besides its data. */
export interface RecordContext {
  recordId: string;
  /** When Sluice accepted the record, epoch milliseconds. */
  approximateArrivalTimestamp: number;
  deliveryStreamName: string;
}

/** Options of {@link ok}. */
export interface OkOptions {
  /** Keys for dynamic partitioning (`!{partitionKeyFromLambda:<key>}` in the S3 prefix). */
  partitionKeys?: Record<string, string>;
}

/** The tag of an outcome made by {@link ok}, {@link dropped} or {@link failed}. */
export const RECORD_OUTCOME_TAG: unique symbol = Symbol.for('sluice.recordOutcome');

/** The tag of a value made by {@link defineTransform}. */
export const TRANSFORM_TAG: unique symbol = Symbol.for('sluice.transform');

/** What an outcome made by {@link ok}, {@link dropped} or {@link failed} holds. */
export type RecordOutcomeData =
  | { result: 'Ok'; value: unknown; partitionKeys: unknown }
  | { result: 'Dropped' }
  | { result: 'ProcessingFailed'; message: unknown };

/** Carries, in types only, what an {@link ok} outcome's value is. */
declare const outcomeValue: unique symbol;

/**
 * A record's outcome other than "Ok with this value": made by {@link ok}, {@link dropped} and
 * {@link failed}. `Value` is the type of the value `ok` was given, so that a record function
 * returning `ok(42)` where text is expected does not compile.
 */
export interface RecordOutcome<Value = unknown> {
  readonly [RECORD_OUTCOME_TAG]: RecordOutcomeData;
  readonly [outcomeValue]?: Value;
}

/** Anything JSON.stringify writes as JSON: what a `json` record function may return. */
export type JsonRecordValue = string | number | boolean | null | object;

/** What a record function returns: the new record, or an outcome. */
export type RecordReturn<Value> =
  Value | RecordOutcome<Value> | Promise<Value | RecordOutcome<Value>>;

/** A record-form transform's options, common to every decoding. */
interface RecordTransformBase {
  /**
   * Written after every `Ok` record's data: `'\n'` by default for `json` and `text`, nothing
   * for `bytes`. Firehose concatenates records with nothing between them.
   */
  delimiter?: string;
}

/**
 * A record form that gets each record as the value of its UTF-8 text as JSON. A record that is
 * not JSON fails (`ProcessingFailed`) without calling `record`. What `record` returns is
 * written with JSON.stringify.
 */
export interface JsonRecordTransform<T> extends RecordTransformBase {
  decode: 'json';
  record(input: T, context: RecordContext): RecordReturn<JsonRecordValue>;
}

/** A record form that gets each record as UTF-8 text and returns text. */
export interface TextRecordTransform<T> extends RecordTransformBase {
  decode: 'text';
  record(input: T, context: RecordContext): RecordReturn<string>;
}

/** A record form that gets each record as a Buffer and returns bytes (a Buffer or Uint8Array). */
export interface BytesRecordTransform<T> extends RecordTransformBase {
  decode: 'bytes';
  record(input: T, context: RecordContext): RecordReturn<Uint8Array>;
}

/** What a transform module's default export holds, read by the transform worker. */
export type TransformDefinition =
  | { form: 'lambda'; handler: FirehoseTransformationHandler }
  | {
      form: 'record';
      decode: RecordDecoding;
      delimiter: string | undefined;
      record: (input: never, context: RecordContext) => unknown;
    };

/** A transform, made by {@link defineTransform}; export it as the module's default. */
export interface Transform {
  readonly [TRANSFORM_TAG]: TransformDefinition;
}

/**
 * Lambda form: `handler` gets Firehose's transformation event and returns its response.
 *
 * @example
 * export default defineTransform(async (event) => ({
 *   records: event.records.map((r) => ({ recordId: r.recordId, result: 'Ok', data: r.data })),
 * }));
 */
export function defineTransform(handler: FirehoseTransformationHandler): Transform;
/**
 * Record form, JSON: `record` is called once per record with the record parsed as JSON, and
 * returns the new record (written with JSON.stringify and `delimiter`, default `'\n'`), or
 * `ok(value, { partitionKeys })`, `dropped()` or `failed(message)`. A record that is not JSON
 * fails without calling `record`; a `record` that throws fails that one record.
 */
export function defineTransform<T = unknown>(options: JsonRecordTransform<T>): Transform;
/** Record form, text: as the JSON form, with each record as UTF-8 text, returning text. */
export function defineTransform<T extends string = string>(
  options: TextRecordTransform<T>,
): Transform;
/** Record form, bytes: as the JSON form, with each record as a Buffer, returning bytes. */
export function defineTransform<T extends Buffer = Buffer>(
  options: BytesRecordTransform<T>,
): Transform;
export function defineTransform(
  spec:
    | FirehoseTransformationHandler
    | JsonRecordTransform<unknown>
    | TextRecordTransform<string>
    | BytesRecordTransform<Buffer>,
): Transform {
  if (typeof spec === 'function') return { [TRANSFORM_TAG]: { form: 'lambda', handler: spec } };
  return {
    [TRANSFORM_TAG]: {
      form: 'record',
      decode: spec.decode,
      delimiter: spec.delimiter,
      record: spec.record.bind(spec),
    },
  };
}

/** The record is Ok with `value` as its new data, and, optionally, partition keys. */
export function ok<Value>(value: Value, options?: OkOptions): RecordOutcome<Value> {
  return { [RECORD_OUTCOME_TAG]: { result: 'Ok', value, partitionKeys: options?.partitionKeys } };
}

/** The record is dropped on purpose: a success that delivers nothing. */
export function dropped(): RecordOutcome<never> {
  return { [RECORD_OUTCOME_TAG]: { result: 'Dropped' } };
}

/** The record failed: it goes to the `processing-failed` error output with `message`. */
export function failed(message: string): RecordOutcome<never> {
  return { [RECORD_OUTCOME_TAG]: { result: 'ProcessingFailed', message } };
}
