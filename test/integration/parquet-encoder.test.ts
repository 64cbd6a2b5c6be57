import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';

import { ParquetEncoder } from '../../src/formats/parquet/parquet-encoder.js';
import type { ParquetJob } from '../../src/formats/parquet/parquet-job.js';
import { cleanupAfterAll, tempDir } from '../support/e2e.js';

/**
 * The Parquet encoder's worker threads (the compiled worker, as the service runs it): batches
 * converted off the event loop, records that do not fit reported by position, several batches
 * at once, a failing job failing only itself.
 */

const suite = cleanupAfterAll();
const encoder = new ParquetEncoder(2);
afterAll(() => encoder.close());

const JOB: ParquetJob = {
  columns: [
    { name: 'n', type: 'int' },
    { name: 'tags', type: 'array<string>' },
  ],
  deserializer: {
    kind: 'openx',
    caseInsensitive: true,
    dotsToUnderscores: false,
    columnToJsonKey: {},
  },
  parquet: { compression: 'SNAPPY' },
};

function records(texts: string[], firstPosition = 0) {
  return texts.map((text, i) => ({ position: firstPosition + i, data: Buffer.from(text) }));
}

async function rowsOf(parquet: Buffer): Promise<unknown[]> {
  const file = join(await tempDir(suite, 'sluice-parquet-encoder-'), 'f.parquet');
  await writeFile(file, parquet);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT * FROM read_parquet('${file}') ORDER BY n`,
    );
    return reader.getRowObjectsJson();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('ParquetEncoder', () => {
  it('converts a batch on a worker thread, reporting the records that do not fit', async () => {
    const result = await encoder.encode(
      JOB,
      records(['{"n":1,"tags":["a"]}', '{"n":"x"}', 'nope', '{"N":3}{"n":4,"tags":[]}'], 10),
    );
    expect(result.rows).toBe(3);
    expect(await rowsOf(result.parquet)).toEqual([
      { n: 1, tags: ['a'] },
      { n: 3, tags: null },
      { n: 4, tags: [] },
    ]);
    expect(result.rejected.map((r) => [r.position, r.code])).toEqual([
      [11, 'DataFormatConversion.MalformedData'],
      [12, 'DataFormatConversion.ParseError'],
    ]);
    expect(result.rejected[0]?.message).toBe('Column n is int, but the record has the string "x".');
    expect(result.rejected[1]?.message).toContain('malformed JSON');
  });

  it('runs more batches than threads, each answered with its own file', async () => {
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((k) =>
        encoder.encode(JOB, records(Array.from({ length: 1000 * k }, (_, i) => `{"n":${i}}`))),
      ),
    );
    expect(results.map((r) => r.rows)).toEqual([1000, 2000, 3000, 4000, 5000]);
    expect(await rowsOf(results[2]!.parquet)).toHaveLength(3000);
  });

  it('fails a job that cannot run, and goes on with the next', async () => {
    await expect(
      encoder.encode({ ...JOB, columns: [{ name: 'n', type: 'tinyint' }] }, records(['{"n":1}'])),
    ).rejects.toThrow(/Parquet conversion failed: .*tinyint is not supported/);
    expect((await encoder.encode(JOB, records(['{"n":7}']))).rows).toBe(1);
  });

  it('fails what is queued when closed, and refuses more', async () => {
    const closing = new ParquetEncoder(1);
    const pending = expect(closing.encode(JOB, records(['{"n":1}']))).rejects.toThrow(/closed/);
    await closing.close();
    await pending;
    await expect(closing.encode(JOB, records(['{"n":1}']))).rejects.toThrow(
      'the Parquet encoder is closed',
    );
  });
});
