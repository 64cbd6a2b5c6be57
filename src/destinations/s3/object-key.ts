/**
 * S3 object keys as Firehose writes them: `<evaluated prefix><suffix>`, where the prefix may
 * hold `!{namespace:value}` expressions and the suffix is
 * `<StreamName>-<VersionId>-<yyyy>-<MM>-<dd>-<HH>-<mm>-<ss>-<batchId><extension>`.
 *
 * Everything here is pure apart from the default random source, so delivery code can compute
 * a key before it uploads and tests can pin every part of it.
 */
import { randomInt } from 'node:crypto';
import { COMPRESSION, type CompressionFormat } from '../../formats/compression.js';

import type { PartitionKeys } from '../destination-kind.js';

import { compileTimestampPattern, type TimestampFormatter } from './timestamp-format.js';

/** What an object's key is made from, besides the batch. */
export interface ObjectKeyTarget {
  /** Delivery stream name (part of every object name). */
  streamName: string;
  /** The stream's `VersionId` (part of every object name). */
  versionId: number;
  /** `Prefix` as configured ('' when absent). */
  prefix: string;
  /** `ErrorOutputPrefix` as configured, or undefined. */
  errorOutputPrefix: string | undefined;
  /** `CompressionFormat` of the object. */
  compression: CompressionFormat;
  /** `FileExtension` override, or undefined for the compression's default extension. */
  fileExtension: string | undefined;
  /** IANA zone for prefix/object-name timestamps (`CustomTimeZone`, default 'UTC'). */
  timeZone: string;
}

/** Longest an evaluated Prefix or ErrorOutputPrefix may be, in characters (Firehose's limit). */
export const MAX_EVALUATED_PREFIX = 512;

/** Longest a configured Prefix or ErrorOutputPrefix may be, in characters (API model limit). */
export const MAX_PREFIX_LENGTH = 1024;

/** Length of the string `!{firehose:random-string}` evaluates to. */
export const RANDOM_STRING_LENGTH = 11;

const RANDOM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

const ERROR_OUTPUT_TYPE_EXPRESSION = '!{firehose:error-output-type}';

// Appended to a Prefix without expressions, and used alone for an empty Prefix.
const DEFAULT_DATE_PATH_EXPRESSION = '!{timestamp:yyyy/MM/dd/HH/}';

const SUFFIX_TIMESTAMP = compileTimestampPattern('yyyy-MM-dd-HH-mm-ss');

const CONSTRAINT_LEAD = 'The supplied prefix(es) do not satisfy the following constraint: ';

/** Thrown when an evaluated prefix is longer than {@link MAX_EVALUATED_PREFIX}. */
export class EvaluatedPrefixTooLongError extends Error {
  /** Which configured prefix produced it. */
  readonly field: 'Prefix' | 'ErrorOutputPrefix';
  /** The evaluated prefix. */
  readonly evaluated: string;

  constructor(field: 'Prefix' | 'ErrorOutputPrefix', evaluated: string) {
    super(
      `The evaluated ${field} is ${evaluated.length} characters long; Firehose allows at most ${MAX_EVALUATED_PREFIX}: ${JSON.stringify(evaluated.slice(0, 64))}...`,
    );
    this.name = 'EvaluatedPrefixTooLongError';
    this.field = field;
    this.evaluated = evaluated;
  }
}

/** Thrown when a prefix names a partition key the records' partition does not have. */
export class MissingPartitionKeyError extends Error {
  constructor(readonly expression: string) {
    super(`the partition has no value for ${expression}`);
    this.name = 'MissingPartitionKeyError';
  }
}

/** Inputs to {@link evaluatePrefix}. */
export interface PrefixContext {
  /** Instant every `!{timestamp:...}` in the template evaluates to. */
  epochMs: number;
  /** IANA zone the timestamps are read in. */
  timeZone: string;
  /** Value of `!{firehose:error-output-type}`; required when the template uses it. */
  errorOutputType?: string;
  /** Source of `!{firehose:random-string}` values, called once per occurrence. */
  random?: () => string;
  /** Values of `!{partitionKeyFromQuery:k}` and `!{partitionKeyFromLambda:k}`. */
  partitionKeys?: PartitionKeys;
}

