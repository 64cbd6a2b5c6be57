import { randomUUID } from 'node:crypto';

import { describe, it, expect } from 'vitest';

import {
  MAX_EVALUATED_PREFIX,
  MAX_PREFIX_LENGTH,
  EvaluatedPrefixTooLongError,
  MissingPartitionKeyError,
  buildErrorObjectKey,
  buildObjectKey,
  evaluatePrefix,
  validatePrefixes,
  type ObjectKeyTarget,
} from '../../src/destinations/s3/object-key.js';

// Monday 2026-07-13 14:05:09.250 UTC.
const ARRIVAL = Date.UTC(2026, 6, 13, 14, 5, 9, 250);
const BATCH_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const BATCH = { batchId: BATCH_ID, firstArrivalMs: ARRIVAL };
const SUFFIX = `name-1-2026-07-13-14-05-09-${BATCH_ID}`;
const LEAD = 'The supplied prefix(es) do not satisfy the following constraint: ';
const UUID_V4 = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';

function target(overrides: Partial<ObjectKeyTarget> = {}): ObjectKeyTarget {
  return {
    streamName: 'name',
    versionId: 1,
    prefix: '',
    errorOutputPrefix: undefined,
    compression: 'UNCOMPRESSED',
    fileExtension: undefined,
    timeZone: 'UTC',
    ...overrides,
  };
}

/** A deterministic random source: 'RANDOM00001', 'RANDOM00002', ... */
function counter(): () => string {
  let n = 0;
  return () => `RANDOM${String(++n).padStart(5, '0')}`;
}

