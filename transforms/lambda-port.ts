/**
 * A Firehose transformation Lambda, ported to Sluice.
 *
 * This is AWS's Node.js blueprint "kinesis-firehose-process-record" with its identity
 * transformation replaced by one that is worth running: each record must be one JSON document;
 * it is written back compacted and followed by a newline (Firehose concatenates records with
 * no delimiter, so without one the objects in S3 are one long line). Empty records are
 * dropped; a record that is not JSON fails.
 *
 * The port is one line. In the Lambda it read
 *
 *     export const handler = async (event, context) => {
 *
 * and here it reads
 *
 *     export default defineTransform(async (event) => {
 *
 * with `import { defineTransform } from 'sluice'` at the top. The event and the answer are
 * Firehose's, byte for byte: `data` is base64 both ways, `recordId`s are echoed, `result` is
 * `Ok`, `Dropped` or `ProcessingFailed`. What a Lambda gets beyond that is not there: no
 * `context` argument (Sluice applies its own timeout), and `console.log` output goes to
 * Sluice's log, so log per invocation, never per record.
 *
 * Wire it to a stream with `"LambdaArn": "sluice:transform:lambda-port"`.
 */
import { defineTransform } from 'sluice';
import type { FirehoseTransformationResultRecord } from 'sluice';

/** Each record's JSON, compacted and newline-terminated; empty records dropped. */
// eslint-disable-next-line @typescript-eslint/require-await -- the Lambda's own `async`, kept as it was
export default defineTransform(async (event) => {
  /* Process the list of records and transform them */
  const output = event.records.map((record): FirehoseTransformationResultRecord => {
    const payload = Buffer.from(record.data, 'base64').toString('utf8');
    if (payload.trim() === '') {
      return { recordId: record.recordId, result: 'Dropped' };
    }
    try {
      const compact = JSON.stringify(JSON.parse(payload));
      return {
        recordId: record.recordId,
        result: 'Ok',
        data: Buffer.from(`${compact}\n`, 'utf8').toString('base64'),
      };
    } catch {
      return { recordId: record.recordId, result: 'ProcessingFailed', data: record.data };
    }
  });
  return { records: output };
});
