import { isUtf8 } from 'node:buffer';
import { JSON_CHECK_MAX_BYTES, PREVIEW_BYTES } from './tail-limits.js';

/** How a preview shows a record's data. */
export type PreviewEncoding = 'json' | 'text' | 'base64';

/** What a tail shows of one record's data. */
export interface RecordPreview {
  /**
   * `json` when the whole record parses as JSON, `text` when it is valid UTF-8 without control
   * characters (tab, line feed and carriage return allowed), `base64` otherwise.
   */
  encoding: PreviewEncoding;
  /** The first {@link PREVIEW_BYTES} bytes of the data: as text for `json`/`text`, else base64. */
  preview: string;
  /** The record is longer than the preview shows. */
  truncated: boolean;
}

/**
 * C0 controls but tab, line feed and carriage return; DEL; C1 controls. Text holding any of
 * them would garble a terminal, so such a record is shown as base64.
 */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/**
 * The preview of `data`: JSON when the whole record parses as JSON (checked for records up to
 * {@link JSON_CHECK_MAX_BYTES}), else UTF-8 text when it is valid and printable, else base64;
 * at most {@link PREVIEW_BYTES} bytes of the data in each case. Text is cut at a character
 * boundary, so a cut never makes a replacement character.
 */
export function previewRecord(data: Buffer): RecordPreview {
  const truncated = data.length > PREVIEW_BYTES;
  if (isUtf8(data)) {
    const shown = truncated ? data.subarray(0, utf8Boundary(data, PREVIEW_BYTES)) : data;
    const text = shown.toString('utf8');
    if (!CONTROL_CHARACTERS.test(text)) {
      return { encoding: isJson(data) ? 'json' : 'text', preview: text, truncated };
    }
  }
  const shown = truncated ? data.subarray(0, PREVIEW_BYTES) : data;
  return { encoding: 'base64', preview: shown.toString('base64'), truncated };
}

/** Whether all of `data` (valid UTF-8) is one JSON value, for records small enough to parse. */
function isJson(data: Buffer): boolean {
  if (data.length > JSON_CHECK_MAX_BYTES) return false;
  try {
    JSON.parse(data.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/**
 * The largest length up to `limit` that ends `data` (valid UTF-8) between characters: a UTF-8
 * continuation byte (10xxxxxx) never starts a character.
 */
function utf8Boundary(data: Buffer, limit: number): number {
  let end = limit;
  while (end > 0 && ((data[end] as number) & 0xc0) === 0x80) end -= 1;
  return end;
}
