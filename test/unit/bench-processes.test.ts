import { describe, expect, it } from 'vitest';

import type { CeilingResult } from '../../bench/ceiling-phase.js';
import type { PacedDeliveryFigures } from '../../bench/paced-delivery.js';
import { deliveredMeets, overran, pacedLines } from '../../bench/paced-report.js';
import {
  longestDeliveryGapS,
  type PacedOutcome,
  type ProcessesResult,
  type ProcessesSide,
} from '../../bench/processes-phase.js';
import {
  deliveryKeptUp,
  processesSection,
  processesSummaryRows,
  ratio,
} from '../../bench/processes-report.js';
import type { StreamStatsSample } from '../../bench/stream-stats.js';
import type { ThroughputFigures } from '../../bench/throughput.js';

function throughput(mibS: number, p99 = 50): ThroughputFigures {
  return {
    durationS: 20,
    requests: 1000,
    requestsPerS: 50,
    mibS,
    recordsPerS: 1000,
    acceptedRecords: 20_000,
    failedRecords: 0,
    errors: {},
    latencyP50Ms: p99 / 2,
    latencyP99Ms: p99,
  };
}

function side(setting: '1' | 'auto', over: Partial<ProcessesSide> = {}): ProcessesSide {
  return {
    setting,
    roles: setting === '1' ? ['all'] : ['worker', 'api'],
    ingest: throughput(80),
    deliveredDuringLoadMibS: 30,
    backlogGrowthMibS: 50,
    longestDeliveryGapS: 2,
    endToEndMibS: 45,
    drainS: 15,
    cpuShare: { api: 0.9 },
    rssMaxMib: { api: 200 },
    problems: [],
    ...over,
  };
}

function paced(over: Partial<PacedDeliveryFigures> = {}): PacedDeliveryFigures {
  return {
    targetMibS: 60,
    sentMibS: 60,
    lateStarts: 0,
    throughput: throughput(59.9, 15),
    allowanceS: 7,
    deliveredMibS: 60,
    backlog: { startMib: 0, endMib: 64, maxMib: 128, slopeMibS: 0.5, growing: false },
    freshness: {
      p50Ms: 3000,
      p99Ms: 6000,
      maxMs: 6500,
      deliveredRecords: 100,
      undeliveredRecords: 0,
    },
    counterReadFailures: 0,
    drainedAfterS: 4,
    acceptedRecords: 100,
    deliveredRecords: 100,
    deliveredMib: 1800,
    deadRecords: 0,
    ...over,
  };
}

function ok(figures: PacedDeliveryFigures): PacedOutcome {
  return {
    status: 'ok',
    value: { roles: ['worker', 'api'], figures, cpuShare: {}, rssMaxMib: {}, problems: [] },
  };
}

function result(over: Partial<ProcessesResult> = {}): ProcessesResult {
  return {
    cores: 2,
    single: side('1', { ingest: throughput(100), deliveredDuringLoadMibS: 6, endToEndMibS: 40 }),
    auto: side('auto'),
    halfLoad: ok(paced({ targetMibS: 40, sentMibS: 40, throughput: throughput(40, 18) })),
    sustained: ok(paced()),
    ...over,
  };
}

const ceiling: CeilingResult = { throughput: throughput(100), cpuShare: {} };

function sample(atMs: number, deliveredMib: number): StreamStatsSample {
  return {
    atMs,
    backlogBytes: 0,
    backlogRecords: 0,
    deliveredRecords: 0,
    deliveredBytes: deliveredMib * 1024 * 1024,
    deliveredBatches: 0,
    deadRecords: 0,
  };
}

/** The verdict column of the row whose figure starts with `label`. */
function verdictOf(rows: string[][], label: string): string | undefined {
  return rows.find((row) => row[0]?.startsWith(label))?.[3];
}

describe('bench processes phase: delivery during full ingest', () => {
  it('measures the longest stretch between deliveries, window edges included', () => {
    const samples = [
      sample(0, 0),
      sample(1000, 64),
      sample(1200, 64),
      sample(4000, 128),
      sample(5000, 128),
    ];
    expect(longestDeliveryGapS(samples, 0, 6000)).toBe(3);
    expect(longestDeliveryGapS(samples, 0, 9000)).toBe(5);
  });

  it('counts the whole window when nothing was delivered in it', () => {
    const samples = [sample(0, 64), sample(1000, 128), sample(2000, 128), sample(9000, 128)];
    expect(longestDeliveryGapS(samples, 1500, 8500)).toBe(7);
    expect(longestDeliveryGapS([], 0, 4000)).toBe(4);
  });

  it('judges delivery kept up only when it delivered and the backlog grew by less than ingest', () => {
    expect(deliveryKeptUp(side('auto'))).toBe(true);
    expect(
      deliveryKeptUp(side('auto', { deliveredDuringLoadMibS: 0, backlogGrowthMibS: 80 })),
    ).toBe(false);
    expect(
      deliveryKeptUp(side('auto', { deliveredDuringLoadMibS: 3, backlogGrowthMibS: 80 })),
    ).toBe(false);
  });
});

