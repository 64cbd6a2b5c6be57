import { describe, expect, it } from 'vitest';
import { basicCredentialsMatch } from '../../src/console/console-auth.js';
import {
  decodeSample,
  encodeSample,
  sampleFromReading,
  type HistorySample,
} from '../../src/console/history-sample.js';
import { historyPoints } from '../../src/console/history-series.js';
import { counterField, DURABLE, histogramFields } from '../../src/telemetry/durable-families.js';

/** The console's pure parts: history samples, the points charted from them, the sign-in. */

function sample(at: number, counts: Partial<HistorySample> = {}): HistorySample {
  return {
    at,
    incomingRecords: 0,
    incomingBytes: 0,
    deliveredRecords: 0,
    deliveredBytes: 0,
    backlogRecords: 0,
    backlogBytes: 0,
    freshnessCount: 0,
    freshnessSumMs: 0,
    ...counts,
  };
}

describe('history samples', () => {
  it('are read from the durable counters and the stats hash', () => {
    const freshS3 = histogramFields(DURABLE.deliveryFreshness, ['S3'], 3);
    const freshSlow = histogramFields(DURABLE.deliveryFreshness, ['S3'], 100);
    const read = sampleFromReading(
      1_000,
      {
        [counterField(DURABLE.incomingRecords)]: '10',
        [counterField(DURABLE.incomingBytes)]: '200',
        [counterField(DURABLE.deliveryRecords, ['S3'])]: '7',
        [counterField(DURABLE.deliveryRecords, ['HttpEndpoint'])]: '1',
        [counterField(DURABLE.deliveryBytes, ['S3'])]: '150',
        [freshS3.bucket]: '2',
        [freshSlow.bucket]: '1',
        [freshS3.sumMs]: '7000',
        [counterField(DURABLE.throttledRecords)]: '99',
        'not a field': '5',
      },
      ['3', null],
    );
    expect(read).toEqual(
      sample(1_000, {
        incomingRecords: 10,
        incomingBytes: 200,
        deliveredRecords: 8,
        deliveredBytes: 150,
        backlogRecords: 3,
        freshnessCount: 3,
        freshnessSumMs: 7000,
      }),
    );
  });

  it('round-trip through their stored text, and refuse anything else', () => {
    const original = sample(1_764_756_000_123, {
      incomingRecords: 123_456_789,
      incomingBytes: 2 ** 40,
      freshnessSumMs: 5,
    });
    const text = encodeSample(original);
    expect(text.length).toBeLessThan(80);
    expect(decodeSample(text)).toEqual(original);
    expect(decodeSample('')).toBeUndefined();
    expect(decodeSample('1 2 3')).toBeUndefined();
    expect(decodeSample('a b c d e f g h -1')).toBeUndefined();
  });
});

describe('history points', () => {
  it('are rates between samples and gauges at each', () => {
    const points = historyPoints(
      [
        sample(0, { incomingRecords: 0, backlogRecords: 0 }),
        sample(10_000, { incomingRecords: 100, incomingBytes: 1000, backlogRecords: 40 }),
        sample(20_000, {
          incomingRecords: 100,
          incomingBytes: 1000,
          deliveredRecords: 100,
          backlogRecords: 0,
          freshnessCount: 2,
          freshnessSumMs: 3000,
        }),
      ],
      10_000,
    );
    expect(points).toEqual([
      {
        at: 10_000,
        incomingRecordsPerSecond: 10,
        incomingBytesPerSecond: 100,
        deliveredRecordsPerSecond: 0,
        deliveredBytesPerSecond: 0,
        backlogRecords: 40,
        backlogBytes: 0,
        freshnessSeconds: null,
      },
      {
        at: 20_000,
        incomingRecordsPerSecond: 0,
        incomingBytesPerSecond: 0,
        deliveredRecordsPerSecond: 10,
        deliveredBytesPerSecond: 0,
        backlogRecords: 0,
        backlogBytes: 0,
        freshnessSeconds: 1.5,
      },
    ]);
  });

  it('put the change after a gap into its last interval, and count a reset from zero', () => {
    // Unchanged streams are not sampled: 60 s without a sample, then 60 records.
    const points = historyPoints(
      [sample(0, { incomingRecords: 40 }), sample(60_000, { incomingRecords: 100 })],
      10_000,
    );
    expect(points.map((p) => [p.at, p.incomingRecordsPerSecond])).toEqual([
      [50_000, 0],
      [60_000, 6],
    ]);
    const reset = historyPoints(
      [sample(0, { incomingRecords: 500 }), sample(10_000, { incomingRecords: 20 })],
      10_000,
    );
    expect(reset[0]?.incomingRecordsPerSecond).toBe(2);
  });
});

describe('the console sign-in', () => {
  const keys = new Map([['AKIDCONSOLE', 's3cr3t:with-colon']]);
  const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;

  it('accepts an access key id and its secret', () => {
    expect(basicCredentialsMatch(basic('AKIDCONSOLE:s3cr3t:with-colon'), keys)).toBe(true);
    expect(
      basicCredentialsMatch(`basic ${basic('AKIDCONSOLE:s3cr3t:with-colon').slice(6)}`, keys),
    ).toBe(true);
  });

  it('refuses everything else', () => {
    for (const header of [
      undefined,
      '',
      basic('AKIDCONSOLE:wrong'),
      basic('AKIDCONSOLE:s3cr3t:with-colo'),
      basic('AKIDOTHER:s3cr3t:with-colon'),
      basic(':s3cr3t:with-colon'),
      basic('AKIDCONSOLE'),
      'Bearer abc',
      `Basic ${'A'.repeat(2000)}`,
    ]) {
      expect(basicCredentialsMatch(header, keys), String(header)).toBe(false);
    }
    expect(basicCredentialsMatch(basic('AKIDCONSOLE:s3cr3t:with-colon'), new Map())).toBe(false);
  });
});
