import { describe, expect, it } from 'vitest';

import { parseStagedCopy, toRows } from '../support/redshift-standin.js';

/**
 * The Redshift stand-in's own reading of staged COPYs and objects (test/support), checked so
 * that the staged path's end-to-end tests rest on a stand-in that reads what Redshift reads.
 */

describe('the Redshift stand-in', () => {
  it('reads a staged COPY: target, columns, the manifest literal and the options', () => {
    const copy = parseStagedCopy(
      `COPY "s"."T" ("id", "Na""me") FROM 's3://b/it''s\\\\x/manifests/k' CREDENTIALS 'aws_iam_role=arn:aws:iam::1:role/r' MANIFEST CSV QUOTE AS '''' DELIMITER '|' NULL AS 'nil' GZIP`,
    );
    expect(copy).toEqual({
      target: '"s"."T" ("id", "Na""me")',
      columns: ['id', 'Na"me'],
      manifestUrl: "s3://b/it's\\x/manifests/k",
      options: {
        format: 'csv',
        ignoreCase: false,
        delimiter: '|',
        quote: "'",
        nullAs: 'nil',
        gzip: true,
      },
    });
    expect(parseStagedCopy('COPY t FROM STDIN')).toBeUndefined();
  });

  it("turns JSON 'auto' objects into COPY text rows by column name", () => {
    const options = parseStagedCopy(
      `COPY t ("a", "b", "c") FROM 's3://b/m' CREDENTIALS 'x' MANIFEST JSON 'auto'`,
    )?.options;
    expect(
      toRows('{"a":1,"b":"x\\ty","c":{"n":[1]}}\n{"a":null}{"B":2}', options as never, [
        'a',
        'b',
        'c',
      ]),
    ).toEqual(['1\tx\\ty\t{"n":[1]}', '\\N\t\\N\t\\N', '\\N\t\\N\t\\N']);
  });

  it('reads CSV with quotes, embedded newlines and NULL AS, and pipe-delimited text', () => {
    const csv = parseStagedCopy(
      `COPY t FROM 's3://b/m' CREDENTIALS 'x' MANIFEST CSV NULL AS 'NA'`,
    )?.options;
    expect(toRows('1,"a,b",NA\n2,"multi\nline",""\n', csv as never, undefined)).toEqual([
      '1\ta,b\t\\N',
      '2\tmulti\\nline\t',
    ]);
    const text = parseStagedCopy(`COPY t FROM 's3://b/m' CREDENTIALS 'x' MANIFEST`)?.options;
    expect(toRows('1|a\\b|\\N\n', text as never, undefined)).toEqual(['1\ta\\\\b\t\\N']);
  });
});
