/**
 * The index a document goes to: `IndexName` plus the suffix of `IndexRotationPeriod`, from the
 * record's arrival time in UTC, exactly as Firehose names rotated indices (firehose-spec.md §6,
 * for an arrival at 2016-02-25T13:00:00Z):
 *
 * | Period       | Index                   |
 * | ------------ | ----------------------- |
 * | `NoRotation` | `myindex`               |
 * | `OneHour`    | `myindex-2016-02-25-13` |
 * | `OneDay`     | `myindex-2016-02-25`    |
 * | `OneWeek`    | `myindex-2016-w09`      |
 * | `OneMonth`   | `myindex-2016-02`       |
 *
 * Each record is named by its own arrival time, so a batch that spans a rotation boundary
 * writes to two indices.
 */

/** `IndexRotationPeriod` values, as the Firehose model lists them. */
export const INDEX_ROTATION_PERIODS = [
  'NoRotation',
  'OneHour',
  'OneDay',
  'OneWeek',
  'OneMonth',
] as const;

/** An `IndexRotationPeriod`. */
export type IndexRotationPeriod = (typeof INDEX_ROTATION_PERIODS)[number];

const DAY_MS = 86_400_000;

const pad2 = (n: number): string => String(n).padStart(2, '0');

/**
 * The week of `epochMs` by Firehose's US convention for `OneWeek`: weeks start on Sunday, and
 * week 1 of a year is the first week that contains a Saturday of that year — the week that
 * holds January 1st. The days of that week still in December belong to the new year's week 1,
 * so the year returned is the week's year (that of its Saturday), not always the calendar year.
 *
 * The developer guide's table shows `myindex-2016-w08` for 2016-02-25, which its own rule (and
 * Java's US week fields, which the rule describes) number week 9: Sluice follows the rule.
 */
export function usWeek(epochMs: number): { year: number; week: number } {
  const day = Math.floor(epochMs / DAY_MS);
  // 1970-01-01 was a Thursday: day 0 has weekday 4 (Sunday = 0).
  const weekday = (((day + 4) % 7) + 7) % 7;
  const sunday = day - weekday;
  const year = new Date((sunday + 6) * DAY_MS).getUTCFullYear();
  const january1 = Math.floor(Date.UTC(year, 0, 1) / DAY_MS);
  const firstSunday = january1 - ((((january1 + 4) % 7) + 7) % 7);
  return { year, week: (sunday - firstSunday) / 7 + 1 };
}

/** The suffix `period` appends for a record that arrived at `epochMs` (UTC). */
export function rotationSuffix(period: IndexRotationPeriod, epochMs: number): string {
  const at = new Date(epochMs);
  const year = String(at.getUTCFullYear()).padStart(4, '0');
  const month = pad2(at.getUTCMonth() + 1);
  const date = pad2(at.getUTCDate());
  switch (period) {
    case 'NoRotation':
      return '';
    case 'OneHour':
      return `-${year}-${month}-${date}-${pad2(at.getUTCHours())}`;
    case 'OneDay':
      return `-${year}-${month}-${date}`;
    case 'OneWeek': {
      const week = usWeek(epochMs);
      return `-${String(week.year).padStart(4, '0')}-w${pad2(week.week)}`;
    }
    case 'OneMonth':
      return `-${year}-${month}`;
  }
}

/** The index of a record that arrived at `arrivalMs`. */
export function indexNameFor(
  indexName: string,
  period: IndexRotationPeriod,
  arrivalMs: number,
): string {
  return indexName + rotationSuffix(period, arrivalMs);
}

/** The longest suffix a rotation adds (`-YYYY-MM-DD-HH`), for the index name's length check. */
export const MAX_ROTATION_SUFFIX_LENGTH = 14;
