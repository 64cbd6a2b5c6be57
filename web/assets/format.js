/** How the console writes numbers, sizes and times. */

const numbers = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const rates = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const precise = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 3 });

/** A count: 1,234. */
export function count(value) {
  return numbers.format(value);
}

/** A rate or a small measure: 12.3; null as a dash. */
export function rate(value) {
  if (value === null || value === undefined) return '–';
  return value !== 0 && Math.abs(value) < 1 ? precise.format(value) : rates.format(value);
}

/** Bytes in binary units: 1.5 MiB. */
export function bytes(value) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let scaled = value;
  let unit = 0;
  while (Math.abs(scaled) >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? count(scaled) : rates.format(scaled)} ${units[unit]}`;
}

/** A short number for an axis: 1.2k, 3.4M. */
export function short(value) {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${precise.format(value / 1e9)}G`;
  if (abs >= 1e6) return `${precise.format(value / 1e6)}M`;
  if (abs >= 1e3) return `${precise.format(value / 1e3)}k`;
  return precise.format(value);
}

/** An epoch-ms time as the reader's local date and time. */
export function time(ms) {
  return new Date(ms).toLocaleString();
}

/** An epoch-ms time as the reader's local hours and minutes. */
export function clock(ms) {
  return new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/**
 * A record's preview as shown: JSON indented when it is whole, text as is, else base64.
 *
 * @param {{ encoding: string, preview: string, truncated: boolean }} record
 */
export function previewText(record) {
  if (record.encoding === 'json' && !record.truncated) {
    try {
      return JSON.stringify(JSON.parse(record.preview), null, 2);
    } catch {
      return record.preview;
    }
  }
  return record.preview;
}

/** What a preview's encoding says to a reader. */
export function encodingLabel(record) {
  const what =
    record.encoding === 'json' ? 'JSON' : record.encoding === 'text' ? 'text' : 'binary, base64';
  return record.truncated ? `${what}, first 4 KiB` : what;
}

/**
 * An element with text (never HTML: record data and names are shown as text).
 *
 * @param {string} tag
 * @param {string} [text]
 * @param {string} [className]
 */
export function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className !== undefined) node.className = className;
  return node;
}
