import { FirehoseError } from '../../src/errors/catalogue.js';

/**
 * Runs `fn`, expecting it to throw a FirehoseError, and returns that error so a test can
 * assert on its type and message. Any other error is rethrown as it is, so a bug shows as
 * itself rather than as a wrong error type.
 *
 * @throws when `fn` returns normally.
 */
export function firehoseErrorOf(fn: () => unknown): FirehoseError {
  try {
    fn();
  } catch (error) {
    if (error instanceof FirehoseError) return error;
    throw error;
  }
  throw new Error('expected a FirehoseError');
}
