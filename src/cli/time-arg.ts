import { UsageError } from './cli-error.js';

/**
 * Times on the command line (`--since`, `--until`): ISO-8601, epoch milliseconds, or an age such
 * as `2h` meaning that long before now. Each is checked strictly, because a mistyped time that
 * parsed as something else would select the wrong records to replay.
 */

/** What the time options accept, for help texts and error messages. */
export const TIME_FORMS =
  'ISO-8601 (2024-05-01T12:00:00Z; without an offset it is UTC), epoch milliseconds (1714564800000), or an age such as 30m, 2h, 7d (that long ago; units s, m, h, d, w)';

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const AGE = /^(\d+)([smhdw])$/;
const EPOCH_MS = /^\d+$/;
/** Epoch seconds have at most 10 digits until the year 2286; epoch milliseconds today have 13. */
const MAX_EPOCH_SECONDS_DIGITS = 10;
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * `text` as epoch milliseconds.
 *
 * @param option - how messages name the value, such as `--since`.
 * @param nowMs - the "now" ages count back from.
 * @throws UsageError naming the option, the value and the accepted forms.
 */
export function parseTimeArg(text: string, option: string, nowMs: number): number {
  const value = text.trim();
  const age = AGE.exec(value);
  if (age !== null) {
    const ms = Number(age[1]) * (UNIT_MS[age[2] ?? ''] ?? 0);
    if (!Number.isSafeInteger(ms) || ms > nowMs) {
      throw new UsageError(`${option} ${value} reaches back before 1970`);
    }
    return nowMs - ms;
  }
  if (EPOCH_MS.test(value)) {
    if (value.length <= MAX_EPOCH_SECONDS_DIGITS) {
      throw new UsageError(
        `${option} ${value} looks like epoch seconds; give epoch milliseconds (${value}000) or ISO-8601`,
      );
    }
    const ms = Number(value);
    if (!Number.isSafeInteger(ms) || Number.isNaN(new Date(ms).getTime())) {
      throw new UsageError(`${option} ${value} is too far in the future to be a time`);
    }
    return ms;
  }
  const iso = ISO.exec(value);
  if (iso !== null) return isoToMs(iso, option, value);
  throw new UsageError(`${option} ${JSON.stringify(value)} is not a time: give ${TIME_FORMS}`);
}

/** The instant of a matched ISO-8601 text; rejects dates that do not exist (February 30). */
function isoToMs(match: RegExpExecArray, option: string, text: string): number {
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone = 'Z'] = match;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const wallMs = Date.UTC(
    year,
    month - 1,
    day,
    hour,
    minute,
    second,
    Number(fraction.padEnd(3, '0').slice(0, 3)),
  );
  const wall = new Date(wallMs);
  // Date.UTC rolls over out-of-range fields (Feb 30 → Mar 1); a round trip catches that.
  if (
    wall.getUTCFullYear() !== year ||
    wall.getUTCMonth() !== month - 1 ||
    wall.getUTCDate() !== day ||
    wall.getUTCHours() !== hour ||
    wall.getUTCMinutes() !== minute ||
    wall.getUTCSeconds() !== second
  ) {
    throw new UsageError(`${option} ${text} is not a valid date and time`);
  }
  if (zone.toUpperCase() === 'Z') return wallMs;
  const offset = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  const offsetHours = Number(offset?.[2]);
  const offsetMinutes = Number(offset?.[3]);
  if (offset === null || offsetHours > 23 || offsetMinutes > 59) {
    throw new UsageError(`${option} ${text} has an invalid UTC offset ${zone}`);
  }
  const sign = offset[1] === '-' ? -1 : 1;
  // 12:00+02:00 is 10:00 UTC: the offset is subtracted.
  return wallMs - sign * (offsetHours * 60 + offsetMinutes) * 60_000;
}
