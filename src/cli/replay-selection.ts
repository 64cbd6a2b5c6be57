import type { AdminClient, ReplayCandidate, ReplaySelectionQuery } from './admin-client.js';
import { CliError } from './cli-error.js';
import { formatCount, formatIso } from './format.js';

/**
 * The whole selection of a replay, read before anything is replayed (so the progress bar and a
 * dry run know the totals). The server caps one answer and says when it did (`truncated`); the
 * rest is asked for from the last item's time on. Items come oldest first, so every item before
 * that time was in the answer; those at that very time come again and are counted once, by id.
 * When a whole answer is one millisecond, that millisecond alone is asked for, and the next
 * answer starts after it.
 */

/** Most answers one replay reads: with the server's 1,000 items an answer, 100,000 items. */
const MAX_PAGES = 100;

/**
 * Every item `query` selects, oldest first.
 *
 * @throws CliError when the selection cannot be continued (more items in one millisecond than
 *   one answer holds, or a capped answer without items) or is longer than {@link MAX_PAGES}
 *   answers; the message says how to narrow it.
 */
export async function selectAll(
  client: AdminClient,
  query: ReplaySelectionQuery,
): Promise<ReplayCandidate[]> {
  const items: ReplayCandidate[] = [];
  const seen = new Set<string>();
  const add = (answer: readonly ReplayCandidate[]) => {
    for (const item of answer) {
      if (seen.has(item.id)) continue;
      seen.add(item.id);
      items.push(item);
    }
  };
  let sinceMs = query.sinceMs;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const answer = await client.selectForReplay({ ...query, sinceMs });
    add(answer.items);
    if (!answer.truncated) return items;
    const lastMs = answer.items.at(-1)?.atMs;
    if (lastMs === undefined) {
      throw new CliError(
        `the server cut the selection short at ${timeText(sinceMs)} without returning items, so it cannot be continued; narrow it with --type, --since or --until`,
      );
    }
    if (sinceMs === undefined || lastMs > sinceMs) {
      sinceMs = lastMs;
      continue;
    }
    const oneMs = await client.selectForReplay({ ...query, sinceMs, untilMs: sinceMs });
    add(oneMs.items);
    if (oneMs.truncated) {
      throw new CliError(
        `more items have the time ${timeText(sinceMs)} than the server returns in one answer, so the selection cannot be continued past it; narrow it with --type`,
      );
    }
    sinceMs += 1;
    if (query.untilMs !== undefined && sinceMs > query.untilMs) return items;
  }
  throw new CliError(
    `the selection is longer than ${formatCount(MAX_PAGES)} answers (${formatCount(items.length)} items read); replay it in parts with --since and --until`,
  );
}

function timeText(ms: number | undefined): string {
  return ms === undefined ? 'the start' : formatIso(ms);
}
