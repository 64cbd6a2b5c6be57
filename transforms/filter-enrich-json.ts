/**
 * Filter and enrich JSON log events.
 *
 * Input: one JSON object per record, e.g. `{"level":"WARNING","msg":"disk 91% full"}`.
 * Output: the same object with
 *   - `level` normalized to one of `trace debug info warn error fatal` (names such as `WARNING`,
 *     `err` or `critical`, and pino's numeric levels 10–60, are mapped; no level means `info`),
 *   - `receivedAt`: when Firehose (Sluice) received the record, as an ISO-8601 UTC time,
 * followed by a newline. Events at `trace` or `debug` level are dropped: they are counted as
 * dropped, never delivered, never errors. Anything that is not a JSON object fails, and goes
 * to the `processing-failed` error output with the reason.
 *
 * Wire it to a stream with `"LambdaArn": "sluice:transform:filter-enrich-json"`.
 */
import { defineTransform, dropped, failed } from 'sluice';

/** The levels kept in the output, lowest first. */
type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** Level names producers use, mapped to the normalized ones. */
const LEVEL_NAMES: Readonly<Record<string, Level>> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  information: 'info',
  notice: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  fatal: 'fatal',
  crit: 'fatal',
  critical: 'fatal',
  alert: 'fatal',
  emerg: 'fatal',
  emergency: 'fatal',
};

/** Levels whose events are not worth storing. */
const DROPPED_LEVELS: ReadonlySet<Level> = new Set<Level>(['trace', 'debug']);

/** pino and bunyan write levels as numbers: 10 trace, 20 debug, … 60 fatal. */
function levelOfNumber(value: number): Level | undefined {
  if (value >= 60) return 'fatal';
  if (value >= 50) return 'error';
  if (value >= 40) return 'warn';
  if (value >= 30) return 'info';
  if (value >= 20) return 'debug';
  if (value >= 10) return 'trace';
  return undefined;
}

/** The normalized level of `value`, `info` when absent, or `undefined` when unrecognised. */
function normalizeLevel(value: unknown): Level | undefined {
  if (value === undefined || value === null) return 'info';
  if (typeof value === 'number') return levelOfNumber(value);
  if (typeof value === 'string') return LEVEL_NAMES[value.trim().toLowerCase()];
  return undefined;
}

/** Drops trace/debug events, normalizes `level`, adds `receivedAt`; fails non-objects. */
export default defineTransform<unknown>({
  decode: 'json',
  record(event, context) {
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      return failed('expected a JSON object (one log event per record)');
    }
    const fields = event as Record<string, unknown>;
    const level = normalizeLevel(fields.level);
    if (level === undefined) {
      return failed(`unknown level ${JSON.stringify(fields.level)}`);
    }
    if (DROPPED_LEVELS.has(level)) return dropped();
    return {
      ...fields,
      level,
      receivedAt: new Date(context.approximateArrivalTimestamp).toISOString(),
    };
  },
});
