/**
 * Sluice's jq: the evaluator of Firehose's `MetadataExtraction` processor (`JsonParsingEngine`
 * `JQ-1.6`, firehose-spec.md §3.4), which turns each record into the partition keys of dynamic
 * partitioning.
 *
 * It evaluates a named subset of jq with jq 1.6's semantics (checked against Debian's jq 1.6 by
 * `test/unit/jq-differential.test.ts`) and refuses everything else when the query is compiled,
 * i.e. at CreateDeliveryStream / UpdateDestination, never while records are delivered.
 */

import type { Node } from './ast.js';
import { QueryCompiler, type Compiled, type Direct } from './compile.js';
import { JqCompileError, JqRuntimeError } from './errors.js';
import { parseJq } from './parser.js';
import {
  EMPTY,
  dumpJson,
  formatNumber,
  getMember,
  kindOf,
  type JqObject,
  type JqResult,
  type JqValue,
} from './values.js';

export { JqCompileError, JqRuntimeError } from './errors.js';
export { JQ_SUBSET_SUMMARY } from './subset.js';

/** The error of a query that gives no output. */
const NO_OUTPUT = 'the query gave no output';

/** Most partition keys one MetadataExtractionQuery may give (Firehose's limit). */
export const MAX_PARTITION_KEYS = 50;

/** A compiled query. */
export interface JqQuery {
  readonly source: string;
  /**
   * The query's single output on `input` (a parsed JSON value), with jq 1.6's semantics.
   * Throws {@link JqRuntimeError} where jq raises an error, or when the query gives no output
   * (`empty`, `select` that fails, an error caught by `?`).
   */
  evaluate(input: unknown): unknown;
}

/** Runs a compiled expression for its single output, turning JavaScript's own limits into jq errors. */
function runner(compiled: Compiled): (input: JqValue) => JqValue {
  const single = (result: JqResult): JqValue => {
    if (result === EMPTY) throw new JqRuntimeError(NO_OUTPUT);
    return result;
  };
  const direct = compiled.direct;
  const run: (input: JqValue) => JqValue =
    direct !== null
      ? (input) => single(direct(input))
      : (input) => {
          let out: JqResult = EMPTY;
          compiled.stream(input, (value) => {
            out = value;
          });
          return single(out);
        };
  return (input) => {
    try {
      return run(input);
    } catch (error) {
      if (error instanceof RangeError) {
        throw new JqRuntimeError(`the record is too deeply nested to evaluate: ${error.message}`);
      }
      throw error;
    }
  };
}

function compileTree(source: string): { tree: Node; compiled: Compiled } {
  const tree = parseJq(source);
  const compiled = new QueryCompiler(source).compile(tree);
  if (compiled.generator !== null) {
    throw new JqCompileError(
      `this can give several outputs, but Sluice evaluates queries that give one: collect several outputs in an array, e.g. [.[] | ...], or use first(...)`,
      source,
      compiled.generator.at,
    );
  }
  return { tree, compiled };
}

/**
 * Compiles a jq program. Throws {@link JqCompileError} for syntax errors (where jq 1.6 has them
 * too), for features outside the supported subset ({@link JQ_SUBSET_SUMMARY}), and for queries
 * that could give more than one output.
 */
export function compileJq(source: string): JqQuery {
  const run = runner(compileTree(source).compiled);
  return { source, evaluate: (input) => run(input as JqValue) };
}

/** The compiled `MetadataExtractionQuery` of a stream. */
export interface MetadataQuery {
  readonly source: string;
  /** The partition key names, in the order the query lists them. */
  readonly keys: readonly string[];
  /**
   * The partition keys of one record (a parsed JSON value), each value as `jq -r` prints it.
   * Throws {@link JqRuntimeError} when jq raises an error on the record, or when a key's value is
   * null, an array or an object (the message names the key).
   */
  evaluate(record: unknown): Record<string, string>;
}

/** A partition key's value as text, as `jq -r` prints it; undefined for values that cannot be one. */
function partitionValue(value: JqValue): string | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      return Number.isNaN(value) ? undefined : formatNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      return undefined;
  }
}

