import { UsageError } from './cli-error.js';

/**
 * Firehose's rule for `DeliveryStreamName` (1–64 characters of `[a-zA-Z0-9_.-]`), checked before
 * any request so a typo such as `--stream "clicks "` is reported as the command line's mistake.
 */
const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,64}$/;

/**
 * `name` when it is a valid delivery stream name.
 *
 * @param option - how the message names the value, such as `--to`.
 * @throws UsageError otherwise.
 */
export function checkStreamName(name: string, option: string): string {
  if (!STREAM_NAME.test(name)) {
    throw new UsageError(
      `${option} ${JSON.stringify(name)} is not a delivery stream name: 1 to 64 letters, digits, '_', '.' or '-'`,
    );
  }
  return name;
}
