/**
 * The two errors of the jq evaluator: one for queries refused when a stream is created, one for
 * records a compiled query cannot be evaluated on.
 */

/** Longest excerpt of the query shown around an error's position. */
const EXCERPT_WIDTH = 60;

/**
 * Thrown by compile for syntax errors and for jq features outside the supported subset.
 * `message` says what is wrong and where (the character offset and an excerpt of the query with a
 * caret under that offset); for unsupported features it also says what is supported.
 */
export class JqCompileError extends Error {
  /** The character offset in the query where the problem is. */
  readonly offset: number;

  /**
   * @param problem what is wrong, one sentence without the position
   * @param source the whole query
   * @param offset where in `source` the problem is
   */
  constructor(problem: string, source: string, offset: number) {
    super(`${problem} (at offset ${offset})\n${caretExcerpt(source, offset)}`);
    this.name = 'JqCompileError';
    this.offset = offset;
  }
}

/**
 * Thrown by evaluate when jq 1.6 itself would raise an error on this input, e.g. `.a.b` on a
 * string or `strftime` on a string. `message` is jq's own message for that error.
 */
export class JqRuntimeError extends Error {
  /** The error's value as jq's `try ... catch` would see it (jq's message, or `error(v)`'s v). */
  readonly value: unknown;

  constructor(value: unknown) {
    super(typeof value === 'string' ? value : `${JSON.stringify(value)} (not a string)`);
    this.name = 'JqRuntimeError';
    this.value = value;
  }
}

/**
 * Two lines: the query around `offset` (tabs and newlines shown as spaces, long queries cut
 * with an ellipsis) and a caret under the offending character.
 */
function caretExcerpt(source: string, offset: number): string {
  const flat = source.replace(/[\t\r\n]/g, ' ');
  const start = Math.max(0, Math.min(offset - EXCERPT_WIDTH / 2, flat.length - EXCERPT_WIDTH));
  const end = Math.min(flat.length, start + EXCERPT_WIDTH);
  const prefix = start > 0 ? '…' : '';
  const suffix = end < flat.length ? '…' : '';
  const line = `${prefix}${flat.slice(start, end)}${suffix}`;
  return `  ${line}\n  ${' '.repeat(prefix.length + offset - start)}^`;
}