/** The batch an object holds, as far as its key is concerned. */
export interface ObjectKeyBatch {
  /** Unique id of the batch (a dashed UUID v4 in Firehose), the last part of the name. */
  batchId: string;
  /** Approximate arrival time of the oldest record in the object, epoch milliseconds. */
  firstArrivalMs: number;
  /** The partition the object holds, with dynamic partitioning. */
  partitionKeys?: PartitionKeys;
}

type Segment =
  | { kind: 'literal'; text: string }
  | { kind: 'expression'; namespace: string; value: string; source: string; position: number };

type ParseResult = { segments: Segment[] } | { problem: string };

/**
 * Splits a template into literal text and `!{namespace:value}` expressions. An expression ends
 * at the first `}`, so a value can never contain one; that matches Firehose, whose values
 * (patterns, key names) have no use for braces.
 */
function parseTemplate(template: string, field: string): ParseResult {
  const segments: Segment[] = [];
  let pos = 0;
  while (pos < template.length) {
    const start = template.indexOf('!{', pos);
    if (start === -1) {
      segments.push({ kind: 'literal', text: template.slice(pos) });
      break;
    }
    if (start > pos) segments.push({ kind: 'literal', text: template.slice(pos, start) });
    const close = template.indexOf('}', start + 2);
    if (close === -1) {
      return {
        problem: `The sequence !{ can only start an expression of the form !{namespace:value}, but the !{ at position ${start} in ${field} ${JSON.stringify(template)} has no closing }`,
      };
    }
    const source = template.slice(start, close + 1);
    const inner = template.slice(start + 2, close);
    const colon = inner.indexOf(':');
    if (colon === -1) {
      return {
        problem: `The expression ${source} at position ${start} in ${field} is not of the form !{namespace:value}`,
      };
    }
    segments.push({
      kind: 'expression',
      namespace: inner.slice(0, colon),
      value: inner.slice(colon + 1),
      source,
      position: start,
    });
    pos = close + 1;
  }
  return { segments };
}

const compiledPatterns = new Map<string, TimestampFormatter>();

function timestampFormatter(pattern: string): TimestampFormatter {
  let formatter = compiledPatterns.get(pattern);
  if (formatter === undefined) {
    formatter = compileTimestampPattern(pattern);
    // Patterns come from stream definitions, so few are live at once; the bound only guards
    // against unbounded growth as definitions change over a long-running process.
    if (compiledPatterns.size >= 256) compiledPatterns.clear();
    compiledPatterns.set(pattern, formatter);
  }
  return formatter;
}

function defaultRandom(): string {
  let out = '';
  for (let i = 0; i < RANDOM_STRING_LENGTH; i++) {
    out += RANDOM_ALPHABET.charAt(randomInt(RANDOM_ALPHABET.length));
  }
  return out;
}

/**
 * Evaluates the `!{...}` expressions of a prefix template. Text outside expressions is copied
 * unchanged; nothing is appended (the default date path is {@link buildObjectKey}'s business).
 *
 * - `!{timestamp:<pattern>}`: `epochMs` in `timeZone`, formatted with the Java pattern; every
 *   occurrence uses the same instant.
 * - `!{firehose:random-string}`: 11 characters from `[A-Za-z0-9]`, fresh per occurrence.
 * - `!{firehose:error-output-type}`: `errorOutputType`.
 *
 * @param template - A prefix that passed {@link validatePrefixes}.
 * @param context - Instant, zone, error output type and random source.
 * @returns The evaluated prefix.
 * @throws Error when the template is malformed, uses a namespace or value Sluice cannot
 *   evaluate, or uses `error-output-type` without `context.errorOutputType`.
 */
