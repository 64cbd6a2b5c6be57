import { describe, expect, it } from 'vitest';

import { parseTcpTable, socketInodes, TCP_ESTABLISHED } from '../../bench/proc-sockets.js';
import { Prng } from '../../bench/prng.js';
import {
  commandCalls,
  infoNumber,
  loadBodies,
  LOAD_RECORD_BYTES,
  LOAD_RECORDS_PER_REQUEST,
  pickDistinct,
  sumDefined,
  topCommands,
  type StreamsResult,
  type StreamsSide,
} from '../../bench/streams-phase.js';
import { perProcessText, streamsSummaryRow } from '../../bench/streams-report.js';

const TCP = [
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0',
  '   1: 0100007F:C350 0100007F:18EB 01 00000000:00000000 00:00000000 00000000  1000        0 777 1 0000000000000000 20 4 30 10 -1',
  '   2: garbage',
].join('\n');

describe('bench streams phase: /proc parsing', () => {
  it('reads ports, state and inode of each socket, skipping malformed lines', () => {
    expect(parseTcpTable(TCP)).toEqual([
      { localPort: 8080, remotePort: 0, state: '0A', inode: 4242 },
      { localPort: 50000, remotePort: 6379, state: TCP_ESTABLISHED, inode: 777 },
    ]);
  });

  it('parses tcp6 addresses by their port', () => {
    const line =
      '   0: 0000000000000000FFFF00000100007F:D431 0000000000000000FFFF00000100007F:18EB 01 00000000:00000000 00:00000000 00000000  1000        0 91 1 0 20 4 30 10 -1';
    expect(parseTcpTable(`header\n${line}`)).toEqual([
      { localPort: 54321, remotePort: 6379, state: '01', inode: 91 },
    ]);
  });

  it('keeps only socket inodes of fd links', () => {
    expect([...socketInodes(['socket:[12]', 'pipe:[13]', '/dev/null', 'socket:[99]'])]).toEqual([
      12, 99,
    ]);
  });

  it('reads calls per command from INFO commandstats and ranks their growth', () => {
    const before =
      '# Commandstats\r\ncmdstat_get:calls=10,usec=5,usec_per_call=0.5\r\ncmdstat_info:calls=2,usec=1\r\n';
    const after =
      '# Commandstats\r\ncmdstat_get:calls=30,usec=9,usec_per_call=0.3\r\ncmdstat_info:calls=4,usec=2\r\ncmdstat_evalsha:calls=100,usec=1\r\ncmdstat_ping:calls=1,usec=1\r\n';
    expect(commandCalls(before)).toEqual(
      new Map([
        ['get', 10],
        ['info', 2],
      ]),
    );
    expect(topCommands(before, after, 2)).toEqual({ evalsha: 50, get: 10, info: 1 });
    expect(topCommands(after, after, 2)).toEqual({});
  });

  it('reads number fields of INFO, not prefixes of other names', () => {
    const info = '# Clients\r\nconnected_clients:5021\r\nblocked_clients:4999\r\nclients:1\r\n';
    expect(infoNumber(info, 'connected_clients')).toBe(5021);
    expect(infoNumber(info, 'blocked_clients')).toBe(4999);
    expect(infoNumber(info, 'clients')).toBe(1);
    expect(infoNumber(info, 'missing')).toBeUndefined();
  });
});

describe('bench streams phase: load and figures', () => {
  it('builds bodies of fixed-size records, one per stream', () => {
    const bodies = loadBodies(['a', 'b']);
    expect(bodies).toHaveLength(2);
    const parsed = JSON.parse(bodies[1]!.buffer.toString()) as {
      DeliveryStreamName: string;
      Records: { Data: string }[];
    };
    expect(parsed.DeliveryStreamName).toBe('b');
    expect(parsed.Records).toHaveLength(LOAD_RECORDS_PER_REQUEST);
    for (const r of parsed.Records) {
      expect(Buffer.from(r.Data, 'base64').length).toBe(LOAD_RECORD_BYTES);
    }
    expect(bodies[1]!.payloadBytes).toBe(LOAD_RECORDS_PER_REQUEST * LOAD_RECORD_BYTES);
  });

  it('picks distinct indices, at most as many as exist', () => {
    const picked = pickDistinct(5000, 100, new Prng(1));
    expect(new Set(picked).size).toBe(100);
    expect(picked.every((i) => i >= 0 && i < 5000)).toBe(true);
    expect(pickDistinct(10, 100, new Prng(1)).sort((a, b) => a - b)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
  });

  it('sums defined values only', () => {
    expect(sumDefined({ a: 0.01, b: undefined, c: 0.02 })).toBeCloseTo(0.03);
    expect(sumDefined({ a: undefined })).toBeUndefined();
  });

  it('drops pids from process names', () => {
    expect(perProcessText({ supervisor: 1, 'api (12)': 2, 'worker (13)': undefined }, String)).toBe(
      'supervisor 1, api 2, worker undefined',
    );
  });
});

function side(streams: number, sluiceCpu: number): StreamsSide {
  return { streams, idle: { sluiceCpu } } as unknown as StreamsSide;
}

describe('bench streams phase: summary row', () => {
  const result = (many: number): { status: 'ok'; value: StreamsResult } => ({
    status: 'ok',
    value: {
      few: { status: 'ok', value: side(10, 0.004) },
      many: { status: 'ok', value: side(5000, many) },
    },
  });

  it('judges idle CPU at 5,000 streams against 5 % of a core', () => {
    expect(streamsSummaryRow(result(0.03), 5000)).toEqual([
      '5,000 idle streams: Sluice CPU',
      '3.00 % of one core (10 streams: 0.40 %)',
      '< 5 % of one core',
      'PASS',
    ]);
    expect(streamsSummaryRow(result(0.05), 5000)?.[3]).toBe('MISS');
  });

  it('does not judge a smaller count', () => {
    expect(streamsSummaryRow(result(0.01), 200)?.[3]).toBe('n/a');
  });

  it('reports a failed large side as an error', () => {
    const failed = {
      status: 'ok' as const,
      value: { ...result(0).value, many: { status: 'failed' as const, error: 'boom' } },
    };
    expect(streamsSummaryRow(failed, 5000)).toEqual([
      '5,000 idle streams: Sluice CPU',
      'Sluice failed',
      '< 5 % of one core',
      'ERROR',
    ]);
    expect(streamsSummaryRow({ status: 'skipped' }, 5000)).toBeUndefined();
  });
});
