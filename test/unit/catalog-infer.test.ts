import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { runCli } from '../../src/cli/run-cli.js';
import { inferTable } from '../../src/formats/parquet/schema-inference.js';
import { formatGlueType } from '../../src/formats/parquet/glue-type.js';
import { parseTableFile } from '../../src/formats/parquet/table-catalog.js';

/** Proposing a catalog table from sample records: the inference, and `sluice catalog infer`. */

function typesOf(values: unknown[]): Record<string, string> {
  return Object.fromEntries(
    inferTable(values).table.columns.map((c) => [c.name, formatGlueType(c.type)]),
  );
}

describe('inferTable', () => {
  it('types columns by every value seen, widening where they disagree', () => {
    expect(
      typesOf([
        { n: 1, big: 1, ratio: 1, ok: true, day: '2024-05-01', at: '2024-05-01 10:00:00', s: 'x' },
        {
          n: 2,
          big: 5_000_000_000,
          ratio: 0.5,
          ok: false,
          day: '2024-05-02',
          at: '2024-05-01T10:00:00Z',
          s: 3,
        },
      ]),
    ).toEqual({
      n: 'int',
      big: 'bigint',
      ratio: 'double',
      ok: 'boolean',
      day: 'date',
      at: 'timestamp',
      s: 'string',
    });
  });

  it('merges nested objects and arrays, and says where it guessed', () => {
    const inferred = inferTable([
      { user: { id: 1 }, tags: [], Page: 'a', 'user.agent': 'ua', gone: null },
      { user: { name: 'z' }, tags: ['a'], page: 'b' },
      [1, 2],
      'text',
    ]);
    expect(
      Object.fromEntries(inferred.table.columns.map((c) => [c.name, formatGlueType(c.type)])),
    ).toEqual({
      user: 'struct<id:int,name:string>',
      tags: 'array<string>',
      page: 'string',
      user_agent: 'string',
      gone: 'string',
    });
    expect(inferred.records).toBe(2);
    expect(inferred.skipped).toBe(2);
    expect(inferred.mappings).toEqual({ user_agent: 'user.agent' });
    expect(inferred.notes).toEqual([
      'gone: only null or empty values were seen; it is proposed as string',
    ]);
  });
});

describe('sluice catalog infer', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  async function run(args: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await runCli(args, {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      env: {},
      isTTY: false,
    });
    return { code, stdout, stderr };
  }

  it('prints a table file the catalog reads, and its notes on stderr', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-infer-'));
    dirs.push(dir);
    const file = join(dir, 'samples.ndjson');
    await writeFile(
      file,
      '{"id":1,"at":"2024-05-01 10:00:00"}\n\nnot json\n{"id":2,"tags":["x"]}\n',
    );
    const { code, stdout, stderr } = await run(['catalog', 'infer', file]);
    expect(code).toBe(0);
    expect(
      parseTableFile(stdout, 'proposed').columns.map((c) => [c.name, formatGlueType(c.type)]),
    ).toEqual([
      ['id', 'int'],
      ['at', 'timestamp'],
      ['tags', 'array<string>'],
    ]);
    expect(stderr).toBe(
      'proposed 3 columns from 2 records (1 line that is not a JSON object skipped)\n',
    );
  });

  it('says what is wrong with the command line or the file', async () => {
    const missing = await run(['catalog']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing subcommand: sluice catalog infer <file>');
    const unreadable = await run(['catalog', 'infer', '/nonexistent/x.ndjson']);
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toContain('cannot read /nonexistent/x.ndjson');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-infer-'));
    dirs.push(dir);
    await writeFile(join(dir, 'e.txt'), 'plain text\n');
    expect(await run(['catalog', 'infer', join(dir, 'e.txt')])).toMatchObject({
      code: 1,
      stdout: '',
    });
  });
});