export function evaluatePrefix(template: string, context: PrefixContext): string {
  const parsed = parseTemplate(template, 'prefix');
  if ('problem' in parsed) throw new Error(parsed.problem);
  const random = context.random ?? defaultRandom;
  let out = '';
  for (const segment of parsed.segments) {
    if (segment.kind === 'literal') {
      out += segment.text;
    } else if (segment.namespace === 'timestamp') {
      out += timestampFormatter(segment.value)(context.epochMs, context.timeZone);
    } else if (segment.namespace === 'firehose' && segment.value === 'random-string') {
      out += random();
    } else if (segment.namespace === 'firehose' && segment.value === 'error-output-type') {
      if (context.errorOutputType === undefined) {
        throw new Error(`${segment.source} can only be evaluated for error output`);
      }
      out += context.errorOutputType;
    } else if (
      segment.namespace === 'partitionKeyFromQuery' ||
      segment.namespace === 'partitionKeyFromLambda'
    ) {
      const keys =
        segment.namespace === 'partitionKeyFromQuery'
          ? context.partitionKeys?.query
          : context.partitionKeys?.lambda;
      const value = keys?.[segment.value];
      if (value === undefined) {
        throw new MissingPartitionKeyError(segment.source);
      }
      out += value;
    } else {
      throw new Error(`Cannot evaluate the expression ${segment.source}`);
    }
  }
  return out;
}

function objectNameSuffix(target: ObjectKeyTarget, batch: ObjectKeyBatch): string {
  const stamp = SUFFIX_TIMESTAMP(batch.firstArrivalMs, target.timeZone);
  return `${target.streamName}-${target.versionId}-${stamp}-${batch.batchId}`;
}

function checkEvaluatedLength(field: 'Prefix' | 'ErrorOutputPrefix', evaluated: string): void {
  if (evaluated.length > MAX_EVALUATED_PREFIX) {
    throw new EvaluatedPrefixTooLongError(field, evaluated);
  }
}

/**
 * The key of a delivered object: the evaluated `Prefix`, then
 * `<StreamName>-<VersionId>-<yyyy>-<MM>-<dd>-<HH>-<mm>-<ss>-<batchId><extension>`.
 *
 * An empty Prefix evaluates to `yyyy/MM/dd/HH/`. A Prefix without any `!{` expression gets
 * `yyyy/MM/dd/HH/` appended by plain concatenation, with no `/` inserted (`legacy` →
 * `legacy2026/07/13/14/`), as real Firehose does. A Prefix with expressions is used as is.
 * All timestamps are `firstArrivalMs` in `target.timeZone`. The extension is
 * `target.fileExtension` when set, else `.gz` for GZIP and none for UNCOMPRESSED.
 *
 * @param target - The stream's S3 destination.
 * @param batch - Batch id and arrival time of the oldest record.
 * @param random - Source of `!{firehose:random-string}` values (default: crypto-random).
 * @returns The object key.
 * @throws EvaluatedPrefixTooLongError when the evaluated prefix exceeds
 *   {@link MAX_EVALUATED_PREFIX}; retrying cannot help, so callers treat it as permanent.
 */
export function buildObjectKey(
  target: ObjectKeyTarget,
  batch: ObjectKeyBatch,
  random?: () => string,
): string {
  const template = target.prefix.includes('!{')
    ? target.prefix
    : target.prefix + DEFAULT_DATE_PATH_EXPRESSION;
  const prefix = evaluatePrefix(template, {
    epochMs: batch.firstArrivalMs,
    timeZone: target.timeZone,
    ...(random === undefined ? {} : { random }),
    ...(batch.partitionKeys === undefined ? {} : { partitionKeys: batch.partitionKeys }),
  });
  checkEvaluatedLength('Prefix', prefix);
  const extension = target.fileExtension ?? COMPRESSION[target.compression].extension;
  return prefix + objectNameSuffix(target, batch) + extension;
}

