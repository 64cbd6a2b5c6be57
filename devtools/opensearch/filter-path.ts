import { isObject } from './mapping.js';

/**
 * OpenSearch's `filter_path` response filtering: a comma list of dotted paths whose segments
 * may hold `*` (any characters within one name) or be `**` (any depth); arrays are looked
 * through, and what no path reaches is left out.
 */
export function filterPath(value: unknown, filter: string): unknown {
  const patterns = filter
    .split(',')
    .map((path) => path.trim())
    .filter((path) => path !== '')
    .map((path) => path.split('.').map(segmentMatcher));
  const kept = filterValue(value, patterns);
  return kept === undefined ? {} : kept;
}

type Segment = { anyDepth: true } | { anyDepth: false; test: (name: string) => boolean };

function segmentMatcher(segment: string): Segment {
  if (segment === '**') return { anyDepth: true };
  if (!segment.includes('*')) return { anyDepth: false, test: (name) => name === segment };
  const regex = new RegExp(
    `^${segment
      .split('*')
      .map((piece) => piece.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return { anyDepth: false, test: (name) => regex.test(name) };
}

/** The part of `value` the remaining `patterns` keep; undefined when none reaches into it. */
function filterValue(value: unknown, patterns: Segment[][]): unknown {
  if (patterns.some((pattern) => pattern.length === 0)) return value;
  if (Array.isArray(value)) {
    const kept = value
      .map((element) => filterValue(element, patterns))
      .filter((element) => element !== undefined);
    return kept.length === 0 ? undefined : kept;
  }
  if (!isObject(value)) return undefined;
  const result: Record<string, unknown> = {};
  for (const [name, member] of Object.entries(value)) {
    const next: Segment[][] = [];
    for (const pattern of patterns) {
      const [head, ...rest] = pattern;
      if (head === undefined) continue;
      if (head.anyDepth) {
        // `**` matches zero names (try the rest here) or this one (keep `**` for below).
        const [after, ...afterRest] = rest;
        if (after === undefined) next.push([]);
        else if (!after.anyDepth && after.test(name)) next.push(afterRest);
        next.push(pattern);
      } else if (head.test(name)) {
        next.push(rest);
      }
    }
    if (next.length === 0) continue;
    const kept = filterValue(member, next);
    if (kept !== undefined) result[name] = kept;
  }
  return Object.keys(result).length === 0 ? undefined : result;
}
