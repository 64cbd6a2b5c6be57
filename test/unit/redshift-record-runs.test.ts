import { createHash } from 'node:crypto';

import { afterAll, describe, expect, it } from 'vitest';

import type { PipelineRecord, RecordStream } from '../../src/destinations/destination-kind.js';
import { RecordGroup } from '../../src/destinations/record-group.js';
import type { LoadFormat } from '../../src/destinations/redshift/copy-options.js';
import { recordRows } from '../../src/destinations/redshift/copy-rows.js';
import { ledgerKey, PositionDigest } from '../../src/destinations/redshift/ledger.js';
import {
  encodeRecordRuns,
  frameRecords,
  runEnds,
  runLayout,
  runPositionBytes,
  unframeRecords,
} from '../../src/destinations/redshift/record-runs.js';
import {
  closeRowConversionPool,
  convertOnWorker,
} from '../../src/destinations/redshift/row-conversion-pool.js';
import { convertRun } from '../../src/destinations/redshift/row-worker.js';
import { storedGroups, streamOf } from '../support/record-groups.js';

/**
 * Record runs (record-runs.ts), the encode stage of both Redshift paths: the records come back
 * exactly, in order, with their positions, whatever their sizes and wherever a run ends; each
 * run owns its buffer (it is transferred to a conversion worker); the ledger key digested run
 * by run is the key of the records; a corrupt run is refused; and the conversion worker reads
 * runs to the same rows `recordRows` makes record by record.
 */

afterAll(() => closeRowConversionPool());

const PLAN = {
  deliveryId: 'd0d0d0d0-1111-4222-8333-444455556666',
  stream: 's',
  batchId: '11111111-2222-4333-8444-555555555555',
  streamVersion: 1,
  table: { table: 't' },
};

function record(position: number, data: string | Buffer): PipelineRecord {
  return { id: `r${position}`, position, arrivalMs: 0, data: Buffer.from(data) };
}

/** How a test's records are grouped: read in place from stored chunks, or given as objects. */
const FORMS = ['stored', 'objects'] as const;
type Form = (typeof FORMS)[number];

/** Records in groups of `groupSize`, as the batch store streams them. */
function stream(records: readonly PipelineRecord[], groupSize: number, form: Form): RecordStream {
  if (form === 'stored') return streamOf(storedGroups(records, groupSize));
  const groups: RecordGroup[] = [];
  for (let i = 0; i < records.length; i += groupSize) {
    groups.push(RecordGroup.of(records.slice(i, i + groupSize)));
  }
  return streamOf(groups);
}

async function runsOf(
  records: readonly PipelineRecord[],
  groupSize: number,
  runBytes: number,
  form: Form = 'stored',
) {
  const runs: Buffer[] = [];
  for await (const run of encodeRecordRuns(stream(records, groupSize, form), runBytes)) {
    runs.push(run);
  }
  return runs;
}

/** The ledger key as the direct path made it before runs: sha256 of the positions, u32 BE. */
function keyOfPositions(positions: readonly number[]): string {
  const bytes = Buffer.alloc(positions.length * 4);
  positions.forEach((p, i) => bytes.writeUInt32BE(p, i * 4));
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 32);
  return `${PLAN.deliveryId}:${positions.length}:${digest}`;
}

