import { z } from 'zod';
import { FirehoseError } from '../errors/catalogue.js';
import { MAX_NESTING_DEPTH, nestingTooDeepError } from './json-nesting.js';

/**
 * Input validation with Firehose's error semantics.
 *
 * Firehose (a Coral service) checks a request in two phases, and Sluice does the same:
 *
 * 1. Deserialization: a member whose JSON type is wrong (a string where an integer, structure,
 *    list or boolean belongs) fails the whole request with `SerializationException`.
 * 2. Model constraints: every violated constraint (required, length, range, pattern, enum) is
 *    collected and reported at once as `ValidationException`, in AWS's exact phrasing:
 *    `2 validation errors detected: Value '…' at 'a.b' failed to satisfy constraint: Member must …; …`.
 *
 * Semantic rules (InvalidArgumentException) are the caller's business and run after both.
 * Unknown members are ignored and JSON `null` counts as "absent", as on AWS. Members named
 * `__proto__`, `constructor` or `prototype` are ignored too, and input nested deeper than
 * `MAX_NESTING_DEPTH` is refused with `SerializationException`.
 */

/** One violated model constraint, as it appears in a ValidationException message. */
export interface ConstraintViolation {
  /** The offending value, already rendered ({@link renderValue}); `null` for a missing member. */
  value: string | null;
  /** lowerCamelCase member path, e.g. `records.97.member.data` ({@link memberPath}). */
  path: string;
  /** The constraint sentence, e.g. `Member must have length less than or equal to 64`. */
  constraint: string;
}

/** Longest rendered value in a message: error bodies stay small whatever the input. */
export const MAX_RENDERED_VALUE_CHARS = 256;

/** AWS's constraint sentences, one builder per kind of model constraint. */
export const constraintText = {
  notNull: (): string => 'Member must not be null',
  maxLength: (n: number | bigint): string =>
    `Member must have length less than or equal to ${String(n)}`,
  minLength: (n: number | bigint): string =>
    `Member must have length greater than or equal to ${String(n)}`,
  maxValue: (n: number | bigint): string =>
    `Member must have value less than or equal to ${String(n)}`,
  minValue: (n: number | bigint): string =>
    `Member must have value greater than or equal to ${String(n)}`,
  pattern: (pattern: string): string =>
    `Member must satisfy regular expression pattern: ${pattern}`,
  enumSet: (values: readonly unknown[]): string =>
    `Member must satisfy enum value set: [${values.map(String).join(', ')}]`,
} as const;

/**
 * Renders a value the way it appears between the quotes of `Value '…' at …`: strings as they
 * are, numbers and booleans as text, lists as `[a, b]`, structures as `{Key=v, …}` (Java's
 * `toString` style, which is what AWS prints), truncated to {@link MAX_RENDERED_VALUE_CHARS}.
 */
export function renderValue(value: unknown): string {
  const text = renderUnbounded(value, MAX_RENDERED_VALUE_CHARS + 1);
  return text.length > MAX_RENDERED_VALUE_CHARS
    ? `${text.slice(0, MAX_RENDERED_VALUE_CHARS - 3)}...`
    : text;
}

// `budget` stops the walk early on huge inputs: only the first few hundred characters are shown.
function renderUnbounded(value: unknown, budget: number): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return value.length > budget ? value.slice(0, budget) : value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length && out.length <= budget; i += 1) {
      out += (i > 0 ? ', ' : '') + renderUnbounded(value[i], budget - out.length);
    }
    return `${out}]`;
  }
  if (typeof value === 'object') {
    let out = '{';
    let first = true;
    for (const [k, v] of Object.entries(value)) {
      if (out.length > budget) break;
      out += `${first ? '' : ', '}${k}=${renderUnbounded(v, budget - out.length)}`;
      first = false;
    }
    return `${out}}`;
  }
  // Functions and symbols cannot come from JSON; name their type rather than print them.
  return typeof value;
}

/**
 * Builds a ValidationException message from one or more violations:
 * `1 validation error detected: Value 'x' at 'p' failed to satisfy constraint: …`, several
 * joined with `; ` after `N validation errors detected: `. A missing member renders as
 * `Value null at 'p'` (no quotes), as on AWS.
 */
export function validationMessage(violations: readonly ConstraintViolation[]): string {
  const n = violations.length;
  const head = `${n} validation error${n === 1 ? '' : 's'} detected: `;
  return (
    head +
    violations
      .map(
        (v) =>
          `Value ${v.value === null ? 'null' : `'${v.value}'`} at '${v.path}' failed to satisfy constraint: ${v.constraint}`,
      )
      .join('; ')
  );
}