function describeBadValue(value: JqValue): string {
  if (value === null) return 'null';
  if (typeof value === 'number') return 'NaN (printed as null)';
  const json = dumpJson(value);
  return `${kindOf(value) === 'array' ? 'an array' : 'an object'} (${json.length > 60 ? `${json.slice(0, 57)}...` : json})`;
}

/**
 * Compiles a `MetadataExtractionQuery`: a jq object constructor whose keys are the partition key
 * names, e.g. `{customer_id: .customer_id, year: .ts | strftime("%Y")}`. Besides
 * {@link compileJq}'s checks, refuses queries that are not an object constructor, key names that
 * are computed, empty or repeated, and more than {@link MAX_PARTITION_KEYS} keys.
 */
export function compileMetadataExtractionQuery(source: string): MetadataQuery {
  const { tree, compiled } = compileTree(source);
  if (tree.type !== 'object') {
    throw new JqCompileError(
      'Firehose requires the MetadataExtractionQuery to build a JSON object of partition keys, e.g. {customer_id: .customer_id}',
      source,
      tree.at,
    );
  }
  if (tree.entries.length === 0) {
    throw new JqCompileError(
      'the MetadataExtractionQuery gives no partition keys: name at least one, e.g. {customer_id: .customer_id}',
      source,
      tree.at,
    );
  }
  if (tree.entries.length > MAX_PARTITION_KEYS) {
    throw new JqCompileError(
      `the MetadataExtractionQuery gives ${tree.entries.length} partition keys; Firehose allows at most ${MAX_PARTITION_KEYS}`,
      source,
      (tree.entries[MAX_PARTITION_KEYS] as { key: Node }).key.at,
    );
  }
  const keys: string[] = [];
  for (const entry of tree.entries) {
    if (entry.key.type !== 'literal' || typeof entry.key.value !== 'string') {
      throw new JqCompileError(
        'a partition key name must be fixed (a name or a plain string), so that the Prefix can be checked against it',
        source,
        entry.key.at,
      );
    }
    const name = entry.key.value;
    if (name === '')
      throw new JqCompileError('a partition key name must not be empty', source, entry.key.at);
    if (keys.includes(name)) {
      throw new JqCompileError(`the partition key '${name}' is given twice`, source, entry.key.at);
    }
    keys.push(name);
  }
  const values = entryValues(source, tree, compiled);
  return {
    source,
    keys,
    evaluate(record) {
      const evaluated = values(record as JqValue);
      const out: Record<string, string> = {};
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as string;
        const value = evaluated[i] as JqValue;
        const text = partitionValue(value);
        if (text === undefined) {
          throw new JqRuntimeError(
            `partition key '${key}' evaluated to ${describeBadValue(value)}`,
          );
        }
        if (key === '__proto__') {
          Object.defineProperty(out, key, {
            value: text,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        } else {
          out[key] = text;
        }
      }
      return out;
    },
  };
}

/**
 * The values of a partition-key object, in entry order. When every value has a direct form they
 * are evaluated one by one (what building the object does, without building it); otherwise the
 * whole object is evaluated, so that jq 1.6's `try` semantics hold across entries.
 */
function entryValues(
  source: string,
  tree: Extract<Node, { type: 'object' }>,
  compiled: Compiled,
): (record: JqValue) => JqValue[] {
  const compiler = new QueryCompiler(source);
  const directs = tree.entries.map((entry) =>
    entry.value === null ? null : compiler.compile(entry.value).direct,
  );
  if (compiled.direct !== null && directs.every((direct) => direct !== null)) {
    const forms = directs;
    return (record) => {
      const values = new Array<JqValue>(forms.length);
      for (let i = 0; i < forms.length; i++) {
        const value = (forms[i] as Direct)(record);
        if (value === EMPTY) throw new JqRuntimeError(NO_OUTPUT);
        values[i] = value;
      }
      return values;
    };
  }
  const run = runner(compiled);
  const names = tree.entries.map((entry) => (entry.key as { value: string }).value);
  return (record) => {
    const object = run(record) as JqObject;
    return names.map((name) => getMember(object, name));
  };
}