describe('bench processes phase: summary rows', () => {
  it('passes every target when the figures reach them', () => {
    const rows = processesSummaryRows({ status: 'ok', value: result() }, ceiling);
    const auto = side('auto', { ingest: throughput(75) });
    const atTarget = processesSummaryRows({ status: 'ok', value: result({ auto }) }, ceiling);
    expect(verdictOf(rows, 'Ingest, SLUICE_PROCESSES=auto')).toBe('PASS');
    expect(verdictOf(atTarget, 'Ingest, SLUICE_PROCESSES=auto')).toBe('PASS');
    expect(verdictOf(rows, 'Delivery under full ingest')).toBe('PASS');
    expect(verdictOf(rows, 'Sustained end-to-end, GZIP')).toBe('PASS');
    expect(verdictOf(rows, 'PutRecordBatch p99, half load')).toBe('PASS');
    expect(rows.find((r) => r[0]?.startsWith('Scaling'))?.[1]).toBe(
      'ingest ×0.80 (80.0 vs 100.0 MiB/s); end to end ×1.13 (45.0 vs 40.0 MiB/s)',
    );
  });

  it('misses each target just past it', () => {
    const value = result({
      auto: side('auto', {
        ingest: throughput(74.9),
        deliveredDuringLoadMibS: 0,
        backlogGrowthMibS: 74.9,
      }),
      halfLoad: ok(paced({ throughput: throughput(37, 20.1) })),
      sustained: ok(paced({ deliveredMibS: 58.1 })),
    });
    const rows = processesSummaryRows({ status: 'ok', value }, ceiling);
    expect(verdictOf(rows, 'Ingest, SLUICE_PROCESSES=auto')).toBe('MISS');
    expect(verdictOf(rows, 'Delivery under full ingest')).toBe('MISS');
    expect(verdictOf(rows, 'Sustained end-to-end, GZIP')).toBe('MISS');
    expect(verdictOf(rows, 'PutRecordBatch p99, half load')).toBe('MISS');
  });

  it('misses the sustained target on a growing backlog and allows the fit tolerance', () => {
    expect(deliveredMeets(paced({ deliveredMibS: 58.3 }), 60)).toBe(true);
    const growing = paced({
      backlog: { startMib: 0, endMib: 300, maxMib: 300, slopeMibS: 9, growing: true },
    });
    expect(deliveredMeets(growing, 60)).toBe(false);
    expect(deliveredMeets(paced({ deliveredMibS: undefined }), 60)).toBeUndefined();
  });

  it('does not judge ingest without a ceiling, and reports failed runs as errors', () => {
    const value = result({ sustained: { status: 'failed', error: 'sluice exited' } });
    const rows = processesSummaryRows({ status: 'ok', value }, undefined);
    expect(verdictOf(rows, 'Ingest, SLUICE_PROCESSES=auto')).toBe('n/a');
    expect(verdictOf(rows, 'Sustained end-to-end, GZIP')).toBe('ERROR');
    expect(processesSummaryRows({ status: 'skipped' }, ceiling)).toEqual([]);
    const failed = processesSummaryRows({ status: 'failed', error: 'x' }, ceiling);
    expect(failed.filter((r) => r[3] === 'ERROR')).toHaveLength(4);
  });
});

describe('bench processes phase: section', () => {
  it('prints both sides, the ratios and both paced runs', () => {
    const lines = processesSection('13.', { status: 'ok', value: result() }).join('\n');
    expect(lines).toContain('SLUICE_PROCESSES=1 (all)');
    expect(lines).toContain('backlog grew 50.0 MiB/s (63 % of ingest)');
    expect(lines).toContain('scaling (auto ÷ 1): ingest ×0.80');
    expect(lines).toContain(
      "half load: SLUICE_PROCESSES=auto (worker + api), fresh Redis and stream, paced at half of auto's 80.0 MiB/s",
    );
    expect(lines).toContain('    offered            60.0 MiB/s');
  });

  it('writes ratios only when both sides have a figure', () => {
    expect(ratio(90, 100)).toBe('×0.90');
    expect(ratio(undefined, 100)).toBe('–');
    expect(ratio(90, 0)).toBe('–');
  });

  it('says when the service acknowledged less than was offered', () => {
    const late = paced({ lateStarts: 300, throughput: { ...throughput(35), durationS: 51.4 } });
    expect(overran(late)).toBe(true);
    expect(overran(paced())).toBe(false);
    expect(pacedLines(late)[0]).toBe(
      '  offered            60.0 MiB/s; accepted 60.0 MiB/s; 300 requests started >100 ms late (sending took 51.4 s: 35.0 MiB/s acknowledged)',
    );
  });
});
