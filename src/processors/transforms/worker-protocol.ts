/**
 * The messages between the main thread and a transform worker. The worker pool wraps each in an
 * envelope with the task's id; one task runs in a worker at a time.
 */

/** Run the transform in `file` over the packed records (transferred). */
export interface InvokeRequest {
  file: string;
  /** `record-packing.ts` inputs; with no records the transform is only loaded. */
  packed: ArrayBuffer;
  streamName: string;
  streamArn: string;
  region: string;
}

/** What the worker answers. */
export type InvokeReply =
  /**
   * The outcomes, packed (transferred); `loadMs` when this task loaded the module; `spare`, the
   * request's buffer handed back for reuse when the transform was never given a view of it.
   */
  | { type: 'result'; packed: ArrayBuffer; loadMs: number | undefined; spare?: ArrayBuffer }
  /** The module does not load, or its default export is no transform: why. */
  | { type: 'load-error'; reason: string }
  /** A Lambda-form handler threw or rejected: the error, as text. */
  | { type: 'invocation-error'; error: string };