describe('buildObjectKey', () => {
  it("matches the spec's example key exactly", () => {
    const key = buildObjectKey(target({ streamName: 'seong-firehose-batch-limit-test' }), {
      batchId: 'bb8365b1-4ac9-442a-961d-d1fc07933b43',
      firstArrivalMs: Date.UTC(2019, 9, 1, 9, 20, 18),
    });
    expect(key).toBe(
      '2019/10/01/09/seong-firehose-batch-limit-test-1-2019-10-01-09-20-18-bb8365b1-4ac9-442a-961d-d1fc07933b43',
    );
  });

  it('has the spec shape with a random UUID batch id', () => {
    const key = buildObjectKey(target(), {
      batchId: randomUUID(),
      firstArrivalMs: Date.UTC(2019, 9, 1, 9, 20, 18),
    });
    expect(key).toMatch(new RegExp(`^2019/10/01/09/name-1-2019-10-01-09-20-18-${UUID_V4}$`));
  });

  it('uses yyyy/MM/dd/HH/ when Prefix is empty', () => {
    expect(buildObjectKey(target(), BATCH)).toBe(`2026/07/13/14/${SUFFIX}`);
  });

  it('appends the date path to a literal Prefix without inserting a slash', () => {
    expect(buildObjectKey(target({ prefix: 'legacy' }), BATCH)).toBe(
      `legacy2026/07/13/14/${SUFFIX}`,
    );
    expect(buildObjectKey(target({ prefix: 'logs/app/' }), BATCH)).toBe(
      `logs/app/2026/07/13/14/${SUFFIX}`,
    );
  });

  it('treats a lone ! or { in a literal Prefix as text', () => {
    expect(buildObjectKey(target({ prefix: 'a!b{c}/' }), BATCH)).toBe(
      `a!b{c}/2026/07/13/14/${SUFFIX}`,
    );
  });

  it('appends nothing to a Prefix with expressions', () => {
    const prefix = 'year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/';
    expect(buildObjectKey(target({ prefix }), BATCH)).toBe(`year=2026/month=07/day=13/${SUFFIX}`);
    expect(buildObjectKey(target({ prefix: 'fixed-!{timestamp:yyyy}' }), BATCH)).toBe(
      `fixed-2026${SUFFIX}`,
    );
  });

  it('evaluates quoted literals and month names', () => {
    const prefix = "!{timestamp:'year='yyyy'/month='MMM'/'}";
    expect(buildObjectKey(target({ prefix }), BATCH)).toBe(`year=2026/month=Jul/${SUFFIX}`);
  });

  it('evaluates random-string with a fresh value per occurrence', () => {
    const prefix = 'a=!{firehose:random-string}/b=!{firehose:random-string}/';
    expect(buildObjectKey(target({ prefix }), BATCH, counter())).toBe(
      `a=RANDOM00001/b=RANDOM00002/${SUFFIX}`,
    );
  });

  it('generates 11 alphanumeric characters per random-string by default', () => {
    const prefix = '!{firehose:random-string}/!{firehose:random-string}/';
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const key = buildObjectKey(target({ prefix }), BATCH);
      const match = /^([A-Za-z0-9]{11})\/([A-Za-z0-9]{11})\/name-1-/.exec(key);
      expect(match, key).not.toBeNull();
      seen.add(match?.[1] ?? '');
      seen.add(match?.[2] ?? '');
    }
    expect(seen.size).toBe(40);
  });

  it('reads every timestamp in the target time zone', () => {
    const late = { batchId: BATCH_ID, firstArrivalMs: Date.UTC(2026, 6, 13, 23, 30) };
    expect(buildObjectKey(target({ timeZone: 'Asia/Tokyo' }), late)).toBe(
      `2026/07/14/08/name-1-2026-07-14-08-30-00-${BATCH_ID}`,
    );
    expect(buildObjectKey(target(), late)).toBe(
      `2026/07/13/23/name-1-2026-07-13-23-30-00-${BATCH_ID}`,
    );
  });

  it('reads the wall clock across a DST change', () => {
    const t = target({ timeZone: 'America/New_York', prefix: '!{timestamp:yyyy/MM/dd/HH}/' });
    const before = { batchId: BATCH_ID, firstArrivalMs: Date.UTC(2026, 2, 8, 6, 59, 59) };
    const after = { batchId: BATCH_ID, firstArrivalMs: Date.UTC(2026, 2, 8, 7, 0, 0) };
    expect(buildObjectKey(t, before)).toBe(`2026/03/08/01/name-1-2026-03-08-01-59-59-${BATCH_ID}`);
    expect(buildObjectKey(t, after)).toBe(`2026/03/08/03/name-1-2026-03-08-03-00-00-${BATCH_ID}`);
  });

  it('includes stream name and version id in the suffix', () => {
    const key = buildObjectKey(target({ streamName: 'my.stream_2', versionId: 17 }), BATCH);
    expect(key).toBe(`2026/07/13/14/my.stream_2-17-2026-07-13-14-05-09-${BATCH_ID}`);
  });

  it('picks the extension from compression unless FileExtension overrides it', () => {
    expect(buildObjectKey(target({ compression: 'GZIP' }), BATCH)).toBe(
      `2026/07/13/14/${SUFFIX}.gz`,
    );
    expect(buildObjectKey(target({ compression: 'UNCOMPRESSED' }), BATCH)).toBe(
      `2026/07/13/14/${SUFFIX}`,
    );
    expect(buildObjectKey(target({ compression: 'GZIP', fileExtension: '.json.gz' }), BATCH)).toBe(
      `2026/07/13/14/${SUFFIX}.json.gz`,
    );
    expect(buildObjectKey(target({ fileExtension: '.ndjson' }), BATCH)).toBe(
      `2026/07/13/14/${SUFFIX}.ndjson`,
    );
  });

  it(`allows an evaluated prefix of exactly ${MAX_EVALUATED_PREFIX} characters`, () => {
    const prefix = 'p'.repeat(MAX_EVALUATED_PREFIX - '2026/07/13/14/'.length);
    expect(buildObjectKey(target({ prefix }), BATCH)).toBe(`${prefix}2026/07/13/14/${SUFFIX}`);
  });

  it(`throws when the evaluated prefix exceeds ${MAX_EVALUATED_PREFIX} characters`, () => {
    const prefix = 'p'.repeat(MAX_EVALUATED_PREFIX - '2026/07/13/14/'.length + 1);
    expect(() => buildObjectKey(target({ prefix }), BATCH)).toThrow(EvaluatedPrefixTooLongError);
    // Expressions can grow a short template past the limit.
    const growing = `!{timestamp:${'EEEE/'.repeat(90)}}`;
    expect(growing.length).toBeLessThan(MAX_EVALUATED_PREFIX);
    try {
      buildObjectKey(target({ prefix: growing }), BATCH);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(EvaluatedPrefixTooLongError);
      const tooLong = error as EvaluatedPrefixTooLongError;
      expect(tooLong.field).toBe('Prefix');
      expect(tooLong.evaluated).toBe('Monday/'.repeat(90));
      expect(tooLong.message).toMatch(
        /^The evaluated Prefix is 630 characters long; Firehose allows at most 512/,
      );
    }
  });
});

