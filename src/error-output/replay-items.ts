/**
 * What replay works on: items, each either one error-output object or one dead-lettered
 * batch of a stream, named by ids that say which: `error:<bucket>/<key>` and
 * `dead:<batchId>`.
 */
import type { ErrorOutputType } from './error-records.js';

/** An item's type: its error-output type, or `dead` for a dead-lettered batch. */
export type ReplayItemType = ErrorOutputType | 'dead';

/** One replayable item, as a selection lists it. */
export interface ReplayItem {
  /** `error:<bucket>/<key>` or `dead:<batchId>`. */
  id: string;
  source: 'error-output' | 'dead-batch';
  /** The stream whose records these are (the source stream). */
  stream: string;
  type: ReplayItemType;
  /** The batch the records came from. */
  batchId: string;
  records: number;
  /** When the object was written, or when the batch was dead-lettered (epoch ms). */
  atMs: number;
  /** Whether the item was replayed already (replaying it again sends nothing). */
  replayed: boolean;
}

/** An item id, read. */
export type ParsedItemId =
  | { source: 'error-output'; bucket: string; key: string }
  | { source: 'dead-batch'; batchId: string };

/** The id of an error-output object's item. */
export function errorItemId(bucket: string, key: string): string {
  return `error:${bucket}/${key}`;
}

/** The id of a dead batch's item. */
export function deadItemId(batchId: string): string {
  return `dead:${batchId}`;
}

/**
 * Reads an item id; a bucket name has no `/`, so the first one ends it.
 *
 * @returns undefined for anything that is not an item id.
 */
export function parseItemId(id: string): ParsedItemId | undefined {
  if (id.startsWith('error:')) {
    const rest = id.slice('error:'.length);
    const slash = rest.indexOf('/');
    if (slash <= 0 || slash === rest.length - 1) return undefined;
    return { source: 'error-output', bucket: rest.slice(0, slash), key: rest.slice(slash + 1) };
  }
  if (id.startsWith('dead:') && id.length > 'dead:'.length) {
    return { source: 'dead-batch', batchId: id.slice('dead:'.length) };
  }
  return undefined;
}
