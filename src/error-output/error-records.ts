/**
 * Error records in Firehose's formats: what lands under an error-output prefix when records
 * cannot be delivered. One JSON object per record, one record per line (`\n`-terminated),
 * members in the order Firehose writes them, timestamps in epoch milliseconds and the payload
 * base64-encoded in `rawData`.
 *
 * Member names and order follow firehose-spec.md §3.5, §3.6 and §6 (and the developer guide's
 * examples they cite). Every type carries `attemptsMade`, `arrivalTimestamp`,
 * `attemptEndingTimestamp` and `rawData`, plus the members named below.
 */
import { z } from 'zod';
import type { PipelineRecord } from '../destinations/destination-kind.js';

/**
 * The error-output types: the value of `!{firehose:error-output-type}` and the folder of the
 * default error layout.
 */
export const ErrorOutputTypeSchema = z.enum([
  'processing-failed',
  'decompression-failed',
  'http-endpoint-failed',
  'format-conversion-failed',
  'AmazonOpenSearchService-failed',
  'splunk-failed',
  'redshift-failed',
]);

/** An error-output type, e.g. `http-endpoint-failed`. */
export type ErrorOutputType = z.infer<typeof ErrorOutputTypeSchema>;

/**
 * What some types carry beyond the common members. A member a type writes but the caller
 * does not know is written as `null`, so every line of a type has the same members.
 */
export interface FailedRecordDetails {
  /** `processing-failed`: the transform that failed the record (`lambdaARN`). */
  lambdaArn?: string | undefined;
  /** `AmazonOpenSearchService-failed`: the `_id` the document was to get. */
  esDocumentId?: string | undefined;
  /** `AmazonOpenSearchService-failed`: the index (rotation suffix included). */
  esIndexName?: string | undefined;
  /** `AmazonOpenSearchService-failed`: the type name (Elasticsearch 6 and older only). */
  esTypeName?: string | undefined;
  /**
   * `format-conversion-failed`: the Glue table of the schema (`catalogId`, `databaseName`,
   * `tableName`, `region`, `versionId`, `catalogArn`).
   */
  dataCatalogTable?: Readonly<Record<string, string>> | undefined;
}

/** One record that failed, as the driver hands it to the error output. */
export interface FailedRecordInput {
  record: PipelineRecord;
  /** Bounded error code, e.g. `HttpEndpoint.DestinationException`. */
  code: string;
  /** Human text, which may quote the destination's answer. */
  message: string;
  /** Attempts made to deliver the record. */
  attemptsMade: number;
  /** When the last attempt ended, epoch ms. */
  attemptEndingMs: number;
  details?: FailedRecordDetails | undefined;
}

/**
 * One error record as a JSON line (with its `\n`).
 *
 * Sluice has no Kinesis sequence numbers, so the members that carry them in Firehose name the
 * record Sluice's way: `dataId` (http-endpoint-failed), `EventId` (splunk-failed) and
 * `sequenceNumber` (format-conversion-failed) are the record id PutRecord/PutRecordBatch
 * answered, which stays the same for the record's whole life; `subsequenceNumber` and
 * `subSequenceNumber` are the record's position in its batch, which with the batch id (in the
 * object's name) locates it.
 */
export function formatErrorRecord(type: ErrorOutputType, input: FailedRecordInput): string {
  return `${JSON.stringify(errorRecordObject(type, input))}\n`;
}