describe('record runs', () => {
  it('give back every record in order with its position, empty and multi-byte ones included, across run and group boundaries', async () => {
    const texts = ['', 'a', '{"id":1}\n', 'é€𝄞', '', 'x'.repeat(100), '\u00e9'.repeat(7), ''];
    // Positions as after a partial retry: not 0..n-1.
    const records = Array.from({ length: 60 }, (_, i) =>
      record(3 * i + 1, texts[i % texts.length] as string),
    );
    for (const [groupSize, runBytes, form] of FORMS.flatMap((form) =>
      (
        [
          [1, 1],
          [7, 16],
          [5, 64],
          [60, 1 << 19],
        ] as const
      ).map(([size, bytes]) => [size, bytes, form] as const),
    )) {
      const runs = await runsOf(records, groupSize, runBytes, form);
      const back = unframeRecords(runs);
      expect(back.map((r) => r.position)).toEqual(records.map((r) => r.position));
      expect(back.map((r) => r.data.toString('utf8'))).toEqual(
        records.map((r) => r.data.toString('utf8')),
      );
      for (const run of runs) {
        // A run owns all of its buffer, so moving the buffer moves nothing else.
        expect(run.byteOffset).toBe(0);
        expect(run.buffer.byteLength).toBe(run.length);
        const layout = runLayout(run);
        expect(layout.count).toBeGreaterThan(0);
        const bytes = run.length - layout.dataAt;
        // Full runs stop before `runBytes`, unless one record alone is larger.
        expect(bytes <= runBytes || layout.count === 1).toBe(true);
      }
    }
  });

  it('cut a run before the record that would overfill it, and give a record larger than a run its own', async () => {
    const records = [
      record(0, 'aaaa'),
      record(1, 'bbbb'),
      record(2, 'c'.repeat(20)),
      record(3, 'd'),
    ];
    for (const form of FORMS) {
      const runs = await runsOf(records, 2, 8, form);
      expect(runs.map((run) => unframeRecords([run]).map((r) => r.position))).toEqual([
        [0, 1],
        [2],
        [3],
      ]);
    }
  });

  it('make no run of no records', async () => {
    expect(await runsOf([], 5, 64)).toEqual([]);
    expect(unframeRecords([])).toEqual([]);
  });

  it('digest, run by run, to the ledger key of the records', async () => {
    const records = Array.from({ length: 1_000 }, (_, i) => record(i * 2, `{"id":${i}}`));
    const expected = keyOfPositions(records.map((r) => r.position));
    expect(ledgerKey(PLAN, records)).toBe(expected);
    for (const form of FORMS) {
      const digest = new PositionDigest();
      for (const run of await runsOf(records, 100, 1_000, form)) {
        const layout = runLayout(run);
        digest.update(runPositionBytes(run, layout), layout.count);
      }
      expect(digest.records).toBe(1_000);
      expect(digest.key(PLAN)).toBe(expected);
    }
  });

  it('are refused when corrupt: truncated, too many records announced, ends going back or not filling the run', () => {
    const run = frameRecords([record(0, 'ab'), record(1, 'cd')]);
    expect(() => runLayout(run.subarray(0, 3))).toThrow(/corrupt record run/);
    expect(() => runLayout(run.subarray(0, run.length - 1))).toThrow(/do not fill it/);
    const many = Buffer.from(run);
    many.writeUInt32BE(1_000, 0);
    expect(() => runLayout(many)).toThrow(/1000 records announced/);
    const backwards = Buffer.from(run);
    // The first record ends at 5, past where the second (and the run) ends.
    backwards.writeUInt32BE(5, 4 * 3);
    expect(() => runLayout(backwards)).toThrow(/ends before it starts/);
    expect(() => runLayout(Buffer.concat([run, Buffer.from('x')]))).toThrow(/do not fill it/);
    expect([...runEnds(run, runLayout(run))]).toEqual([2, 4]);
  });
});

describe('the conversion worker reading runs', () => {
  const JSON_AUTO: LoadFormat = { kind: 'json', ignoreCase: false };
  const columns = ['id', 'name'];

  /** What `recordRows` makes of each record, as one run's rows, indexes and failures. */
  function expected(texts: readonly Buffer[], firstIndex: number) {
    const rows: Buffer[] = [];
    const indexes: number[] = [];
    const failed: { index: number; message: string }[] = [];
    texts.forEach((text, k) => {
      const made = recordRows(text, JSON_AUTO, columns);
      if ('error' in made) failed.push({ index: firstIndex + k, message: made.error });
      else if (made.rows.length > 0) {
        rows.push(made.rows);
        indexes.push(firstIndex + k);
      }
    });
    return { rows: Buffer.concat(rows).toString('utf8'), indexes, failed };
  }

  function task(texts: readonly Buffer[], firstIndex: number) {
    const run = frameRecords(texts.map((data, k) => ({ position: 100 + k, data })));
    return { format: JSON_AUTO, columns, run: run.buffer as ArrayBuffer, firstIndex };
  }

  it('converts every record of a run as recordRows does, numbering from the run’s first index; a record that fails fails alone', async () => {
    const texts = [
      '{"id":1,"name":"é€𝄞"}',
      '',
      'not json',
      '{"id":2,"name":"a\\tb"}{"id":3}',
      '{"id":4}',
    ].map((t) => Buffer.from(t));
    const want = expected(texts, 40);
    expect(want.failed.map((f) => f.index)).toContain(42);
    for (const converted of [convertRun(task(texts, 40)), await convertOnWorker(task(texts, 40))]) {
      expect(Buffer.from(converted.rows).toString('utf8')).toBe(want.rows);
      expect([...converted.indexes]).toEqual(want.indexes);
      expect(converted.failed).toEqual(want.failed);
    }
  });

  it('checks UTF-8 record by record where a character straddles two records of a run', () => {
    // Together the bytes are valid UTF-8 ("é" split across the records); apart, neither is.
    const texts = [Buffer.from([0x7b, 0x7d, 0xc3]), Buffer.from([0xa9, 0x7b, 0x7d])];
    expect(convertRun(task(texts, 0)).failed).toEqual([
      { index: 0, message: 'The record is not valid UTF-8 text.' },
      { index: 1, message: 'The record is not valid UTF-8 text.' },
    ]);
  });

  it('refuses a corrupt run', () => {
    const run = frameRecords([record(0, '{"id":1}')]);
    const corrupt = new ArrayBuffer(run.length - 1);
    new Uint8Array(corrupt).set(run.subarray(0, run.length - 1));
    expect(() => convertRun({ format: JSON_AUTO, columns, run: corrupt, firstIndex: 0 })).toThrow(
      /corrupt record run/,
    );
  });
});