describe('buildErrorObjectKey', () => {
  it('uses the evaluated ErrorOutputPrefix with no extension and no date path', () => {
    const t = target({
      compression: 'GZIP',
      errorOutputPrefix: 'errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/',
    });
    expect(buildErrorObjectKey(t, BATCH, 'processing-failed')).toBe(
      `errors/processing-failed/2026/07/13/${SUFFIX}`,
    );
  });

  it('drops the FileExtension override too', () => {
    const t = target({
      fileExtension: '.json',
      errorOutputPrefix: '!{firehose:error-output-type}/',
    });
    expect(buildErrorObjectKey(t, BATCH, 'http-endpoint-failed')).toBe(
      `http-endpoint-failed/${SUFFIX}`,
    );
  });

  it('evaluates every error-output-type occurrence to the same value', () => {
    const t = target({
      errorOutputPrefix: '!{firehose:error-output-type}/x/!{firehose:error-output-type}-',
    });
    expect(buildErrorObjectKey(t, BATCH, 'splunk-failed')).toBe(
      `splunk-failed/x/splunk-failed-${SUFFIX}`,
    );
  });

  it('evaluates random-string in the error prefix', () => {
    const t = target({
      errorOutputPrefix: '!{firehose:random-string}/!{firehose:error-output-type}/',
    });
    expect(buildErrorObjectKey(t, BATCH, 'processing-failed', counter())).toBe(
      `RANDOM00001/processing-failed/${SUFFIX}`,
    );
  });

  it('falls back to <error-output-type>/yyyy/MM/dd/HH/ without an ErrorOutputPrefix', () => {
    expect(buildErrorObjectKey(target(), BATCH, 'processing-failed')).toBe(
      `processing-failed/2026/07/13/14/${SUFFIX}`,
    );
    expect(buildErrorObjectKey(target({ errorOutputPrefix: '' }), BATCH, 'processing-failed')).toBe(
      `processing-failed/2026/07/13/14/${SUFFIX}`,
    );
  });

  it('puts a literal Prefix in front of the fallback by plain concatenation', () => {
    expect(buildErrorObjectKey(target({ prefix: 'logs/' }), BATCH, 'processing-failed')).toBe(
      `logs/processing-failed/2026/07/13/14/${SUFFIX}`,
    );
    expect(buildErrorObjectKey(target({ prefix: 'legacy' }), BATCH, 'processing-failed')).toBe(
      `legacyprocessing-failed/2026/07/13/14/${SUFFIX}`,
    );
  });

  it('reads timestamps in the target time zone', () => {
    const late = { batchId: BATCH_ID, firstArrivalMs: Date.UTC(2026, 6, 13, 23, 30) };
    expect(buildErrorObjectKey(target({ timeZone: 'Asia/Tokyo' }), late, 'processing-failed')).toBe(
      `processing-failed/2026/07/14/08/name-1-2026-07-14-08-30-00-${BATCH_ID}`,
    );
  });

  it(`throws when the evaluated error prefix exceeds ${MAX_EVALUATED_PREFIX} characters`, () => {
    const t = target({ errorOutputPrefix: `${'e'.repeat(500)}/!{firehose:error-output-type}/` });
    expect(() => buildErrorObjectKey(t, BATCH, 'processing-failed')).toThrow(
      /^The evaluated ErrorOutputPrefix is 519 characters long/,
    );
  });
});

