import { describe, it, expect } from 'vitest';

import {
  compileTimestampPattern,
  isValidTimeZone,
} from '../../src/destinations/s3/timestamp-format.js';

// Tuesday 2019-10-01 09:20:18.123 UTC, day 274 of the year.
const T = Date.UTC(2019, 9, 1, 9, 20, 18, 123);

function format(pattern: string, epochMs = T, timeZone = 'UTC'): string {
  return compileTimestampPattern(pattern)(epochMs, timeZone);
}

function utcYear(year: number, month = 0, day = 1): number {
  // setUTCFullYear keeps years 0–99 and negative years literal, unlike Date.UTC.
  const d = new Date(0);
  d.setUTCFullYear(year, month, day);
  return d.getTime();
}

describe('compileTimestampPattern: fields', () => {
  it('formats the default Firehose date path', () => {
    expect(format('yyyy/MM/dd/HH/')).toBe('2019/10/01/09/');
  });

  it('formats years', () => {
    expect(format('yyyy')).toBe('2019');
    expect(format('yy')).toBe('19');
    expect(format('y')).toBe('2019');
    expect(format('uuuu')).toBe('2019');
    expect(format('uu')).toBe('19');
    expect(format('yy', utcYear(2005))).toBe('05');
    expect(format('yyyyyy')).toBe('002019');
  });

  it('follows Java sign rules outside years 1-9999', () => {
    expect(format('yyyy', utcYear(10000))).toBe('+10000');
    expect(format('yyy', utcYear(10000))).toBe('10000');
    expect(format('yyyy', utcYear(999))).toBe('0999');
    // Year 0 is 1 BC: year-of-era 1, proleptic year 0.
    expect(format('yyyy', utcYear(0))).toBe('0001');
    expect(format('uuuu', utcYear(0))).toBe('0000');
    expect(format('uuuu', utcYear(-5))).toBe('-0005');
    expect(format('u', utcYear(-5))).toBe('-5');
    expect(format('yyyy', utcYear(-5))).toBe('0006');
  });

  it('formats months as numbers and English names', () => {
    expect(format('M')).toBe('10');
    expect(format('MM')).toBe('10');
    expect(format('MMM')).toBe('Oct');
    expect(format('MMMM')).toBe('October');
    expect(format('MMMMM')).toBe('O');
    expect(format('LLL')).toBe('Oct');
    expect(format('LLLL')).toBe('October');
    const march5 = Date.UTC(2026, 2, 5);
    expect(format('M', march5)).toBe('3');
    expect(format('MM', march5)).toBe('03');
    expect(format('MMM', march5)).toBe('Mar');
    expect(format('MMMM', Date.UTC(2026, 8, 1))).toBe('September');
    expect(format('MMM', Date.UTC(2026, 4, 1))).toBe('May');
  });

  it('formats day of month and day of year', () => {
    const jan5 = Date.UTC(2026, 0, 5);
    expect(format('d', jan5)).toBe('5');
    expect(format('dd', jan5)).toBe('05');
    expect(format('D', jan5)).toBe('5');
    expect(format('DD', jan5)).toBe('05');
    expect(format('DDD', jan5)).toBe('005');
    expect(format('D')).toBe('274');
    expect(format('D', Date.UTC(2024, 11, 31))).toBe('366');
    expect(format('D', Date.UTC(2025, 11, 31))).toBe('365');
  });

  it('formats the four hour fields and AM/PM', () => {
    const at = (h: number): number => Date.UTC(2026, 0, 1, h, 5);
    expect(format('H', at(9))).toBe('9');
    expect(format('HH', at(9))).toBe('09');
    expect(format('HH', at(0))).toBe('00');
    expect(format('h a', at(0))).toBe('12 AM');
    expect(format('hh a', at(9))).toBe('09 AM');
    expect(format('h a', at(12))).toBe('12 PM');
    expect(format('h a', at(21))).toBe('9 PM');
    expect(format('k', at(0))).toBe('24');
    expect(format('kk', at(7))).toBe('07');
    expect(format('K', at(12))).toBe('0');
    expect(format('KK', at(23))).toBe('11');
  });

  it('formats minutes, seconds and fractions of a second', () => {
    expect(format('mm:ss')).toBe('20:18');
    expect(format('m:s', Date.UTC(2026, 0, 1, 0, 5, 7))).toBe('5:7');
    expect(format('SSS')).toBe('123');
    expect(format('S')).toBe('1');
    expect(format('SS')).toBe('12');
    expect(format('SSSSSS')).toBe('123000');
    expect(format('SSSSSSSSS')).toBe('123000000');
    expect(format('SSS', Date.UTC(2026, 0, 1, 0, 0, 0, 7))).toBe('007');
    // Fractions truncate, they do not round.
    expect(format('S', Date.UTC(2026, 0, 1, 0, 0, 0, 999))).toBe('9');
  });

  it('formats day-of-week names', () => {
    expect(format('E')).toBe('Tue');
    expect(format('EEE')).toBe('Tue');
    expect(format('EEEE')).toBe('Tuesday');
    expect(format('EEEEE')).toBe('T');
    expect(format('EEEE', Date.UTC(2026, 6, 12))).toBe('Sunday');
    expect(format('EEEE', Date.UTC(2026, 6, 13))).toBe('Monday');
  });

  it('reads instants before the epoch correctly', () => {
    expect(format('yyyy-MM-dd HH:mm:ss.SSS', Date.UTC(1969, 11, 31, 23, 59, 59, 999))).toBe(
      '1969-12-31 23:59:59.999',
    );
  });

  it('ignores sub-millisecond digits', () => {
    expect(format('ss.SSS', T + 0.9)).toBe('18.123');
  });
});