/**
 * Turns a member path into AWS's notation: members in lowerCamelCase joined by `.`, list items
 * as `<list>.<1-based index>.member` (`['Records', 96, 'Data']` → `records.97.member.data`).
 *
 * @param rootPath - an already-rendered path to prefix (for a sub-structure validated alone).
 */
export function memberPath(path: readonly PropertyKey[], rootPath?: string): string {
  const parts: string[] = rootPath ? [rootPath] : [];
  for (const segment of path) {
    if (typeof segment === 'number') parts.push(String(segment + 1), 'member');
    else {
      const name = String(segment);
      parts.push(name.charAt(0).toLowerCase() + name.slice(1));
    }
  }
  return parts.join('.');
}

/**
 * A string member with the model's length bounds and pattern. The pattern is the model's
 * (Java, full-match) text; it is anchored here and quoted verbatim in error messages.
 */
export function awsString(limits: { min?: number; max?: number; pattern?: string } = {}) {
  let schema = z.string();
  if (limits.min !== undefined) schema = schema.min(limits.min);
  if (limits.max !== undefined) schema = schema.max(limits.max);
  if (limits.pattern !== undefined) {
    // The model's pattern goes into the issue message: messages must quote AWS's text, not
    // the anchored JavaScript translation.
    schema = schema.regex(new RegExp(`^(?:${limits.pattern})$`, 'u'), {
      message: constraintText.pattern(limits.pattern),
    });
  }
  return schema;
}

/** An integer member with the model's inclusive range. */
export function awsInt(min: number, max: number) {
  return z.int().min(min).max(max);
}

/** A member of any JSON object shape whose contents Sluice keeps without checking them. */
export const jsonObject = z.record(z.string(), z.unknown());

/**
 * Validates a request (or part of one) against its schema with Firehose's error semantics.
 *
 * @param rootPath - rendered path of `input` inside the request, prefixed to every path.
 * @returns the parsed value: unknown members dropped, nulls treated as absent.
 * @throws FirehoseError `SerializationException` for a member of the wrong JSON type (the
 *   first one found) or input nested deeper than `MAX_NESTING_DEPTH`, else
 *   `ValidationException` listing every violated constraint.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  rootPath?: string,
): z.output<S> {
  const cleaned = withoutNullMembers(input, 1);
  const wrongType = findWrongType(schema, cleaned, []);
  if (wrongType) throw serializationError(wrongType, rootPath);
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const violations: ConstraintViolation[] = [];
  for (const issue of relevantIssues(result.error.issues)) {
    const value = valueAt(cleaned, issue.path);
    const violation = toViolation(issue, value);
    if (violation === 'wrong-type') {
      throw serializationError(
        { path: issue.path, expected: expectedOf(issue), actual: value },
        rootPath,
      );
    }
    violations.push({ ...violation, path: memberPath(issue.path, rootPath) });
  }
  throw new FirehoseError('ValidationException', validationMessage(violations));
}

interface WrongType {
  path: PropertyKey[];
  expected: string;
  actual: unknown;
}

function serializationError(problem: WrongType, rootPath: string | undefined): FirehoseError {
  return wrongTypeError(
    memberPath(problem.path, rootPath) || '(request body)',
    problem.expected,
    problem.actual,
  );
}

/**
 * The SerializationException for a member of the wrong JSON type, e.g.
 * `Member 'records' must be a list, but the request has a string (abc)`.
 *
 * @param path the member's rendered path ({@link memberPath})
 * @param expected what the model wants, with its article: `a list`, `a string`, …
 */
export function wrongTypeError(path: string, expected: string, actual: unknown): FirehoseError {
  return new FirehoseError(
    'SerializationException',
    `Member '${path}' must be ${expected}, but the request has ${describeJsonType(actual)} (${renderValue(actual)})`,
  );
}

function describeJsonType(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return Number.isInteger(value) ? 'an integer' : 'a fractional number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'a structure';
    default:
      return typeof value;
  }
}

const EXPECTED_PHRASE: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean',
  object: 'a structure',
  record: 'a structure',
  array: 'a list',
};

function expectedOf(issue: z.core.$ZodIssue): string {
  const expected = issue.code === 'invalid_type' ? String(issue.expected) : 'a string';
  return EXPECTED_PHRASE[expected] ?? expected;
}

/**
 * Member names never read from input: they name JavaScript's object machinery, no Firehose
 * member is called so, and `JSON.parse` keeps `"__proto__"` as an own member, which copied with
 * `out[k] = v` would replace `out`'s prototype and act as hidden input. They are dropped like
 * any unknown member.
 */