describe('evaluatePrefix', () => {
  const context = { epochMs: ARRIVAL, timeZone: 'UTC' };

  it('copies text without expressions unchanged and appends nothing', () => {
    expect(evaluatePrefix('plain/text', context)).toBe('plain/text');
    expect(evaluatePrefix('', context)).toBe('');
  });

  it('evaluates every timestamp at the same instant', () => {
    expect(
      evaluatePrefix('!{timestamp:yyyy}/!{timestamp:MM}/!{timestamp:HH:mm:ss.SSS}', context),
    ).toBe('2026/07/14:05:09.250');
  });

  it('evaluates the documented examples', () => {
    const at = { epochMs: Date.UTC(2018, 7, 27, 10, 30), timeZone: 'UTC' };
    expect(
      evaluatePrefix(
        'myFirehose/DeliveredYear=!{timestamp:yyyy}/anyMonth/rand=!{firehose:random-string}',
        { ...at, random: () => '5abf82daaa5' },
      ),
    ).toBe('myFirehose/DeliveredYear=2018/anyMonth/rand=5abf82daaa5');
    expect(
      evaluatePrefix(
        'myFirehoseFailures/!{firehose:error-output-type}/!{timestamp:yyyy}/anyMonth/!{timestamp:dd}',
        { ...at, errorOutputType: 'processing-failed' },
      ),
    ).toBe('myFirehoseFailures/processing-failed/2018/anyMonth/27');
  });

  it('calls the random source once per occurrence', () => {
    let calls = 0;
    const random = (): string => `r${++calls}`;
    expect(
      evaluatePrefix('!{firehose:random-string}-!{firehose:random-string}', { ...context, random }),
    ).toBe('r1-r2');
    expect(calls).toBe(2);
  });

  it('refuses what validation would have rejected', () => {
    expect(() => evaluatePrefix('!{firehose:error-output-type}', context)).toThrow(
      /only be evaluated for error output/,
    );
    expect(() => evaluatePrefix('!{partitionKeyFromQuery:id}', context)).toThrow(
      /!\{partitionKeyFromQuery:id\}/,
    );
    expect(() => evaluatePrefix('!{foo:bar}', context)).toThrow(/!\{foo:bar\}/);
    expect(() => evaluatePrefix('!{timestamp:yyyy', context)).toThrow(/no closing \}/);
    expect(() => evaluatePrefix('!{timestamp:Q}', context)).toThrow(/Unsupported pattern letter/);
  });
});

