/**
 * The two ways an invocation fails as a whole: the transform cannot be loaded (the records wait,
 * nothing is lost), or one attempt of it failed (retried, then every record fails).
 */

/** Why a transform cannot be loaded: no such module, or a module that does not load. */
export type TransformLoadErrorCode = 'Lambda.ResourceNotFound' | 'Sluice.TransformLoadFailed';

/**
 * A local transform that cannot be loaded: its module is missing (`Lambda.ResourceNotFound`,
 * Firehose's code for a function that does not exist), or does not load, or its default export
 * is not made by `defineTransform` (`Sluice.TransformLoadFailed`). The invocation has not run:
 * the caller keeps the records and tries again later, by when the file may be fixed.
 */
export class TransformLoadError extends Error {
  override name = 'TransformLoadError';
  readonly code: TransformLoadErrorCode;
  /** The transform's name (`sluice:transform:<name>`). */
  readonly transform: string;
  /** The module's file, when there is one. */
  readonly file: string | undefined;
  /** Why it does not load, without the file name. */
  readonly reason: string;

  constructor(
    code: TransformLoadErrorCode,
    transform: string,
    file: string | undefined,
    reason: string,
    message: string,
  ) {
    super(message);
    this.code = code;
    this.transform = transform;
    this.file = file;
    this.reason = reason;
  }
}

/**
 * One attempt of an invocation failed as a whole: the transform threw (Lambda form), timed out,
 * ran out of memory or ended its worker, or a remote transform answered non-2xx, too much or
 * not at all. The host retries it, up to the processor's `NumberOfRetries`.
 */
export class InvocationError extends Error {
  override name = 'InvocationError';
}