describe('compileTimestampPattern: literals', () => {
  it('copies non-letter characters', () => {
    expect(format('yyyy-MM-dd_HH=mm.ss /')).toBe('2019-10-01_09=20.18 /');
  });

  it('copies quoted text, letters included', () => {
    expect(format("yyyy'-'MM")).toBe('2019-10');
    expect(format("'year='yyyy")).toBe('year=2019');
    expect(format("'T'HH")).toBe('T09');
    expect(format("'year='yyyy'/month='MM'/day='dd'/hour='HH")).toBe(
      'year=2019/month=10/day=01/hour=09',
    );
  });

  it("treats '' as one single quote, inside and outside quoted text", () => {
    expect(format("''")).toBe("'");
    expect(format("yyyy''MM")).toBe("2019'10");
    expect(format("'o''clock'")).toBe("o'clock");
    expect(format("'it''s' HH")).toBe("it's 09");
  });

  it('copies non-ASCII letters, which Java does not treat as pattern letters', () => {
    expect(format('yyyyé')).toBe('2019é');
  });

  it('prints optional sections, since every field is always available', () => {
    expect(format('yyyy[-MM[-dd]]')).toBe('2019-10-01');
    expect(format('yyyy[-MM')).toBe('2019-10');
  });

  it('formats an empty pattern as an empty string', () => {
    expect(format('')).toBe('');
  });
});

describe('compileTimestampPattern: invalid patterns', () => {
  it('rejects unsupported letters, naming the letter and its position', () => {
    expect(() => compileTimestampPattern('yyyyQ')).toThrow(
      /^Unsupported pattern letter 'Q' at position 4 in timestamp pattern "yyyyQ"/,
    );
    expect(() => compileTimestampPattern('YYYY')).toThrow(/'Y' at position 0/);
    expect(() => compileTimestampPattern('HH:mm z')).toThrow(/'z' at position 6/);
    expect(() => compileTimestampPattern('yyyyMMddTHH')).toThrow(/'T' at position 8/);
  });

  it('rejects more letters than Java allows', () => {
    expect(() => compileTimestampPattern('ddd')).toThrow(
      /^Too many pattern letters 'ddd' at position 0 in timestamp pattern "ddd"; 'd' may be repeated at most 2 times/,
    );
    expect(() => compileTimestampPattern('yyyy/HHH')).toThrow(/'HHH' at position 5/);
    expect(() => compileTimestampPattern('MMMMMM')).toThrow(/'MMMMMM'.*at most 5/);
    expect(() => compileTimestampPattern('DDDD')).toThrow(/'DDDD'.*at most 3/);
    expect(() => compileTimestampPattern('aa')).toThrow(/'aa'.*at most 1 time$/);
    expect(() => compileTimestampPattern('S'.repeat(10))).toThrow(/at most 9/);
    expect(() => compileTimestampPattern('EEEEEE')).toThrow(/at most 5/);
    expect(() => compileTimestampPattern('y'.repeat(20))).toThrow(/at most 19/);
    expect(() => compileTimestampPattern('y'.repeat(19))).not.toThrow();
  });

  it('rejects an unterminated quote, naming where it starts', () => {
    expect(() => compileTimestampPattern("yyyy'abc")).toThrow(
      /^Unterminated quoted literal starting at position 4 in timestamp pattern "yyyy'abc"$/,
    );
    expect(() => compileTimestampPattern("'")).toThrow(/position 0/);
    expect(() => compileTimestampPattern("'it''s")).toThrow(/position 0/);
  });

  it('rejects reserved characters and an unmatched ]', () => {
    expect(() => compileTimestampPattern('yyyy#')).toThrow(/Reserved character '#' at position 4/);
    expect(() => compileTimestampPattern('{yyyy')).toThrow(/Reserved character '\{' at position 0/);
    expect(() => compileTimestampPattern('yyyy]')).toThrow(/Unmatched '\]' at position 4/);
    expect(format("'#{}]'")).toBe('#{}]');
  });
});

