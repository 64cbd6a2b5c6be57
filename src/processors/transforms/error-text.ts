/**
 * A thrown value as one line of text for an error message: `TypeError: x is not a function`,
 * `Error: boom` shortened to its message, anything else as String() would show it.
 */

/** Longest error text a message carries: error records and log lines stay readable. */
const MAX_ERROR_CHARS = 1000;

/** `error` as text, at most {@link MAX_ERROR_CHARS} characters. */
export function errorText(error: unknown): string {
  let text: string;
  if (error instanceof Error) {
    text =
      error.name === 'Error' || error.name === ''
        ? error.message
        : `${error.name}: ${error.message}`;
    if (text === '') text = error.name || 'Error';
  } else {
    try {
      text = typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error));
    } catch {
      // A circular object, a BigInt inside one, an object without a prototype.
      text = `a thrown ${typeof error} that cannot be shown`;
    }
  }
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}…` : text;
}