describe('validatePrefixes', () => {
  it('accepts absent, empty and literal prefixes', () => {
    expect(validatePrefixes(undefined, undefined)).toBeUndefined();
    expect(validatePrefixes('', '')).toBeUndefined();
    expect(validatePrefixes('logs/', undefined)).toBeUndefined();
    expect(validatePrefixes('legacy', '')).toBeUndefined();
    expect(validatePrefixes('a!b{c}/', undefined)).toBeUndefined();
  });

  it('accepts expressions with an ErrorOutputPrefix that names the error type', () => {
    expect(
      validatePrefixes(
        'myPrefix/year=!{timestamp:yyyy}/month=!{timestamp:MM}/rand=!{firehose:random-string}/',
        "myErrorPrefix/!{timestamp:'year='yyyy'/month='MM}/!{firehose:error-output-type}/!{firehose:random-string}",
      ),
    ).toBeUndefined();
    expect(validatePrefixes(undefined, '!{firehose:error-output-type}/')).toBeUndefined();
    expect(validatePrefixes('', 'failed/!{firehose:error-output-type}')).toBeUndefined();
  });

  it('requires an ErrorOutputPrefix when Prefix has expressions', () => {
    const message = `${LEAD}ErrorOutputPrefix cannot be null or empty when Prefix contains expressions`;
    expect(validatePrefixes('!{timestamp:yyyy/MM/dd}', undefined)).toBe(message);
    expect(validatePrefixes('!{timestamp:yyyy/MM/dd}', '')).toBe(message);
    expect(validatePrefixes('r/!{firehose:random-string}/', undefined)).toBe(message);
  });

  it('accepts a plain ErrorOutputPrefix, as Firehose does', () => {
    expect(validatePrefixes(undefined, 'errors/')).toBeUndefined();
    expect(validatePrefixes('!{timestamp:yyyy}/', 'errors/')).toBeUndefined();
  });

  it('requires an ErrorOutputPrefix with expressions to contain !{firehose:error-output-type}', () => {
    expect(validatePrefixes('!{timestamp:yyyy}/', 'errors/!{timestamp:yyyy}/')).toBe(
      `${LEAD}ErrorOutputPrefix must contain the expression !{firehose:error-output-type} when it contains other expressions, but "errors/!{timestamp:yyyy}/" does not`,
    );
  });

  it('rejects error-output-type in Prefix', () => {
    expect(
      validatePrefixes('!{firehose:error-output-type}/', '!{firehose:error-output-type}/'),
    ).toBe(
      `${LEAD}Prefix cannot contain the expression !{firehose:error-output-type}; it can only be used in ErrorOutputPrefix`,
    );
  });

  it('rejects a !{ that does not start a complete expression', () => {
    expect(validatePrefixes('logs/!{timestamp:yyyy', undefined)).toBe(
      `${LEAD}The sequence !{ can only start an expression of the form !{namespace:value}, but the !{ at position 5 in Prefix "logs/!{timestamp:yyyy" has no closing }`,
    );
    expect(validatePrefixes('!{timestamp:yyyy}/!{', '!{firehose:error-output-type}')).toMatch(
      /the !\{ at position 18 in Prefix/,
    );
    expect(validatePrefixes(undefined, '!{firehose:error-output-type}/!{')).toMatch(
      /at position 30 in ErrorOutputPrefix/,
    );
  });

  it('rejects an expression without a namespace:value colon', () => {
    expect(validatePrefixes('x/!{timestamp}/', '!{firehose:error-output-type}')).toBe(
      `${LEAD}The expression !{timestamp} at position 2 in Prefix is not of the form !{namespace:value}`,
    );
  });

  it('rejects unknown namespaces, naming them', () => {
    expect(validatePrefixes('!{time:yyyy}/', '!{firehose:error-output-type}')).toBe(
      `${LEAD}the expression !{time:yyyy} in Prefix uses the unknown namespace "time"; valid namespaces are timestamp, firehose, partitionKeyFromQuery and partitionKeyFromLambda`,
    );
    expect(validatePrefixes(undefined, '!{firehose:error-output-type}/!{Timestamp:yyyy}')).toMatch(
      /!\{Timestamp:yyyy\} in ErrorOutputPrefix uses the unknown namespace "Timestamp"/,
    );
  });

  it('rejects unknown firehose values, naming them', () => {
    expect(validatePrefixes('!{firehose:uuid}/', '!{firehose:error-output-type}')).toBe(
      `${LEAD}the expression !{firehose:uuid} in Prefix uses the unknown firehose value "uuid"; the firehose namespace accepts random-string and error-output-type`,
    );
  });

  it('takes partition keys in Prefix only with dynamic partitioning, never in ErrorOutputPrefix', () => {
    expect(
      validatePrefixes(
        'customer=!{partitionKeyFromQuery:customer_id}/',
        '!{firehose:error-output-type}/',
      ),
    ).toBe(
      `${LEAD}the expression !{partitionKeyFromQuery:customer_id} in Prefix needs dynamic partitioning; set DynamicPartitioningConfiguration Enabled to true when creating the stream`,
    );
    expect(
      validatePrefixes('!{partitionKeyFromLambda:k}/', '!{firehose:error-output-type}/'),
    ).toMatch(/!\{partitionKeyFromLambda:k\} in Prefix needs dynamic partitioning/);
    expect(
      validatePrefixes(
        'customer=!{partitionKeyFromQuery:customer_id}/!{partitionKeyFromLambda:day}/',
        '!{firehose:error-output-type}/',
        true,
      ),
    ).toBeUndefined();
    expect(
      validatePrefixes(
        undefined,
        '!{firehose:error-output-type}/!{partitionKeyFromQuery:k}/',
        true,
      ),
    ).toBe(
      `${LEAD}the expression !{partitionKeyFromQuery:k} can only be used in Prefix, not in ErrorOutputPrefix`,
    );
    expect(validatePrefixes('!{partitionKeyFromQuery:}/', 'e/', true)).toBe(
      `${LEAD}the expression !{partitionKeyFromQuery:} in Prefix names no partition key`,
    );
  });

  it('evaluates partition keys from the partition, by namespace', () => {
    const key = buildObjectKey(
      target({ prefix: 'c=!{partitionKeyFromQuery:c}/d=!{partitionKeyFromLambda:c}/' }),
      {
        batchId: BATCH_ID,
        firstArrivalMs: 0,
        partitionKeys: { query: { c: 'from-jq' }, lambda: { c: 'from-lambda' } },
      },
    );
    expect(key.startsWith('c=from-jq/d=from-lambda/')).toBe(true);
    expect(() =>
      buildObjectKey(target({ prefix: 'c=!{partitionKeyFromQuery:c}/' }), {
        batchId: BATCH_ID,
        firstArrivalMs: 0,
        partitionKeys: { query: {}, lambda: {} },
      }),
    ).toThrow(MissingPartitionKeyError);
  });

  it('rejects timestamp patterns that do not compile, naming the problem', () => {
    expect(validatePrefixes('!{timestamp:yyyyQ}/', '!{firehose:error-output-type}')).toBe(
      `${LEAD}the expression !{timestamp:yyyyQ} in Prefix is not a valid timestamp expression: Unsupported pattern letter 'Q' at position 4 in timestamp pattern "yyyyQ"; supported letters are y u M L d D H h k K m s S a E (quote literal text, e.g. 'T')`,
    );
    expect(validatePrefixes("!{timestamp:yyyy'x}/", '!{firehose:error-output-type}')).toMatch(
      /Unterminated quoted literal starting at position 4/,
    );
    expect(validatePrefixes(undefined, '!{firehose:error-output-type}/!{timestamp:ddd}')).toMatch(
      /!\{timestamp:ddd\} in ErrorOutputPrefix is not a valid timestamp expression: Too many pattern letters 'ddd'/,
    );
  });

  it(`limits each prefix to ${MAX_PREFIX_LENGTH} characters`, () => {
    expect(validatePrefixes('p'.repeat(MAX_PREFIX_LENGTH), undefined)).toBeUndefined();
    expect(validatePrefixes('p'.repeat(MAX_PREFIX_LENGTH + 1), undefined)).toBe(
      `${LEAD}Prefix must be at most 1024 characters long, but is 1025`,
    );
    const longError = `!{firehose:error-output-type}${'e'.repeat(MAX_PREFIX_LENGTH)}`;
    expect(validatePrefixes(undefined, longError)).toBe(
      `${LEAD}ErrorOutputPrefix must be at most 1024 characters long, but is 1053`,
    );
  });
});
