import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { formatGlueType, parseGlueType } from '../../src/formats/parquet/glue-type.js';
import {
  CatalogError,
  formatTableFile,
  parseTableFile,
  TableCatalog,
} from '../../src/formats/parquet/table-catalog.js';

/** Glue type strings, and the local table catalog that holds them. */

describe('Glue column types', () => {
  it('parses every supported type, nested, case- and space-insensitively', () => {
    const text =
      'STRUCT< id : bigint , tags:array<string>, attrs:map<string,struct<n:int,ok:boolean>>, price:decimal(12, 3), at:timestamp, day:date, d:double, f:float, s:string, dd:decimal >';
    const type = parseGlueType(text);
    expect(formatGlueType(type)).toBe(
      'struct<id:bigint,tags:array<string>,attrs:map<string,struct<n:int,ok:boolean>>,price:decimal(12,3),at:timestamp,day:date,d:double,f:float,s:string,dd:decimal(10,0)>',
    );
    expect(parseGlueType(formatGlueType(type))).toEqual(type);
  });

  it.each([
    ['varchar(10)', /type varchar is not supported; use string at character 1/],
    ['array<smallint>', /type smallint is not supported; use int at character 7/],
    ['map<array<int>,string>', /a map's key must be a primitive type, not array at character 5/],
    ['struct<a:int,a:string>', /field a appears twice at character 14/],
    ['decimal(39,2)', /decimal precision must be 1 to 38/],
    ['decimal(5,6)', /decimal scale 6 is larger than its precision 5/],
    ['array<int', /expected '>' at character 10/],
    ['int extra', /unexpected text after the type at character 5/],
    ['blob', /unknown type blob/],
    ['', /expected a type at character 1/],
  ])('refuses %j, saying where', (text, message) => {
    expect(() => parseGlueType(text)).toThrow(message);
  });
});

describe('table files', () => {
  it('reads columns, lower-casing names', () => {
    expect(
      parseTableFile(
        '{"columns":[{"name":"Event_Time","type":"timestamp"},{"name":"n","type":"INT"}]}',
        't',
      ),
    ).toEqual({
      columns: [
        { name: 'event_time', type: { kind: 'timestamp' } },
        { name: 'n', type: { kind: 'int' } },
      ],
    });
  });

  it.each([
    ['not json', /table t is not JSON/],
    ['[]', /must be an object with a "columns" array/],
    ['{"columns":[]}', /table t has no columns/],
    ['{"columns":[{"name":"a b","type":"int"}]}', /columns\[0\]\.name must be a column name/],
    ['{"columns":[{"name":"a","type":"int"},{"name":"A","type":"int"}]}', /column a appears twice/],
    ['{"columns":[{"name":"a"}]}', /column a needs a "type" string/],
    [
      '{"columns":[{"name":"a","type":"tinyint"}]}',
      /column a: type tinyint is not supported; use int/,
    ],
  ])('refuses %j', (text, message) => {
    expect(() => parseTableFile(text, 't')).toThrow(message);
  });

  it('writes what it reads', () => {
    const table = parseTableFile(
      '{"columns":[{"name":"a","type":"array<struct<x:decimal(5,2)>>"},{"name":"b","type":"map<string,bigint>"}]}',
      't',
    );
    expect(parseTableFile(formatTableFile(table), 't')).toEqual(table);
  });
});

describe('TableCatalog', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  async function catalogDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-catalog-'));
    dirs.push(dir);
    await mkdir(join(dir, 'weblogs'));
    return dir;
  }

  it('finds <database>/<table>.json case-insensitively, and reads an edited file again', async () => {
    const dir = await catalogDir();
    const file = join(dir, 'weblogs', 'clicks.json');
    await writeFile(file, '{"columns":[{"name":"a","type":"int"}]}');
    const catalog = new TableCatalog(dir);
    expect(await catalog.table('WebLogs', 'Clicks')).toEqual({
      columns: [{ name: 'a', type: { kind: 'int' } }],
    });
    await writeFile(
      file,
      '{"columns":[{"name":"a","type":"bigint"},{"name":"b","type":"string"}]}',
    );
    // A different size, and a later modification time, as an editor's save leaves it.
    await utimes(file, new Date(), new Date(Date.now() + 5_000));
    expect((await catalog.table('weblogs', 'clicks')).columns.map((c) => c.type.kind)).toEqual([
      'bigint',
      'string',
    ]);
  });

  it('says which file is missing and how to make one', async () => {
    const dir = await catalogDir();
    await expect(new TableCatalog(dir).table('weblogs', 'nope')).rejects.toThrow(
      `table weblogs.nope is not in the table catalog: there is no file ${join(dir, 'weblogs', 'nope.json')}`,
    );
  });

  it('refuses names that are not Glue names, so no path leaves the directory', async () => {
    const catalog = new TableCatalog(await catalogDir());
    await expect(catalog.table('..', 'x')).rejects.toThrow(CatalogError);
    await expect(catalog.table('weblogs', '../../etc/passwd')).rejects.toThrow(
      /SchemaConfiguration\.TableName "\.\.\/\.\.\/etc\/passwd" is not a table catalog name/,
    );
  });
});