const IGNORED_MEMBERS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Copies the input without the members AWS treats as absent: those whose value is JSON `null`,
 * and {@link IGNORED_MEMBERS}. `null` list items stay: they are reported as "Member must not be
 * null" at their index. The recursion is bounded by {@link MAX_NESTING_DEPTH}.
 *
 * @param depth nesting level of `value`; the request itself is level 1.
 * @throws FirehoseError `SerializationException` past {@link MAX_NESTING_DEPTH} levels.
 */
function withoutNullMembers(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_NESTING_DEPTH) throw nestingTooDeepError();
  if (Array.isArray(value)) return value.map((item) => withoutNullMembers(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v !== null && !IGNORED_MEMBERS.has(k)) out[k] = withoutNullMembers(v, depth + 1);
  }
  return out;
}

/**
 * The deserialization phase: walks the schema and the input together and returns the first
 * member whose JSON type does not fit. Absent members are not its concern (they are a
 * "must not be null" constraint); neither are unknown members (ignored).
 */
function findWrongType(
  schema: z.ZodType,
  value: unknown,
  path: PropertyKey[],
): WrongType | undefined {
  if (value === undefined || value === null) return undefined;
  const def = (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'nonoptional':
      return def.innerType ? findWrongType(def.innerType, value, path) : undefined;
    case 'pipe':
      return def.in ? findWrongType(def.in, value, path) : undefined;
    case 'string':
    case 'enum':
      return typeof value === 'string' ? undefined : { path, expected: 'a string', actual: value };
    case 'number': {
      const integer = def.format !== undefined && def.format.includes('int');
      const fits = typeof value === 'number' && (!integer || Number.isInteger(value));
      return fits
        ? undefined
        : { path, expected: integer ? 'an integer' : 'a number', actual: value };
    }
    case 'boolean':
      return typeof value === 'boolean'
        ? undefined
        : { path, expected: 'a boolean', actual: value };
    case 'array': {
      if (!Array.isArray(value)) return { path, expected: 'a list', actual: value };
      if (!def.element) return undefined;
      for (let i = 0; i < value.length; i += 1) {
        const found = findWrongType(def.element, value[i], [...path, i]);
        if (found) return found;
      }
      return undefined;
    }
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) {
        return { path, expected: 'a structure', actual: value };
      }
      const record = value as Record<string, unknown>;
      for (const [key, member] of Object.entries(def.shape ?? {})) {
        const found = findWrongType(member, record[key], [...path, key]);
        if (found) return found;
      }
      return undefined;
    }
    case 'record': {
      if (typeof value !== 'object' || Array.isArray(value)) {
        return { path, expected: 'a structure', actual: value };
      }
      if (!def.valueType) return undefined;
      for (const [key, member] of Object.entries(value as Record<string, unknown>)) {
        const found = findWrongType(def.valueType, member, [...path, key]);
        if (found) return found;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** The parts of zod's internal schema definition the type walk reads. */
interface SchemaDef {
  type: string;
  format?: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
}

/**
 * Zod's integer type adds its own safe-integer bound next to the model's; a member breaking
 * both is reported once, with the model's bound.
 */
function relevantIssues(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const isSafeIntBound = (i: z.core.$ZodIssue): boolean =>
    (i.code === 'too_big' || i.code === 'too_small') && i.origin === 'int';
  return issues.filter(
    (issue) =>
      !isSafeIntBound(issue) ||
      !issues.some(
        (other) =>
          other !== issue &&
          other.code === issue.code &&
          !isSafeIntBound(other) &&
          samePath(other.path, issue.path),
      ),
  );
}

function samePath(a: readonly PropertyKey[], b: readonly PropertyKey[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = root;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

function toViolation(
  issue: z.core.$ZodIssue,
  value: unknown,
): Omit<ConstraintViolation, 'path'> | 'wrong-type' {
  const rendered = value === undefined || value === null ? null : renderValue(value);
  switch (issue.code) {
    case 'invalid_type':
      return rendered === null
        ? { value: null, constraint: constraintText.notNull() }
        : 'wrong-type';
    case 'too_big':
      return {
        value: rendered,
        constraint:
          issue.origin === 'string' || issue.origin === 'array'
            ? constraintText.maxLength(issue.maximum)
            : constraintText.maxValue(issue.maximum),
      };
    case 'too_small':
      return {
        value: rendered,
        constraint:
          issue.origin === 'string' || issue.origin === 'array'
            ? constraintText.minLength(issue.minimum)
            : constraintText.minValue(issue.minimum),
      };
    case 'invalid_value':
      return typeof value === 'string'
        ? { value: rendered, constraint: constraintText.enumSet(issue.values) }
        : 'wrong-type';
    default:
      // Pattern checks carry AWS's sentence as their message (see awsString).
      return { value: rendered, constraint: issue.message };
  }
}