/**
 * The key of an error-output object: evaluated `ErrorOutputPrefix` + the same suffix as
 * {@link buildObjectKey} but with no extension, and no date path appended.
 *
 * Without an ErrorOutputPrefix (allowed only when Prefix has no expressions) the fallback is a
 * documented gap: the developer guide's rule says
 * `<specified-prefix><error-output-type>YYYY/MM/DD/HH/` (no slash after the type) while its
 * worked example shows `myFirehosePrefix/processing-failed/2018/08/27/`. Both put the
 * configured Prefix first, so Sluice uses `<Prefix><error-output-type>/yyyy/MM/dd/HH/`: the
 * Prefix joined by plain concatenation as for delivered objects, then the type as a folder.
 * With the common empty Prefix this is `processing-failed/2026/07/13/14/`.
 *
 * @param target - The stream's S3 destination.
 * @param batch - Batch id and arrival time of the oldest record.
 * @param errorOutputType - e.g. `processing-failed`, `http-endpoint-failed`.
 * @param random - Source of `!{firehose:random-string}` values (default: crypto-random).
 * @returns The object key.
 * @throws EvaluatedPrefixTooLongError when the evaluated prefix exceeds
 *   {@link MAX_EVALUATED_PREFIX}.
 */
export function buildErrorObjectKey(
  target: ObjectKeyTarget,
  batch: ObjectKeyBatch,
  errorOutputType: string,
  random?: () => string,
): string {
  // Firehose treats an empty ErrorOutputPrefix like an absent one ("cannot be null or empty").
  const template =
    target.errorOutputPrefix === undefined || target.errorOutputPrefix === ''
      ? `${target.prefix}${ERROR_OUTPUT_TYPE_EXPRESSION}/${DEFAULT_DATE_PATH_EXPRESSION}`
      : target.errorOutputPrefix;
  const prefix = evaluatePrefix(template, {
    epochMs: batch.firstArrivalMs,
    timeZone: target.timeZone,
    errorOutputType,
    ...(random === undefined ? {} : { random }),
  });
  checkEvaluatedLength('ErrorOutputPrefix', prefix);
  return prefix + objectNameSuffix(target, batch);
}

/** Checks one prefix's expressions; returns a message for the first bad one. */
function checkExpressions(
  field: 'Prefix' | 'ErrorOutputPrefix',
  segments: readonly Segment[],
  partitioning: boolean,
): string | undefined {
  for (const segment of segments) {
    if (segment.kind === 'literal') continue;
    const { namespace, value, source } = segment;
    switch (namespace) {
      case 'timestamp':
        try {
          compileTimestampPattern(value);
        } catch (error) {
          return `${CONSTRAINT_LEAD}the expression ${source} in ${field} is not a valid timestamp expression: ${error instanceof Error ? error.message : String(error)}`;
        }
        break;
      case 'firehose':
        if (value !== 'random-string' && value !== 'error-output-type') {
          return `${CONSTRAINT_LEAD}the expression ${source} in ${field} uses the unknown firehose value ${JSON.stringify(value)}; the firehose namespace accepts random-string and error-output-type`;
        }
        if (value === 'error-output-type' && field === 'Prefix') {
          return `${CONSTRAINT_LEAD}Prefix cannot contain the expression ${ERROR_OUTPUT_TYPE_EXPRESSION}; it can only be used in ErrorOutputPrefix`;
        }
        break;
      case 'partitionKeyFromQuery':
      case 'partitionKeyFromLambda':
        if (field === 'ErrorOutputPrefix') {
          return `${CONSTRAINT_LEAD}the expression ${source} can only be used in Prefix, not in ErrorOutputPrefix`;
        }
        if (!partitioning) {
          return `${CONSTRAINT_LEAD}the expression ${source} in Prefix needs dynamic partitioning; set DynamicPartitioningConfiguration Enabled to true when creating the stream`;
        }
        if (value === '') {
          return `${CONSTRAINT_LEAD}the expression ${source} in Prefix names no partition key`;
        }
        break;
      default:
        return `${CONSTRAINT_LEAD}the expression ${source} in ${field} uses the unknown namespace ${JSON.stringify(namespace)}; valid namespaces are timestamp, firehose, partitionKeyFromQuery and partitionKeyFromLambda`;
    }
  }
  return undefined;
}