describe('compileTimestampPattern: time zones', () => {
  const pattern = 'yyyy/MM/dd/HH:mm';

  it('moves the date forward in Asia/Tokyo for a batch at 23:30 UTC', () => {
    const at = Date.UTC(2026, 6, 13, 23, 30);
    expect(format(pattern, at, 'UTC')).toBe('2026/07/13/23:30');
    expect(format(pattern, at, 'Asia/Tokyo')).toBe('2026/07/14/08:30');
    expect(format('EEEE D', at, 'Asia/Tokyo')).toBe('Tuesday 195');
  });

  it('moves the year forward across New Year', () => {
    const at = Date.UTC(2025, 11, 31, 23, 30);
    expect(format('yyyy-MM-dd D', at, 'Asia/Tokyo')).toBe('2026-01-01 1');
    expect(format('yyyy-MM-dd D', at, 'UTC')).toBe('2025-12-31 365');
  });

  it('moves the date back west of UTC', () => {
    expect(format(pattern, Date.UTC(2026, 0, 1, 3), 'America/Los_Angeles')).toBe(
      '2025/12/31/19:00',
    );
  });

  it('handles half-hour offsets', () => {
    expect(format(pattern, Date.UTC(2026, 0, 1, 20, 0), 'Asia/Kolkata')).toBe('2026/01/02/01:30');
  });

  it('skips the missing hour when DST starts (America/New_York, 2026-03-08)', () => {
    const zone = 'America/New_York';
    expect(format('HH:mm:ss.SSS', Date.UTC(2026, 2, 8, 6, 59, 59, 999), zone)).toBe('01:59:59.999');
    expect(format('HH:mm:ss.SSS', Date.UTC(2026, 2, 8, 7, 0, 0, 0), zone)).toBe('03:00:00.000');
  });

  it('repeats the hour when DST ends (America/New_York, 2026-11-01)', () => {
    const zone = 'America/New_York';
    expect(format('dd HH:mm a', Date.UTC(2026, 10, 1, 5, 30), zone)).toBe('01 01:30 AM');
    expect(format('dd HH:mm a', Date.UTC(2026, 10, 1, 6, 30), zone)).toBe('01 01:30 AM');
    expect(format('dd HH:mm', Date.UTC(2026, 10, 1, 7, 30), zone)).toBe('01 02:30');
  });

  it('reads midnight as hour 0 in a zone', () => {
    expect(format('HH k', Date.UTC(2026, 6, 13, 15, 0), 'Asia/Tokyo')).toBe('00 24');
  });

  it('handles years before 1 AD in a zone', () => {
    expect(format('uuuu-MM-dd HH', utcYear(-5, 5, 15), 'Asia/Tokyo')).toBe('-0005-06-15 09');
  });

  it('rejects instants that are not finite numbers', () => {
    const f = compileTimestampPattern('yyyy');
    expect(() => f(Number.NaN, 'UTC')).toThrow(RangeError);
    expect(() => f(Number.POSITIVE_INFINITY, 'Asia/Tokyo')).toThrow(RangeError);
  });

  it('throws for an unknown zone at format time', () => {
    expect(() => format('yyyy', T, 'Mars/Olympus_Mons')).toThrow(RangeError);
  });
});

describe('isValidTimeZone', () => {
  it('accepts IANA names and links', () => {
    for (const tz of ['UTC', 'Asia/Tokyo', 'America/New_York', 'Europe/London', 'US/Eastern']) {
      expect(isValidTimeZone(tz), tz).toBe(true);
    }
  });

  it('rejects unknown names, empty strings and fixed offsets', () => {
    for (const tz of ['', 'Mars/Olympus_Mons', 'Asia/Tokio', '+09:00', '-05:00', 'not a zone']) {
      expect(isValidTimeZone(tz), tz).toBe(false);
    }
  });
});
