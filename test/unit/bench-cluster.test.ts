import { describe, expect, it } from 'vitest';

import {
  evenShards,
  interleavedBodies,
  shardOf,
  spreadStreamNames,
  streamSlot,
  type ClusterResult,
  type ClusterSetupOutcome,
  type ClusterSetupResult,
} from '../../bench/cluster-phase.js';
import {
  clusterSection,
  clusterSummaryRow,
  figureRow,
  perGib,
  shareText,
} from '../../bench/cluster-report.js';

/** A setup's figures with every value set, `ingestMibS` and `deliveredMibS` as given. */
function setup(
  key: ClusterSetupResult['key'],
  ingestMibS: number,
  deliveredMibS: number,
  undeliveredRecords = 0,
): ClusterSetupOutcome {
  const value: ClusterSetupResult = {
    key,
    title: key,
    redis: `redis of ${key}`,
    minReplicas: 0,
    streamsPerMaster: { '7001': 4, '7002': 4, '7003': 4 },
    ingest: {
      durationS: 10,
      requests: 1000,
      requestsPerS: 100,
      mibS: ingestMibS,
      recordsPerS: 50_000,
      acceptedRecords: 500_000,
      failedRecords: 0,
      errors: {},
      latencyP50Ms: 20,
      latencyP99Ms: 80,
    },
    delivery: {
      settledAfterS: 30,
      deliveredRecords: 500_000 - undeliveredRecords,
      deadRecords: 0,
      undeliveredRecords,
      recordsPerS: 16_000,
      mibS: deliveredMibS,
      backlogAtLoadEndMib: 25,
      batches: 24,
      s3Objects: 24,
      s3Bytes: 1_000_000,
    },
    cpu: {
      sluice: 0.9,
      redis: 0.4,
      s3rver: 0.05,
      bench: 0.2,
      other: 0.01,
      sluiceSeconds: 27,
      redisSeconds: 12,
    },
    problems: [],
  };
  return { key, title: key, status: 'ok', value };
}

function result(setups: ClusterSetupOutcome[]): { status: 'ok'; value: ClusterResult } {
  return {
    status: 'ok',
    value: { cores: 2, streams: 12, concurrency: 16, durationS: 20, warmupS: 2, setups },
  };
}

describe('evenShards', () => {
  it('splits the slots as redis-cli --cluster create does for 3 masters', () => {
    expect(evenShards(3)).toEqual([[[0, 5460]], [[5461, 10922]], [[10923, 16383]]]);
  });
});

describe('spreadStreamNames', () => {
  it('puts the same number of streams on every shard, with distinct names', () => {
    const shards = evenShards(3);
    const names = spreadStreamNames('bench-cluster-x', shards, 4);
    expect(names).toHaveLength(12);
    expect(new Set(names).size).toBe(12);
    const counts = [0, 0, 0];
    for (const name of names) counts[shardOf(streamSlot(name), shards)]! += 1;
    expect(counts).toEqual([4, 4, 4]);
  });

  it('follows an uneven slot map with split ranges', () => {
    const shards = [[[0, 99]], [[100, 16_000]], [[16_001, 16_383]]] as const;
    const names = spreadStreamNames('s', shards, 2);
    const counts = [0, 0, 0];
    for (const name of names) counts[shardOf(streamSlot(name), shards)]! += 1;
    expect(counts).toEqual([2, 2, 2]);
  });

  it('throws when a shard serves no slot', () => {
    expect(() => spreadStreamNames('s', [[[0, 16_383]], []], 1)).toThrow(/could not spread/);
  });
});

describe('interleavedBodies', () => {
  it('alternates the streams, so consecutive requests go to different streams', () => {
    const bodies = interleavedBodies(['a', 'b', 'c'], 2, 1);
    const streams = bodies.map(
      (b) => (JSON.parse(b.buffer.toString()) as { DeliveryStreamName: string }).DeliveryStreamName,
    );
    expect(streams).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });
});

describe('cluster report', () => {
  it('writes a share of the base, and nothing without one', () => {
    expect(shareText(45, 60)).toBe('75 %');
    expect(shareText(45, 0)).toBe('');
    expect(shareText(undefined, 60)).toBe('');
  });

  it('turns CPU seconds into CPU seconds per GiB acknowledged', () => {
    // 64 MiB/s for 10 s: 640 MiB acknowledged.
    const s = setup('single', 64, 20);
    if (s.status !== 'ok') throw new Error('unreachable');
    expect(perGib(5, s.value)).toBe(8);
    expect(perGib(undefined, s.value)).toBeUndefined();
  });

  it('gives every column but the single Redis its share of it; a failed setup reads failed', () => {
    const setups: ClusterSetupOutcome[] = [
      setup('single', 60, 20),
      setup('replica', 30, 20),
      { key: 'cluster', title: 'cluster', status: 'failed', error: 'boom' },
    ];
    expect(
      figureRow(
        'ingest',
        setups,
        (s) => s.ingest.mibS,
        (v) => String(v),
      ),
    ).toEqual(['ingest', '60', '30 (50 %)', 'failed']);
  });

  it('summarises each setup against the single Redis, with no verdict when all went well', () => {
    const row = clusterSummaryRow(
      result([setup('single', 60, 20), setup('cluster', 45, 30), setup('cluster-wait', 30, 10)]),
    );
    expect(row?.[1]).toBe(
      'cluster: ingest 75 %, delivered 150 %; cluster-wait: ingest 50 %, delivered 50 %',
    );
    expect(row?.[3]).toBe('');
  });

  it('says ERROR when a setup failed or acknowledged records were left undelivered', () => {
    const failed = clusterSummaryRow(
      result([
        setup('single', 60, 20),
        { key: 'cluster', title: 'cluster', status: 'failed', error: 'boom' },
      ]),
    );
    expect(failed?.[1]).toContain('failed: cluster');
    expect(failed?.[3]).toBe('ERROR');
    const missing = clusterSummaryRow(
      result([setup('single', 60, 20), setup('cluster', 60, 20, 5)]),
    );
    expect(missing?.[1]).toContain('acknowledged records undelivered');
    expect(missing?.[3]).toBe('ERROR');
  });

  it('prints the setups, the table and a failed setup with its error', () => {
    const lines = clusterSection(
      'title',
      result([
        setup('single', 60, 20),
        { key: 'cluster', title: 'cluster', status: 'failed', error: 'no cluster' },
      ]),
    );
    expect(lines).toContain('  redis, single: redis of single');
    expect(lines.some((l) => l.includes('| ingest MiB/s') && l.includes('failed'))).toBe(true);
    expect(lines).toContain('  cluster failed: no cluster');
    expect(lines.join('\n')).toContain('2 cores shared');
  });
});