function errorRecordObject(
  type: ErrorOutputType,
  input: FailedRecordInput,
): Record<string, unknown> {
  const { record, code, message, attemptsMade, attemptEndingMs } = input;
  const details = input.details ?? {};
  const rawData = record.data.toString('base64');
  // Object literals keep their insertion order in JSON.stringify: each is written in the
  // member order Firehose uses for its type.
  switch (type) {
    case 'http-endpoint-failed':
      return {
        attemptsMade,
        arrivalTimestamp: record.arrivalMs,
        errorCode: code,
        errorMessage: message,
        attemptEndingTimestamp: attemptEndingMs,
        rawData,
        subsequenceNumber: record.position,
        dataId: record.id,
      };
    case 'processing-failed':
      // The order AWS writes (probed, FLOCI), not the developer guide's; note `lambdaARN`.
      return {
        rawData,
        errorCode: code,
        errorMessage: message,
        attemptsMade,
        arrivalTimestamp: record.arrivalMs,
        attemptEndingTimestamp: attemptEndingMs,
        lambdaARN: details.lambdaArn ?? null,
      };
    case 'decompression-failed':
      // Firehose delivers the record as it arrived (still compressed) with the error.
      return {
        rawData,
        errorCode: code,
        errorMessage: message,
        attemptsMade,
        arrivalTimestamp: record.arrivalMs,
        attemptEndingTimestamp: attemptEndingMs,
      };
    case 'format-conversion-failed':
      return {
        attemptsMade,
        arrivalTimestamp: record.arrivalMs,
        lastErrorCode: code,
        lastErrorMessage: message,
        attemptEndingTimestamp: attemptEndingMs,
        rawData,
        sequenceNumber: record.id,
        subSequenceNumber: record.position,
        dataCatalogTable: details.dataCatalogTable ?? null,
      };
    case 'AmazonOpenSearchService-failed':
      return {
        attemptsMade,
        arrivalTimestamp: record.arrivalMs,
        errorCode: code,
        errorMessage: message,
        attemptEndingTimestamp: attemptEndingMs,
        esDocumentId: details.esDocumentId ?? null,
        esIndexName: details.esIndexName ?? null,
        esTypeName: details.esTypeName ?? null,
        rawData,
      };
    case 'redshift-failed':
      // Firehose documents no Redshift error record; Sluice's has the HTTP endpoint's members.
      return {
        attemptsMade,
        arrivalTimestamp: record.arrivalMs,
        errorCode: code,
        errorMessage: message,
        attemptEndingTimestamp: attemptEndingMs,
        rawData,
        subsequenceNumber: record.position,
        dataId: record.id,
      };
    case 'splunk-failed':
      return {
        attemptsMade,
        arrivalTimestamp: record.arrivalMs,
        errorCode: code,
        errorMessage: message,
        attemptEndingTimestamp: attemptEndingMs,
        rawData,
        EventId: record.id,
      };
  }
}

/** Standard base64 with padding, as Firehose writes `rawData`. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The members replay reads from an error record of any type; other members are ignored, so
 * records written by Firehose itself or by a later Sluice read as well.
 */
const ErrorRecordLineSchema = z.looseObject({
  rawData: z
    .string()
    .regex(BASE64, { message: 'not standard base64 with padding' })
    // Canonical only: a text with non-zero padding bits decodes to the same bytes as another
    // text, which would make a corrupted line look valid.
    .refine((text) => Buffer.from(text, 'base64').toString('base64') === text, {
      message: 'not canonical base64 (non-zero padding bits)',
    }),
  arrivalTimestamp: z.number().int().nonnegative(),
  errorCode: z.string().optional(),
  errorMessage: z.string().optional(),
  lastErrorCode: z.string().optional(),
  lastErrorMessage: z.string().optional(),
});

/** What an error record says about its record, read back for replay. */
export interface ParsedErrorRecord {
  /** The record's payload, decoded from `rawData`. */
  rawData: Buffer;
  /** `arrivalTimestamp`, epoch ms. */
  arrivalMs: number;
  /** `errorCode` (`lastErrorCode` for format-conversion-failed); '' when absent. */
  code: string;
  /** `errorMessage` (`lastErrorMessage`); '' when absent. */
  message: string;
}

/** A line that is not an error record; `line` is 1-based. */
export class ErrorRecordFormatError extends Error {
  override name = 'ErrorRecordFormatError';

  constructor(
    readonly line: number,
    detail: string,
  ) {
    super(`line ${line}: ${detail}`);
  }
}

/**
 * Reads one error record line (with or without its `\n`).
 *
 * @param lineNumber - 1-based, for the error message.
 * @throws ErrorRecordFormatError when the line is not a JSON object with a valid base64
 *   `rawData` and a numeric `arrivalTimestamp`.
 */
export function parseErrorRecord(line: string, lineNumber = 1): ParsedErrorRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new ErrorRecordFormatError(lineNumber, `not JSON: ${(error as Error).message}`);
  }
  const parsed = ErrorRecordLineSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'record';
    throw new ErrorRecordFormatError(lineNumber, `${where}: ${issue?.message ?? 'invalid'}`);
  }
  const record = parsed.data;
  return {
    rawData: Buffer.from(record.rawData, 'base64'),
    arrivalMs: record.arrivalTimestamp,
    code: record.errorCode ?? record.lastErrorCode ?? '',
    message: record.errorMessage ?? record.lastErrorMessage ?? '',
  };
}

/**
 * Reads every record of an error object's (uncompressed) body: one record per line; a last
 * line without `\n`, blank lines and `\r\n` endings are accepted.
 *
 * @throws ErrorRecordFormatError at the first line that is not an error record.
 */
export function parseErrorRecords(body: Buffer | string): ParsedErrorRecord[] {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const records: ParsedErrorRecord[] = [];
  let start = 0;
  let lineNumber = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    lineNumber += 1;
    const line = text.slice(start, end).trim();
    if (line !== '') records.push(parseErrorRecord(line, lineNumber));
    start = end + 1;
  }
  return records;
}