/**
 * Checks a destination's `Prefix` and `ErrorOutputPrefix` against Firehose's create/update
 * rules:
 *
 * - each is at most {@link MAX_PREFIX_LENGTH} characters;
 * - `!{` only starts a well-formed `!{namespace:value}` expression;
 * - namespaces are `timestamp` (with a valid Java pattern) and `firehose` (`random-string`,
 *   `error-output-type`); `partitionKeyFromQuery`/`partitionKeyFromLambda` only in Prefix,
 *   and only with dynamic partitioning (`partitioning`);
 * - Prefix cannot contain `!{firehose:error-output-type}`;
 * - an ErrorOutputPrefix with expressions must contain `!{firehose:error-output-type}` (a
 *   plain one such as `errors/` is accepted, as Firehose accepts it);
 * - when Prefix has expressions, ErrorOutputPrefix cannot be absent or empty.
 *
 * @param prefix - `Prefix` as given (undefined or '' when absent).
 * @param errorOutputPrefix - `ErrorOutputPrefix` as given (undefined or '' when absent).
 * @returns An InvalidArgumentException message for the first rule broken, or undefined.
 */
export function validatePrefixes(
  prefix: string | undefined,
  errorOutputPrefix: string | undefined,
  partitioning = false,
): string | undefined {
  const given = {
    Prefix: prefix ?? '',
    ErrorOutputPrefix: errorOutputPrefix ?? '',
  } as const;

  for (const field of ['Prefix', 'ErrorOutputPrefix'] as const) {
    const value = given[field];
    if (value.length > MAX_PREFIX_LENGTH) {
      return `${CONSTRAINT_LEAD}${field} must be at most ${MAX_PREFIX_LENGTH} characters long, but is ${value.length}`;
    }
  }

  let prefixHasExpressions = false;
  let errorPrefixHasExpressions = false;
  for (const field of ['Prefix', 'ErrorOutputPrefix'] as const) {
    const parsed = parseTemplate(given[field], field);
    if ('problem' in parsed) return CONSTRAINT_LEAD + parsed.problem;
    const problem = checkExpressions(field, parsed.segments, partitioning);
    if (problem !== undefined) return problem;
    const hasExpressions = parsed.segments.some((s) => s.kind === 'expression');
    if (field === 'Prefix') prefixHasExpressions = hasExpressions;
    else errorPrefixHasExpressions = hasExpressions;
  }

  const errorPrefix = given.ErrorOutputPrefix;
  // Firehose takes a plain ErrorOutputPrefix such as `errors/`; only one with expressions must
  // name the error-output type, so that different failures cannot land under one path.
  if (errorPrefixHasExpressions && !errorPrefix.includes(ERROR_OUTPUT_TYPE_EXPRESSION)) {
    return `${CONSTRAINT_LEAD}ErrorOutputPrefix must contain the expression ${ERROR_OUTPUT_TYPE_EXPRESSION} when it contains other expressions, but ${JSON.stringify(errorPrefix)} does not`;
  }
  if (prefixHasExpressions && errorPrefix === '') {
    return `${CONSTRAINT_LEAD}ErrorOutputPrefix cannot be null or empty when Prefix contains expressions`;
  }
  return undefined;
}

/** The partition keys a Prefix refers to, by namespace (for the MetadataExtraction checks). */
export function partitionKeysReferenced(prefix: string): { query: string[]; lambda: string[] } {
  const parsed = parseTemplate(prefix, 'Prefix');
  const referenced = { query: [] as string[], lambda: [] as string[] };
  if ('problem' in parsed) return referenced;
  for (const segment of parsed.segments) {
    if (segment.kind !== 'expression') continue;
    if (segment.namespace === 'partitionKeyFromQuery') referenced.query.push(segment.value);
    if (segment.namespace === 'partitionKeyFromLambda') referenced.lambda.push(segment.value);
  }
  return referenced;
}
