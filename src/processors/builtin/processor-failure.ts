/**
 * Where a record a built-in processor cannot process goes: the error output, under the type
 * folder Firehose uses for it. Records that are not valid gzip go to `decompression-failed`
 * (docs.aws.amazon.com/firehose/latest/dev/decomp-faq.html); every other built-in processor
 * failure goes to `processing-failed`, beside failed transforms.
 */
export type ProcessorFailureOutputType = 'processing-failed' | 'decompression-failed';

/**
 * A record a built-in processor cannot process. It is a property of the record, not of the
 * attempt: processing the same bytes again fails the same way, so the pipeline sends the
 * record to the error output at once instead of retrying it.
 */
export class ProcessorFailure extends Error {
  /**
   * @param code - A stable error code (`Decompression.InvalidGzip`, `Deaggregation.InvalidJson`,
   *   …): what the error record's `errorCode` carries.
   * @param message - What is wrong with the record and what to do about it: the error record's
   *   `errorMessage`.
   * @param outputType - The error-output type folder the record goes to.
   */
  constructor(
    readonly code: string,
    message: string,
    readonly outputType: ProcessorFailureOutputType,
  ) {
    super(message);
    this.name = 'ProcessorFailure';
  }
}
