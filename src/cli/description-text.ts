import { formatIso } from './format.js';

/**
 * A `DeliveryStreamDescription` as indented `Key: value` lines, nested members indented under
 * their key and list items marked `-`, so every setting of a stream reads at a glance without
 * a JSON viewer. Firehose's timestamps (epoch seconds) are shown as ISO-8601 UTC.
 */

/** Members whose numbers are epoch seconds. */
const TIMESTAMPS = new Set(['CreateTimestamp', 'LastUpdateTimestamp']);

/** The lines of `value` at `depth` (two spaces a level). */
export function renderDescription(value: Record<string, unknown>, depth = 0): string {
  return lines(value, depth).join('\n') + '\n';
}

function lines(value: Record<string, unknown>, depth: number): string[] {
  const indent = '  '.repeat(depth);
  const out: string[] = [];
  for (const [key, member] of Object.entries(value)) {
    if (member !== null && typeof member === 'object') {
      if (Array.isArray(member)) {
        if (member.length === 0) {
          out.push(`${indent}${key}: (none)`);
          continue;
        }
        out.push(`${indent}${key}:`);
        for (const item of member) out.push(...listItem(item, depth + 1));
      } else {
        out.push(`${indent}${key}:`, ...lines(member as Record<string, unknown>, depth + 1));
      }
      continue;
    }
    const shown =
      TIMESTAMPS.has(key) && typeof member === 'number' ? formatIso(member * 1000) : scalar(member);
    out.push(`${indent}${key}: ${shown}`);
  }
  return out;
}

function listItem(item: unknown, depth: number): string[] {
  const indent = '  '.repeat(depth);
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    return [`${indent}- ${scalar(item)}`];
  }
  const [first = '', ...rest] = lines(item as Record<string, unknown>, depth + 1);
  return [`${indent}- ${first.trimStart()}`, ...rest];
}

function scalar(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
