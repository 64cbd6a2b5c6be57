/**
 * The `AppendDelimiterToRecord` processor. Firehose concatenates records byte for byte with no
 * delimiter; this processor, which takes no parameters, ends every record with a newline so
 * that the delivered object has one record per line (firehose-spec.md §3.3,
 * docs.aws.amazon.com/firehose/latest/APIReference/API_Processor.html).
 */

const NEWLINE = 0x0a;

/**
 * The record followed by `\n`. The newline is appended whatever the record ends with, as
 * Firehose does: a record that already ends with a newline gets a second one.
 *
 * @param data - The record.
 * @returns A new buffer one byte longer than `data`.
 */
export function appendDelimiter(data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(data.length + 1);
  data.copy(out, 0);
  out[data.length] = NEWLINE;
  return out;
}
